"""Record when a finding first stood overdue and whether it was closed on time (the assessment counts it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 02:01:17.825002+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overdue_since", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("closed_on_time", sa.Boolean(), nullable=True))
    # Findings closed before this revision: a closed finding's deadline and accepted rectification can no
    # longer change, so the flag is what it would have been at closing (the rectification's day in
    # Asia/Shanghai; when they were overdue before was not recorded, so that part cannot be restored).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE findings SET closed_on_time = ((rectified_at AT TIME ZONE 'Asia/Shanghai')::date <= deadline) "
            "WHERE closed_at IS NOT NULL"
        )
    else:
        op.execute(
            "UPDATE findings SET closed_on_time = (date(rectified_at, '+8 hours') <= deadline) "
            "WHERE closed_at IS NOT NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_column("closed_on_time")
        batch_op.drop_column("overdue_since")
