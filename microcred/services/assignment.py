"""Evaluator assignment: the eligible evaluator with the fewest open reviews."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from microcred.models import Enrolment, Evaluator, EvaluatorCredential


def eligible_evaluators(
    session: Session, *, credential_id: str, member_id: str, exclude: list[str] | tuple[str, ...] = ()
) -> list[tuple[str, int]]:
    """(evaluator id, open reviews) of everyone who may review this credential, least loaded first.

    Eligible: registered for the credential or for all credentials, never the member themself.
    """
    registered = sa.exists().where(
        col(EvaluatorCredential.evaluator_id) == col(Evaluator.id),
        col(EvaluatorCredential.credential_id) == credential_id,
    )
    load = (
        select(Enrolment.evaluator_id, sa.func.count().label("open"))
        .where(Enrolment.status == "under_review", col(Enrolment.evaluator_id).is_not(None))
        .group_by(col(Enrolment.evaluator_id))
        .subquery()
    )
    rows = session.exec(
        select(Evaluator.id, sa.func.coalesce(load.c.open, 0))
        .outerjoin(load, load.c.evaluator_id == Evaluator.id)
        .where(
            sa.or_(col(Evaluator.all_credentials).is_(True), registered),
            Evaluator.id != member_id,
            col(Evaluator.id).not_in(list(exclude)),
        )
        .order_by(sa.func.coalesce(load.c.open, 0), col(Evaluator.id))
    ).all()
    return [(evaluator_id, int(open_reviews)) for evaluator_id, open_reviews in rows]
