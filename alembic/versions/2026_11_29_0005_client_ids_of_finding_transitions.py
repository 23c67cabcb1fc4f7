"""Client-made ids of finding transitions, so a resent rectification or verification is recognised.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 02:17:16.398459+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("finding_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_id", sa.Uuid(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_finding_events_client_id"), ["client_id"])


def downgrade() -> None:
    with op.batch_alter_table("finding_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_finding_events_client_id"), type_="unique")
        batch_op.drop_column("client_id")
