"""The database refuses a status no state machine knows: findings' status and major status, reports'
status.

PostgreSQL takes CHECK constraints. SQLite can only add one by rebuilding the table (batch mode), and a
rebuild drops the old table, which with foreign keys on deletes the events that cascade from it; so on
SQLite the same rules are triggers that abort the statement.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 03:20:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, allowed values): constraint names follow the models' convention "ck_<table>_<column>".
CHECKS = [
    ("findings", "status", ("open", "submitted", "closed", "void"), False),
    ("findings", "major_status", ("suspected", "confirmed", "downgraded"), True),
    ("reports", "status", ("received", "accepted", "resolved", "rejected", "duplicate"), False),
]


def _condition(column: str, allowed: tuple[str, ...], nullable: bool) -> str:
    values = ", ".join(f"'{v}'" for v in allowed)
    return f"{column} IS NULL OR {column} IN ({values})" if nullable else f"{column} IN ({values})"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, column, allowed, nullable in CHECKS:
            condition = _condition(f"NEW.{column}", allowed, nullable)
            for event in ("INSERT", "UPDATE"):
                op.execute(
                    f"CREATE TRIGGER ck_{table}_{column}_{event.lower()} BEFORE {event} ON {table} "
                    f"FOR EACH ROW WHEN NOT ({condition}) "
                    f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_{table}_{column}'); END"
                )
        return
    for table, column, allowed, nullable in CHECKS:
        op.create_check_constraint(op.f(f"ck_{table}_{column}"), table, _condition(column, allowed, nullable))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, name, *_ in CHECKS:
            for event in ("insert", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS ck_{table}_{name}_{event}")
        return
    for table, name, *_ in CHECKS:
        op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
