"""The database tables (SQLModel ``table=True``). Only services and activities touch them.

The catalog is relational and immutable once published. Enrolment rows are the read model
that the workflow keeps current (``seq`` orders its writes); task responses, submissions,
marks, payments, notifications and the timeline are the content the workflow never carries.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Column, Field, SQLModel

from microcred.lifecycle import TERMINAL


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset of its own)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware values only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Stable constraint names, so migrations name what they create the same way on every backend.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _created() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def _json() -> Any:
    return Field(default=None, sa_column=Column(sa.JSON(), nullable=True))


# --- catalog --------------------------------------------------------------------------------


class Community(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    url: str | None = Field(default=None, max_length=2000)


class Credential(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    title: str = Field(max_length=200)
    summary: str = Field(default="", sa_column=Column(sa.Text(), nullable=False))
    price_amount: int
    price_currency: str = Field(max_length=3)
    resubmission_amount: int
    resubmission_currency: str = Field(max_length=3)
    community_id: str | None = Field(default=None, foreign_key="community.id")
    submission_window: str = Field(max_length=32)
    review_window: str = Field(max_length=32)
    payment_window: str = Field(max_length=32)
    reminders_before_due: list[str] = Field(sa_column=Column(sa.JSON(), nullable=False))
    evaluator_reminder_before: str = Field(max_length=32)
    created_at: datetime = _created()
    # Retired: no new purchases and out of the members' catalog; running enrolments go on.
    retired_at: datetime | None = _ts()
    retired_by: str | None = Field(default=None, max_length=200)
    retirement_reason: str | None = Field(default=None, max_length=500)


class Section(SQLModel, table=True):
    credential_id: str = Field(primary_key=True, foreign_key="credential.id", max_length=64)
    id: str = Field(primary_key=True, max_length=64)
    position: int
    title: str = Field(max_length=200)
    guidance: str = Field(default="", sa_column=Column(sa.Text(), nullable=False))


class Resource(SQLModel, table=True):
    credential_id: str = Field(primary_key=True, foreign_key="credential.id", max_length=64)
    section_id: str = Field(primary_key=True, max_length=64)
    position: int = Field(primary_key=True)
    title: str = Field(max_length=200)
    url: str = Field(max_length=2000)


class Task(SQLModel, table=True):
    credential_id: str = Field(primary_key=True, foreign_key="credential.id", max_length=64)
    id: str = Field(primary_key=True, max_length=64)
    section_id: str = Field(max_length=64)
    position: int
    prompt: str = Field(sa_column=Column(sa.Text(), nullable=False))
    required: bool = True
    evidence: dict[str, Any] | None = _json()  # documents.EvidenceDoc; None: text only


class Criterion(SQLModel, table=True):
    credential_id: str = Field(primary_key=True, foreign_key="credential.id", max_length=64)
    id: str = Field(primary_key=True, max_length=64)
    section_id: str = Field(max_length=64)
    position: int
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=Column(sa.Text(), nullable=False))


# --- people ---------------------------------------------------------------------------------


class Member(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=200, description="The token's sub.")
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)
    created_at: datetime = _created()


class Evaluator(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=200, description="The token's sub.")
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    all_credentials: bool = False
    # Off duty: no new reviews (assigned, claimed or handed over); their open ones stay theirs.
    on_duty: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    updated_at: datetime = _created()


class EvaluatorCredential(SQLModel, table=True):
    __tablename__ = "evaluator_credential"

    evaluator_id: str = Field(primary_key=True, foreign_key="evaluator.id", max_length=200)
    credential_id: str = Field(primary_key=True, foreign_key="credential.id", max_length=64, index=True)


# --- enrolments: the read model -------------------------------------------------------------

# The database keeps at most one unfinished enrolment per member and credential.
_UNFINISHED = "status NOT IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(TERMINAL)))


class Enrolment(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_enrolment_member_created", "member_id", "created_at"),
        sa.Index("ix_enrolment_review_queue", "status", "evaluator_id", "review_due_at"),
        # The admins' enrolment search: newest first, alone or by credential or by status.
        sa.Index("ix_enrolment_created", "created_at", "id"),
        sa.Index("ix_enrolment_credential_created", "credential_id", "created_at"),
        sa.Index("ix_enrolment_status_created", "status", "created_at"),
        # At most one open enrolment per member and credential, enforced by the database.
        sa.Index(
            "uq_enrolment_open_per_member",
            "member_id",
            "credential_id",
            unique=True,
            postgresql_where=sa.text(_UNFINISHED),
            sqlite_where=sa.text(_UNFINISHED),
        ),
    )

    id: str = Field(primary_key=True, max_length=36)
    member_id: str = Field(foreign_key="member.id", max_length=200)
    credential_id: str = Field(foreign_key="credential.id", max_length=64)
    status: str = Field(max_length=40)
    attempt: int = 1
    purchased_at: datetime | None = _ts()
    due_at: datetime | None = _ts()
    submitted_at: datetime | None = _ts()
    review_due_at: datetime | None = _ts()
    decision: str | None = Field(default=None, max_length=20)
    evaluator_id: str | None = Field(default=None, max_length=200)
    review_overdue: bool = False
    checkout_session_id: str | None = Field(default=None, max_length=255)
    checkout_url: str | None = Field(default=None, max_length=2000)
    badge_id: str | None = Field(default=None, max_length=64)
    editable_sections: list[str] | None = _json()
    seq: int = Field(default=0, description="The workflow's write counter; older writes are ignored.")
    row_version: int = Field(default=0, description="Bumped to lock the row (see db.lock_enrolment).")
    created_at: datetime = _created()
    updated_at: datetime = _created()


class TaskResponse(SQLModel, table=True):
    __tablename__ = "task_response"
    __table_args__ = (sa.UniqueConstraint("enrolment_id", "task_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: str = Field(foreign_key="enrolment.id", max_length=36)
    task_id: str = Field(max_length=64)
    version: int
    attempt: int
    response: str = Field(sa_column=Column(sa.Text(), nullable=False))
    saved_at: datetime = _created()


class Submission(SQLModel, table=True):
    """Attempt N's frozen responses and, once decided, the evaluator's outcome."""

    # An evaluator's decided reviews, newest first.
    __table_args__ = (sa.Index("ix_submission_evaluator_decided", "evaluator_id", "decided_at"),)

    enrolment_id: str = Field(primary_key=True, foreign_key="enrolment.id", max_length=36)
    attempt: int = Field(primary_key=True)
    submitted_at: datetime = _created()
    responses: dict[str, Any] = Field(sa_column=Column(sa.JSON(), nullable=False))
    # Task id -> the frozen attachments (id, filename, content_type, size, sha256); None before
    # evidence files existed.
    attachments: dict[str, Any] | None = _json()
    evaluator_id: str | None = Field(default=None, max_length=200)
    outcome: str | None = Field(default=None, max_length=20)
    feedback: str | None = Field(default=None, sa_column=Column(sa.Text(), nullable=True))
    decided_at: datetime | None = _ts()


class Attachment(SQLModel, table=True):
    """An evidence file of a task: pending until its bytes are verified, then immutable.

    Its object's key derives from the enrolment and the id, never from the member's filename.
    Once a submission froze it (``submitted_in``), removing it from the task only hides it
    (``removed_at``): the object stays as long as the submission refers to it.
    """

    __table_args__ = (
        sa.Index("ix_attachment_enrolment_task", "enrolment_id", "task_id"),
        sa.Index("ix_attachment_status_created", "status", "created_at"),  # the sweep of stale uploads
    )

    id: str = Field(primary_key=True, max_length=36)
    enrolment_id: str = Field(foreign_key="enrolment.id", max_length=36)
    task_id: str = Field(max_length=64)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    sha256: str = Field(max_length=64)
    status: str = Field(max_length=20, description="pending, then complete")
    upload_id: str | None = Field(default=None, max_length=1024, description="The multipart upload's id.")
    part_size: int | None = Field(default=None, sa_column=Column(sa.BigInteger(), nullable=True))
    created_at: datetime = _created()
    uploaded_at: datetime | None = _ts()
    submitted_in: int | None = Field(default=None, description="The first attempt whose submission holds it.")
    removed_at: datetime | None = _ts()


class RubricMark(SQLModel, table=True):
    __tablename__ = "rubric_mark"

    enrolment_id: str = Field(primary_key=True, foreign_key="enrolment.id", max_length=36)
    attempt: int = Field(primary_key=True)
    criterion_id: str = Field(primary_key=True, max_length=64)
    section_id: str = Field(max_length=64)
    met: bool
    comment: str = Field(default="", sa_column=Column(sa.Text(), nullable=False))


# --- payments, communities, notifications, timeline ------------------------------------------


class AttachmentStatus(StrEnum):
    """An evidence file's bytes: declared and on their way, or verified and kept."""

    PENDING = "pending"
    COMPLETE = "complete"


class PaymentStatus(StrEnum):
    """What became of a checkout session."""

    OPEN = "open"
    PROCESSING = "processing"  # completed with a payment that confirms days later (a bank debit)
    PAID = "paid"
    EXPIRED = "expired"
    FAILED = "failed"
    REFUNDED = "refunded"
    MISMATCH = "mismatch"  # paid another amount than asked: never used


# No payment is known for the session: it may still come, or be found at the provider.
UNPAID = frozenset(
    {PaymentStatus.OPEN, PaymentStatus.PROCESSING, PaymentStatus.EXPIRED, PaymentStatus.FAILED}
)


class Payment(SQLModel, table=True):
    """One checkout session and what became of it."""

    __table_args__ = (sa.Index("ix_payment_enrolment", "enrolment_id", "created_at"),)

    checkout_session_id: str = Field(primary_key=True, max_length=255)
    enrolment_id: str = Field(foreign_key="enrolment.id", max_length=36)
    provider: str = Field(max_length=20)
    kind: str = Field(max_length=20)
    attempt: int
    amount: int
    currency: str = Field(max_length=3)
    status: PaymentStatus = Field(sa_column=Column(sa.String(20), nullable=False))
    url: str = Field(max_length=2000)
    expires_at: datetime = _created()
    payment_intent: str | None = Field(default=None, max_length=255)
    paid_amount: int | None = None
    paid_currency: str | None = Field(default=None, max_length=3)
    paid_at: datetime | None = _ts()
    refund_id: str | None = Field(default=None, max_length=255)
    refunded_amount: int | None = None  # our refund's; less than paid after a partial refund
    refunded_at: datetime | None = _ts()
    note: str | None = Field(default=None, max_length=500)
    created_at: datetime = _created()

    @property
    def unpaid(self) -> bool:
        """No payment is known for the session (it may still come, or be found at the provider)."""
        return self.status in UNPAID

    @property
    def charged_amount(self) -> int:
        """What the member was charged: the sum paid, or the price asked until a payment is known."""
        return self.paid_amount if self.paid_amount is not None else self.amount

    @property
    def charged_currency(self) -> str:
        return self.paid_currency or self.currency


class WebhookEvent(SQLModel, table=True):
    """Every Stripe event handled once, by its id."""

    __tablename__ = "webhook_event"

    id: str = Field(primary_key=True, max_length=255)
    type: str = Field(max_length=100)
    checkout_session_id: str | None = Field(default=None, max_length=255)
    outcome: str = Field(max_length=100)
    received_at: datetime = _created()


class CommunityMembership(SQLModel, table=True):
    __tablename__ = "community_membership"

    member_id: str = Field(primary_key=True, foreign_key="member.id", max_length=200)
    community_id: str = Field(primary_key=True, foreign_key="community.id", max_length=64)
    enrolment_id: str = Field(foreign_key="enrolment.id", max_length=36)
    granted_at: datetime = _created()


class Notification(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("key", "recipient_id", name="uq_notification_key_recipient"),
        sa.Index("ix_notification_recipient_created", "recipient_id", "created_at"),
        sa.Index("ix_notification_kind_created", "kind", "created_at"),  # the operator alerts
    )

    id: str = Field(primary_key=True, max_length=36)
    key: str = Field(max_length=300)
    kind: str = Field(max_length=40)
    audience: str = Field(max_length=20)
    recipient_id: str = Field(max_length=200, description="A member or evaluator sub, or 'admins'.")
    recipient_email: str | None = Field(default=None, max_length=320)
    enrolment_id: str | None = Field(default=None, max_length=36, index=True)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(sa.Text(), nullable=False))
    created_at: datetime = _created()
    mail_status: str = Field(default="not_sent", max_length=20, description="not_sent, pending, sent, failed")
    mailed_at: datetime | None = _ts()
    mail_error: str | None = Field(default=None, max_length=500)


class AlertResolution(SQLModel, table=True):
    """An operator alert an admin has dealt with: who, when, and what they did."""

    __tablename__ = "alert_resolution"

    notification_id: str = Field(primary_key=True, foreign_key="notification.id", max_length=36)
    resolved_by: str = Field(max_length=200)
    resolved_at: datetime = _created()
    note: str = Field(max_length=500)


class TimelineEntry(SQLModel, table=True):
    __tablename__ = "timeline_event"
    __table_args__ = (
        sa.UniqueConstraint("enrolment_id", "key", name="uq_timeline_key"),
        sa.Index("ix_timeline_enrolment_at", "enrolment_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: str = Field(foreign_key="enrolment.id", max_length=36)
    key: str = Field(max_length=300, description="Idempotency key of the write that recorded it.")
    kind: str = Field(max_length=40)
    at: datetime = _created()
    actor: str | None = Field(default=None, max_length=200)
    detail: dict[str, Any] | None = _json()


# --- badges ---------------------------------------------------------------------------------


class Badge(SQLModel, table=True):
    """One Open Badges 3.0 credential per approved enrolment, signed as a VC-JWT."""

    id: str = Field(primary_key=True, max_length=64, description="Derived from the approved submission.")
    enrolment_id: str = Field(foreign_key="enrolment.id", max_length=36, unique=True)
    attempt: int
    member_id: str = Field(foreign_key="member.id", max_length=200, index=True)
    credential_id: str = Field(foreign_key="credential.id", max_length=64)
    issued_at: datetime = _created()
    kid: str = Field(max_length=200)
    jwt: str = Field(sa_column=Column(sa.Text(), nullable=False))
    document: dict[str, Any] = Field(sa_column=Column(sa.JSON(), nullable=False))
    revoked_at: datetime | None = _ts()
    revocation_reason: str | None = Field(default=None, max_length=500)
    revoked_by: str | None = Field(default=None, max_length=200)
    # Display only: the signed credential names the member by a salted hash, never by name.
    show_name: bool = Field(
        default=False,
        sa_column_kwargs={"server_default": sa.false()},
        description="The member chose to show their name on the badge's public page.",
    )
    # The evidence page shows the member's whole submission: only when they say so.
    show_evidence: bool = Field(
        default=False,
        sa_column_kwargs={"server_default": sa.false()},
        description="The member chose to show their submission on the badge's evidence page.",
    )


class SigningKey(SQLModel, table=True):
    """Public halves of every badge signing key ever used, so old badges keep verifying."""

    __tablename__ = "signing_key"

    kid: str = Field(primary_key=True, max_length=200)
    public_jwk: dict[str, Any] = Field(sa_column=Column(sa.JSON(), nullable=False))
    created_at: datetime = _created()
