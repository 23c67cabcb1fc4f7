"""What the township office's console needs of a finding: a readable number, the note and the place, the
major-hazard status with its decision and register (一单四制), and the verification deadline.

Existing findings are numbered in creation order per year (Asia/Shanghai), take their note from the
inspection's answer (or the report's description as triage released it), their place from the report or
the inspection, a suspected major status from their severity, and, while submitted, a verification
deadline three days (the default) after the day of their rectification.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 03:10:00+00:00
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

import api.models.base
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
VERIFICATION_DAYS = 3


def upgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("major_status", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("location_text", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("lat", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("lng", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("verification_due", sa.Date(), nullable=True))

    op.create_table(
        "finding_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_finding_counters")),
    )
    op.create_table(
        "major_hazards",
        sa.Column("finding_id", sa.Uuid(), nullable=False),
        sa.Column("decision", sa.String(length=12), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("participants", sa.String(length=500), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("responsible_person", sa.String(length=200), nullable=True),
        sa.Column("measures", sa.Text(), nullable=True),
        sa.Column("funds", sa.String(length=200), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("contingency_plan", sa.Text(), nullable=True),
        sa.Column("supervising_official", sa.String(length=200), nullable=True),
        sa.Column("created_at", api.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", api.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_major_hazards_decided_by_users")),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["findings.id"],
            name=op.f("fk_major_hazards_finding_id_findings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("finding_id", name=op.f("pk_major_hazards")),
    )

    _backfill()

    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index("ix_findings_number", ["number"], unique=True)
        batch_op.create_index("ix_findings_major_status_status", ["major_status", "status"], unique=False)
        batch_op.create_index(
            "ix_findings_status_verification_due", ["status", "verification_due"], unique=False
        )


def _backfill() -> None:
    bind = op.get_bind()
    utc = api.models.base.UTCDateTime(timezone=True)
    findings = sa.table(
        "findings",
        sa.column("id", sa.Uuid()),
        sa.column("created_at", utc),
        sa.column("severity", sa.String()),
        sa.column("status", sa.String()),
        sa.column("source", sa.String()),
        sa.column("item_code", sa.String()),
        sa.column("inspection_id", sa.Uuid()),
        sa.column("report_id", sa.Uuid()),
        sa.column("rectified_at", utc),
        sa.column("description", sa.Text()),
        sa.column("number", sa.String()),
        sa.column("major_status", sa.String()),
        sa.column("note", sa.Text()),
        sa.column("location_text", sa.String()),
        sa.column("lat", sa.Float()),
        sa.column("lng", sa.Float()),
        sa.column("verification_due", sa.Date()),
    )
    inspections = sa.table(
        "inspections",
        sa.column("id", sa.Uuid()),
        sa.column("answers", sa.JSON()),
        sa.column("lat", sa.Float()),
        sa.column("lng", sa.Float()),
    )
    reports = sa.table(
        "reports",
        sa.column("id", sa.Uuid()),
        sa.column("location_text", sa.String()),
        sa.column("lat", sa.Float()),
        sa.column("lng", sa.Float()),
    )
    rows = bind.execute(
        sa.select(
            findings.c.id,
            findings.c.created_at,
            findings.c.severity,
            findings.c.status,
            findings.c.source,
            findings.c.item_code,
            findings.c.rectified_at,
            findings.c.description,
            inspections.c.answers,
            inspections.c.lat.label("i_lat"),
            inspections.c.lng.label("i_lng"),
            reports.c.location_text.label("r_location"),
            reports.c.lat.label("r_lat"),
            reports.c.lng.label("r_lng"),
        )
        .select_from(findings)
        .outerjoin(inspections, inspections.c.id == findings.c.inspection_id)
        .outerjoin(reports, reports.c.id == findings.c.report_id)
        .order_by(findings.c.created_at, findings.c.id)
    ).all()
    last: dict[int, int] = {}
    updates: list[dict[str, Any]] = []
    for row in rows:
        created: datetime = row.created_at
        year = created.astimezone(LOCAL_TZ).year
        last[year] = last.get(year, 0) + 1
        values: dict[str, Any] = {
            "_id": row.id,
            "number": f"FX-{year}-{last[year]:06d}",
            "major_status": "suspected" if row.severity == "major" else None,
            "note": None,
            "location_text": None,
            "lat": None,
            "lng": None,
            "verification_due": None,
        }
        if row.source == "inspection":
            answer = next((a for a in row.answers or [] if a.get("item_code") == row.item_code), None)
            values["note"] = (answer or {}).get("note") or None
            values["lat"], values["lng"] = row.i_lat, row.i_lng
        elif row.source == "report":
            # The finding's description is the report's as the office released it at triage (it may have
            # left out what could point at the reporter), never more.
            values["note"] = row.description
            values["location_text"] = row.r_location
            values["lat"], values["lng"] = row.r_lat, row.r_lng
        if row.status == "submitted" and row.rectified_at is not None:
            day: date = row.rectified_at.astimezone(LOCAL_TZ).date()
            values["verification_due"] = day + timedelta(days=VERIFICATION_DAYS)
        updates.append(values)
    if updates:
        bind.execute(
            findings.update()
            .where(findings.c.id == sa.bindparam("_id", type_=sa.Uuid()))
            .values(
                {
                    name: sa.bindparam(name)
                    for name in (
                        "number",
                        "major_status",
                        "note",
                        "location_text",
                        "lat",
                        "lng",
                        "verification_due",
                    )
                }
            ),
            updates,
        )
    counters = sa.table("finding_counters", sa.column("year", sa.Integer()), sa.column("last", sa.Integer()))
    if last:
        bind.execute(counters.insert(), [{"year": y, "last": n} for y, n in sorted(last.items())])


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not batch mode: rebuilding the findings table on
    # SQLite would cascade-delete its events.
    op.drop_index("ix_findings_status_verification_due", table_name="findings")
    op.drop_index("ix_findings_major_status_status", table_name="findings")
    op.drop_index("ix_findings_number", table_name="findings")
    op.drop_table("major_hazards")
    op.drop_table("finding_counters")
    for column in ("verification_due", "lng", "lat", "location_text", "note", "major_status", "number"):
        op.drop_column("findings", column)
