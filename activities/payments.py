"""Payment activities: open checkout sessions and refund payments through the gateway.

Async (the gateway is async); database work runs in a thread. Idempotent: the gateway is
called with a key derived from the enrolment, the purchase kind and the attempt, and the
payment row is keyed by the checkout session id.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.failures import business_failure
from microcred.contracts import (
    Checkout,
    CheckoutRequest,
    CloseCheckoutRequest,
    ClosedCheckout,
    EventKind,
    PaymentConfirmed,
    RefundRequest,
    RefundResult,
)
from microcred.db import SessionFactory, insert_ignoring_duplicates, one_statement, reading, transaction
from microcred.errors import NotFound
from microcred.models import Member, Payment, PaymentStatus
from microcred.payments import (
    CheckoutSpec,
    IssuedRefund,
    OpenedCheckout,
    PaidCharge,
    PaymentGateway,
    PaymentRejected,
    Processing,
)
from microcred.services import readmodel


def _rejected(error: PaymentRejected) -> ApplicationError:
    """A permanent provider refusal: fail the activity now instead of retrying for ever."""
    return ApplicationError(str(error), type="PaymentRejected", non_retryable=True)


class PaymentActivities:
    def __init__(self, sessions: SessionFactory, gateway: PaymentGateway, *, api_base_url: str) -> None:
        self._sessions = sessions
        self._gateway = gateway
        self._api_base_url = api_base_url.rstrip("/")

    @activity.defn(name="payments.create_checkout")
    async def create_checkout(self, request: CheckoutRequest) -> Checkout:
        """Open the checkout for one purchase (first or resubmission) and record it."""
        email = await asyncio.to_thread(self._member_email, request.member_id)
        try:
            opened = await self._gateway.create_checkout(
                CheckoutSpec(
                    request=request,
                    customer_email=email,
                    success_url=f"{self._api_base_url}/checkout/complete?session_id={{CHECKOUT_SESSION_ID}}",
                    cancel_url=f"{self._api_base_url}/checkout/cancelled?enrolment_id={request.enrolment_id}",
                    attempt=activity.info().attempt,
                )
            )
        except PaymentRejected as rejected:
            raise _rejected(rejected) from rejected
        await asyncio.to_thread(self._record_open, request, opened)
        return Checkout(
            session_id=opened.session_id,
            url=opened.url,
            kind=request.kind,
            attempt=request.attempt,
            amount=request.price,
            expires_at=opened.expires_at,
        )

    @activity.defn(name="payments.close_checkout")
    async def close_checkout(self, request: CloseCheckoutRequest) -> ClosedCheckout:
        """End a checkout whose window has passed, at the provider too. A payment made in its
        last moments, whose webhook has not reached the workflow yet, is found and recorded."""
        payment = await asyncio.to_thread(self._payment, request.checkout_session_id)
        if payment.unpaid:
            try:
                charge = await self._gateway.close_checkout(request.checkout_session_id)
            except PaymentRejected as rejected:
                raise _rejected(rejected) from rejected
            payment = await asyncio.to_thread(self._record_closed, request, charge)
        if payment.status == PaymentStatus.PROCESSING:
            return ClosedCheckout(processing=True)
        if payment.status not in (PaymentStatus.PAID, PaymentStatus.MISMATCH):
            return ClosedCheckout()  # never paid, or already refunded
        return ClosedCheckout(
            paid=PaymentConfirmed(
                checkout_session_id=payment.checkout_session_id,
                event_id=f"closed:{payment.checkout_session_id}",
                amount=payment.charged_amount,
                currency=payment.charged_currency,
                payment_intent=payment.payment_intent,
            ),
            matches=payment.status == PaymentStatus.PAID,
        )

    @activity.defn(name="payments.refund")
    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund a payment that cannot be used (late, duplicate, or a cancelled enrolment)."""
        payment = await asyncio.to_thread(self._payment, request.checkout_session_id)
        if payment.status == PaymentStatus.REFUNDED:
            return RefundResult(
                refund_id=payment.refund_id,
                refunded=True,
                reason=payment.note or "",
                amount=payment.refunded_amount,
            )
        try:
            issued = await self._gateway.refund(
                PaidCharge(
                    checkout_session_id=payment.checkout_session_id,
                    payment_intent=payment.payment_intent,
                    amount=payment.charged_amount,
                    currency=payment.charged_currency,
                ),
                idempotency_key=request.idempotency_key,
                attempt=activity.info().attempt,
            )
        except PaymentRejected as rejected:
            raise _rejected(rejected) from rejected
        await asyncio.to_thread(self._record_refund, request, issued)
        return RefundResult(
            refund_id=issued.refund_id, refunded=True, reason=request.reason, amount=issued.amount
        )

    def _member_email(self, member_id: str) -> str | None:
        with reading(self._sessions) as session:
            member = session.get(Member, member_id)
            return member.email if member else None

    def _payment(self, checkout_session_id: str) -> Payment:
        with reading(self._sessions) as session:
            payment = session.get(Payment, checkout_session_id)
            if payment is None:
                raise business_failure(NotFound("no such payment", checkout_session_id=checkout_session_id))
            return payment

    def _record_open(self, request: CheckoutRequest, opened: OpenedCheckout) -> None:
        # Once per session: a retry's insert meets the first attempt's row and is ignored.
        with one_statement(self._sessions) as session:
            session.execute(
                insert_ignoring_duplicates(session, Payment, ("checkout_session_id",)).values(
                    checkout_session_id=opened.session_id,
                    enrolment_id=request.enrolment_id,
                    provider=self._gateway.provider,
                    kind=request.kind.value,
                    attempt=request.attempt,
                    amount=request.price.amount,
                    currency=request.price.currency,
                    status=PaymentStatus.OPEN,
                    url=opened.url,
                    expires_at=opened.expires_at,
                    created_at=datetime.now(UTC),
                )
            )

    def _record_closed(
        self, request: CloseCheckoutRequest, charge: PaidCharge | Processing | None
    ) -> Payment:
        with transaction(self._sessions) as session:
            payment = session.get_one(Payment, request.checkout_session_id)
            if charge is None:
                if payment.status == PaymentStatus.OPEN:
                    payment.status = PaymentStatus.EXPIRED
            elif isinstance(charge, Processing):
                readmodel.record_processing(payment)
            else:
                readmodel.record_paid(
                    session,
                    payment,
                    amount=charge.amount,
                    currency=charge.currency,
                    payment_intent=charge.payment_intent,
                    source="found paid when its checkout was closed",
                )
            return payment

    def _record_refund(self, request: RefundRequest, issued: IssuedRefund) -> None:
        with transaction(self._sessions) as session:
            payment = session.get_one(Payment, request.checkout_session_id)
            if payment.status != PaymentStatus.REFUNDED:
                payment.status = PaymentStatus.REFUNDED
                payment.refund_id = issued.refund_id
                payment.refunded_amount = issued.amount
                payment.refunded_at = datetime.now(UTC)
                payment.note = request.reason[:500]
            readmodel.add_event(
                session,
                enrolment_id=payment.enrolment_id,
                key=f"refund:{payment.checkout_session_id}",
                kind=EventKind.PAYMENT_REFUNDED.value,
                at=payment.refunded_at or datetime.now(UTC),
                actor="system",
                detail={
                    "checkout_session_id": payment.checkout_session_id,
                    "refund_id": issued.refund_id,
                    "amount": issued.amount,
                    "currency": payment.charged_currency,
                    "reason": request.reason,
                },
            )
