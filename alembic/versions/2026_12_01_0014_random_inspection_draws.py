"""双随机 draws: the draw with its seed and snapshots, and the drawn (venue, inspector) assignments.

Revision ID: 0014
Revises: 0007
Create Date: 2026-12-01 03:06:07.658943+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import api.models.base
from alembic import op

revision: str = "0014"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "draws",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("area_code", sa.String(length=64), nullable=False),
        sa.Column(
            "kinds",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "risk_levels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("requested_count", sa.Integer(), nullable=True),
        sa.Column("ratio", sa.Float(), nullable=True),
        sa.Column("inspectors_per_target", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column(
            "population",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "inspectors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", api.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["area_code"], ["areas.code"], name=op.f("fk_draws_area_code_areas")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_draws_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draws")),
    )
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_draws_area_code"), ["area_code"], unique=False)
        batch_op.create_index("ix_draws_created_at_id", ["created_at", "id"], unique=False)

    op.create_table(
        "draw_assignments",
        sa.Column("draw_id", sa.Uuid(), nullable=False),
        sa.Column("venue_id", sa.Uuid(), nullable=False),
        sa.Column("inspector_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["draws.id"], name=op.f("fk_draw_assignments_draw_id_draws"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"], ["users.id"], name=op.f("fk_draw_assignments_inspector_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"], ["venues.id"], name=op.f("fk_draw_assignments_venue_id_venues")
        ),
        sa.PrimaryKeyConstraint("draw_id", "venue_id", "inspector_id", name=op.f("pk_draw_assignments")),
    )
    with op.batch_alter_table("draw_assignments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_draw_assignments_inspector_id_due_on", ["inspector_id", "due_on"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("draw_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_draw_assignments_inspector_id_due_on")

    op.drop_table("draw_assignments")
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.drop_index("ix_draws_created_at_id")
        batch_op.drop_index(batch_op.f("ix_draws_area_code"))

    op.drop_table("draws")
