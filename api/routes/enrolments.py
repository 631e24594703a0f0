"""A member's enrolments: buy, work, submit, read the rubric and earlier attempts, resubmit."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status

from api.deps import EvidenceDep, MemberDep, OwnerOrAdminDep, PageDep, SessionDep, StateDep
from api.errors import documented
from api.schemas import (
    Attempt,
    CheckoutPublic,
    EnrolmentCreate,
    EnrolmentCreated,
    EnrolmentDetail,
    ErrorBody,
    MarkedRubric,
    Page,
    SubmitBody,
    Submitted,
    TaskSave,
    TaskSaved,
    TimelineItem,
    VersionConflictBody,
)
from microcred.errors import NotFound
from microcred.identity import Role
from microcred.services import enrolments, learning, work

router = APIRouter(tags=["enrolments"])


@router.post(
    "/enrolments",
    response_model=EnrolmentCreated,
    status_code=status.HTTP_201_CREATED,
    responses=documented(401, 403, 404, 409, 503),
)
async def enrol(body: EnrolmentCreate, state: StateDep, member: MemberDep) -> EnrolmentCreated:
    """Buy a credential: answers with the checkout to pay within the payment window.

    409 ``already_enrolled``, ``already_earned``, or ``credential_retired`` (no longer sold)."""
    created = await enrolments.enrol(
        sessions=state.sessions, workflows=state.workflows, principal=member, credential_id=body.credential_id
    )
    return EnrolmentCreated.model_validate(created.model_dump())


@router.get("/enrolments/{enrolment_id}", response_model=EnrolmentDetail, responses=documented(401, 403, 404))
def get_enrolment(
    enrolment_id: str, session: SessionDep, state: StateDep, evidence: EvidenceDep, member: MemberDep
) -> EnrolmentDetail:
    """The enrolment with its open checkout, its sections (tasks with the saved work, rubric
    criteria) and the latest marked rubric."""
    detail = learning.enrolment_detail(
        session,
        enrolment_id=enrolment_id,
        member_id=member.sub,
        api_base_url=state.settings.api_base_url,
        now=datetime.now(UTC),
        evidence=evidence,
    )
    return EnrolmentDetail.model_validate(detail)


@router.put(
    "/enrolments/{enrolment_id}/tasks/{task_id}",
    response_model=TaskSaved,
    # 409 not_editable is the plain error body; version_conflict names the current version.
    responses=documented(401, 403, 404, bodies={409: ErrorBody | VersionConflictBody}),
)
def save_task(
    enrolment_id: str, task_id: str, body: TaskSave, session: SessionDep, member: MemberDep
) -> TaskSaved:
    """Save a task's response as a new version (any number of times, while it is editable).

    409 ``not_editable`` once the work is submitted or the deadline has passed; 409
    ``version_conflict`` (with the ``current`` saved version) when ``base_version`` is stale.
    """
    with session.begin():
        saved = work.save_task(
            session,
            enrolment_id=enrolment_id,
            member_id=member.sub,
            task_id=task_id,
            response=body.response,
            now=datetime.now(UTC),
            base_version=body.base_version,
        )
    return TaskSaved(task_id=saved.task_id, version=saved.version, saved_at=saved.saved_at)


@router.post(
    "/enrolments/{enrolment_id}/submit",
    response_model=Submitted,
    responses=documented(401, 403, 404, 409, 422, 503),
)
async def submit(enrolment_id: str, body: SubmitBody, state: StateDep, member: MemberDep) -> Submitted:
    """Submit for review. No save is accepted afterwards."""
    result = await enrolments.submit(
        sessions=state.sessions,
        workflows=state.workflows,
        member_id=member.sub,
        enrolment_id=enrolment_id,
        agree_terms=body.agree_terms,
    )
    return Submitted(status=result.status, review_due_at=result.review_due_at)


@router.get(
    "/enrolments/{enrolment_id}/rubric", response_model=MarkedRubric, responses=documented(401, 403, 404)
)
def get_rubric(enrolment_id: str, session: SessionDep, member: MemberDep) -> MarkedRubric:
    """The latest marked rubric (404 before any decision)."""
    enrolments.owned(session, enrolment_id=enrolment_id, member_id=member.sub)
    marked = learning.latest_rubric(session, enrolment_id=enrolment_id)
    if marked is None:
        raise NotFound("no decision yet", enrolment_id=enrolment_id)
    return MarkedRubric.model_validate(marked)


@router.get(
    "/enrolments/{enrolment_id}/attempts", response_model=Page[Attempt], responses=documented(401, 403, 404)
)
def list_attempts(
    enrolment_id: str, session: SessionDep, caller: OwnerOrAdminDep, evidence: EvidenceDep
) -> Page[Attempt]:
    """Every submitted attempt, oldest first: its frozen submission and, once decided, its marks."""
    if caller.role is Role.MEMBER:
        enrolments.owned(session, enrolment_id=enrolment_id, member_id=caller.sub)
    return Page(
        items=[
            Attempt.model_validate(a)
            for a in learning.attempts(session, enrolment_id=enrolment_id, evidence=evidence)
        ]
    )


@router.post(
    "/enrolments/{enrolment_id}/resubmission",
    response_model=CheckoutPublic,
    status_code=status.HTTP_201_CREATED,
    responses=documented(401, 403, 404, 409, 503),
)
async def start_resubmission(enrolment_id: str, state: StateDep, member: MemberDep) -> CheckoutPublic:
    """Start a resubmission: answers with the checkout of the resubmission price."""
    info = await enrolments.start_resubmission(
        sessions=state.sessions, workflows=state.workflows, member_id=member.sub, enrolment_id=enrolment_id
    )
    return CheckoutPublic.model_validate(info.model_dump())


@router.get(
    "/enrolments/{enrolment_id}/timeline",
    response_model=Page[TimelineItem],
    responses=documented(401, 403, 404, 422),
)
def get_timeline(
    enrolment_id: str, session: SessionDep, caller: OwnerOrAdminDep, page: PageDep
) -> Page[TimelineItem]:
    """The enrolment's lifecycle events in order, with who did what."""
    if caller.role is Role.MEMBER:
        enrolments.owned(session, enrolment_id=enrolment_id, member_id=caller.sub)
    entries, next_cursor = learning.timeline(
        session, enrolment_id=enrolment_id, cursor=page.cursor, limit=page.limit
    )
    return Page(
        items=[TimelineItem(kind=e.kind, at=e.at, actor=e.actor, detail=e.detail or {}) for e in entries],
        next_cursor=next_cursor,
    )
