"""badge.show_evidence: the member's choice to show their work on the badge's evidence page

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Private unless the member says otherwise: badges issued before this revision included.
    with op.batch_alter_table("badge") as batch:
        batch.add_column(sa.Column("show_evidence", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("badge") as batch:
        batch.drop_column("show_evidence")
