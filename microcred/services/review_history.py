"""What an evaluator has reviewed: the attempts they decided, and the attempts of an enrolment
they review or reviewed (read-only)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from microcred import pagination
from microcred.errors import NotFound
from microcred.lifecycle import Status
from microcred.models import Credential, Enrolment, Submission
from microcred.pagination import Key
from microcred.services import learning, people
from microcred.services.evidence import Evidence

# The newest decision first.
DECIDED_ORDER = (
    Key(col(Submission.decided_at), descending=True, is_datetime=True),
    Key(col(Submission.enrolment_id), descending=True),
    Key(col(Submission.attempt), descending=True),
)


def decided(
    session: Session, *, evaluator_id: str, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the attempts the evaluator decided, newest decision first, and the next
    page's cursor."""
    query = (
        select(
            Submission,
            col(Enrolment.credential_id),
            col(Credential.title),
            people.member_name(col(Enrolment.member_id)),
        )
        .join(Enrolment, col(Enrolment.id) == col(Submission.enrolment_id))
        .join(Credential, col(Credential.id) == col(Enrolment.credential_id))
        .where(
            col(Submission.evaluator_id) == evaluator_id,
            col(Submission.outcome).is_not(None),
            col(Submission.decided_at).is_not(None),
        )
    )
    rows = session.exec(pagination.paginate(query, DECIDED_ORDER, cursor=cursor, limit=limit)).all()
    items, next_cursor = pagination.page(
        rows, limit=limit, key_of=lambda r: (r[0].decided_at, r[0].enrolment_id, r[0].attempt)
    )
    return [
        {
            "enrolment_id": submission.enrolment_id,
            "credential_id": credential_id,
            "title": title,
            "member_name": member_name,
            "attempt": submission.attempt,
            "submitted_at": submission.submitted_at,
            "decided_at": submission.decided_at,
            "decision": submission.outcome,
        }
        for submission, credential_id, title, member_name in items
    ], next_cursor


def attempts(
    session: Session, *, enrolment_id: str, evaluator_id: str, evidence: Evidence
) -> list[dict[str, Any]]:
    """Every submitted attempt of an enrolment, oldest first, for the evaluator who holds its
    open review or who decided one of its attempts; anyone else is told it does not exist."""
    enrolment = session.get(Enrolment, enrolment_id)
    reviewing = (
        enrolment is not None
        and enrolment.status == Status.UNDER_REVIEW
        and enrolment.evaluator_id == evaluator_id
    )
    decided_one = session.exec(
        select(Submission.attempt).where(
            Submission.enrolment_id == enrolment_id, Submission.evaluator_id == evaluator_id
        )
    ).first()
    if not reviewing and decided_one is None:
        raise NotFound("no review of yours with this id", enrolment_id=enrolment_id)
    return learning.attempts(session, enrolment_id=enrolment_id, evidence=evidence)
