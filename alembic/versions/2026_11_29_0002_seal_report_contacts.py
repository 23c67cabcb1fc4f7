"""Seal report contacts: the column holds AES-GCM ciphertext, longer than the 200-character plain text.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 01:30:44.063757+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.alter_column(
            "contact", existing_type=sa.VARCHAR(length=200), type_=sa.Text(), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.alter_column(
            "contact", existing_type=sa.Text(), type_=sa.VARCHAR(length=200), existing_nullable=True
        )
