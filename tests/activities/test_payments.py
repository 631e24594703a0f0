"""PaymentActivities with the offline gateway (and a refusing one), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.payments import PaymentActivities
from microcred.contracts import (
    Checkout,
    CheckoutRequest,
    CloseCheckoutRequest,
    ClosedCheckout,
    Money,
    PurchaseKind,
    RefundRequest,
    RefundResult,
)
from microcred.db import SessionFactory, transaction
from microcred.models import Payment, PaymentStatus, TimelineEntry
from microcred.payments import (
    CheckoutSpec,
    IssuedRefund,
    OfflineGateway,
    OpenedCheckout,
    PaidCharge,
    PaymentRejected,
    Processing,
)
from tests.activities.builders import AT, Seeded, enrolment
from tests.support import API_BASE


def request(
    seeded: Seeded, *, kind: PurchaseKind = PurchaseKind.PURCHASE, attempt: int = 1
) -> CheckoutRequest:
    """As the workflow builds it: the key comes from the enrolment, the purchase kind and attempt."""
    price = (
        Money(amount=9900, currency="usd")
        if kind is PurchaseKind.PURCHASE
        else Money(amount=2900, currency="eur")
    )
    return CheckoutRequest(
        enrolment_id=seeded.enrolment_id,
        member_id=seeded.member_id,
        credential_id=seeded.credential_id,
        title="Inquiry in practice",
        kind=kind,
        attempt=attempt,
        price=price,
        requested_at=AT,
        expires_at=AT + timedelta(hours=24),
        idempotency_key=f"enrolment:{seeded.enrolment_id}:{kind.value}:{attempt}",
    )


def payments_of(sessions: SessionFactory, seeded: Seeded) -> list[Payment]:
    with sessions() as session:
        return list(session.exec(select(Payment).where(Payment.enrolment_id == seeded.enrolment_id)).all())


async def create(acts: PaymentActivities, req: CheckoutRequest) -> Checkout:
    return await ActivityEnvironment().run(acts.create_checkout, req)


async def refund(acts: PaymentActivities, req: RefundRequest) -> RefundResult:
    return await ActivityEnvironment().run(acts.refund, req)


def offline(sessions: SessionFactory) -> PaymentActivities:
    return PaymentActivities(sessions, OfflineGateway(api_base_url=API_BASE), api_base_url=API_BASE)


async def test_create_checkout_opens_one_deterministic_session(sessions: SessionFactory) -> None:
    acts = offline(sessions)
    seeded = enrolment(sessions)
    req = request(seeded)

    first = await create(acts, req)
    retried = await create(acts, req)  # the same purchase: the same session, no second row

    assert retried == first
    assert first.session_id.startswith("cs_offline_")
    assert first.url == f"{API_BASE}/checkout/{first.session_id}"
    assert (first.kind, first.attempt, first.amount) == (
        PurchaseKind.PURCHASE,
        1,
        Money(amount=9900, currency="usd"),
    )
    assert first.expires_at == AT + timedelta(hours=24)
    [payment] = payments_of(sessions, seeded)
    assert (payment.checkout_session_id, payment.provider, payment.status, payment.url) == (
        first.session_id,
        "offline",
        "open",
        first.url,
    )
    assert (payment.kind, payment.attempt, payment.amount, payment.currency) == ("purchase", 1, 9900, "usd")
    assert payment.expires_at == AT + timedelta(hours=24)


async def test_each_purchase_gets_its_own_session(sessions: SessionFactory) -> None:
    acts = offline(sessions)
    seeded = enrolment(sessions)

    purchase = await create(acts, request(seeded))
    resubmission = await create(acts, request(seeded, kind=PurchaseKind.RESUBMISSION, attempt=2))
    other = await create(acts, request(enrolment(sessions)))

    assert len({purchase.session_id, resubmission.session_id, other.session_id}) == 3
    rows = {p.checkout_session_id: p for p in payments_of(sessions, seeded)}
    assert set(rows) == {purchase.session_id, resubmission.session_id}
    again = rows[resubmission.session_id]
    assert (again.kind, again.attempt, again.amount, again.currency) == ("resubmission", 2, 2900, "eur")


async def test_refund_of_a_paid_payment_is_recorded_once(sessions: SessionFactory) -> None:
    acts = offline(sessions)
    seeded = enrolment(sessions)
    opened = await create(acts, request(seeded))
    with transaction(sessions) as session:
        payment = session.get(Payment, opened.session_id)
        assert payment is not None
        payment.status, payment.paid_amount, payment.paid_currency = PaymentStatus.PAID, 9900, "usd"
        payment.paid_at, payment.payment_intent = AT + timedelta(hours=1), "pi_1"
    req = RefundRequest(
        enrolment_id=seeded.enrolment_id,
        checkout_session_id=opened.session_id,
        reason="paid after the enrolment was cancelled",
        idempotency_key=f"enrolment:{seeded.enrolment_id}:refund:{opened.session_id}",
    )
    before = datetime.now(UTC)

    first = await refund(acts, req)
    retried = await refund(acts, req)

    assert first.refunded and first.refund_id is not None and first.refund_id.startswith("re_offline_")
    assert first.reason == "paid after the enrolment was cancelled"
    assert retried == first
    [stored] = payments_of(sessions, seeded)
    assert (stored.status, stored.refund_id, stored.note) == ("refunded", first.refund_id, first.reason)
    assert stored.refunded_at is not None and stored.refunded_at >= before
    with sessions() as session:
        events = session.exec(
            select(TimelineEntry).where(TimelineEntry.enrolment_id == seeded.enrolment_id)
        ).all()
    assert [(e.key, e.kind, e.actor) for e in events] == [
        (f"refund:{opened.session_id}", "payment_refunded", "system")
    ]
    assert events[0].detail == {
        "checkout_session_id": opened.session_id,
        "refund_id": first.refund_id,
        "amount": 9900,
        "currency": "usd",
        "reason": "paid after the enrolment was cancelled",
    }


async def test_refund_of_an_unknown_payment_is_not_found(sessions: SessionFactory) -> None:
    with pytest.raises(ApplicationError) as refused:
        await refund(
            offline(sessions),
            RefundRequest(
                enrolment_id=None, checkout_session_id="cs_nowhere", reason="?", idempotency_key="k"
            ),
        )
    assert (refused.value.type, refused.value.non_retryable) == ("NotFound", True)


class RefusingGateway:
    """A provider that refuses everything for good (say, a revoked API key)."""

    provider = "refusing"

    async def create_checkout(self, spec: CheckoutSpec) -> OpenedCheckout:
        raise PaymentRejected("Invalid API key provided")

    async def close_checkout(self, checkout_session_id: str) -> PaidCharge | Processing | None:
        raise PaymentRejected("Invalid API key provided")

    async def refund(self, charge: PaidCharge, *, idempotency_key: str, attempt: int = 1) -> IssuedRefund:
        raise PaymentRejected("This charge cannot be refunded")

    async def aclose(self) -> None:
        return None


class FlakyGateway(RefusingGateway):
    """A provider that cannot be reached right now."""

    async def create_checkout(self, spec: CheckoutSpec) -> OpenedCheckout:
        raise ConnectionError("connection reset by peer")


async def test_a_rejected_checkout_fails_for_good(sessions: SessionFactory) -> None:
    seeded = enrolment(sessions)
    acts = PaymentActivities(sessions, RefusingGateway(), api_base_url=API_BASE)

    with pytest.raises(ApplicationError) as refused:
        await create(acts, request(seeded))

    assert (refused.value.type, refused.value.non_retryable) == ("PaymentRejected", True)
    assert "Invalid API key provided" in refused.value.message
    assert payments_of(sessions, seeded) == []


async def test_a_rejected_refund_fails_for_good_and_records_nothing(sessions: SessionFactory) -> None:
    seeded = enrolment(sessions)
    opened = await create(offline(sessions), request(seeded))
    acts = PaymentActivities(sessions, RefusingGateway(), api_base_url=API_BASE)

    with pytest.raises(ApplicationError) as refused:
        await refund(
            acts,
            RefundRequest(
                enrolment_id=seeded.enrolment_id,
                checkout_session_id=opened.session_id,
                reason="duplicate",
                idempotency_key="refund-key",
            ),
        )

    assert (refused.value.type, refused.value.non_retryable) == ("PaymentRejected", True)
    [payment] = payments_of(sessions, seeded)
    assert (payment.status, payment.refund_id) == ("open", None)


async def test_an_unreachable_gateway_is_retried(sessions: SessionFactory) -> None:
    seeded = enrolment(sessions)
    acts = PaymentActivities(sessions, FlakyGateway(), api_base_url=API_BASE)

    # Not an ApplicationError: Temporal retries the activity under the workflow's retry policy.
    with pytest.raises(ConnectionError):
        await create(acts, request(seeded))
    assert payments_of(sessions, seeded) == []


class DebitingGateway(RefusingGateway):
    """A provider whose checkout was completed with a bank debit that has not confirmed yet."""

    async def close_checkout(self, checkout_session_id: str) -> PaidCharge | Processing | None:
        return Processing(checkout_session_id=checkout_session_id)


async def test_closing_a_checkout_whose_delayed_payment_is_processing_reports_it(
    sessions: SessionFactory,
) -> None:
    """Found at the provider (its webhook not in yet): recorded, and the workflow is told."""
    seeded = enrolment(sessions)
    opened = await create(offline(sessions), request(seeded))
    acts = PaymentActivities(sessions, DebitingGateway(), api_base_url=API_BASE)
    close = CloseCheckoutRequest(enrolment_id=seeded.enrolment_id, checkout_session_id=opened.session_id)

    closed = await ActivityEnvironment().run(acts.close_checkout, close)
    again = await ActivityEnvironment().run(acts.close_checkout, close)  # a retry

    assert closed == again == ClosedCheckout(processing=True)
    [payment] = payments_of(sessions, seeded)
    assert payment.status == "processing"
