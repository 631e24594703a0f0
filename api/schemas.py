"""Request and response bodies of the HTTP API (the OpenAPI document is built from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictBool

from microcred.contracts import Mark, Outcome, Status
from microcred.schemas import Slug

Item = TypeVar("Item")


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[Item]):
    items: list[Item]


# --- requests ---------------------------------------------------------------------------------


class EvaluatorUpdate(Request):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    credential_ids: list[Slug] = Field(default_factory=list, description="Empty: every credential.")


class EnrolmentCreate(Request):
    credential_id: Slug


class TaskSave(Request):
    response: str = Field(max_length=100_000)


class SubmitBody(Request):
    agree_terms: StrictBool  # true or false only: "yes" is not an agreement


class DecisionBody(Request):
    outcome: Outcome
    marks: list[Mark] = Field(max_length=500)
    feedback: str = Field(default="", max_length=20_000)


class AdminReason(Request):
    reason: str = Field(min_length=1, max_length=500)


class DeadlineExtension(AdminReason):
    by: str = Field(description="ISO 8601 duration added to the deadline, e.g. P14D or P1M; at most P100Y.")


class ReviewReassignment(AdminReason):
    evaluator_id: str | None = Field(default=None, description="Omit for the least-loaded eligible one.")


class Cancellation(AdminReason):
    refund: bool | None = Field(default=None, description="Omit to follow the refund policy.")


# --- responses --------------------------------------------------------------------------------


class EvaluatorPublic(BaseModel):
    id: str
    name: str
    email: str
    credential_ids: list[str]
    all_credentials: bool


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


class TaskWork(BaseModel):
    id: str
    prompt: str
    required: bool
    response: str | None
    version: int | None
    saved_at: datetime | None
    editable: bool


class SectionWork(BaseModel):
    id: str
    title: str
    guidance: str
    resources: list[ResourcePublic]
    tasks: list[TaskWork]


class MarkedCriterion(BaseModel):
    criterion_id: str
    section_id: str
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
    sections: list[SectionWork]
    rubric: MarkedRubric | None


class TaskSaved(BaseModel):
    task_id: str
    version: int
    saved_at: datetime


class Submitted(BaseModel):
    status: Status
    review_due_at: datetime


class TimelineItem(BaseModel):
    kind: str
    at: datetime
    actor: str | None
    detail: dict[str, Any]


class NotificationPublic(BaseModel):
    id: str
    kind: str
    subject: str
    body: str
    enrolment_id: str | None
    created_at: datetime
    mail_status: str


class ReviewItem(BaseModel):
    enrolment_id: str
    credential_id: str
    title: str
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
