"""A username's sign-in lock is short and grows with each further failure (locked_until), instead of a
fixed 15 minutes that anyone could keep a user under.

Revision ID: 0020
Revises: 0015
Create Date: 2026-12-01 03:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import api.models.base
from alembic import op

revision: str = "0020"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locked_until", api.models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
