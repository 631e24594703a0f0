"""The Stripe payment gateway: hosted Checkout Sessions and refunds through the official SDK.

Every write carries the idempotency key it is given and sends the same parameters for the same
request, so a retried activity, a restarted worker or a duplicate click reaches the session or
refund Stripe already made instead of making a second one.

What the calls raise::

    PaymentRejected              Stripe refused for good: invalid request (400/404), bad key (401),
                                 card error (402), permission (403), an idempotency key reused with
                                 other parameters; retrying the same request cannot succeed
    stripe.StripeError           anything transient, unchanged, for the activity to retry:
    ├── APIConnectionError       network error or timeout
    ├── RateLimitError           429
    └── APIError                 5xx, or 409 while another request with the same key is running

A 5xx is not always transient under a key: Stripe saves the first answer it gave to a key once
the endpoint began to run, a 500 included, and replays it to every retry with that key for 24
hours. So when a keyed write still answers 5xx after the SDK's retries, the call asks once more
under a key of this attempt's own (``<key>:attempt-<n>``); a refund first looks for the refund the
failed request may have made. A checkout opened twice this way leaves an unused session that
expires by itself; a second refund of a refunded payment is refused by Stripe.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import stripe
from stripe.params import RefundCreateParams
from stripe.params.checkout import SessionCreateParams

from microcred.config import Settings
from microcred.contracts import CheckoutRequest, PurchaseKind
from microcred.payments.gateway import (
    CheckoutSpec,
    IssuedRefund,
    OpenedCheckout,
    PaidCharge,
    PaymentRejected,
    Processing,
)

T = TypeVar("T")

# The SDK retries connection errors, 409 and 5xx itself, with the same idempotency key.
MAX_NETWORK_RETRIES = 2
# Per HTTP attempt; three attempts and their back-off fit in the activity's two-minute timeout.
TIMEOUT_SECONDS = 30.0

# Stripe accepts a Checkout Session expiry from 30 minutes to 24 hours after it creates the session.
SESSION_MIN = timedelta(minutes=30)
SESSION_MAX = timedelta(hours=24)
# The session is created a little after the workflow asked for it (scheduling, retries), which only
# shortens what Stripe sees of the window; the floor keeps this much spare so it is still 30 minutes.
DELIVERY_ALLOWANCE = timedelta(minutes=5)

# A refund that has given, or will give, the money back (not failed or canceled).
_LIVE_REFUND = ("pending", "requires_action", "succeeded")
# Another request with the same key is still running at Stripe: transient, retry with the same key.
_KEY_IN_USE = "idempotency_key_in_use"
_PERMANENT_ERRORS = (
    stripe.InvalidRequestError,
    stripe.AuthenticationError,
    stripe.PermissionError,
    stripe.CardError,
    stripe.IdempotencyError,
)


def session_expires_at(request: CheckoutRequest) -> int:
    """The session's ``expires_at`` (epoch seconds): the payment window, clamped into what Stripe
    accepts. Computed from the request's workflow time, never the wall clock, so a retry sends the
    same value."""
    requested_at = _aware(request.requested_at)
    earliest = math.ceil((requested_at + SESSION_MIN + DELIVERY_ALLOWANCE).timestamp())
    latest = math.floor((requested_at + SESSION_MAX).timestamp())
    wanted = math.floor(_aware(request.expires_at).timestamp())
    return min(max(wanted, earliest), latest)


def checkout_params(spec: CheckoutSpec) -> SessionCreateParams:
    """The Checkout Session for one purchase: a function of ``spec`` alone, so retries match."""
    request = spec.request
    metadata = {
        "enrolment_id": request.enrolment_id,
        "credential_id": request.credential_id,
        "kind": request.kind.value,
        "attempt": str(request.attempt),
    }
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": request.price.currency,
                    "unit_amount": request.price.amount,
                    "product_data": {"name": _product_name(request)},
                },
            }
        ],
        "client_reference_id": request.enrolment_id,
        "metadata": metadata,
        "payment_intent_data": {"metadata": dict(metadata)},
        "success_url": spec.success_url,
        "cancel_url": spec.cancel_url,
        "expires_at": session_expires_at(request),
    }
    if spec.customer_email:
        params["customer_email"] = spec.customer_email
    return params


class StripeGateway:
    """Stripe Checkout; ``client`` is ready to use and ``http_client`` is what ``aclose`` closes."""

    provider = "stripe"

    def __init__(self, client: stripe.StripeClient, *, http_client: stripe.HTTPClient) -> None:
        self._client = client
        self._http = http_client

    @classmethod
    def from_settings(
        cls, settings: Settings, *, http_client: stripe.HTTPClient | None = None
    ) -> StripeGateway:
        """The gateway for ``MICROCRED_STRIPE_SECRET_KEY`` at ``MICROCRED_STRIPE_API_BASE``.

        ``http_client`` replaces the SDK's HTTPX client (tests pass one over their own transport).
        """
        if settings.stripe_secret_key is None:
            raise ValueError("StripeGateway needs MICROCRED_STRIPE_SECRET_KEY")
        http = http_client if http_client is not None else stripe.HTTPXClient(timeout=TIMEOUT_SECONDS)
        client = stripe.StripeClient(
            settings.stripe_secret_key.get_secret_value(),
            http_client=http,
            max_network_retries=MAX_NETWORK_RETRIES,
            # The SDK appends "/v1/..." to the base as it is.
            base_addresses={"api": settings.stripe_api_base.rstrip("/")},
        )
        return cls(client, http_client=http)

    async def create_checkout(self, spec: CheckoutSpec) -> OpenedCheckout:
        request = spec.request
        doing = f"open the {request.kind.value} checkout of enrolment {request.enrolment_id}"
        params = checkout_params(spec)
        with _refusals_rejected(doing):
            session = await _keyed(
                lambda key: self._client.v1.checkout.sessions.create_async(
                    params=params, options={"idempotency_key": key}
                ),
                request.idempotency_key,
                spec.attempt,
            )
        if not session.url:
            # A replay of the same key returns the same body, so retrying cannot help.
            raise PaymentRejected(f"Stripe opened checkout session {session.id} without a URL for the member")
        return OpenedCheckout(
            session_id=session.id,
            url=session.url,
            expires_at=datetime.fromtimestamp(session.expires_at, UTC),
        )

    async def close_checkout(self, checkout_session_id: str) -> PaidCharge | Processing | None:
        sessions = self._client.v1.checkout.sessions
        with _refusals_rejected(f"close checkout session {checkout_session_id}"):
            session = await sessions.retrieve_async(checkout_session_id)
            if session.status == "open":
                try:
                    session = await sessions.expire_async(checkout_session_id)
                except stripe.InvalidRequestError:
                    # Only an open session can be expired: it was paid (or expired) meanwhile.
                    session = await sessions.retrieve_async(checkout_session_id)
            if session.status == "complete" and session.payment_status == "unpaid":
                # A delayed method (a bank debit): still processing, or already failed (its
                # webhook not in yet). The payment intent tells which.
                intent = _intent_id(session)
                if intent is None:
                    return Processing(checkout_session_id=session.id)
                payment = await self._client.v1.payment_intents.retrieve_async(intent)
                return Processing(checkout_session_id=session.id) if payment.status == "processing" else None
        if session.status != "complete" or session.payment_status != "paid":
            return None
        return PaidCharge(
            checkout_session_id=session.id,
            payment_intent=_intent_id(session),
            amount=session.amount_total or 0,
            currency=session.currency or "",
        )

    async def refund(self, charge: PaidCharge, *, idempotency_key: str, attempt: int = 1) -> IssuedRefund:
        payment_intent = charge.payment_intent or await self._payment_intent_of(charge.checkout_session_id)
        params: RefundCreateParams = {
            "payment_intent": payment_intent,
            "metadata": {"checkout_session_id": charge.checkout_session_id},
        }

        async def create(key: str) -> stripe.Refund:
            if key != idempotency_key:  # the keyed request failed, but it may have refunded
                made = await self._refund_made(payment_intent, charge.checkout_session_id)
                if made is not None:
                    return made
            return await self._client.v1.refunds.create_async(params=params, options={"idempotency_key": key})

        with _refusals_rejected(f"refund checkout session {charge.checkout_session_id}"):
            refund = await _keyed(create, idempotency_key, attempt)
        return IssuedRefund(refund_id=refund.id, amount=refund.amount)

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]  # unannotated in stripe 16

    async def _refund_made(self, payment_intent: str, checkout_session_id: str) -> stripe.Refund | None:
        """The refund a request of ours made for this session, unless it failed."""
        listed = await self._client.v1.refunds.list_async(
            params={"payment_intent": payment_intent, "limit": 100}
        )
        for refund in listed.data:
            tags = refund.metadata.to_dict() if refund.metadata else {}
            if tags.get("checkout_session_id") == checkout_session_id and refund.status in _LIVE_REFUND:
                return refund
        return None

    async def _payment_intent_of(self, checkout_session_id: str) -> str:
        with _refusals_rejected(f"read checkout session {checkout_session_id}"):
            session = await self._client.v1.checkout.sessions.retrieve_async(checkout_session_id)
        intent = _intent_id(session)
        if intent is None:
            raise PaymentRejected(
                f"checkout session {checkout_session_id} has no payment intent "
                f"(status {session.status}, payment status {session.payment_status}): nothing to refund"
            )
        return intent


async def _keyed(call: Callable[[str], Awaitable[T]], key: str, attempt: int) -> T:
    """``call(key)``; after a lasting 5xx (which Stripe may replay to every retry with ``key``),
    ``call`` once more under this attempt's own key (see the module docstring)."""
    try:
        return await call(key)
    except stripe.APIError as error:
        if error.http_status is None or error.http_status < 500:
            raise
    return await call(f"{key}:attempt-{attempt}")


def _intent_id(session: stripe.checkout.Session) -> str | None:
    """The session's payment intent id (the SDK gives an id, or the object when expanded)."""
    intent = session.payment_intent
    return intent if isinstance(intent, str) or intent is None else intent.id


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _product_name(request: CheckoutRequest) -> str:
    if request.kind is PurchaseKind.RESUBMISSION:
        return f"{request.title}: resubmission (attempt {request.attempt})"
    return request.title


def _permanent(error: stripe.StripeError) -> bool:
    """Whether Stripe refused for good (see the module docstring); anything else is retried."""
    detail = error.error
    if detail is not None and detail.code == _KEY_IN_USE:
        return False
    if isinstance(error, _PERMANENT_ERRORS):
        return True
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return False
    status = error.http_status
    if status == 409:
        # The v1 SDK raises IdempotencyError only for 400/404; a 409 carries the type in its body.
        return detail is not None and detail.type == "idempotency_error"
    # Any other 4xx (a wrong API base answering 404 or 405, say) is a configuration error.
    return status is not None and 400 <= status < 500 and status not in (408, 429)


def _rejection(error: stripe.StripeError, doing: str) -> PaymentRejected:
    detail = error.error
    facts = [f"HTTP {error.http_status}"]
    if detail is not None:
        named = (
            ("type", detail.type),
            ("code", detail.code),
            ("decline", detail.decline_code),
            ("param", detail.param),
        )
        facts += [f"{name} {value}" for name, value in named if value]
    if error.request_id:
        facts.append(f"request {error.request_id}")
    message = error.user_message or type(error).__name__
    return PaymentRejected(f"Stripe refused to {doing} ({', '.join(facts)}): {message}")


@contextmanager
def _refusals_rejected(doing: str) -> Iterator[None]:
    """Turn Stripe's permanent refusals into ``PaymentRejected``; let transient errors through."""
    try:
        yield
    except stripe.StripeError as error:
        if _permanent(error):
            raise _rejection(error, doing) from error
        raise
