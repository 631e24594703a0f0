"""Evidence files: a task's accepted files, the attachments, and the submission's frozen ones

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import microcred.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Tasks published before this revision take text only (NULL), as they did.
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("evidence", sa.JSON(), nullable=True))
    with op.batch_alter_table("submission") as batch:
        batch.add_column(sa.Column("attachments", sa.JSON(), nullable=True))
    op.create_table(
        "attachment",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("enrolment_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("upload_id", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True),
        sa.Column("part_size", sa.BigInteger(), nullable=True),
        sa.Column("created_at", microcred.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("uploaded_at", microcred.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("submitted_in", sa.Integer(), nullable=True),
        sa.Column("removed_at", microcred.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrolment_id"], ["enrolment.id"], name=op.f("fk_attachment_enrolment_id_enrolment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
    )
    with op.batch_alter_table("attachment") as batch:
        batch.create_index("ix_attachment_enrolment_task", ["enrolment_id", "task_id"], unique=False)
        batch.create_index("ix_attachment_status_created", ["status", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("attachment") as batch:
        batch.drop_index("ix_attachment_status_created")
        batch.drop_index("ix_attachment_enrolment_task")
    op.drop_table("attachment")
    with op.batch_alter_table("submission") as batch:
        batch.drop_column("attachments")
    with op.batch_alter_table("task") as batch:
        batch.drop_column("evidence")
