"""The messages that cross the Temporal boundary: workflow input and state, updates, signals,
activity inputs and results.

Small pydantic models only (never ORM rows): one model per argument and per result, so fields
with defaults can be added without breaking running workflows. Imported by the workflow
sandbox as a pass-through module; keep it free of I/O and heavy imports.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from microcred.lifecycle import Status as Status  # the lifecycle's, carried by the messages


class Outcome(StrEnum):
    APPROVED = "approved"
    RESUBMIT = "resubmit"


class PurchaseKind(StrEnum):
    PURCHASE = "purchase"
    RESUBMISSION = "resubmission"


class EventKind(StrEnum):
    """What the timeline of an enrolment records."""

    ENROLLED = "enrolled"
    CHECKOUT_OPENED = "checkout_opened"
    PAYMENT_CONFIRMED = "payment_confirmed"
    PAYMENT_REFUNDED = "payment_refunded"
    PAYMENT_PARTIALLY_REFUNDED = "payment_partially_refunded"
    PAYMENT_MISMATCH = "payment_mismatch"
    PAYMENT_PROCESSING = "payment_processing"
    CHECKOUT_ENDED = "checkout_ended"
    CANCELLED = "cancelled"
    COMMUNITY_GRANTED = "community_granted"
    REMINDER_SENT = "reminder_sent"
    SUBMITTED = "submitted"
    EVALUATOR_ASSIGNED = "evaluator_assigned"
    REVIEW_UNASSIGNED = "review_unassigned"
    REVIEW_CLAIMED = "review_claimed"
    EVALUATOR_REMINDED = "evaluator_reminded"
    REVIEW_OVERDUE = "review_overdue"
    REVIEW_REASSIGNED = "review_reassigned"
    DECIDED = "decided"
    RESUBMISSION_STARTED = "resubmission_started"
    ATTEMPT_STARTED = "attempt_started"
    APPROVED = "approved"
    BADGE_ISSUED = "badge_issued"
    EXPIRED = "expired"
    DEADLINE_EXTENDED = "deadline_extended"
    NOTIFICATION_RESENT = "notification_resent"


class NotificationKind(StrEnum):
    PURCHASE_RECEIPT = "purchase_receipt"
    DUE_REMINDER = "due_reminder"
    SUBMISSION_RECEIVED = "submission_received"
    EVALUATOR_ASSIGNED = "evaluator_assigned"
    REVIEW_UNASSIGNED = "review_unassigned"
    EVALUATOR_REMINDER = "evaluator_reminder"
    REVIEW_OVERDUE = "review_overdue"
    DECISION = "decision"
    BADGE_ISSUED = "badge_issued"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    PAYMENT_REFUNDED = "payment_refunded"
    PAYMENT_PROCESSING = "payment_processing"
    DEADLINE_EXTENDED = "deadline_extended"
    OPERATOR_ALERT = "operator_alert"


class Audience(StrEnum):
    MEMBER = "member"
    EVALUATOR = "evaluator"
    ADMINS = "admins"


# --- the credential as a workflow needs it ------------------------------------------------------


class Money(BaseModel):
    amount: int = Field(ge=0, description="In the currency's minor unit (cents).")
    currency: str = Field(min_length=3, max_length=3, pattern="^[a-z]{3}$")


class Policies(BaseModel):
    submission_window: str = "P10M"
    review_window: str = "P14D"
    payment_window: str = "PT24H"
    reminders_before_due: list[str] = Field(default_factory=lambda: ["P30D", "P7D"])
    evaluator_reminder_before: str = "P3D"


class SectionOutline(BaseModel):
    id: str
    task_ids: list[str]
    required_task_ids: list[str]
    criterion_ids: list[str]


class CredentialOutline(BaseModel):
    """The immutable structure of a published credential that the lifecycle rules read."""

    id: str
    title: str
    price: Money
    resubmission_price: Money
    community_id: str | None = None
    policies: Policies = Field(default_factory=Policies)
    sections: list[SectionOutline]

    def section_of_criterion(self, criterion_id: str) -> str | None:
        for section in self.sections:
            if criterion_id in section.criterion_ids:
                return section.id
        return None

    @property
    def criterion_ids(self) -> list[str]:
        return [c for s in self.sections for c in s.criterion_ids]


# --- workflow state -------------------------------------------------------------------------


class Checkout(BaseModel):
    session_id: str
    url: str
    kind: PurchaseKind
    attempt: int
    amount: Money
    expires_at: datetime
    held_until: datetime | None = Field(
        default=None, description="Set when the window passed with a delayed payment processing."
    )

    @property
    def ends_at(self) -> datetime:
        return self.held_until or self.expires_at


class Mark(BaseModel):
    criterion_id: str = Field(max_length=64)
    met: bool
    comment: str = Field(default="", max_length=2_000)


class EnrolmentState(BaseModel):
    """Everything the workflow knows; carried whole across continue-as-new."""

    status: Status = Status.AWAITING_PAYMENT
    attempt: int = 1
    enrolled_at: datetime | None = None
    purchased_at: datetime | None = None
    base_due_at: datetime | None = None
    review_time: timedelta = timedelta(0)
    extension: timedelta = timedelta(0)
    submitted_at: datetime | None = None
    review_due_at: datetime | None = None
    evaluator_id: str | None = None
    past_evaluator_ids: list[str] = Field(default_factory=list)
    review_overdue: bool = False
    evaluator_reminded: bool = False
    decision: Outcome | None = None
    unmet_sections: list[str] = Field(default_factory=list)
    checkout: Checkout | None = None
    checkouts_opened: int = Field(default=0, description="Checkouts opened for the purchase at hand.")
    settled_sessions: list[str] = Field(default_factory=list, description="Checkout sessions handled.")
    paid_payments: list[PaymentConfirmed] = Field(default_factory=list)
    community_granted: bool = False
    reminders_sent: list[str] = Field(default_factory=list)
    badge_id: str | None = None
    arrivals: list[Arrival] = Field(
        default_factory=list,
        description="What the payment provider said, noted by signals, not yet acted on.",
    )
    outbox: list[NotifyInput] = Field(default_factory=list, description="Notifications not yet recorded.")
    seq: int = 0

    @property
    def due_at(self) -> datetime | None:
        """The submission deadline: the window, plus all time under review, plus extensions."""
        if self.base_due_at is None:
            return None
        return self.base_due_at + self.review_time + self.extension


class EnrolmentInput(BaseModel):
    enrolment_id: str
    member_id: str
    credential: CredentialOutline
    state: EnrolmentState | None = Field(default=None, description="Set when continuing as new.")


class EnrolmentResult(BaseModel):
    status: Status
    attempt: int
    badge_id: str | None = None


# --- updates and signals --------------------------------------------------------------------


class CheckoutInfo(BaseModel):
    status: Status
    checkout_url: str | None
    checkout_session_id: str | None


class SubmitRequest(BaseModel):
    agree_terms: bool
    answered_task_ids: list[str] = Field(
        description="Tasks with a non-empty saved response, read by the caller from the store."
    )


class SubmitResult(BaseModel):
    status: Status
    attempt: int
    submitted_at: datetime
    review_due_at: datetime


class ClaimRequest(BaseModel):
    evaluator_id: str


class DecisionRequest(BaseModel):
    evaluator_id: str
    outcome: Outcome
    marks: list[Mark]
    feedback: str = ""


class DecisionResult(BaseModel):
    status: Status
    decision: Outcome
    attempt: int
    due_at: datetime | None


class PaymentConfirmed(BaseModel):
    """A paid checkout session (from the webhook); idempotent by ``checkout_session_id``."""

    checkout_session_id: str
    event_id: str
    amount: int
    currency: str
    payment_intent: str | None = None


class RefundedElsewhere(BaseModel):
    """A paid checkout refunded in full at the provider, not by microcred (Stripe's dashboard)."""

    checkout_session_id: str


class CheckoutEnded(BaseModel):
    """A checkout session that can no longer be paid (expired, or its async payment failed)."""

    checkout_session_id: str
    reason: str


class ArrivalKind(StrEnum):
    PAID = "paid"
    MISMATCHED = "mismatched"  # paid another amount than asked
    REFUNDED_ELSEWHERE = "refunded_elsewhere"
    CHECKOUT_ENDED = "checkout_ended"


class Arrival(BaseModel):
    """A payment provider's message, as its signal handler noted it for the run loop."""

    kind: ArrivalKind
    checkout_session_id: str
    payment: PaymentConfirmed | None = Field(default=None, description="Of a payment (paid, mismatched).")
    reason: str = Field(default="", description="Why the checkout ended.")


class AdminAction(BaseModel):
    actor: str
    reason: str = Field(min_length=1)


class ExtendDeadline(AdminAction):
    by: str = Field(description="ISO 8601 duration added to the submission deadline, e.g. P14D.")


class ReassignReview(AdminAction):
    evaluator_id: str | None = Field(default=None, description="None: the least-loaded other evaluator.")


class CancelEnrolment(AdminAction):
    refund: bool | None = Field(default=None, description="None: as the refund policy says.")


class ResendNotification(AdminAction):
    notification_id: str


# --- activity inputs and results ------------------------------------------------------------


class EnrolmentView(BaseModel):
    """The read-model row of an enrolment (what My Learning lists), written by the workflow."""

    enrolment_id: str
    seq: int
    status: Status
    attempt: int
    purchased_at: datetime | None
    due_at: datetime | None
    submitted_at: datetime | None
    review_due_at: datetime | None
    decision: Outcome | None
    evaluator_id: str | None
    review_overdue: bool
    checkout_session_id: str | None
    checkout_url: str | None
    badge_id: str | None
    editable_sections: list[str] | None = Field(description="None: every section.")


class TimelineEvent(BaseModel):
    kind: EventKind
    at: datetime
    actor: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class RecordInput(BaseModel):
    view: EnrolmentView
    event: TimelineEvent


class FreezeInput(BaseModel):
    view: EnrolmentView
    event: TimelineEvent
    required_task_ids: list[str]
    # The review's assignment (evaluator_assigned or review_unassigned), recorded with the
    # submission so the review reaches the queues assigned.
    assignment: TimelineEvent


class SweepInput(BaseModel):
    now: datetime = Field(description="Uploads declared before now less the stale age are removed.")


class SweepResult(BaseModel):
    """Stale evidence uploads removed by one sweep."""

    removed: int


class FrozenFile(BaseModel):
    """An evidence file a submission holds, as a workflow may see it: an id and a hash, no bytes."""

    id: str
    sha256: str


class FreezeResult(BaseModel):
    task_count: int
    attachments: list[FrozenFile] = Field(default_factory=list)


class MarkRecord(BaseModel):
    criterion_id: str
    section_id: str
    met: bool
    comment: str


class DecisionInput(BaseModel):
    view: EnrolmentView
    event: TimelineEvent
    evaluator_id: str
    outcome: Outcome
    marks: list[MarkRecord]
    feedback: str


class AssignInput(BaseModel):
    enrolment_id: str
    attempt: int
    credential_id: str
    member_id: str
    exclude: list[str] = Field(default_factory=list)
    preferred: str | None = None


class AssignResult(BaseModel):
    evaluator_id: str | None


class CheckoutRequest(BaseModel):
    enrolment_id: str
    member_id: str
    credential_id: str
    title: str
    kind: PurchaseKind
    attempt: int
    price: Money
    requested_at: datetime = Field(description="Workflow time of the request; retries send the same.")
    expires_at: datetime
    idempotency_key: str


class RefundRequest(BaseModel):
    enrolment_id: str | None
    checkout_session_id: str
    reason: str
    idempotency_key: str


class RefundResult(BaseModel):
    refund_id: str | None
    refunded: bool
    reason: str = ""
    amount: int | None = Field(default=None, description="What was given back; None when not known.")


class CloseCheckoutRequest(BaseModel):
    enrolment_id: str
    checkout_session_id: str


class ClosedCheckout(BaseModel):
    """A checkout ended at its window's end: ``paid`` when it was paid first (its webhook late)."""

    paid: PaymentConfirmed | None = None
    matches: bool = Field(default=True, description="Whether ``paid`` is the price asked.")
    processing: bool = Field(
        default=False, description="Completed with a payment method that confirms later (a bank debit)."
    )


class NotifyInput(BaseModel):
    key: str = Field(description="Dedupe key: one notification per key and recipient, however often retried.")
    kind: NotificationKind
    audience: Audience
    recipient_id: str | None = None
    enrolment_id: str | None = None
    at: datetime
    context: dict[str, Any] = Field(default_factory=dict)


class ResendInput(BaseModel):
    enrolment_id: str
    notification_id: str


class NotifyResult(BaseModel):
    notification_ids: list[str]


class CommunityInput(BaseModel):
    enrolment_id: str
    member_id: str
    community_id: str
    at: datetime


class BadgeInput(BaseModel):
    enrolment_id: str
    attempt: int
    at: datetime


class BadgeResult(BaseModel):
    badge_id: str


# Resolve the forward references above (state refers to messages defined after it).
EnrolmentState.model_rebuild()
EnrolmentInput.model_rebuild()


class MailInput(BaseModel):
    notification_id: str
    error: str | None = None


class LatePayment(BaseModel):
    """A paid checkout whose enrolment can no longer use it; the input of LatePaymentWorkflow."""

    enrolment_id: str
    member_id: str
    credential_title: str
    checkout_session_id: str
    amount: int
    currency: str
    reason: str
