"""The evaluator's review queue, claims and decisions."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import EvaluatorDep, EvidenceDep, PageDep, ReadSessionDep, StateDep
from api.errors import documented
from api.schemas import Attempt, DecidedReview, DecisionBody, DecisionPublic, Page, ReviewDetail, ReviewItem
from microcred.services import review_history, reviews

router = APIRouter(tags=["reviews"])


@router.get("/reviews", response_model=Page[ReviewItem], responses=documented(401, 403, 422))
def review_queue(session: ReadSessionDep, evaluator: EvaluatorDep, page: PageDep) -> Page[ReviewItem]:
    """Reviews assigned to me, and unassigned ones I am eligible to claim (none while I am off
    duty), most urgent first."""
    items, next_cursor = reviews.queue(
        session, evaluator_id=evaluator.sub, cursor=page.cursor, limit=page.limit
    )
    return Page(items=[ReviewItem.model_validate(i) for i in items], next_cursor=next_cursor)


# Before /reviews/{enrolment_id}, which would take "decided" for an enrolment id.
@router.get("/reviews/decided", response_model=Page[DecidedReview], responses=documented(401, 403, 422))
def decided_reviews(session: ReadSessionDep, evaluator: EvaluatorDep, page: PageDep) -> Page[DecidedReview]:
    """Every attempt I decided, newest decision first."""
    items, next_cursor = review_history.decided(
        session, evaluator_id=evaluator.sub, cursor=page.cursor, limit=page.limit
    )
    return Page(items=[DecidedReview.model_validate(i) for i in items], next_cursor=next_cursor)


@router.get("/reviews/{enrolment_id}", response_model=ReviewDetail, responses=documented(401, 403, 404))
def get_review(
    enrolment_id: str, session: ReadSessionDep, evaluator: EvaluatorDep, evidence: EvidenceDep
) -> ReviewDetail:
    """The frozen submission (its files with short-lived download URLs) and the rubric to mark
    (assigned evaluator only)."""
    return ReviewDetail.model_validate(
        reviews.detail(session, enrolment_id=enrolment_id, evaluator_id=evaluator.sub, evidence=evidence)
    )


@router.get(
    "/reviews/{enrolment_id}/attempts", response_model=Page[Attempt], responses=documented(401, 403, 404)
)
def review_attempts(
    enrolment_id: str, session: ReadSessionDep, evaluator: EvaluatorDep, evidence: EvidenceDep
) -> Page[Attempt]:
    """Every submitted attempt of the enrolment, oldest first, with its frozen submission and, once
    decided, its marks: for the evaluator of its open review, or who decided one of its attempts
    (read-only history); 404 for anyone else."""
    found = review_history.attempts(
        session, enrolment_id=enrolment_id, evaluator_id=evaluator.sub, evidence=evidence
    )
    return Page(items=[Attempt.model_validate(a) for a in found])


@router.post(
    "/reviews/{enrolment_id}/claim", response_model=ReviewItem, responses=documented(401, 403, 404, 409, 503)
)
async def claim_review(enrolment_id: str, state: StateDep, evaluator: EvaluatorDep) -> ReviewItem:
    """Claim an unassigned review you are eligible for."""
    item = await reviews.claim(
        sessions=state.sessions,
        workflows=state.workflows,
        enrolment_id=enrolment_id,
        evaluator_id=evaluator.sub,
    )
    return ReviewItem.model_validate(item)


@router.post(
    "/reviews/{enrolment_id}/decision",
    response_model=DecisionPublic,
    responses=documented(401, 403, 404, 409, 422, 503),
)
async def decide_review(
    enrolment_id: str, body: DecisionBody, state: StateDep, evaluator: EvaluatorDep
) -> DecisionPublic:
    """Approve, or request a resubmission, marking every rubric criterion."""
    result = await reviews.decide(
        sessions=state.sessions,
        workflows=state.workflows,
        enrolment_id=enrolment_id,
        evaluator_id=evaluator.sub,
        outcome=body.outcome,
        marks=body.marks,
        feedback=body.feedback,
    )
    return DecisionPublic.model_validate(result.model_dump())
