"""The report lifecycle: which status change may happen from which status (one table, one place)."""

from __future__ import annotations

import pytest

from api.errors import Conflict
from api.models import Report
from api.services import report_lifecycle
from api.services.report_lifecycle import RULES, ReportAction, ReportStatus


def report(status: str | None) -> Report:
    return Report(status=status)


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (None, {ReportAction.RECEIVE}),
        ("received", {ReportAction.ACCEPT, ReportAction.REJECT, ReportAction.DUPLICATE}),
        ("accepted", {ReportAction.RESOLVE}),
        ("resolved", set()),
        ("rejected", set()),
        ("duplicate", set()),
    ],
)
def test_transitions(status: str | None, allowed: set[ReportAction]) -> None:
    for action in ReportAction:
        r = report(status)
        assert report_lifecycle.can(r, action) is (action in allowed), (status, action)
        if action not in allowed:
            with pytest.raises(Conflict) as refused:
                report_lifecycle.check(r, action)
            triage = action in report_lifecycle.TRIAGE_ACTIONS.values()
            assert refused.value.code == ("already_triaged" if triage else "invalid_transition")


def test_every_status_is_reachable_and_matches_the_database_check() -> None:
    from api.models.report import Report as Model

    check = next(c for c in Model.__table__.constraints if getattr(c, "name", None) == "ck_reports_status")
    reached = {rule.to.value for rule in RULES.values()}
    assert reached == {s.value for s in ReportStatus}
    assert all(f"'{s}'" in str(check.sqltext) for s in reached)
