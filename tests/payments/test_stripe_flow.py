"""Stripe mode end to end: the API and the real worker with the StripeGateway over a stand-in
Stripe (the real SDK over an httpx transport), payments confirmed by webhooks we sign.

The same webhook code as the offline provider's fulfils the purchase; a payment that arrives
after the enrolment was cancelled is refunded through Stripe under its own idempotency key.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import stripe
from temporalio.testing import WorkflowEnvironment

from api.deps import AppState
from api.main import create_app
from microcred.auth import TokenVerifier
from microcred.badges import BadgeIssuer
from microcred.db import SessionFactory
from microcred.models import Payment
from microcred.payments.stripe_gateway import StripeGateway
from tests.api.conftest import SECRET, Api, Flow, eventually, eventually_status
from tests.payments.test_stripe_gateway import LocalHTTPXClient
from tests.support import running_worker, test_settings, uid

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw:DeprecationWarning")
WEBHOOK_SECRET = "whsec_stripe_flow_test_secret_0123456789"


class FakeStripe(httpx.AsyncBaseTransport):
    """Checkout sessions and refunds, idempotent by key as Stripe is."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.sessions: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, httpx.Response] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        key = request.headers.get("Idempotency-Key")
        if key in self.by_key:
            return self.by_key[key]
        fields = dict(parse_qsl(request.content.decode()))
        if request.url.path == "/v1/checkout/sessions":
            session_id = f"cs_test_{uuid.uuid4().hex[:20]}"
            session = {
                "id": session_id,
                "object": "checkout.session",
                "mode": fields["mode"],
                "amount_total": int(fields["line_items[0][price_data][unit_amount]"]),
                "currency": fields["line_items[0][price_data][currency]"],
                "expires_at": int(fields["expires_at"]),
                "payment_status": "unpaid",
                "status": "open",
                "url": f"https://checkout.stripe.com/c/pay/{session_id}",
                "payment_intent": None,
                "metadata": {k[9:-1]: v for k, v in fields.items() if k.startswith("metadata[")},
            }
            self.sessions[session_id] = session
            response = httpx.Response(200, json=session)
        elif request.url.path == "/v1/refunds":
            intent = fields["payment_intent"]
            paid = [s for s in self.sessions.values() if s["payment_intent"] == intent]
            response = httpx.Response(
                200,
                json={
                    "id": f"re_{uuid.uuid4().hex[:16]}",
                    "object": "refund",
                    "amount": paid[0]["amount_total"] if paid else 9900,
                    "status": "succeeded",
                    "payment_intent": intent,
                },
            )
        elif (found := self._session_of(request.url.path)) is not None:
            if request.method == "GET":
                response = httpx.Response(200, json=found)
            elif found["status"] == "open":  # POST .../expire
                found["status"] = "expired"
                response = httpx.Response(200, json=found)
            else:
                message = "Only Checkout Sessions with a status in ['open'] can be expired."
                response = httpx.Response(
                    400, json={"error": {"type": "invalid_request_error", "message": message}}
                )
        else:
            response = httpx.Response(
                404, json={"error": {"type": "invalid_request_error", "message": "no route"}}
            )
        if key:
            self.by_key[key] = response
        return response

    def _session_of(self, path: str) -> dict[str, Any] | None:
        """The session a ``/v1/checkout/sessions/{id}`` (or ``.../expire``) path names."""
        parts = path.removeprefix("/v1/checkout/sessions/").split("/")
        if not path.startswith("/v1/checkout/sessions/") or parts[1:] not in ([], ["expire"]):
            return None
        return self.sessions.get(parts[0])

    def pay(self, session_id: str, intent: str) -> None:
        """The member pays on Stripe's page (its webhook is delivered separately, or not)."""
        self.sessions[session_id].update(status="complete", payment_status="paid", payment_intent=intent)

    def posted(self, path: str) -> list[tuple[str | None, dict[str, str]]]:
        return [
            (r.headers.get("Idempotency-Key"), dict(parse_qsl(r.content.decode())))
            for r in self.requests
            if r.method == "POST" and r.url.path == path
        ]


@dataclass
class StripeApi(Api):
    stripe: FakeStripe | None = None

    async def deliver(
        self, session_id: str, *, amount: int = 9900, intent: str | None = None
    ) -> httpx.Response:
        obj = {
            "id": session_id,
            "object": "checkout.session",
            "payment_status": "paid",
            "status": "complete",
            "amount_total": amount,
            "currency": "usd",
            "payment_intent": intent or f"pi_{uuid.uuid4().hex[:14]}",
        }
        payload = json.dumps(
            {
                "id": f"evt_{uuid.uuid4().hex}",
                "object": "event",
                "type": "checkout.session.completed",
                "data": {"object": obj},
            }
        )
        signature = stripe.WebhookSignature.generate_signature_header(
            payload, WEBHOOK_SECRET, int(time.time())
        )
        return await self.http.post(
            "/api/v1/webhooks/stripe", content=payload, headers={"Stripe-Signature": signature}
        )


@pytest.fixture
async def stripe_api(ts_env: WorkflowEnvironment, own_sqlite: SessionFactory) -> AsyncIterator[StripeApi]:
    fake = FakeStripe()
    settings = test_settings(
        auth_secret=SECRET,
        stripe_secret_key="sk_test_flow",
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base="http://stripe.test",
    )
    gateway = StripeGateway.from_settings(settings, http_client=LocalHTTPXClient(fake))
    async with running_worker(ts_env.client, own_sqlite, gateway=gateway) as run:
        state = AppState(
            settings=settings,
            sessions=own_sqlite,
            workflows=run.workflows,
            verifier=TokenVerifier(secret=SECRET, jwks_url=None),
            issuer=BadgeIssuer.from_settings(settings),
        )
        app = create_app(state=state)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
        ):
            yield StripeApi(http=http, run=run, sessions=own_sqlite, stripe=fake)
    await gateway.aclose()


async def test_purchase_through_stripe_checkout_and_webhook(stripe_api: StripeApi) -> None:
    assert stripe_api.stripe is not None
    credential = await stripe_api.publish()
    flow = Flow(api=stripe_api, credential=credential, member=uid("member"), evaluator="nobody")
    created = await flow.buy()
    assert created["checkout_url"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    [(key, fields)] = stripe_api.stripe.posted("/v1/checkout/sessions")
    assert key == f"enrolment:{flow.enrolment_id}:purchase:1"
    assert fields["mode"] == "payment" and fields["metadata[enrolment_id]"] == flow.enrolment_id
    assert fields["line_items[0][price_data][unit_amount]"] == "9900"
    assert fields["customer_email"] == f"{flow.member}@example.org"
    assert fields["success_url"].startswith("http://testserver/api/v1/checkout/complete")
    # The offline checkout page does not exist in Stripe mode.
    assert (await stripe_api.http.get(f"/api/v1/checkout/{flow.checkout_session_id}")).status_code == 404
    delivered = await stripe_api.deliver(flow.checkout_session_id)
    assert delivered.json()["outcome"] == "delivered"
    await eventually_status(stripe_api, flow.member, flow.enrolment_id, "in_progress")
    with stripe_api.sessions() as session:
        payment = session.get(Payment, flow.checkout_session_id)
        assert payment is not None and (payment.provider, payment.status) == ("stripe", "paid")


async def bought(stripe_api: StripeApi) -> Flow:
    """A member's purchase, its Stripe checkout open."""
    credential = await stripe_api.publish()
    flow = Flow(api=stripe_api, credential=credential, member=uid("member"), evaluator="nobody")
    await flow.buy()
    return flow


async def test_late_payment_is_refunded_through_stripe(
    stripe_api: StripeApi, ts_env: WorkflowEnvironment
) -> None:
    assert stripe_api.stripe is not None
    flow = await bought(stripe_api)
    await ts_env.sleep(timedelta(hours=25))
    await eventually_status(stripe_api, flow.member, flow.enrolment_id, "cancelled")
    # The window passed unpaid: the session was expired at Stripe, so it cannot be paid any more.
    assert stripe_api.stripe.posted(f"/v1/checkout/sessions/{flow.checkout_session_id}/expire")
    assert stripe_api.stripe.sessions[flow.checkout_session_id]["status"] == "expired"
    response = await stripe_api.deliver(flow.checkout_session_id, intent="pi_late_123")
    assert response.json()["outcome"] == "refunding_late_payment"

    async def refunded() -> bool:
        with stripe_api.sessions() as session:
            row = session.get(Payment, flow.checkout_session_id)
            return row is not None and row.status == "refunded"

    assert await eventually(refunded)
    [(key, fields)] = stripe_api.stripe.posted("/v1/refunds")
    assert key == f"enrolment:{flow.enrolment_id}:refund:{flow.checkout_session_id}"
    assert fields["payment_intent"] == "pi_late_123"
    # Stripe redelivers the event: no second refund request reaches Stripe.
    await stripe_api.deliver(flow.checkout_session_id, intent="pi_late_123")
    await ts_env.sleep(timedelta(minutes=1))
    assert len(stripe_api.stripe.posted("/v1/refunds")) == 1


async def test_a_payment_whose_webhook_is_late_is_found_when_the_window_passes(
    stripe_api: StripeApi, ts_env: WorkflowEnvironment
) -> None:
    assert stripe_api.stripe is not None
    flow = await bought(stripe_api)
    # Paid on Stripe's page in the window's last moments; the webhook has not come yet.
    stripe_api.stripe.pay(flow.checkout_session_id, "pi_last_minute")
    await ts_env.sleep(timedelta(hours=25))

    await eventually_status(stripe_api, flow.member, flow.enrolment_id, "in_progress")
    assert not stripe_api.stripe.posted(f"/v1/checkout/sessions/{flow.checkout_session_id}/expire")
    with stripe_api.sessions() as session:
        payment = session.get(Payment, flow.checkout_session_id)
        assert payment is not None
        assert (payment.status, payment.paid_amount, payment.payment_intent) == (
            "paid",
            9900,
            "pi_last_minute",
        )
    # The webhook comes at last (Stripe retries for days), even after the enrolment has ended
    # (here: its submission window, never used): the payment was used, so it is not refunded.
    await ts_env.sleep(timedelta(days=400))
    await eventually_status(stripe_api, flow.member, flow.enrolment_id, "expired")
    delivered = await stripe_api.deliver(flow.checkout_session_id, intent="pi_last_minute")
    assert delivered.json()["outcome"] == "already_applied"
    await ts_env.sleep(timedelta(minutes=1))
    assert not stripe_api.stripe.posted("/v1/refunds")
    with stripe_api.sessions() as session:
        payment = session.get(Payment, flow.checkout_session_id)
        assert payment is not None and payment.status == "paid"


async def test_a_refused_checkout_is_a_clear_503_and_admins_are_told(stripe_api: StripeApi) -> None:
    """A wrong Stripe key (401): no retry storm, the purchase fails clearly, admins learn why."""
    assert stripe_api.stripe is not None

    async def unauthorised(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(
            401,
            json={
                "error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_***"}
            },
        )

    stripe_api.stripe.handle_async_request = unauthorised  # type: ignore[method-assign]
    credential = await stripe_api.publish()
    member = uid("member")
    response = await stripe_api.http.post(
        "/api/v1/enrolments",
        json={"credential_id": credential["id"]},
        headers=stripe_api.auth("member", member),
    )
    assert response.status_code == 503 and response.json()["detail"]["code"] == "unavailable"
    [item] = await stripe_api.learning(member)
    assert item["status"] == "cancelled"

    async def alerted() -> bool:
        notes = (await stripe_api.http.get("/api/v1/me/notifications", headers=stripe_api.admin())).json()[
            "items"
        ]
        return any(n["kind"] == "operator_alert" and "Invalid API Key" in n["body"] for n in notes)

    assert await eventually(alerted)
    # The failed purchase does not block another (which fails the same way until the key is fixed).
    again = await stripe_api.http.post(
        "/api/v1/enrolments",
        json={"credential_id": credential["id"]},
        headers=stripe_api.auth("member", member),
    )
    assert again.status_code == 503
