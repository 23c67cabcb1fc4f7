"""The year a venue's building was built (self-built houses are inspected by age).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 03:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing venues keep no year: a self-built house of unknown age is scheduled as the oldest.
    with op.batch_alter_table("venues", schema=None) as batch_op:
        batch_op.add_column(sa.Column("built_year", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("venues", schema=None) as batch_op:
        batch_op.drop_column("built_year")
