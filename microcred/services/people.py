"""Evaluators and their eligibility."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, delete, select

from microcred.errors import InvalidRequest
from microcred.models import Credential, Evaluator, EvaluatorCredential


def register_evaluator(
    session: Session, *, evaluator_id: str, name: str, email: str, credential_ids: list[str]
) -> tuple[Evaluator, list[str]]:
    """Create or replace an evaluator's registration; no credentials means all of them."""
    wanted = sorted(set(credential_ids))
    known = set(session.exec(select(Credential.id).where(col(Credential.id).in_(wanted))).all())
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise InvalidRequest("unknown credentials", credential_ids=unknown)
    evaluator = session.get(Evaluator, evaluator_id)
    if evaluator is None:
        evaluator = Evaluator(id=evaluator_id, name=name, email=email)
        session.add(evaluator)
    evaluator.name, evaluator.email = name, email
    evaluator.all_credentials = not wanted
    evaluator.updated_at = datetime.now(UTC)
    session.flush()
    session.exec(delete(EvaluatorCredential).where(col(EvaluatorCredential.evaluator_id) == evaluator_id))
    for credential_id in wanted:
        session.add(EvaluatorCredential(evaluator_id=evaluator_id, credential_id=credential_id))
    return evaluator, wanted
