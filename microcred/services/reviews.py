"""What evaluators read and do: the review queue, one review, claim and decision."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from microcred import pagination
from microcred.contracts import ClaimRequest, DecisionRequest, DecisionResult, Mark, Outcome
from microcred.db import SessionFactory
from microcred.errors import NotFound
from microcred.lifecycle import Lifecycle
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
from microcred.services import enrolments, learning

# The most urgent review first.
QUEUE_ORDER = (Key(col(Enrolment.review_due_at), is_datetime=True), Key(col(Enrolment.id)))


def _eligible(evaluator_id: str) -> Any:
    """SQL: the evaluator may review the listed enrolment's credential (registered for it, or for
    all). Two sibling EXISTS, so the registration check correlates with the listed enrolment
    (nested inside another EXISTS it would get an enrolment table of its own)."""
    everything = sa.exists().where(
        col(Evaluator.id) == evaluator_id, col(Evaluator.all_credentials).is_(True)
    )
    registered = sa.exists().where(
        col(EvaluatorCredential.evaluator_id) == evaluator_id,
        col(EvaluatorCredential.credential_id) == col(Enrolment.credential_id),
    )
    return sa.or_(everything, registered)


def queue(
    session: Session, *, evaluator_id: str, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the reviews assigned to the evaluator and the unassigned ones they may claim,
    most urgent first, and the next page's cursor."""
    query = (
        select(Enrolment, col(Credential.title))
        .join(Credential, col(Credential.id) == col(Enrolment.credential_id))
        .where(
            col(Enrolment.status) == "under_review",
            sa.or_(
                col(Enrolment.evaluator_id) == evaluator_id,
                sa.and_(
                    col(Enrolment.evaluator_id).is_(None),
                    col(Enrolment.member_id) != evaluator_id,
                    _eligible(evaluator_id),
                ),
            ),
        )
    )
    rows = session.exec(pagination.paginate(query, QUEUE_ORDER, cursor=cursor, limit=limit)).all()
    items, next_cursor = pagination.page(rows, limit=limit, key_of=lambda r: (r[0].review_due_at, r[0].id))
    return [_item(e, title) for e, title in items], next_cursor


def _item(enrolment: Enrolment, title: str) -> dict[str, Any]:
    return {
        "enrolment_id": enrolment.id,
        "credential_id": enrolment.credential_id,
        "title": title,
        "attempt": enrolment.attempt,
        "submitted_at": enrolment.submitted_at,
        "review_due_at": enrolment.review_due_at,
        "overdue": enrolment.review_overdue,
        "assigned_to": enrolment.evaluator_id,
    }


def detail(session: Session, *, enrolment_id: str, evaluator_id: str) -> dict[str, Any]:
    """The frozen submission under review and the rubric, for its assigned evaluator only."""
    enrolment = session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.status != "under_review" or enrolment.evaluator_id != evaluator_id:
        raise NotFound("no review of yours with this id", enrolment_id=enrolment_id)
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
        **_item(enrolment, credential.title),
        "tasks": learning.frozen_tasks(tasks, submission.responses),
        "rubric": [
            {"id": c.id, "section_id": c.section_id, "title": c.title, "description": c.description}
            for c in criteria
        ],
        "previous_rubric": learning.rubric_of(session, submission=previous)
        if previous and previous.outcome
        else None,
    }


def _review_item(sessions: SessionFactory, enrolment_id: str) -> dict[str, Any]:
    with sessions() as session:
        row = session.exec(
            select(Enrolment, col(Credential.title))
            .join(Credential, col(Credential.id) == col(Enrolment.credential_id))
            .where(col(Enrolment.id) == enrolment_id)
        ).one()
        return _item(*row)


async def claim(
    *, sessions: SessionFactory, lifecycle: Lifecycle, enrolment_id: str, evaluator_id: str
) -> dict[str, Any]:
    """Take an unassigned review (the workflow checks eligibility against the registrations)."""
    await enrolments.require(sessions=sessions, enrolment_id=enrolment_id)
    await lifecycle.claim(enrolment_id, ClaimRequest(evaluator_id=evaluator_id))
    return await asyncio.to_thread(_review_item, sessions, enrolment_id)


async def decide(
    *,
    sessions: SessionFactory,
    lifecycle: Lifecycle,
    enrolment_id: str,
    evaluator_id: str,
    outcome: Outcome,
    marks: list[Mark],
    feedback: str,
) -> DecisionResult:
    await enrolments.require(sessions=sessions, enrolment_id=enrolment_id)
    return await lifecycle.decide(
        enrolment_id,
        DecisionRequest(evaluator_id=evaluator_id, outcome=outcome, marks=marks, feedback=feedback),
    )
