"""What evaluators read and do: the review queue, one review, claim and decision."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from microcred import pagination
from microcred.contracts import ClaimRequest, DecisionRequest, DecisionResult, Mark, Outcome
from microcred.db import SessionFactory, reading
from microcred.errors import AlreadyClaimed, InvalidState, NotAssigned, NotEligible, NotFound
from microcred.lifecycle import Status
from microcred.models import (
    Credential,
    Criterion,
    Enrolment,
    Evaluator,
    EvaluatorCredential,
    Section,
    Submission,
    Task,
)
from microcred.pagination import Key
from microcred.services import learning, people
from microcred.services.evidence import Evidence
from microcred.temporal.client import WorkflowClient

# The most urgent review first.
QUEUE_ORDER = (Key(col(Enrolment.review_due_at), is_datetime=True), Key(col(Enrolment.id)))


def _eligible(evaluator_id: str) -> Any:
    """SQL: the evaluator may take the listed enrolment's review now: on duty, and registered for
    its credential or for all. Sibling EXISTS, so the registration check correlates with the
    listed enrolment (nested inside another EXISTS it would get an enrolment table of its own)."""
    on_duty = sa.exists().where(col(Evaluator.id) == evaluator_id, col(Evaluator.on_duty).is_(True))
    everything = sa.exists().where(
        col(Evaluator.id) == evaluator_id, col(Evaluator.all_credentials).is_(True)
    )
    registered = sa.exists().where(
        col(EvaluatorCredential.evaluator_id) == evaluator_id,
        col(EvaluatorCredential.credential_id) == col(Enrolment.credential_id),
    )
    return sa.and_(on_duty, sa.or_(everything, registered))


def _reviews() -> Any:
    """Enrolments with their credential's title and their member's name: one query, no N+1."""
    return select(Enrolment, col(Credential.title), people.member_name(col(Enrolment.member_id))).join(
        Credential, col(Credential.id) == col(Enrolment.credential_id)
    )


def _page(
    session: Session, query: Any, *, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    rows = session.exec(pagination.paginate(query, QUEUE_ORDER, cursor=cursor, limit=limit)).all()
    items, next_cursor = pagination.page(rows, limit=limit, key_of=lambda r: (r[0].review_due_at, r[0].id))
    return [_item(*row) for row in items], next_cursor


def queue(
    session: Session, *, evaluator_id: str, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the reviews assigned to the evaluator and the unassigned ones they may claim
    (none while they are off duty), most urgent first, and the next page's cursor."""
    claimable = sa.and_(
        col(Enrolment.evaluator_id).is_(None),
        col(Enrolment.member_id) != evaluator_id,
        _eligible(evaluator_id),
    )
    query = _reviews().where(
        col(Enrolment.status) == Status.UNDER_REVIEW,
        sa.or_(col(Enrolment.evaluator_id) == evaluator_id, claimable),
    )
    return _page(session, query, cursor=cursor, limit=limit)


def assigned_to(
    session: Session, *, evaluator_id: str, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the open reviews an evaluator holds, most urgent first (for an admin handing
    them over); NotFound for someone who is no evaluator."""
    people.registered(session, evaluator_id=evaluator_id)
    query = _reviews().where(
        col(Enrolment.status) == Status.UNDER_REVIEW, col(Enrolment.evaluator_id) == evaluator_id
    )
    return _page(session, query, cursor=cursor, limit=limit)


def _item(enrolment: Enrolment, title: str, member_name: str) -> dict[str, Any]:
    return {
        "enrolment_id": enrolment.id,
        "credential_id": enrolment.credential_id,
        "title": title,
        "member_name": member_name,
        "attempt": enrolment.attempt,
        "submitted_at": enrolment.submitted_at,
        "review_due_at": enrolment.review_due_at,
        "overdue": enrolment.review_overdue,
        "assigned_to": enrolment.evaluator_id,
    }


def detail(session: Session, *, enrolment_id: str, evaluator_id: str, evidence: Evidence) -> dict[str, Any]:
    """The frozen submission under review (its files with download URLs) and the rubric, for its
    assigned evaluator only."""
    row = session.exec(_reviews().where(col(Enrolment.id) == enrolment_id)).first()
    if row is None or row[0].status != Status.UNDER_REVIEW or row[0].evaluator_id != evaluator_id:
        raise NotFound("no review of yours with this id", enrolment_id=enrolment_id)
    enrolment, title, member_name = row
    credential = session.get(Credential, enrolment.credential_id)
    submission = session.get(Submission, (enrolment.id, enrolment.attempt))
    assert credential is not None and submission is not None
    cid = credential.id
    order = {s.id: s.position for s in session.exec(select(Section).where(Section.credential_id == cid))}
    tasks = sorted(
        session.exec(select(Task).where(Task.credential_id == cid)).all(),
        key=lambda t: (order[t.section_id], t.position),
    )
    criteria = sorted(
        session.exec(select(Criterion).where(Criterion.credential_id == cid)).all(),
        key=lambda c: (order[c.section_id], c.position),
    )
    previous = (
        session.get(Submission, (enrolment.id, enrolment.attempt - 1)) if enrolment.attempt > 1 else None
    )
    return {
        **_item(enrolment, title, member_name),
        "tasks": learning.frozen_tasks(tasks, submission, evidence),
        "rubric": [
            {"id": c.id, "section_id": c.section_id, "title": c.title, "description": c.description}
            for c in criteria
        ],
        "previous_rubric": learning.rubric_of(session, submission=previous)
        if previous and previous.outcome
        else None,
    }


def _review_item(sessions: SessionFactory, enrolment_id: str) -> dict[str, Any]:
    with reading(sessions) as session:
        return _item(*session.exec(_reviews().where(col(Enrolment.id) == enrolment_id)).one())


def _check_claim(sessions: SessionFactory, enrolment_id: str, evaluator_id: str) -> None:
    """Refuse, from the database and without troubling the workflow, a claim that cannot be
    taken: repeated clicks and evaluators who may not claim never become workflow updates. An
    evaluator who may not review this credential learns nothing of the enrolment (404), and
    nobody learns who holds a review."""
    with reading(sessions) as session:
        enrolment = session.get(Enrolment, enrolment_id)
        if enrolment is None:
            raise NotFound("no review you can claim with this id", enrolment_id=enrolment_id)
        if enrolment.member_id == evaluator_id:
            raise NotEligible("members never evaluate their own work")
        evaluator = session.get(Evaluator, evaluator_id)
        if evaluator is not None and not evaluator.on_duty:
            # Said plainly here; the workflow's pick would refuse it too, as not eligible.
            raise NotEligible("you are off duty: an admin puts you back on duty before you claim reviews")
        eligible = session.exec(
            select(Enrolment.id).where(col(Enrolment.id) == enrolment_id, _eligible(evaluator_id))
        ).first()
        if eligible is None:
            raise NotFound("no review you can claim with this id", enrolment_id=enrolment_id)
        if enrolment.status != Status.UNDER_REVIEW:
            raise InvalidState(
                f"cannot claim the review while the enrolment is {enrolment.status}", status=enrolment.status
            )
        if enrolment.evaluator_id == evaluator_id:
            raise AlreadyClaimed("this review is already yours")
        if enrolment.evaluator_id is not None:
            raise AlreadyClaimed("another evaluator has already claimed this review")


async def claim(
    *, sessions: SessionFactory, workflows: WorkflowClient, enrolment_id: str, evaluator_id: str
) -> dict[str, Any]:
    """Take an unassigned review (the workflow checks eligibility again, under its lock)."""
    await asyncio.to_thread(_check_claim, sessions, enrolment_id, evaluator_id)
    await workflows.claim(enrolment_id, ClaimRequest(evaluator_id=evaluator_id))
    return await asyncio.to_thread(_review_item, sessions, enrolment_id)


def _check_decision(sessions: SessionFactory, enrolment_id: str, evaluator_id: str) -> None:
    """Only the assigned evaluator's decision reaches the workflow; anyone else learns nothing
    of the review (its status, who holds it)."""
    with reading(sessions) as session:
        enrolment = session.get(Enrolment, enrolment_id)
        if enrolment is None:
            raise NotFound("no review of yours with this id", enrolment_id=enrolment_id)
        if enrolment.evaluator_id != evaluator_id:
            raise NotAssigned("only the evaluator assigned to this review can decide it")


async def decide(
    *,
    sessions: SessionFactory,
    workflows: WorkflowClient,
    enrolment_id: str,
    evaluator_id: str,
    outcome: Outcome,
    marks: list[Mark],
    feedback: str,
) -> DecisionResult:
    await asyncio.to_thread(_check_decision, sessions, enrolment_id, evaluator_id)
    return await workflows.decide(
        enrolment_id,
        DecisionRequest(evaluator_id=evaluator_id, outcome=outcome, marks=marks, feedback=feedback),
    )
