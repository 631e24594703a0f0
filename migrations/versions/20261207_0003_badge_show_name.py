"""badge.show_name: the member's choice to show their name on the badge's public page

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The server default gives every badge issued before this revision the private choice.
    with op.batch_alter_table("badge") as batch:
        batch.add_column(sa.Column("show_name", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("badge") as batch:
        batch.drop_column("show_name")
