"""Every event the server writes into a finding's or a report's history has Chinese words in the console:
an office reading a history must never meet a code such as `finding_void`."""

from __future__ import annotations

import re
from pathlib import Path

from api.services.lifecycle import Action
from api.services.report_lifecycle import RULES

ROOT = Path(__file__).resolve().parent.parent


def console_event_words() -> dict[str, str]:
    source = (ROOT / "pwa/console/js/labels.js").read_text("utf-8")
    start = source.index("export const EVENT_ACTION = {")
    block = source[start : source.index("};", start)]
    return dict(re.findall(r"^\s*(\w+): '([^']+)'", block, re.M))


def report_events_written() -> set[str]:
    events = {rule.event for rule in RULES.values()}
    for path in (ROOT / "api/services").glob("*.py"):
        events |= set(re.findall(r'_event\(\s*report,\s*"(\w+)"', path.read_text("utf-8")))
        events |= set(re.findall(r'_event\(\s*report,\s*\n\s*"(\w+)"', path.read_text("utf-8")))
    return events


def test_every_finding_and_report_event_has_words_in_the_console() -> None:
    words = console_event_words()
    written = {a.value for a in Action} | report_events_written()
    assert {"reward", "reward_paid", "finding_void", "contact_read", "reply"} <= written
    assert written - set(words) == set()


def test_every_finding_event_has_words_on_the_phone() -> None:
    source = (ROOT / "pwa/js/views/findings.js").read_text("utf-8")
    start = source.index("const ACTION_LABELS = {")
    block = source[start : source.index("};", start)]
    words = dict(re.findall(r"^\s*(\w+): '([^']+)'", block, re.M))
    assert {a.value for a in Action} - set(words) == set()
