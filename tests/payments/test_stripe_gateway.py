"""StripeGateway at the HTTP boundary: the real stripe SDK over an httpx transport the test controls.

Stripe cannot be reached from here, so ``StripeAPI`` stands in for it: it answers with Stripe's own
JSON shapes and records every request, and the tests assert exactly what would go over the wire
(method, URL, form fields, ``Idempotency-Key``) and what the gateway makes of each kind of answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import stripe
from pydantic import SecretStr

from microcred.config import Environment, Settings
from microcred.contracts import CheckoutRequest, Money, PurchaseKind
from microcred.payments import (
    CheckoutSpec,
    IssuedRefund,
    PaidCharge,
    PaymentRejected,
    Processing,
    gateway_from_settings,
)
from microcred.payments.stripe_gateway import StripeGateway

# stripe 16's HTTPXClient posts its form body as `data=<str>`, which httpx 0.28 deprecates; under
# `filterwarnings = error` that warning would abort every POST inside the SDK.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw:DeprecationWarning")

SECRET_KEY = "sk_test_51Microcred0000000000000000"
API_BASE = "http://stripe-mock.internal:12111"
SUCCESS_URL = "http://testserver/api/v1/checkout/complete?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "http://testserver/api/v1/checkout/cancelled?enrolment_id=enr-7f3a"
REQUESTED_AT = datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC)
SESSION_ID = "cs_test_a1Q2w3E4r5T6y7U8i9O0pAsDfGhJkL"
PAYMENT_INTENT = "pi_3QfZk2Microcred0a1b2c3d"

Reply = Callable[[httpx.Request], httpx.Response]


# --- a stand-in for Stripe's API ----------------------------------------------------------------


class StripeAPI(httpx.AsyncBaseTransport):
    """Answers requests with ``replies`` in order (the last one answers every request after it)
    and records every request it receives."""

    def __init__(self, *replies: Reply) -> None:
        assert replies
        self._replies = list(replies)
        self.requests: list[httpx.Request] = []
        self.closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        reply = self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]
        return reply(request)

    async def aclose(self) -> None:
        self.closed = True

    @property
    def keys(self) -> list[str | None]:
        return [r.headers.get("Idempotency-Key") for r in self.requests]


class LocalHTTPXClient(stripe.HTTPXClient):
    """The SDK's own HTTPX client over a ``StripeAPI``, without the wait between its retries."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        # stripe 16 takes no httpx client or transport. HTTPXClient builds its client as
        # `_lib.AsyncClient(verify=...)`, `_lib` being the httpx module unless given (the hook its
        # comment reserves for unit tests), so this one builds it over the test's transport.
        httpx_with_transport = SimpleNamespace(AsyncClient=partial(httpx.AsyncClient, transport=transport))
        super().__init__(_lib=httpx_with_transport)

    def sleep_async(self, secs: float) -> Awaitable[None]:
        return asyncio.sleep(0)


def form(request: httpx.Request) -> dict[str, str]:
    """The form-encoded body as a flat dict of Stripe's bracketed field names."""
    pairs = parse_qsl(request.content.decode(), keep_blank_values=True, strict_parsing=True)
    fields = dict(pairs)
    assert len(fields) == len(pairs), f"a field was sent twice: {pairs}"
    return fields


def created_session(*, with_url: bool = True) -> Reply:
    """Stripe's answer to POST /v1/checkout/sessions: the session, built from what was posted."""

    def reply(request: httpx.Request) -> httpx.Response:
        fields = form(request)
        metadata = {k[len("metadata[") : -1]: v for k, v in fields.items() if k.startswith("metadata[")}
        amount = int(fields["line_items[0][price_data][unit_amount]"])
        session = {
            "id": SESSION_ID,
            "object": "checkout.session",
            "amount_subtotal": amount,
            "amount_total": amount,
            "cancel_url": fields["cancel_url"],
            "client_reference_id": fields["client_reference_id"],
            "created": int(REQUESTED_AT.timestamp()) + 2,
            "currency": fields["line_items[0][price_data][currency]"],
            "customer": None,
            "customer_email": fields.get("customer_email"),
            "expires_at": int(fields["expires_at"]),
            "livemode": False,
            "metadata": metadata,
            "mode": fields["mode"],
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": fields["success_url"],
            "url": f"https://checkout.stripe.com/c/pay/{SESSION_ID}#fidkdWxOYHwnPyd1" if with_url else None,
        }
        return httpx.Response(200, json=session, headers={"request-id": "req_Cr8Ses"})

    return reply


def retrieved_session(
    *, payment_intent: str | None, status: str | None = None, payment_status: str | None = None
) -> Reply:
    """Stripe's answer to GET /v1/checkout/sessions/{id} (or POST .../expire): a completed, paid
    session when it has a payment intent, else an expired one, unless told otherwise."""

    def reply(request: httpx.Request) -> httpx.Response:
        paid = payment_intent is not None
        session = {
            "id": SESSION_ID,
            "object": "checkout.session",
            "amount_total": 9900,
            "currency": "usd",
            "client_reference_id": "enr-7f3a",
            "expires_at": int((REQUESTED_AT + timedelta(hours=24)).timestamp()),
            "livemode": False,
            "metadata": {"enrolment_id": "enr-7f3a", "kind": "purchase", "attempt": "1"},
            "mode": "payment",
            "payment_intent": payment_intent,
            "payment_status": payment_status or ("paid" if paid else "unpaid"),
            "status": status or ("complete" if paid else "expired"),
            "url": None,
        }
        return httpx.Response(200, json=session, headers={"request-id": "req_Get5es"})

    return reply


def created_refund(refund_id: str = "re_3QfZk2Microcred1x2y3z4w", *, amount: int = 9900) -> Reply:
    def reply(request: httpx.Request) -> httpx.Response:
        fields = form(request)
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "charge": "ch_3QfZk2Microcred0a1b2c3d",
            "created": int(REQUESTED_AT.timestamp()) + 60,
            "currency": "usd",
            "metadata": {"checkout_session_id": fields.get("metadata[checkout_session_id]")},
            "payment_intent": fields["payment_intent"],
            "reason": None,
            "status": "succeeded",
        }
        return httpx.Response(200, json=refund, headers={"request-id": "req_Ref0nd"})

    return reply


def stripe_error(
    status: int,
    error_type: str,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    decline_code: str | None = None,
    request_id: str = "req_Err0r1",
) -> Reply:
    """Stripe's error body: ``{"error": {...}}``, null fields left out as Stripe does."""
    error: dict[str, Any] = {"type": error_type, "message": message}
    error |= {k: v for k, v in {"code": code, "param": param, "decline_code": decline_code}.items() if v}
    if code:
        error["doc_url"] = f"https://docs.stripe.com/error-codes/{code.replace('_', '-')}"

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": error}, headers={"request-id": request_id})

    return reply


def raises(error: Callable[..., httpx.TransportError]) -> Reply:
    def reply(request: httpx.Request) -> httpx.Response:
        raise error("the network let us down", request=request)

    return reply


# --- fixtures -----------------------------------------------------------------------------------


def settings(**overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "environment": Environment.TEST,
        "public_base_url": "http://testserver",
        "stripe_secret_key": SecretStr(SECRET_KEY),
        "stripe_webhook_secret": SecretStr("whsec_gateway_test_0123456789abcdef"),
        "stripe_api_base": API_BASE,
    }
    return Settings(**(fields | overrides))


GatewayFactory = Callable[..., tuple[StripeGateway, StripeAPI]]


@pytest.fixture
async def gateway_over() -> AsyncIterator[GatewayFactory]:
    """``gateway_over(*replies)``: a StripeGateway built by ``from_settings`` over a fresh StripeAPI."""
    opened: list[StripeGateway] = []

    def make(*replies: Reply, **setting_overrides: Any) -> tuple[StripeGateway, StripeAPI]:
        api = StripeAPI(*replies)
        gateway = StripeGateway.from_settings(
            settings(**setting_overrides), http_client=LocalHTTPXClient(api)
        )
        opened.append(gateway)
        return gateway, api

    yield make
    for gateway in opened:
        await gateway.aclose()


def checkout_request(**overrides: Any) -> CheckoutRequest:
    fields: dict[str, Any] = {
        "enrolment_id": "enr-7f3a",
        "member_id": "member-ada",
        "credential_id": "cred-inquiry",
        "title": "Inquiry in practice",
        "kind": PurchaseKind.PURCHASE,
        "attempt": 1,
        "price": Money(amount=9900, currency="usd"),
        "requested_at": REQUESTED_AT,
        "expires_at": REQUESTED_AT + timedelta(hours=24),
        "idempotency_key": "enrolment:enr-7f3a:purchase:1",
    }
    return CheckoutRequest(**(fields | overrides))


def spec(*, customer_email: str | None = "ada@example.org", **request_overrides: Any) -> CheckoutSpec:
    return CheckoutSpec(
        request=checkout_request(**request_overrides),
        customer_email=customer_email,
        success_url=SUCCESS_URL,
        cancel_url=CANCEL_URL,
    )


def epoch(moment: datetime) -> str:
    return str(int(moment.timestamp()))


# --- opening a checkout -------------------------------------------------------------------------


async def test_checkout_is_a_payment_session_with_the_inline_price(gateway_over: GatewayFactory) -> None:
    gateway, api = gateway_over(created_session())

    opened = await gateway.create_checkout(spec())

    [request] = api.requests
    assert request.method == "POST"
    assert str(request.url) == f"{API_BASE}/v1/checkout/sessions"
    assert request.headers["Idempotency-Key"] == "enrolment:enr-7f3a:purchase:1"
    assert request.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    metadata = {
        "enrolment_id": "enr-7f3a",
        "credential_id": "cred-inquiry",
        "kind": "purchase",
        "attempt": "1",
    }
    assert form(request) == {
        "mode": "payment",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "9900",
        "line_items[0][price_data][product_data][name]": "Inquiry in practice",
        "client_reference_id": "enr-7f3a",
        **{f"metadata[{k}]": v for k, v in metadata.items()},
        **{f"payment_intent_data[metadata][{k}]": v for k, v in metadata.items()},
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
        "expires_at": epoch(REQUESTED_AT + timedelta(hours=24)),
        "customer_email": "ada@example.org",
    }
    assert opened.session_id == SESSION_ID
    assert opened.url == f"https://checkout.stripe.com/c/pay/{SESSION_ID}#fidkdWxOYHwnPyd1"
    assert opened.expires_at == REQUESTED_AT + timedelta(hours=24)
    assert opened.expires_at.tzinfo is not None


async def test_customer_email_is_left_out_when_unknown(gateway_over: GatewayFactory) -> None:
    gateway, api = gateway_over(created_session())

    await gateway.create_checkout(spec(customer_email=None))

    assert "customer_email" not in form(api.requests[0])


async def test_resubmission_checkout_names_its_kind_and_attempt(gateway_over: GatewayFactory) -> None:
    gateway, api = gateway_over(created_session())

    await gateway.create_checkout(
        spec(
            kind=PurchaseKind.RESUBMISSION,
            attempt=2,
            price=Money(amount=2900, currency="eur"),
            idempotency_key="enrolment:enr-7f3a:resubmission:2",
        )
    )

    [request] = api.requests
    fields = form(request)
    assert request.headers["Idempotency-Key"] == "enrolment:enr-7f3a:resubmission:2"
    assert fields["line_items[0][price_data][currency]"] == "eur"
    assert fields["line_items[0][price_data][unit_amount]"] == "2900"
    assert (
        fields["line_items[0][price_data][product_data][name]"]
        == "Inquiry in practice: resubmission (attempt 2)"
    )
    for prefix in ("metadata", "payment_intent_data[metadata]"):
        assert fields[f"{prefix}[kind]"] == "resubmission"
        assert fields[f"{prefix}[attempt]"] == "2"


async def test_a_retried_checkout_sends_the_identical_request(gateway_over: GatewayFactory) -> None:
    # A retried activity may run on another worker: a fresh gateway, the same spec.
    first, first_api = gateway_over(created_session())
    second, second_api = gateway_over(created_session())

    await first.create_checkout(spec())
    await first.create_checkout(spec())
    await second.create_checkout(spec())

    requests = first_api.requests + second_api.requests
    assert len(requests) == 3
    assert {r.content for r in requests} == {requests[0].content}
    assert {(r.method, str(r.url)) for r in requests} == {("POST", f"{API_BASE}/v1/checkout/sessions")}
    assert first_api.keys + second_api.keys == ["enrolment:enr-7f3a:purchase:1"] * 3


@pytest.mark.parametrize(
    ("window", "sent"),
    [
        pytest.param(timedelta(minutes=10), timedelta(minutes=35), id="shorter-than-30-min"),
        pytest.param(timedelta(minutes=30), timedelta(minutes=35), id="exactly-30-min"),
        pytest.param(timedelta(0), timedelta(minutes=35), id="already-due"),
        pytest.param(timedelta(hours=3), timedelta(hours=3), id="within"),
        pytest.param(timedelta(hours=24), timedelta(hours=24), id="exactly-24-h"),
        pytest.param(timedelta(hours=48), timedelta(hours=24), id="longer-than-24-h"),
    ],
)
async def test_expires_at_is_clamped_into_what_stripe_accepts(
    gateway_over: GatewayFactory, window: timedelta, sent: timedelta
) -> None:
    # The floor is 30 minutes plus 5 to spare: the session is created after requested_at.
    gateway, api = gateway_over(created_session())

    opened = await gateway.create_checkout(spec(expires_at=REQUESTED_AT + window))

    assert form(api.requests[0])["expires_at"] == epoch(REQUESTED_AT + sent)
    assert opened.expires_at == REQUESTED_AT + sent


async def test_expires_at_comes_from_requested_at_not_the_clock(gateway_over: GatewayFactory) -> None:
    # Years in the past: measured from the wall clock, every bound would be far from these.
    long_ago = datetime(2019, 1, 1, 0, 0, tzinfo=UTC)
    gateway, api = gateway_over(created_session())

    await gateway.create_checkout(spec(requested_at=long_ago, expires_at=long_ago + timedelta(hours=30)))

    assert form(api.requests[0])["expires_at"] == epoch(long_ago + timedelta(hours=24))


async def test_the_configured_api_base_is_used(gateway_over: GatewayFactory) -> None:
    gateway, api = gateway_over(created_session(), stripe_api_base="http://localhost:12111/")

    await gateway.create_checkout(spec())

    assert str(api.requests[0].url) == "http://localhost:12111/v1/checkout/sessions"


async def test_stripes_own_api_base_is_the_default(gateway_over: GatewayFactory) -> None:
    gateway, api = gateway_over(
        created_session(), stripe_api_base=Settings.model_fields["stripe_api_base"].default
    )

    await gateway.create_checkout(spec())

    assert str(api.requests[0].url) == "https://api.stripe.com/v1/checkout/sessions"


async def test_a_session_without_a_url_is_rejected(gateway_over: GatewayFactory) -> None:
    gateway, _ = gateway_over(created_session(with_url=False))

    with pytest.raises(PaymentRejected, match=SESSION_ID):
        await gateway.create_checkout(spec())


# --- refusals and failures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "cause", "mentions"),
    [
        pytest.param(
            stripe_error(
                400,
                "invalid_request_error",
                "Invalid integer: expires_at must be less than 24 hours from now",
                code="parameter_invalid_integer",
                param="expires_at",
            ),
            stripe.InvalidRequestError,
            ["HTTP 400", "param expires_at", "must be less than 24 hours"],
            id="400-invalid-request",
        ),
        pytest.param(
            stripe_error(401, "invalid_request_error", "Invalid API Key provided: sk_test_********0000"),
            stripe.AuthenticationError,
            ["HTTP 401", "Invalid API Key"],
            id="401-authentication",
        ),
        pytest.param(
            stripe_error(
                402,
                "card_error",
                "Your card was declined.",
                code="card_declined",
                decline_code="generic_decline",
            ),
            stripe.CardError,
            ["HTTP 402", "code card_declined", "decline generic_decline", "Your card was declined."],
            id="402-card-error",
        ),
        pytest.param(
            stripe_error(
                403,
                "invalid_request_error",
                "The provided key 'rk_test_***0000' does not have the required permissions for this "
                "endpoint.",
            ),
            stripe.PermissionError,
            ["HTTP 403", "required permissions"],
            id="403-permission",
        ),
        pytest.param(
            stripe_error(
                400,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they were "
                "first used with.",
            ),
            stripe.IdempotencyError,
            ["HTTP 400", "type idempotency_error", "same parameters"],
            id="400-idempotency-mismatch",
        ),
    ],
)
async def test_a_refusal_is_rejected_at_once(
    gateway_over: GatewayFactory, reply: Reply, cause: type[stripe.StripeError], mentions: list[str]
) -> None:
    gateway, api = gateway_over(reply)

    with pytest.raises(PaymentRejected) as rejected:
        await gateway.create_checkout(spec())

    assert type(rejected.value.__cause__) is cause
    message = str(rejected.value)
    assert "open the purchase checkout of enrolment enr-7f3a" in message
    assert "request req_Err0r1" in message
    for fragment in mentions:
        assert fragment in message
    assert len(api.requests) == 1  # the SDK does not retry a refusal


async def test_an_idempotency_mismatch_409_is_rejected(gateway_over: GatewayFactory) -> None:
    mismatch = stripe_error(
        409,
        "idempotency_error",
        "Keys for idempotent requests can only be used with the same parameters they were first used "
        "with. Try using a key other than 'enrolment:enr-7f3a:purchase:1' if you meant to execute a "
        "different request.",
    )
    gateway, api = gateway_over(mismatch)

    with pytest.raises(PaymentRejected, match="HTTP 409, type idempotency_error") as rejected:
        await gateway.create_checkout(spec())

    assert isinstance(rejected.value.__cause__, stripe.APIError)
    # The SDK retries every 409 (max_network_retries=2), always with the same key.
    assert api.keys == ["enrolment:enr-7f3a:purchase:1"] * 3


async def test_a_409_for_a_key_still_in_use_is_left_to_retry(gateway_over: GatewayFactory) -> None:
    in_use = stripe_error(
        409,
        "idempotency_error",
        "There is currently another in-progress request using this Idempotent Key (that probably means you "
        "submitted twice, and the other request is still going through). Please try again later.",
        code="idempotency_key_in_use",
    )
    gateway, api = gateway_over(in_use, in_use, in_use, created_session())

    with pytest.raises(stripe.APIError) as raised:
        await gateway.create_checkout(spec())
    assert not isinstance(raised.value, PaymentRejected)
    assert raised.value.http_status == 409

    # The activity's own retry then reaches the session the first request made.
    opened = await gateway.create_checkout(spec())
    assert opened.session_id == SESSION_ID
    assert api.keys == ["enrolment:enr-7f3a:purchase:1"] * 4


async def test_a_server_error_is_retried_with_the_same_key(gateway_over: GatewayFactory) -> None:
    gateway, api = gateway_over(
        stripe_error(500, "api_error", "Sorry, something went wrong."), created_session()
    )

    opened = await gateway.create_checkout(spec())

    assert opened.session_id == SESSION_ID
    first, second = api.requests
    assert (
        second.headers["Idempotency-Key"]
        == first.headers["Idempotency-Key"]
        == "enrolment:enr-7f3a:purchase:1"
    )
    assert second.content == first.content


async def test_a_lasting_server_error_is_asked_once_more_under_a_key_of_the_attempt(
    gateway_over: GatewayFactory,
) -> None:
    # Stripe keeps a 500 under its key and replays it: every retry with that key gets it again.
    saved = stripe_error(500, "api_error", "Sorry, something went wrong.")
    gateway, api = gateway_over(saved, saved, saved, created_session())

    opened = await gateway.create_checkout(replace(spec(), attempt=3))

    assert opened.session_id == SESSION_ID
    key = "enrolment:enr-7f3a:purchase:1"
    assert api.keys == [key] * 3 + [f"{key}:attempt-3"]
    assert len({r.content for r in api.requests}) == 1


async def test_a_lasting_server_error_propagates_for_a_retry(gateway_over: GatewayFactory) -> None:
    gateway, api = gateway_over(stripe_error(503, "api_error", "Stripe is temporarily unavailable."))

    with pytest.raises(stripe.APIError) as raised:
        await gateway.create_checkout(spec())

    assert not isinstance(raised.value, PaymentRejected)
    assert raised.value.http_status == 503
    key = "enrolment:enr-7f3a:purchase:1"
    assert api.keys == [key] * 3 + [f"{key}:attempt-1"] * 3
    assert len({r.content for r in api.requests}) == 1


async def test_a_rate_limit_propagates(gateway_over: GatewayFactory) -> None:
    gateway, _ = gateway_over(
        stripe_error(
            429, "invalid_request_error", "Too many requests hit the API too quickly.", code="rate_limit"
        )
    )

    with pytest.raises(stripe.RateLimitError):
        await gateway.create_checkout(spec())


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout, httpx.ReadError]
)
async def test_network_failures_propagate_and_a_retry_sends_the_same_request(
    gateway_over: GatewayFactory, failure: Callable[..., httpx.TransportError]
) -> None:
    gateway, api = gateway_over(raises(failure), raises(failure), raises(failure), created_session())

    with pytest.raises(stripe.APIConnectionError) as raised:
        await gateway.create_checkout(spec())
    assert isinstance(raised.value.__cause__, httpx.TransportError)
    assert len(api.requests) == 3  # the first try and the SDK's two retries

    opened = await gateway.create_checkout(spec())  # what a retried activity does

    assert opened.session_id == SESSION_ID
    assert api.keys == ["enrolment:enr-7f3a:purchase:1"] * 4
    assert len({r.content for r in api.requests}) == 1


# --- refunds ------------------------------------------------------------------------------------


def paid(payment_intent: str | None = PAYMENT_INTENT) -> PaidCharge:
    return PaidCharge(
        checkout_session_id=SESSION_ID, payment_intent=payment_intent, amount=9900, currency="usd"
    )


async def test_a_refund_refunds_the_payment_intent_in_full(gateway_over: GatewayFactory) -> None:
    gateway, api = gateway_over(created_refund())

    issued = await gateway.refund(paid(), idempotency_key=f"refund:{SESSION_ID}")

    assert issued == IssuedRefund(refund_id="re_3QfZk2Microcred1x2y3z4w", amount=9900)
    [request] = api.requests
    assert request.method == "POST"
    assert str(request.url) == f"{API_BASE}/v1/refunds"
    assert request.headers["Idempotency-Key"] == f"refund:{SESSION_ID}"
    # No amount: Stripe refunds everything left on the payment.
    assert form(request) == {"payment_intent": PAYMENT_INTENT, "metadata[checkout_session_id]": SESSION_ID}


async def test_a_refund_finds_the_payment_intent_through_the_session(gateway_over: GatewayFactory) -> None:
    gateway, api = gateway_over(retrieved_session(payment_intent=PAYMENT_INTENT), created_refund())

    issued = await gateway.refund(paid(payment_intent=None), idempotency_key=f"refund:{SESSION_ID}")

    assert issued.refund_id == "re_3QfZk2Microcred1x2y3z4w"
    read, refund = api.requests
    assert read.method == "GET"
    assert str(read.url) == f"{API_BASE}/v1/checkout/sessions/{SESSION_ID}"
    assert "Idempotency-Key" not in read.headers
    assert read.content == b""
    assert refund.method == "POST"
    assert str(refund.url) == f"{API_BASE}/v1/refunds"
    assert refund.headers["Idempotency-Key"] == f"refund:{SESSION_ID}"
    assert form(refund)["payment_intent"] == PAYMENT_INTENT


async def test_a_retried_refund_sends_the_identical_request(gateway_over: GatewayFactory) -> None:
    # The first try learnt the intent from the session; by the retry the payment row holds it.
    gateway, api = gateway_over(retrieved_session(payment_intent=PAYMENT_INTENT), created_refund())

    await gateway.refund(paid(payment_intent=None), idempotency_key=f"refund:{SESSION_ID}")
    await gateway.refund(paid(), idempotency_key=f"refund:{SESSION_ID}")

    first, second = (r for r in api.requests if r.method == "POST")
    assert first.content == second.content
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]


async def test_refunding_a_session_that_was_never_paid_is_rejected(gateway_over: GatewayFactory) -> None:
    gateway, api = gateway_over(retrieved_session(payment_intent=None))

    with pytest.raises(PaymentRejected, match="no payment intent"):
        await gateway.refund(paid(payment_intent=None), idempotency_key=f"refund:{SESSION_ID}")

    assert [r.method for r in api.requests] == ["GET"]


async def test_a_refused_refund_is_rejected(gateway_over: GatewayFactory) -> None:
    gateway, _ = gateway_over(
        stripe_error(
            400,
            "invalid_request_error",
            "Charge ch_3QfZk2Microcred0a1b2c3d has already been refunded.",
            code="charge_already_refunded",
        )
    )

    with pytest.raises(
        PaymentRejected, match=f"refund checkout session {SESSION_ID}.*charge_already_refunded"
    ):
        await gateway.refund(paid(), idempotency_key=f"refund:{SESSION_ID}")


async def test_an_unknown_session_is_rejected(gateway_over: GatewayFactory) -> None:
    gateway, _ = gateway_over(
        stripe_error(
            404,
            "invalid_request_error",
            f"No such checkout.session: '{SESSION_ID}'",
            code="resource_missing",
            param="session",
        )
    )

    with pytest.raises(PaymentRejected, match=r"HTTP 404.*resource_missing") as rejected:
        await gateway.refund(paid(payment_intent=None), idempotency_key=f"refund:{SESSION_ID}")
    assert isinstance(rejected.value.__cause__, stripe.InvalidRequestError)


def listed_refunds(*refunds: dict[str, Any]) -> Reply:
    """Stripe's answer to GET /v1/refunds?payment_intent=...: a list object."""

    def reply(request: httpx.Request) -> httpx.Response:
        listed = {"object": "list", "url": "/v1/refunds", "has_more": False, "data": list(refunds)}
        return httpx.Response(200, json=listed, headers={"request-id": "req_L1st"})

    return reply


def a_refund(*, session_id: str = SESSION_ID, status: str = "succeeded") -> dict[str, Any]:
    return {
        "id": "re_3QfZk2MicrocredMadeBefore",
        "object": "refund",
        "amount": 9900,
        "currency": "usd",
        "metadata": {"checkout_session_id": session_id},
        "payment_intent": PAYMENT_INTENT,
        "status": status,
    }


async def test_a_refund_server_error_propagates(gateway_over: GatewayFactory) -> None:
    failing = stripe_error(500, "api_error", "Sorry, something went wrong.")
    gateway, api = gateway_over(failing, failing, failing, listed_refunds(), failing)

    with pytest.raises(stripe.APIError) as raised:
        await gateway.refund(paid(), idempotency_key=f"refund:{SESSION_ID}", attempt=2)

    assert not isinstance(raised.value, PaymentRejected)
    assert api.keys == [f"refund:{SESSION_ID}"] * 3 + [None] + [f"refund:{SESSION_ID}:attempt-2"] * 3


async def test_after_a_lasting_server_error_the_refund_it_made_is_found(gateway_over: GatewayFactory) -> None:
    failing = stripe_error(500, "api_error", "Sorry, something went wrong.")
    others = [a_refund(session_id="cs_test_another"), a_refund(status="failed")]
    gateway, api = gateway_over(failing, failing, failing, listed_refunds(*others, a_refund()))

    issued = await gateway.refund(paid(), idempotency_key=f"refund:{SESSION_ID}")

    assert issued == IssuedRefund(refund_id="re_3QfZk2MicrocredMadeBefore", amount=9900)
    listing = api.requests[-1]
    assert listing.method == "GET" and listing.url.path == "/v1/refunds"
    assert dict(listing.url.params) == {"payment_intent": PAYMENT_INTENT, "limit": "100"}
    assert [r.method for r in api.requests] == ["POST"] * 3 + ["GET"]  # no second refund asked


async def test_after_a_lasting_server_error_with_no_refund_made_one_is_asked_under_a_new_key(
    gateway_over: GatewayFactory,
) -> None:
    failing = stripe_error(500, "api_error", "Sorry, something went wrong.")
    gateway, api = gateway_over(
        failing, failing, failing, listed_refunds(a_refund(status="failed")), created_refund()
    )

    issued = await gateway.refund(paid(), idempotency_key=f"refund:{SESSION_ID}")

    assert issued.refund_id == "re_3QfZk2Microcred1x2y3z4w"
    assert api.keys[-1] == f"refund:{SESSION_ID}:attempt-1"
    assert api.requests[-1].content == api.requests[0].content


# --- closing a checkout when its window passes --------------------------------------------------


async def test_closing_an_open_session_expires_it_at_stripe(gateway_over: GatewayFactory) -> None:
    gateway, api = gateway_over(
        retrieved_session(payment_intent=None, status="open"), retrieved_session(payment_intent=None)
    )

    assert await gateway.close_checkout(SESSION_ID) is None

    read, expire = api.requests
    assert (read.method, str(read.url)) == ("GET", f"{API_BASE}/v1/checkout/sessions/{SESSION_ID}")
    assert (expire.method, str(expire.url)) == (
        "POST",
        f"{API_BASE}/v1/checkout/sessions/{SESSION_ID}/expire",
    )
    assert expire.content == b""


async def test_closing_a_session_paid_at_the_last_moment_returns_its_charge(
    gateway_over: GatewayFactory,
) -> None:
    gateway, api = gateway_over(retrieved_session(payment_intent=PAYMENT_INTENT))

    charge = await gateway.close_checkout(SESSION_ID)

    assert charge == PaidCharge(
        checkout_session_id=SESSION_ID, payment_intent=PAYMENT_INTENT, amount=9900, currency="usd"
    )
    assert [r.method for r in api.requests] == ["GET"]  # nothing to expire


def retrieved_intent(status: str) -> Reply:
    """Stripe's answer to GET /v1/payment_intents/{id}."""

    def reply(request: httpx.Request) -> httpx.Response:
        intent = {"id": PAYMENT_INTENT, "object": "payment_intent", "amount": 9900, "currency": "eur"}
        return httpx.Response(200, json={**intent, "status": status}, headers={"request-id": "req_Pi7"})

    return reply


@pytest.mark.parametrize(
    ("intent_status", "expected"),
    [("processing", Processing(checkout_session_id=SESSION_ID)), ("requires_payment_method", None)],
)
async def test_a_session_completed_with_a_delayed_payment_is_processing_until_the_debit_fails(
    gateway_over: GatewayFactory, intent_status: str, expected: Processing | None
) -> None:
    """A bank debit: the session is complete and unpaid (not expirable) while the debit is
    processing, and also once it failed; the payment intent tells the two apart."""
    gateway, api = gateway_over(
        retrieved_session(payment_intent=PAYMENT_INTENT, payment_status="unpaid"),
        retrieved_intent(intent_status),
    )

    closed = await gateway.close_checkout(SESSION_ID)

    assert closed == expected
    assert [(r.method, r.url.path) for r in api.requests] == [
        ("GET", f"/v1/checkout/sessions/{SESSION_ID}"),
        ("GET", f"/v1/payment_intents/{PAYMENT_INTENT}"),
    ]


async def test_a_session_paid_between_the_read_and_the_expiry_is_read_again(
    gateway_over: GatewayFactory,
) -> None:
    gateway, api = gateway_over(
        retrieved_session(payment_intent=None, status="open"),
        stripe_error(
            400,
            "invalid_request_error",
            "Only Checkout Sessions with a status in ['open'] can be expired.",
        ),
        retrieved_session(payment_intent=PAYMENT_INTENT),
    )

    charge = await gateway.close_checkout(SESSION_ID)

    assert isinstance(charge, PaidCharge) and charge.payment_intent == PAYMENT_INTENT
    assert [(r.method, r.url.path.rsplit("/", 1)[-1]) for r in api.requests] == [
        ("GET", SESSION_ID),
        ("POST", "expire"),
        ("GET", SESSION_ID),
    ]


async def test_closing_an_unknown_session_is_rejected(gateway_over: GatewayFactory) -> None:
    gateway, _ = gateway_over(
        stripe_error(404, "invalid_request_error", f"No such checkout.session: '{SESSION_ID}'")
    )

    with pytest.raises(PaymentRejected, match=f"close checkout session {SESSION_ID}.*HTTP 404"):
        await gateway.close_checkout(SESSION_ID)


async def test_a_refund_after_a_partial_refund_reports_what_it_gave_back(
    gateway_over: GatewayFactory,
) -> None:
    gateway, _ = gateway_over(created_refund(amount=5900))  # 4000 were refunded in the dashboard

    issued = await gateway.refund(paid(), idempotency_key=f"refund:{SESSION_ID}")

    assert issued.amount == 5900


# --- construction and shutdown ------------------------------------------------------------------


async def test_aclose_closes_the_http_client() -> None:
    api = StripeAPI(created_session())
    gateway = StripeGateway.from_settings(settings(), http_client=LocalHTTPXClient(api))
    assert gateway.provider == "stripe"

    await gateway.aclose()

    assert api.closed


async def test_a_secret_key_selects_the_stripe_gateway() -> None:
    gateway = gateway_from_settings(settings())
    try:
        assert isinstance(gateway, StripeGateway)
        assert gateway.provider == "stripe"
    finally:
        await gateway.aclose()


def test_from_settings_needs_a_secret_key() -> None:
    with pytest.raises(ValueError, match="MICROCRED_STRIPE_SECRET_KEY"):
        StripeGateway.from_settings(settings(stripe_secret_key=None))
