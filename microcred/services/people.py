"""People: evaluators (their registration for credentials, whether they are on duty, their
load), and how members are named to the staff."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, delete, select

from microcred import pagination
from microcred.errors import InvalidRequest, NotFound
from microcred.models import Credential, Evaluator, EvaluatorCredential, Member
from microcred.pagination import Key
from microcred.services import assignment

EVALUATOR_ORDER = (Key(col(Evaluator.name)), Key(col(Evaluator.id)))


def member_name(member_id: Any) -> Any:
    """SQL ``member_name``: the name of the member ``member_id`` (a column) as their token last
    gave it, or their id. A subquery by primary key for each row listed, not a join: joined, the
    planner may hash every member to name the few rows of one page."""
    # Its own member table even in a query that joins one (the desk's search filters by name).
    name = sa.select(col(Member.name)).where(col(Member.id) == member_id).correlate_except(Member)
    return sa.func.coalesce(name.scalar_subquery(), member_id).label("member_name")


def _credential_ids(all_credentials: bool | None, credential_ids: list[str]) -> list[str]:
    """The credentials of a registration; none stands for all of them.

    ``all_credentials`` says it outright; left out, an empty list means all, as it always has.
    """
    wanted = sorted(set(credential_ids))
    if all_credentials is True and wanted:
        raise InvalidRequest("list no credentials when registering for all of them", field="credential_ids")
    if all_credentials is False and not wanted:
        raise InvalidRequest(
            "choose at least one credential, or all credentials (all_credentials: true)",
            field="credential_ids",
        )
    return wanted


def register_evaluator(
    session: Session,
    *,
    evaluator_id: str,
    name: str,
    email: str,
    credential_ids: list[str],
    all_credentials: bool | None,
) -> dict[str, Any]:
    """Create or replace an evaluator's registration (for some credentials, or for all of them);
    whether they are on duty is kept."""
    wanted = _credential_ids(all_credentials, credential_ids)
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
    session.flush()
    return public(session, evaluator)


def set_duty(session: Session, *, evaluator_id: str, on_duty: bool) -> dict[str, Any]:
    """Put an evaluator on or off duty. Off duty they get no new reviews; their open ones stay
    theirs until an admin hands them over."""
    evaluator = registered(session, evaluator_id=evaluator_id)
    evaluator.on_duty = on_duty
    evaluator.updated_at = datetime.now(UTC)
    session.flush()
    return public(session, evaluator)


def registered(session: Session, *, evaluator_id: str) -> Evaluator:
    evaluator = session.get(Evaluator, evaluator_id)
    if evaluator is None:
        raise NotFound("no such evaluator", evaluator_id=evaluator_id)
    return evaluator


def _credentials_of(session: Session, evaluator_ids: list[str]) -> dict[str, list[str]]:
    rows = session.exec(
        select(EvaluatorCredential.evaluator_id, EvaluatorCredential.credential_id)
        .where(col(EvaluatorCredential.evaluator_id).in_(evaluator_ids))
        .order_by(col(EvaluatorCredential.credential_id))
    ).all()
    found: dict[str, list[str]] = {e: [] for e in evaluator_ids}
    for evaluator_id, credential_id in rows:
        found[evaluator_id].append(credential_id)
    return found


def _shape(evaluator: Evaluator, credential_ids: list[str], open_reviews: int) -> dict[str, Any]:
    return {
        "id": evaluator.id,
        "name": evaluator.name,
        "email": evaluator.email,
        "credential_ids": credential_ids,
        "all_credentials": evaluator.all_credentials,
        "on_duty": evaluator.on_duty,
        "open_reviews": open_reviews,
    }


def public(session: Session, evaluator: Evaluator) -> dict[str, Any]:
    """One evaluator with their credentials and open reviews."""
    load = assignment.open_reviews()
    open_reviews = session.exec(select(load.c.open).where(load.c.evaluator_id == evaluator.id)).first()
    return _shape(evaluator, _credentials_of(session, [evaluator.id])[evaluator.id], int(open_reviews or 0))


def evaluators(
    session: Session, *, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the evaluators, by name then id, with their credentials and open reviews."""
    load = assignment.open_reviews()
    query = select(Evaluator, sa.func.coalesce(load.c.open, 0)).outerjoin(
        load, load.c.evaluator_id == col(Evaluator.id)
    )
    rows = session.exec(pagination.paginate(query, EVALUATOR_ORDER, cursor=cursor, limit=limit)).all()
    items, next_cursor = pagination.page(rows, limit=limit, key_of=lambda r: (r[0].name, r[0].id))
    credentials = _credentials_of(session, [e.id for e, _ in items])
    return [_shape(e, credentials[e.id], int(n)) for e, n in items], next_cursor
