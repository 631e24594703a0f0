"""Payment webhooks (Stripe's, and the offline provider's, which sends the same events).

Every event is verified with Stripe's signature scheme, handled at most once by its id, and
turned into a signal to the enrolment's workflow. A payment the enrolment can no longer use
(its workflow has finished) is refunded by a ``LatePaymentWorkflow``: nothing is ever charged
without either fulfilment or refund.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from sqlmodel import Session, col, select

from microcred.contracts import CheckoutEnded, EventKind, LatePayment, PaymentConfirmed, RefundedElsewhere
from microcred.db import SessionFactory, insert_ignoring_duplicates, one_statement, reading, transaction
from microcred.errors import BadWebhook, InvalidState, NotFound
from microcred.models import Credential, Enrolment, Payment, PaymentStatus, TimelineEntry, WebhookEvent
from microcred.services import readmodel
from microcred.temporal.client import WorkflowClient

COMPLETED = "checkout.session.completed"
ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
ASYNC_FAILED = "checkout.session.async_payment_failed"
EXPIRED = "checkout.session.expired"
REFUNDED = "charge.refunded"


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    type: str
    outcome: str


def verify(payload: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The event, if the payload carries a valid Stripe signature (default tolerance)."""
    if not signature:
        raise BadWebhook("missing Stripe-Signature header")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except stripe.SignatureVerificationError as exc:
        raise BadWebhook("the signature does not match the payload") from exc
    except ValueError as exc:
        raise BadWebhook("the payload is not a Stripe event") from exc
    data: dict[str, Any] = event.to_dict()
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise BadWebhook("the event has no id or type")
    return data


async def handle(
    *, payload: bytes, signature: str | None, secret: str, sessions: SessionFactory, workflows: WorkflowClient
) -> WebhookResult:
    event = verify(payload, signature, secret)
    event_id, kind = event["id"], event["type"]
    if await asyncio.to_thread(_seen, sessions, event_id):
        return WebhookResult(event_id, kind, "duplicate")
    obj = (event.get("data") or {}).get("object") or {}
    if kind == COMPLETED:
        if obj.get("payment_status") == "paid":
            outcome = await _fulfil(obj, event_id, sessions, workflows)
        else:  # a delayed method (a bank debit): its result comes days later, by another event
            outcome = await asyncio.to_thread(_mark_processing, sessions, obj)
    elif kind == ASYNC_SUCCEEDED:
        outcome = await _fulfil(obj, event_id, sessions, workflows)
    elif kind == ASYNC_FAILED:
        outcome = await _end(obj, PaymentStatus.FAILED, "the payment failed", sessions, workflows)
    elif kind == EXPIRED:
        outcome = await _end(obj, PaymentStatus.EXPIRED, "the checkout expired", sessions, workflows)
    elif kind == REFUNDED:
        outcome, refunded = await asyncio.to_thread(_refunded, sessions, obj)
        if refunded is not None:  # the workflow tells the admins, unless the refund was its own
            enrolment_id, session_id = refunded
            await workflows.payment_refunded_elsewhere(
                enrolment_id, RefundedElsewhere(checkout_session_id=session_id)
            )
    else:
        outcome = "ignored"
    # Remembered only once handled: an event whose handling failed is handled again on redelivery.
    await asyncio.to_thread(_remember, sessions, event_id, kind, obj.get("id"), outcome)
    return WebhookResult(event_id, kind, outcome)


def _seen(sessions: SessionFactory, event_id: str) -> bool:
    with reading(sessions) as session:
        return session.get(WebhookEvent, event_id) is not None


def _remember(sessions: SessionFactory, event_id: str, kind: str, object_id: Any, outcome: str) -> None:
    # A concurrent delivery of the same event may have remembered it first: nothing to add.
    with one_statement(sessions) as session:
        session.execute(
            insert_ignoring_duplicates(session, WebhookEvent, ("id",)).values(
                id=event_id,
                type=kind[:100],
                checkout_session_id=object_id if isinstance(object_id, str) else None,
                outcome=outcome,
                received_at=datetime.now(UTC),
            )
        )


@dataclass(frozen=True)
class _Paid:
    enrolment_id: str
    member_id: str
    title: str
    amount: int
    currency: str
    payment_intent: str | None
    matches: bool


def _record_paid(sessions: SessionFactory, obj: dict[str, Any], event_id: str) -> _Paid | None:
    session_id = obj.get("id")
    if not isinstance(session_id, str):
        raise BadWebhook("the checkout session has no id")
    amount, currency = obj.get("amount_total"), str(obj.get("currency") or "").lower()
    intent = obj.get("payment_intent") if isinstance(obj.get("payment_intent"), str) else None
    with transaction(sessions) as session:
        found = _checkout(session, session_id)
        if found is None:
            return None  # not a checkout of ours
        payment, enrolment, credential = found
        readmodel.record_paid(
            session, payment, amount=amount, currency=currency, payment_intent=intent, source=event_id
        )
        return _Paid(
            enrolment_id=enrolment.id,
            member_id=enrolment.member_id,
            title=credential.title,
            amount=payment.charged_amount,
            currency=payment.charged_currency,
            payment_intent=payment.payment_intent,
            matches=payment.status != PaymentStatus.MISMATCH,
        )


async def _fulfil(
    obj: dict[str, Any], event_id: str, sessions: SessionFactory, workflows: WorkflowClient
) -> str:
    paid = await asyncio.to_thread(_record_paid, sessions, obj, event_id)
    if paid is None:
        return "unknown_checkout"
    session_id = str(obj["id"])
    confirmed = PaymentConfirmed(
        checkout_session_id=session_id,
        event_id=event_id,
        amount=paid.amount,
        currency=paid.currency,
        payment_intent=paid.payment_intent,
    )
    if not paid.matches:
        # Recorded, never fulfilled: the workflow refunds it and tells the admins. Once it has
        # finished, nothing could use it: refunded like any late payment.
        if await workflows.payment_mismatched(paid.enrolment_id, confirmed):
            return "amount_mismatch"
    elif await workflows.payment_confirmed(paid.enrolment_id, confirmed):
        return "delivered"
    elif await asyncio.to_thread(_applied, sessions, paid.enrolment_id, session_id):
        # The workflow found this payment itself when the checkout's window passed, and used it.
        return "already_applied"
    await workflows.refund_late_payment(
        LatePayment(
            enrolment_id=paid.enrolment_id,
            member_id=paid.member_id,
            credential_title=paid.title,
            checkout_session_id=session_id,
            amount=paid.amount,
            currency=paid.currency,
            reason="the payment arrived after the enrolment had ended",
        )
    )
    return "refunding_late_payment"


def _applied(sessions: SessionFactory, enrolment_id: str, session_id: str) -> bool:
    """Whether the enrolment's workflow fulfilled a purchase with this session's payment."""
    fulfilled = (EventKind.PAYMENT_CONFIRMED.value, EventKind.ATTEMPT_STARTED.value)
    with reading(sessions) as session:
        events = session.exec(
            select(TimelineEntry).where(
                TimelineEntry.enrolment_id == enrolment_id, col(TimelineEntry.kind).in_(fulfilled)
            )
        ).all()
    return any((e.detail or {}).get("checkout_session_id") == session_id for e in events)


def _mark_ended(sessions: SessionFactory, session_id: str, status: PaymentStatus) -> str | None:
    with transaction(sessions) as session:
        payment = session.get(Payment, session_id)
        if payment is None:
            return None
        if payment.status in (PaymentStatus.OPEN, PaymentStatus.PROCESSING):
            payment.status = status
        return payment.enrolment_id


def _mark_processing(sessions: SessionFactory, obj: dict[str, Any]) -> str:
    """The checkout was completed with a payment that confirms later: the workflow holds the
    checkout for it when the payment window passes."""
    session_id = obj.get("id")
    if not isinstance(session_id, str):
        raise BadWebhook("the checkout session has no id")
    with transaction(sessions) as session:
        payment = session.get(Payment, session_id)
        if payment is None:
            return "unknown_checkout"
        readmodel.record_processing(payment)
        return "awaiting_async_payment"


async def _end(
    obj: dict[str, Any],
    status: PaymentStatus,
    reason: str,
    sessions: SessionFactory,
    workflows: WorkflowClient,
) -> str:
    session_id = obj.get("id")
    if not isinstance(session_id, str):
        raise BadWebhook("the checkout session has no id")
    enrolment_id = await asyncio.to_thread(_mark_ended, sessions, session_id, status)
    if enrolment_id is None:
        return "unknown_checkout"
    await workflows.checkout_ended(enrolment_id, CheckoutEnded(checkout_session_id=session_id, reason=reason))
    return "checkout_ended"


def _refunded(sessions: SessionFactory, charge: dict[str, Any]) -> tuple[str, tuple[str, str] | None]:
    """A refund made at Stripe (the dashboard's, or ours). Stripe sends ``charge.refunded`` for
    partial refunds too, with ``refunded`` false until the whole charge is refunded. With the
    outcome, the enrolment and session of a payment refunded in full."""
    intent = charge.get("payment_intent")
    if not isinstance(intent, str):
        return "ignored", None
    with transaction(sessions) as session:
        payment = session.exec(select(Payment).where(Payment.payment_intent == intent)).first()
        if payment is None:
            return "unknown_payment", None
        if charge.get("refunded") is not True:
            refunded = charge.get("amount_refunded")
            readmodel.add_event(
                session,
                enrolment_id=payment.enrolment_id,
                key=f"partial-refund:{payment.checkout_session_id}:{refunded}",
                kind=EventKind.PAYMENT_PARTIALLY_REFUNDED.value,
                at=datetime.now(UTC),
                actor="stripe",
                detail={
                    "checkout_session_id": payment.checkout_session_id,
                    "payment_intent": intent,
                    "amount_refunded": refunded if isinstance(refunded, int) else None,
                },
            )
            return "partial_refund_recorded", None  # still paid: a refund later refunds the rest
        if payment.status != PaymentStatus.REFUNDED:
            payment.status = PaymentStatus.REFUNDED
            payment.refunded_at = datetime.now(UTC)
            readmodel.add_event(
                session,
                enrolment_id=payment.enrolment_id,
                key=f"refund:{payment.checkout_session_id}",
                kind=EventKind.PAYMENT_REFUNDED.value,
                at=payment.refunded_at,
                actor="stripe",
                detail={"checkout_session_id": payment.checkout_session_id, "payment_intent": intent},
            )
        # Told even when ours recorded it first (the workflow knows its own refunds), or when a
        # redelivery finds it recorded (the signal may have failed the first time).
        return "refund_recorded", (payment.enrolment_id, payment.checkout_session_id)


# --- the offline provider's checkout page ------------------------------------------------------


def checkout_enrolment(sessions: SessionFactory, session_id: str) -> str | None:
    """The enrolment a checkout session of ours pays for (None: no such session)."""
    with reading(sessions) as session:
        payment = session.get(Payment, session_id) if session_id else None
        return payment.enrolment_id if payment else None


def open_checkout(sessions: SessionFactory, *, session_id: str) -> tuple[Payment, str]:
    """An offline checkout session and the title of what it sells."""
    with reading(sessions) as session:
        found = _checkout(session, session_id)
        if found is None or found[0].provider != "offline":
            raise NotFound("no such checkout", checkout_session_id=session_id)
        payment, _, credential = found
        return payment, credential.title


def _checkout(session: Session, session_id: str) -> tuple[Payment, Enrolment, Credential] | None:
    """A checkout session's payment with its enrolment and credential (in one query)."""
    row = session.exec(
        select(Payment, Enrolment, Credential)
        .join(Enrolment, col(Enrolment.id) == Payment.enrolment_id)
        .join(Credential, col(Credential.id) == Enrolment.credential_id)
        .where(Payment.checkout_session_id == session_id)
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def offline_event(payment: Payment, *, now: datetime) -> bytes:
    """The ``checkout.session.completed`` event Stripe would send for this paid session."""
    intent = "pi_offline_" + hashlib.sha256(payment.checkout_session_id.encode()).hexdigest()[:24]
    metadata = {"enrolment_id": payment.enrolment_id, "kind": payment.kind, "attempt": str(payment.attempt)}
    event = {
        "id": f"evt_offline_{uuid.uuid4().hex}",
        "object": "event",
        "type": COMPLETED,
        "created": int(now.timestamp()),
        "livemode": False,
        "data": {
            "object": {
                "id": payment.checkout_session_id,
                "object": "checkout.session",
                "mode": "payment",
                "status": "complete",
                "payment_status": "paid",
                "amount_total": payment.amount,
                "currency": payment.currency,
                "client_reference_id": payment.enrolment_id,
                "payment_intent": intent,
                "metadata": metadata,
            }
        },
    }
    return json.dumps(event).encode()


async def pay_offline(
    *, session_id: str, secret: str, sessions: SessionFactory, workflows: WorkflowClient
) -> WebhookResult:
    """The offline Pay button: deliver a signed completion through the webhook's own code."""
    payment, _ = await asyncio.to_thread(open_checkout, sessions, session_id=session_id)
    if payment.status != PaymentStatus.OPEN or payment.expires_at <= datetime.now(UTC):
        raise InvalidState("this checkout can no longer be paid", status=payment.status)
    payload = offline_event(payment, now=datetime.now(UTC))
    signature = stripe.WebhookSignature.generate_signature_header(payload.decode(), secret, int(time.time()))
    return await handle(
        payload=payload, signature=signature, secret=secret, sessions=sessions, workflows=workflows
    )
