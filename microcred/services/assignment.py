"""Evaluator assignment: the eligible evaluator on duty with the fewest open reviews."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from microcred.lifecycle import Status
from microcred.models import Enrolment, Evaluator, EvaluatorCredential


def open_reviews() -> Any:
    """SQL subquery ``(evaluator_id, open)``: how many reviews under review each evaluator holds."""
    return (
        select(col(Enrolment.evaluator_id).label("evaluator_id"), sa.func.count().label("open"))
        .where(col(Enrolment.status) == Status.UNDER_REVIEW, col(Enrolment.evaluator_id).is_not(None))
        .group_by(col(Enrolment.evaluator_id))
        .subquery()
    )


def eligible_evaluators(
    session: Session, *, credential_id: str, member_id: str, exclude: list[str] | tuple[str, ...] = ()
) -> list[tuple[str, int]]:
    """(evaluator id, open reviews) of everyone who may take a review of this credential now,
    least loaded first.

    Eligible: on duty, registered for the credential or for all credentials, never the member
    themself. Every new holder of a review is picked here (on submission, on a claim, on an SLA
    or an admin's reassignment), so an evaluator off duty gets none.
    """
    registered = sa.exists().where(
        col(EvaluatorCredential.evaluator_id) == col(Evaluator.id),
        col(EvaluatorCredential.credential_id) == credential_id,
    )
    load = open_reviews()
    rows = session.exec(
        select(Evaluator.id, sa.func.coalesce(load.c.open, 0))
        .outerjoin(load, load.c.evaluator_id == Evaluator.id)
        .where(
            col(Evaluator.on_duty).is_(True),
            sa.or_(col(Evaluator.all_credentials).is_(True), registered),
            Evaluator.id != member_id,
            col(Evaluator.id).not_in(list(exclude)),
        )
        .order_by(sa.func.coalesce(load.c.open, 0), col(Evaluator.id))
    ).all()
    return [(evaluator_id, int(count)) for evaluator_id, count in rows]
