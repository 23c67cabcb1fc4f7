"""A 双随机 draw made by mistake can be voided: when, by whom and why.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 14:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import api.models.base
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("draws", schema=None) as batch:
        batch.add_column(sa.Column("voided_at", api.models.base.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("voided_by", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("void_reason", sa.Text(), nullable=True))
        batch.create_foreign_key(op.f("fk_draws_voided_by_users"), "users", ["voided_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("draws", schema=None) as batch:
        batch.drop_constraint(op.f("fk_draws_voided_by_users"), type_="foreignkey")
        batch.drop_column("void_reason")
        batch.drop_column("voided_by")
        batch.drop_column("voided_at")
