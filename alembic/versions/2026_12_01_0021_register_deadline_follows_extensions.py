"""A confirmed major hazard's register entry takes the finding's deadline where an extension moved only
the finding's (before extensions updated both, the register kept the deadline of the decision).

Revision ID: 0021
Revises: 0018
Create Date: 2026-12-01 11:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        UPDATE major_hazards
        SET deadline = (SELECT findings.deadline FROM findings WHERE findings.id = major_hazards.finding_id)
        WHERE decision = 'confirm'
          AND deadline IS NOT NULL
          AND deadline <> (SELECT findings.deadline FROM findings WHERE findings.id = major_hazards.finding_id)
        """
    )


def downgrade() -> None:
    # The repaired deadlines were wrong; there is nothing to restore.
    pass
