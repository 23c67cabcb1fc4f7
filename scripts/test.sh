#!/usr/bin/env bash
# The whole test suite: JavaScript unit tests, then the Python suite on SQLite and PostgreSQL
# (API, lifecycle, photos, privacy) and the PWA end-to-end tests in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'

if [ ! -x /usr/bin/chromium ]; then
  echo "Chromium is missing: install it (Debian: apt-get install chromium) for the end-to-end tests." >&2
  exit 1
fi

if [ -d tests/js ]; then
  node --test tests/js/
fi
# The browser tests drive Chromium through Playwright's synchronous API, which keeps an event loop of its
# own; they get a process of their own so the asyncio database tests never share a thread with it.
.venv/bin/python -m pytest tests/e2e "$@"
exec .venv/bin/python -m pytest --ignore=tests/e2e "$@"
