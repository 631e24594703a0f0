"""Writes of the enrolment read model and its timeline, made by the workflow's activities."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from microcred.contracts import EnrolmentView, EventKind, TimelineEvent
from microcred.db import insert_ignoring_duplicates
from microcred.models import Enrolment, Payment, PaymentStatus, TimelineEntry


def apply_view(enrolment: Enrolment, view: EnrolmentView) -> bool:
    """Copy the workflow's view onto the row unless the row already holds a newer one."""
    if view.seq <= enrolment.seq:
        return False
    enrolment.seq = view.seq
    enrolment.status = view.status.value
    enrolment.attempt = view.attempt
    enrolment.purchased_at = view.purchased_at
    enrolment.due_at = view.due_at
    enrolment.submitted_at = view.submitted_at
    enrolment.review_due_at = view.review_due_at
    enrolment.decision = view.decision.value if view.decision else None
    enrolment.evaluator_id = view.evaluator_id
    enrolment.review_overdue = view.review_overdue
    enrolment.checkout_session_id = view.checkout_session_id
    enrolment.checkout_url = view.checkout_url
    enrolment.badge_id = view.badge_id
    enrolment.editable_sections = view.editable_sections
    enrolment.updated_at = datetime.now(UTC)
    return True


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


def record(
    session: Session, *, enrolment: Enrolment, view: EnrolmentView, events: Sequence[TimelineEvent]
) -> None:
    """Apply ``view`` and add ``events``, which the workflow numbered up to the view's ``seq``
    (one write number each, the last one the view's)."""
    apply_view(enrolment, view)
    first = view.seq - len(events) + 1
    for number, event in enumerate(events, start=first):
        add_event(
            session,
            enrolment_id=enrolment.id,
            key=f"wf:{number}",
            kind=event.kind.value,
            at=event.at,
            actor=event.actor,
            detail=event.detail,
        )


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
