#!/usr/bin/env bash
# The whole test suite: JavaScript unit tests, the PWA end-to-end tests in headless Chromium, then the
# Python suite on SQLite and PostgreSQL (API, lifecycle, photos, privacy, the installed wheel).
# Every part runs even when an earlier one failed; the summary names each part, and the command fails
# if any part failed. Arguments are passed to both pytest runs (e.g. -k, -x, a test file).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv || exit 1
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' || exit 1

if [ ! -x /usr/bin/chromium ]; then
  echo "Chromium is missing: install it (Debian: apt-get install chromium) for the end-to-end tests." >&2
  exit 1
fi

# With arguments, a part may select no test at all (pytest's exit code 5): that part is "none selected",
# not a failure, as long as some part ran something.
declare -A result
ran_something=0
failed=0

record() {  # record NAME EXIT_CODE
  case "$2" in
    0) result[$1]="passed"; ran_something=1 ;;
    5) result[$1]="no test selected" ;;
    *) result[$1]="FAILED (exit $2)"; failed=1 ;;
  esac
}

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
passed=0; failures=0; skipped=0

tally() {  # tally LOG: add the counts of a pytest or node --test run to the totals
  local line n
  line="$(grep -E '^=+ .*[0-9]+ (passed|failed|errors?|skipped|deselected).* in [0-9.]+s' "$1" | tail -1)"
  if [ -z "$line" ]; then  # node's test runner: "# pass N", "# fail N"
    line="$(grep -E '^# (pass|fail) [0-9]+$' "$1" | sed -E 's/^# (pass|fail) ([0-9]+)$/\2 \1/' | tr '\n' ' ')"
    line="${line//pass/passed}"; line="${line//fail /failed }"
  fi
  for n in $(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+'); do passed=$((passed + n)); done
  for n in $(grep -oE '[0-9]+ (failed|errors?)' <<<"$line" | grep -oE '[0-9]+'); do failures=$((failures + n)); done
  for n in $(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+'); do skipped=$((skipped + n)); done
}

if [ -d tests/js ]; then
  node --test tests/js/ 2>&1 | tee "$logs/js"
  record "JavaScript unit tests" $?
  tally "$logs/js"
fi

# The browser tests drive Chromium through Playwright's synchronous API, which keeps an event loop of its
# own; they get a process of their own so the asyncio database tests never share a thread with it.
.venv/bin/python -m pytest tests/e2e "$@" 2>&1 | tee "$logs/e2e"
record "browser tests (tests/e2e)" $?
tally "$logs/e2e"

.venv/bin/python -m pytest --ignore=tests/e2e "$@" 2>&1 | tee "$logs/python"
record "Python suite (SQLite and PostgreSQL)" $?
tally "$logs/python"

echo
echo "== summary =="
for part in "JavaScript unit tests" "browser tests (tests/e2e)" "Python suite (SQLite and PostgreSQL)"; do
  [ -n "${result[$part]:-}" ] && echo "  $part: ${result[$part]}"
done
# One closing line over all parts, in the form test reports are read by.
if [ "$failed" -ne 0 ] && [ "$failures" -eq 0 ]; then
  failures=1  # a part failed without a count (it crashed before its summary)
fi
echo "total: $passed passed, $failures failed, $skipped skipped"
if [ "$failed" -ne 0 ]; then
  exit 1
fi
if [ "$ran_something" -eq 0 ]; then
  echo "no test ran" >&2
  exit 5
fi
