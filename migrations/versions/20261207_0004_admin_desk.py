"""The admins' desk: evaluators off duty, credentials retired, operator alerts resolved, and the
indexes of the enrolment search, the decided reviews and the attention list

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import microcred.models

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every evaluator registered before this revision is on duty, as they were.
    with op.batch_alter_table("evaluator") as batch:
        batch.add_column(sa.Column("on_duty", sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table("credential") as batch:
        batch.add_column(sa.Column("retired_at", microcred.models.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("retired_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch.add_column(
            sa.Column("retirement_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
    op.create_table(
        "alert_resolution",
        sa.Column("notification_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("resolved_at", microcred.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
            name=op.f("fk_alert_resolution_notification_id_notification"),
        ),
        sa.PrimaryKeyConstraint("notification_id", name=op.f("pk_alert_resolution")),
    )
    with op.batch_alter_table("enrolment") as batch:
        batch.create_index("ix_enrolment_created", ["created_at", "id"], unique=False)
        batch.create_index("ix_enrolment_credential_created", ["credential_id", "created_at"], unique=False)
        batch.create_index("ix_enrolment_status_created", ["status", "created_at"], unique=False)
    with op.batch_alter_table("submission") as batch:
        batch.create_index("ix_submission_evaluator_decided", ["evaluator_id", "decided_at"], unique=False)
    with op.batch_alter_table("notification") as batch:
        batch.create_index("ix_notification_kind_created", ["kind", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notification") as batch:
        batch.drop_index("ix_notification_kind_created")
    with op.batch_alter_table("submission") as batch:
        batch.drop_index("ix_submission_evaluator_decided")
    with op.batch_alter_table("enrolment") as batch:
        batch.drop_index("ix_enrolment_status_created")
        batch.drop_index("ix_enrolment_credential_created")
        batch.drop_index("ix_enrolment_created")
    op.drop_table("alert_resolution")
    with op.batch_alter_table("credential") as batch:
        batch.drop_column("retirement_reason")
        batch.drop_column("retired_by")
        batch.drop_column("retired_at")
    with op.batch_alter_table("evaluator") as batch:
        batch.drop_column("on_duty")
