"""Writes of the enrolment read model and its timeline, made by the workflow's activities."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from microcred.contracts import EnrolmentView, EventKind, TimelineEvent
from microcred.db import insert_ignoring_duplicates, is_postgres
from microcred.errors import NotFound
from microcred.models import Enrolment, Payment, PaymentStatus, TimelineEntry

_ENROLMENT_TABLE: sa.Table = Enrolment.__table__  # type: ignore[attr-defined]
_ENROLMENT = _ENROLMENT_TABLE.c
_TIMELINE = TimelineEntry.__table__.c  # type: ignore[attr-defined]
_EVENT_COLUMNS = ("key", "kind", "at", "actor", "detail")


def add_event(
    session: Session,
    *,
    enrolment_id: str,
    key: str,
    kind: str,
    at: datetime,
    actor: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record a timeline event once per ``key`` (a repeated write is ignored by the database)."""
    session.execute(
        insert_ignoring_duplicates(session, TimelineEntry, ("enrolment_id", "key")).values(
            enrolment_id=enrolment_id, key=key, kind=kind, at=at, actor=actor, detail=detail or {}
        )
    )


def _view_values(view: EnrolmentView) -> dict[str, Any]:
    """The read model's columns as the workflow's view has them."""
    return {
        "seq": view.seq,
        "status": view.status.value,
        "attempt": view.attempt,
        "purchased_at": view.purchased_at,
        "due_at": view.due_at,
        "submitted_at": view.submitted_at,
        "review_due_at": view.review_due_at,
        "decision": view.decision.value if view.decision else None,
        "evaluator_id": view.evaluator_id,
        "review_overdue": view.review_overdue,
        "checkout_session_id": view.checkout_session_id,
        "checkout_url": view.checkout_url,
        "badge_id": view.badge_id,
        "editable_sections": view.editable_sections,
        "updated_at": datetime.now(UTC),
    }


def _apply(view: EnrolmentView) -> sa.Update:
    """The view onto its enrolment's row, in one UPDATE that also locks the row (its version
    bumped whatever its ``seq``, as ``db.lock_enrolment`` does); the row takes the view's
    columns only when the view is newer than what it holds (a retry's older view changes none)."""
    newer = _ENROLMENT.seq < view.seq
    values: dict[str, Any] = {
        name: sa.case((newer, sa.literal(value, _ENROLMENT[name].type)), else_=_ENROLMENT[name])
        for name, value in _view_values(view).items()
    }
    return (
        sa.update(_ENROLMENT_TABLE)
        .where(_ENROLMENT.id == view.enrolment_id)
        .values(row_version=_ENROLMENT.row_version + 1, **values)
        .returning(_ENROLMENT.id)
    )


def _event_rows(view: EnrolmentView, events: Sequence[TimelineEvent]) -> list[dict[str, Any]]:
    """``events`` as timeline rows, keyed by the write numbers the workflow gave them: up to the
    view's ``seq``, one each, the last one the view's."""
    first = view.seq - len(events) + 1
    return [
        {
            "enrolment_id": view.enrolment_id,
            "key": f"wf:{number}",
            "kind": event.kind.value,
            "at": event.at,
            "actor": event.actor,
            "detail": event.detail or {},
        }
        for number, event in enumerate(events, start=first)
    ]


def write(session: Session, *, view: EnrolmentView, events: Sequence[TimelineEvent]) -> None:
    """Apply ``view`` to its enrolment's row (locking it) and add ``events``, with no read first.

    On PostgreSQL this is one statement (the timeline insert rides on the update as a
    data-modifying CTE), atomic by itself: the caller may run it outside a transaction. SQLite
    has no such CTEs and takes two statements, to run in a transaction. Idempotent: an older or
    repeated view changes no column, a repeated event is ignored (ON CONFLICT DO NOTHING).
    Raises NotFound for an unknown enrolment.
    """
    rows = _event_rows(view, events)
    if is_postgres(session):
        applied = _apply(view).cte("applied")
        selects = [
            sa.select(applied.c.id, *(sa.literal(row[name], _TIMELINE[name].type) for name in _EVENT_COLUMNS))
            for row in rows
        ]
        source = selects[0] if len(selects) == 1 else sa.union_all(*selects)
        added = (
            insert_ignoring_duplicates(session, TimelineEntry, ("enrolment_id", "key"))
            .from_select(["enrolment_id", *_EVENT_COLUMNS], source)
            .cte("added")
        )
        found = session.execute(sa.select(applied.c.id).add_cte(added)).first()
    else:
        found = session.execute(_apply(view)).first()
        if found is not None and rows:
            session.execute(insert_ignoring_duplicates(session, TimelineEntry, ("enrolment_id", "key")), rows)
    if found is None:
        raise NotFound("no such enrolment", enrolment_id=view.enrolment_id)


def record_processing(payment: Payment) -> None:
    """Record that ``payment``'s session was completed with a payment that confirms days later (a
    bank debit), from its webhook or found when its checkout was closed. Only an open checkout's:
    one already ended, paid or refunded keeps what it is."""
    if payment.status == PaymentStatus.OPEN:
        payment.status = PaymentStatus.PROCESSING


def record_paid(
    session: Session,
    payment: Payment,
    *,
    amount: object,
    currency: str,
    payment_intent: str | None,
    source: str,
) -> None:
    """Record that ``payment``'s session was paid ``amount`` ``currency`` (from its webhook, or
    found when its checkout was closed); once only. A sum other than the price asked is recorded
    as a ``mismatch``, with a timeline event naming ``source``."""
    if not payment.unpaid:
        return
    matches = amount == payment.amount and currency == payment.currency
    payment.status = PaymentStatus.PAID if matches else PaymentStatus.MISMATCH
    payment.paid_amount = amount if isinstance(amount, int) else None
    payment.paid_currency = currency[:3] or None
    payment.payment_intent = payment_intent
    payment.paid_at = datetime.now(UTC)
    if not matches:
        payment.note = f"paid {amount} {currency}, expected {payment.amount} {payment.currency}"
        add_event(
            session,
            enrolment_id=payment.enrolment_id,
            key=f"mismatch:{payment.checkout_session_id}",
            kind=EventKind.PAYMENT_MISMATCH.value,
            at=payment.paid_at,
            actor="system",
            detail={
                "checkout_session_id": payment.checkout_session_id,
                "event_id": source,
                "note": payment.note,
            },
        )
