"""Request and response bodies of the HTTP API (the OpenAPI document is built from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictBool

from microcred.contracts import EventKind, Mark, NotificationKind, Outcome, Status
from microcred.documents import EvidenceDoc, Slug
from microcred.identity import SUBJECT_MAX

Item = TypeVar("Item")


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page."
    )


class ErrorDetail(BaseModel):
    """Every error's ``detail``: a stable ``code`` for programs, a ``message`` for people, and
    the fields that code documents (``tasks`` of ``tasks_incomplete``, say)."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str


class ErrorBody(BaseModel):
    detail: ErrorDetail


class SavedVersion(BaseModel):
    version: int
    response: str
    saved_at: datetime


class VersionConflictDetail(ErrorDetail):
    """``version_conflict``: the task was saved elsewhere (another tab) after the version sent."""

    current: SavedVersion


class VersionConflictBody(BaseModel):
    detail: VersionConflictDetail


# --- requests ---------------------------------------------------------------------------------


class EvaluatorUpdate(Request):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    credential_ids: list[Slug] = Field(
        default_factory=list,
        description="The credentials they evaluate. Must be empty with `all_credentials: true`, and "
        "name at least one with `all_credentials: false` (422 `invalid_request`); with "
        "`all_credentials` omitted, an empty list means every credential. Unknown ids: 422.",
    )
    all_credentials: StrictBool | None = Field(
        default=None,
        description="true: every credential, present and future; false: only `credential_ids`. "
        "Omitted: decided by whether `credential_ids` is empty (as before this field existed).",
    )


class EvaluatorDuty(Request):
    on_duty: StrictBool = Field(
        description="false: no new reviews (assigned, claimed or handed over); their open ones stay "
        "theirs until reassigned."
    )


class EnrolmentCreate(Request):
    credential_id: Slug


class TaskSave(Request):
    response: str = Field(max_length=100_000)
    base_version: int | None = Field(
        default=None,
        ge=0,
        description="The saved version this text was edited from (0: none yet). When another save "
        "came in between, the save is refused with 409 version_conflict; omit to skip the check.",
    )


class AttachmentCreate(Request):
    filename: str = Field(
        min_length=1,
        max_length=255,
        description="The file's name as the member sees it (shown, never a path).",
    )
    content_type: str = Field(
        min_length=3,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9.+-]*/[A-Za-z0-9][A-Za-z0-9.+-]*$",
        description="The file's media type; completion checks it against the content's magic bytes.",
    )
    size: int = Field(ge=1, description="Bytes.")
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 of the bytes, hex.")


class SubmitBody(Request):
    agree_terms: StrictBool  # true or false only: "yes" is not an agreement


class DecisionBody(Request):
    outcome: Outcome
    marks: list[Mark] = Field(max_length=500, description="One per rubric criterion, exactly.")
    feedback: str = Field(default="", max_length=10_000)


class AdminReason(Request):
    reason: str = Field(min_length=1, max_length=500)


class DeadlineExtension(AdminReason):
    by: str = Field(
        max_length=40, description="ISO 8601 duration added to the deadline, e.g. P14D or P1M; at most P100Y."
    )


class ReviewReassignment(AdminReason):
    evaluator_id: str | None = Field(
        default=None, max_length=SUBJECT_MAX, description="Omit for the least-loaded eligible one."
    )


class Cancellation(AdminReason):
    refund: bool | None = Field(default=None, description="Omit to follow the refund policy.")


class Resolution(Request):
    note: str = Field(min_length=1, max_length=500, description="What was done about it.")


# --- responses --------------------------------------------------------------------------------


class EvaluatorPublic(BaseModel):
    id: str
    name: str
    email: str
    credential_ids: list[str]
    all_credentials: bool
    on_duty: bool = Field(description="Off duty: no new reviews; the open ones stay theirs.")
    open_reviews: int = Field(description="Reviews under review assigned to them.")


class CheckoutPublic(BaseModel):
    status: Status
    checkout_url: str | None
    checkout_session_id: str | None


class EnrolmentCreated(BaseModel):
    id: str
    status: Status
    checkout_url: str | None
    checkout_session_id: str | None


class CommunityAccess(BaseModel):
    id: str
    name: str
    url: str | None = Field(description="Where the member finds the community, when the catalog says.")
    access: bool = Field(description="Granted by the first confirmed payment.")


class LearningItem(BaseModel):
    enrolment_id: str
    credential_id: str
    title: str
    status: Status
    attempt: int
    purchased_at: datetime | None
    due_at: datetime | None
    submitted_at: datetime | None
    review_due_at: datetime | None
    decision: Outcome | None
    community: CommunityAccess | None
    badge_url: str | None


class ResourcePublic(BaseModel):
    title: str
    url: str


class FrozenAttachment(BaseModel):
    """An evidence file as a submission holds it (by content hash: its object never changes)."""

    id: str
    filename: str
    content_type: str = Field(description="Checked against the content's magic bytes.")
    size: int
    sha256: str
    download_url: str = Field(description="Short-lived signed URL (minutes): fetch it again when it expires.")


class AttachmentPublic(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    status: Literal["pending", "complete"] = Field(description="pending until completed and verified.")
    uploaded_at: datetime | None = Field(description="When it was verified.")
    download_url: str | None = Field(description="Short-lived signed URL, once verified.")


class UploadRequest(BaseModel):
    """Send the bytes with this request: the method, the URL and every header given."""

    method: str
    url: str
    headers: dict[str, str]


class PartUpload(UploadRequest):
    number: int = Field(description="From 1.")
    offset: int = Field(description="The part's first byte in the file.")
    size: int


class ReceivedPart(BaseModel):
    number: int
    size: int


class MultipartUpload(BaseModel):
    """A large file goes in parts (any order, several at once). After a dropped connection, `GET
    .../upload` says which parts arrived and signs the rest again."""

    part_size: int
    part_count: int
    parts: list[PartUpload] = Field(description="The parts still to send.")
    received: list[ReceivedPart] = Field(description="The parts that arrived.")


class AttachmentUpload(BaseModel):
    id: str
    upload: UploadRequest | None = Field(description="The whole file in one request; null when in parts.")
    multipart: MultipartUpload | None = Field(description="The parts of a large file; null for one request.")
    expires_at: datetime = Field(description="When the signed requests stop working (ask for fresh ones).")


class UnfinishedUpload(BaseModel):
    """A file declared but never completed (a dropped connection, a closed tab): it holds a place
    among the task's files until it is completed (send the same file again: `GET
    .../{id}/upload` says what is missing), removed (`DELETE`), or swept a day after."""

    id: str
    filename: str
    size: int
    declared_at: datetime


class TaskWork(BaseModel):
    id: str
    prompt: str
    required: bool
    response: str | None
    version: int | None
    saved_at: datetime | None
    editable: bool
    evidence: EvidenceDoc | None = Field(description="The files the task takes; null: text only.")
    attachments: list[FrozenAttachment] = Field(description="Its verified files, oldest first.")
    unfinished: list[UnfinishedUpload] = Field(description="Its uploads declared but not completed.")


class CriterionSummary(BaseModel):
    id: str
    title: str
    description: str


class SectionWork(BaseModel):
    id: str
    title: str
    guidance: str
    resources: list[ResourcePublic]
    tasks: list[TaskWork]
    rubric: list[CriterionSummary]


class MarkedCriterion(BaseModel):
    criterion_id: str
    section_id: str
    title: str
    met: bool
    comment: str


class MarkedRubric(BaseModel):
    attempt: int
    decision: Outcome
    feedback: str | None = None
    criteria: list[MarkedCriterion]


class EnrolmentDetail(LearningItem):
    checkout_url: str | None
    checkout_session_id: str | None
    payment_processing: bool = Field(
        description="A payment of this attempt was made (a bank debit, say) and awaits confirmation."
    )
    sections: list[SectionWork]
    rubric: MarkedRubric | None = Field(description="The latest marked rubric, once an attempt is decided.")


class TaskSaved(BaseModel):
    task_id: str
    version: int
    saved_at: datetime


class Submitted(BaseModel):
    status: Status
    review_due_at: datetime


class TimelineItem(BaseModel):
    kind: EventKind
    at: datetime
    actor: str | None
    detail: dict[str, Any]


class NotificationPublic(BaseModel):
    id: str
    kind: NotificationKind
    subject: str
    body: str
    enrolment_id: str | None
    created_at: datetime
    mail_status: str


class ReviewItem(BaseModel):
    enrolment_id: str
    credential_id: str
    title: str
    member_name: str = Field(description="Who submitted: the member's name, or their id when none is known.")
    attempt: int
    submitted_at: datetime | None
    review_due_at: datetime | None
    overdue: bool
    assigned_to: str | None


class CriterionPublic(BaseModel):
    id: str
    section_id: str
    title: str
    description: str


class SubmittedTask(BaseModel):
    task_id: str
    section_id: str
    prompt: str
    required: bool
    response: str | None
    version: int | None
    attachments: list[FrozenAttachment] = Field(description="The files the submission froze.")


class Attempt(BaseModel):
    """One submitted attempt: its frozen responses and, once decided, its marked rubric."""

    attempt: int
    submitted_at: datetime
    decided_at: datetime | None
    decision: Outcome | None
    tasks: list[SubmittedTask]
    rubric: MarkedRubric | None


class ReviewDetail(ReviewItem):
    tasks: list[SubmittedTask]
    rubric: list[CriterionPublic]
    previous_rubric: MarkedRubric | None = Field(description="The marks of the previous attempt, if any.")


class DecisionPublic(BaseModel):
    status: Status
    decision: Outcome
    attempt: int
    due_at: datetime | None


class EnrolmentStatePublic(BaseModel):
    """An enrolment's read model after an operator's repair."""

    enrolment_id: str
    status: Status
    attempt: int
    due_at: datetime | None
    review_due_at: datetime | None
    evaluator_id: str | None
    review_overdue: bool


class DecidedReview(BaseModel):
    """An attempt the evaluator decided."""

    enrolment_id: str
    credential_id: str
    title: str
    member_name: str
    attempt: int
    submitted_at: datetime
    decided_at: datetime
    decision: Outcome


class AdminEnrolmentItem(BaseModel):
    enrolment_id: str
    member_id: str
    member_name: str = Field(description="The member's name, or their id when none is known.")
    member_email: str | None
    credential_id: str
    title: str
    status: Status
    attempt: int
    purchased_at: datetime | None
    due_at: datetime | None
    submitted_at: datetime | None
    review_due_at: datetime | None
    evaluator_id: str | None
    review_overdue: bool
    created_at: datetime


class PaymentRecord(BaseModel):
    checkout_session_id: str
    kind: str = Field(description="purchase or resubmission")
    attempt: int
    amount: int = Field(description="The price asked, in the currency's minor unit.")
    currency: str
    status: str = Field(description="open, processing, paid, expired, failed, refunded, mismatch")
    paid_at: datetime | None
    refunded_amount: int | None
    refunded_at: datetime | None


class NotificationRecord(BaseModel):
    id: str = Field(description="For POST .../notifications/{id}/resend.")
    kind: NotificationKind
    subject: str
    recipient_id: str = Field(description="A member's or an evaluator's id, or `admins`.")
    created_at: datetime
    mail_status: str


class AdminEnrolmentDetail(AdminEnrolmentItem):
    checkout_url: str | None
    badge_url: str | None
    decision: Outcome | None
    community: CommunityAccess | None
    sections: list[SectionWork] = Field(
        description="The latest saved work, `editable` as the member sees it."
    )
    rubric: MarkedRubric | None = Field(description="The latest marked rubric, once an attempt is decided.")
    payments: list[PaymentRecord] = Field(description="Oldest first.")
    notifications: list[NotificationRecord] = Field(description="Oldest first.")
    workflow_id: str
    temporal_ui_url: str | None = Field(
        description="The workflow in the Temporal Web UI; null when MICROCRED_TEMPORAL_UI_URL is unset."
    )


class AttentionItem(BaseModel):
    kind: Literal["review_overdue", "review_unassigned", "operator_alert"]
    enrolment_id: str | None = Field(description="Null only for an alert about no enrolment.")
    title: str | None
    member_name: str | None
    since: datetime = Field(
        description="When it began to need attention: the review's due date, its submission, the alert."
    )
    summary: str
    notification_id: str | None = Field(description="The alert, to resolve; null for reviews.")
