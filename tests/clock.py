"""Frozen server time for tests of deadlines and periods: every module that reads the clock reads this."""

from __future__ import annotations

from datetime import datetime

import pytest

# Modules that took `utcnow` by name; api.timeutil itself serves local_today() and the rest.
_READERS = (
    "api.timeutil",
    "api.services.findings",
    "api.services.inspections",
    "api.services.major_hazards",
    "api.services.reports",
)


def freeze(monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    assert at.tzinfo is not None
    for module in _READERS:
        monkeypatch.setattr(f"{module}.utcnow", lambda: at)
