"""Evaluators (admins): registration, duty, and the reviews each one holds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import AdminDep, PageDep, SessionDep
from api.errors import documented
from api.schemas import EvaluatorDuty, EvaluatorPublic, EvaluatorUpdate, Page, ReviewItem
from microcred.identity import SUBJECT_MAX
from microcred.services import people, reviews

router = APIRouter(tags=["evaluators"])

Sub = Annotated[str, Path(max_length=SUBJECT_MAX, description="The evaluator's token sub.")]


@router.get("/evaluators", response_model=Page[EvaluatorPublic], responses=documented(401, 403, 422))
def list_evaluators(session: SessionDep, _: AdminDep, page: PageDep) -> Page[EvaluatorPublic]:
    """Every evaluator, by name then id, with their credentials, duty and open reviews."""
    items, next_cursor = people.evaluators(session, cursor=page.cursor, limit=page.limit)
    return Page(items=[EvaluatorPublic.model_validate(i) for i in items], next_cursor=next_cursor)


@router.put("/evaluators/{sub}", response_model=EvaluatorPublic, responses=documented(401, 403, 422))
def register_evaluator(sub: Sub, body: EvaluatorUpdate, session: SessionDep, _: AdminDep) -> EvaluatorPublic:
    """Register (or update) an evaluator for some credentials, or for all of them.

    Say which with ``all_credentials``; without it an empty ``credential_ids`` means all. Whether
    they are on duty is kept (a new evaluator starts on duty)."""
    with session.begin():
        registered = people.register_evaluator(
            session,
            evaluator_id=sub,
            name=body.name,
            email=str(body.email),
            credential_ids=body.credential_ids,
            all_credentials=body.all_credentials,
        )
    return EvaluatorPublic.model_validate(registered)


@router.put(
    "/evaluators/{sub}/duty", response_model=EvaluatorPublic, responses=documented(401, 403, 404, 422)
)
def set_evaluator_duty(sub: Sub, body: EvaluatorDuty, session: SessionDep, _: AdminDep) -> EvaluatorPublic:
    """Put an evaluator on or off duty. Off duty they are assigned nothing new, cannot claim, and
    cannot be named in a reassignment; their open reviews stay theirs until reassigned."""
    with session.begin():
        return EvaluatorPublic.model_validate(
            people.set_duty(session, evaluator_id=sub, on_duty=body.on_duty)
        )


@router.get(
    "/evaluators/{sub}/reviews", response_model=Page[ReviewItem], responses=documented(401, 403, 404, 422)
)
def evaluator_open_reviews(sub: Sub, session: SessionDep, _: AdminDep, page: PageDep) -> Page[ReviewItem]:
    """The open reviews an evaluator holds, most urgent first: each can be handed to someone else
    with ``POST /admin/enrolments/{enrolment_id}/reassignment``."""
    items, next_cursor = reviews.assigned_to(session, evaluator_id=sub, cursor=page.cursor, limit=page.limit)
    return Page(items=[ReviewItem.model_validate(i) for i in items], next_cursor=next_cursor)
