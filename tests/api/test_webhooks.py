"""POST /webhooks/stripe with events we sign ourselves, and the offline checkout pages."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
import stripe
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from microcred.config import DEV_WEBHOOK_SECRET
from microcred.models import Notification, Payment, TimelineEntry
from tests.api.conftest import Flow, eventually, eventually_status

WEBHOOK = "/api/v1/webhooks/stripe"


def event(kind: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex}",
            "object": "event",
            "type": kind,
            "data": {"object": obj},
        }
    ).encode()


def session_object(flow: Flow, **overrides: Any) -> dict[str, Any]:
    obj = {
        "id": flow.checkout_session_id,
        "object": "checkout.session",
        "payment_status": "paid",
        "amount_total": 9900,
        "currency": "usd",
        "payment_intent": f"pi_{uuid.uuid4().hex[:12]}",
        "metadata": {"enrolment_id": flow.enrolment_id},
    }
    obj.update(overrides)
    return obj


async def deliver(
    flow: Flow, payload: bytes, *, secret: str = DEV_WEBHOOK_SECRET, at: int | None = None
) -> Any:
    signature = stripe.WebhookSignature.generate_signature_header(
        payload.decode(), secret, at or int(time.time())
    )
    return await flow.api.http.post(WEBHOOK, content=payload, headers={"Stripe-Signature": signature})


async def notes(flow: Flow, kind: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The notifications of ``kind`` about the flow's enrolment that ``headers``' bearer sees."""
    found = (await flow.api.http.get("/api/v1/me/notifications", headers=headers)).json()
    return [n for n in found["items"] if n["kind"] == kind and n["enrolment_id"] == flow.enrolment_id]


def payment(flow: Flow) -> Payment:
    with flow.api.sessions() as session:
        row = session.get(Payment, flow.checkout_session_id)
        assert row is not None
        return row


async def test_a_signed_completion_starts_the_work(flow: Flow) -> None:
    await flow.buy()
    response = await deliver(flow, event("checkout.session.completed", session_object(flow)))
    assert response.status_code == 200 and response.json()["outcome"] == "delivered"
    await eventually_status(flow.api, flow.member, flow.enrolment_id, "in_progress")
    assert payment(flow).status == "paid" and payment(flow).paid_amount == 9900


async def test_forged_stale_and_unsigned_events_are_400_and_change_nothing(flow: Flow) -> None:
    await flow.buy()
    payload = event("checkout.session.completed", session_object(flow))
    forged = await deliver(flow, payload, secret="whsec_someone_else")
    stale = await deliver(flow, payload, at=int(time.time()) - 3600)
    unsigned = await flow.api.http.post(WEBHOOK, content=payload)
    garbage = await flow.api.http.post(
        WEBHOOK, content=b"not json", headers={"Stripe-Signature": "t=1,v1=00"}
    )
    for response in (forged, stale, unsigned, garbage):
        assert response.status_code == 400 and response.json()["detail"]["code"] == "bad_webhook"
    assert payment(flow).status == "open"
    assert await flow.api.status_of(flow.member, flow.enrolment_id) == "awaiting_payment"


async def test_a_replayed_event_changes_nothing(flow: Flow) -> None:
    await flow.buy()
    payload = event(
        "checkout.session.completed", session_object(flow), event_id="evt_replayed_" + flow.enrolment_id
    )
    first, second = await deliver(flow, payload), await deliver(flow, payload)
    assert first.json()["outcome"] == "delivered" and second.json()["outcome"] == "duplicate"
    # The same payment under a new event id (Stripe's redelivery) is idempotent in the workflow.
    third = await deliver(flow, event("checkout.session.completed", session_object(flow)))
    assert third.json()["outcome"] == "delivered"
    await eventually_status(flow.api, flow.member, flow.enrolment_id, "in_progress")
    with flow.api.sessions() as session:
        confirmed = session.exec(
            select(TimelineEntry).where(
                TimelineEntry.enrolment_id == flow.enrolment_id, TimelineEntry.kind == "payment_confirmed"
            )
        ).all()
        receipts = session.exec(
            select(Notification).where(
                Notification.enrolment_id == flow.enrolment_id, Notification.kind == "purchase_receipt"
            )
        ).all()
    assert len(confirmed) == 1 and len(receipts) <= 1


async def test_out_of_order_expiry_after_payment_changes_nothing(flow: Flow) -> None:
    await flow.buy()
    await deliver(flow, event("checkout.session.completed", session_object(flow)))
    await eventually_status(flow.api, flow.member, flow.enrolment_id, "in_progress")
    late_expiry = await deliver(
        flow, event("checkout.session.expired", session_object(flow, payment_status="unpaid"))
    )
    assert late_expiry.status_code == 200
    assert payment(flow).status == "paid"
    assert await flow.api.status_of(flow.member, flow.enrolment_id) == "in_progress"


async def test_async_payments_fulfil_only_when_they_succeed(flow: Flow) -> None:
    await flow.buy()
    pending = await deliver(
        flow, event("checkout.session.completed", session_object(flow, payment_status="unpaid"))
    )
    assert pending.json()["outcome"] == "awaiting_async_payment"
    assert await flow.api.status_of(flow.member, flow.enrolment_id) == "awaiting_payment"
    assert payment(flow).status == "processing"  # the workflow holds the checkout for it
    # Returning from the checkout lands on the micro-credential, which tells the member the
    # payment is processing (the web app words it; the enrolment view carries the fact).
    landed = await flow.api.http.get(f"/api/v1/checkout/complete?session_id={flow.checkout_session_id}")
    assert landed.status_code == 303
    assert landed.headers["location"] == f"http://testserver/learning/{flow.enrolment_id}?checkout=complete"
    detail = await flow.api.http.get(f"/api/v1/enrolments/{flow.enrolment_id}", headers=flow.me)
    assert detail.json()["payment_processing"] is True
    succeeded = await deliver(flow, event("checkout.session.async_payment_succeeded", session_object(flow)))
    assert succeeded.json()["outcome"] == "delivered"
    await eventually_status(flow.api, flow.member, flow.enrolment_id, "in_progress")


@pytest.mark.parametrize("completed_first", [True, False], ids=["completed-first", "failed-first"])
async def test_a_failed_async_payment_ends_the_checkout(flow: Flow, completed_first: bool) -> None:
    """Stripe does not promise the order of events: the failure may come before the completion."""
    await flow.buy()
    if completed_first:
        await deliver(
            flow, event("checkout.session.completed", session_object(flow, payment_status="unpaid"))
        )
    failed = await deliver(
        flow, event("checkout.session.async_payment_failed", session_object(flow, payment_status="unpaid"))
    )
    assert failed.json()["outcome"] == "checkout_ended"
    await eventually_status(flow.api, flow.member, flow.enrolment_id, "cancelled")
    assert payment(flow).status == "failed"


async def test_an_expired_checkout_cancels_the_first_purchase(flow: Flow) -> None:
    await flow.buy()
    expired = await deliver(
        flow, event("checkout.session.expired", session_object(flow, payment_status="unpaid"))
    )
    assert expired.json()["outcome"] == "checkout_ended"
    await eventually_status(flow.api, flow.member, flow.enrolment_id, "cancelled")
    again = await flow.api.enrol(flow.member, flow.credential["id"])  # a new purchase starts anew
    assert again["status"] == "awaiting_payment" and again["id"] != flow.enrolment_id


async def test_an_amount_mismatch_is_refunded_and_ends_the_purchase(flow: Flow) -> None:
    await flow.buy()
    response = await deliver(
        flow, event("checkout.session.completed", session_object(flow, amount_total=100))
    )
    assert response.json()["outcome"] == "amount_mismatch"
    # Never applied; the checkout it paid cannot be paid again: refunded, and the purchase ends.
    await eventually_status(flow.api, flow.member, flow.enrolment_id, "cancelled")
    row = payment(flow)
    assert row.status == "refunded" and row.paid_amount == 100 and row.refunded_amount == 100
    timeline = (await flow.api.http.get(flow.url("/timeline"), headers=flow.me)).json()["items"]
    kinds = [e["kind"] for e in timeline]
    assert kinds.index("payment_mismatch") < kinds.index("payment_refunded") < kinds.index("cancelled")

    assert await eventually(lambda: notes(flow, "operator_alert", flow.api.admin()))
    [alert] = await notes(flow, "operator_alert", flow.api.admin())
    assert "100 usd" in alert["body"] and "it is refunded" in alert["body"]
    assert await eventually(lambda: notes(flow, "payment_refunded", flow.me))
    [refunded] = await notes(flow, "payment_refunded", flow.me)
    assert "We refunded 1.00 USD" in refunded["body"]
    # The same payment again: the enrolment has ended, so the late-payment refund takes it; the
    # payment is refunded already, and no one is told twice.
    again = await deliver(flow, event("checkout.session.completed", session_object(flow, amount_total=100)))
    assert again.json()["outcome"] == "refunding_late_payment"
    late = flow.api.run.client.get_workflow_handle(f"refund-{flow.checkout_session_id}")
    assert (await late.result())["refunded"] is True
    assert len(await notes(flow, "operator_alert", flow.api.admin())) == 1
    assert len(await notes(flow, "payment_refunded", flow.me)) == 1
    assert payment(flow).refund_id == row.refund_id


async def test_unknown_types_and_unknown_checkouts_are_acknowledged(flow: Flow) -> None:
    await flow.buy()
    other = await deliver(flow, event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert other.status_code == 200 and other.json()["outcome"] == "ignored"
    stranger = await deliver(
        flow, event("checkout.session.completed", session_object(flow, id="cs_not_ours"))
    )
    assert stranger.status_code == 200 and stranger.json()["outcome"] == "unknown_checkout"


async def test_charge_refunded_is_recorded(flow: Flow) -> None:
    await flow.buy()
    paid = session_object(flow)
    await deliver(flow, event("checkout.session.completed", paid))
    await eventually_status(flow.api, flow.member, flow.enrolment_id, "in_progress")
    charge = {"id": "ch_1", "object": "charge", "payment_intent": paid["payment_intent"]}
    # A partial refund (made in Stripe's dashboard): recorded, the payment still counts as paid.
    partial = await deliver(
        flow, event("charge.refunded", charge | {"refunded": False, "amount_refunded": 900})
    )
    assert partial.json()["outcome"] == "partial_refund_recorded"
    assert payment(flow).status == "paid"
    timeline = (await flow.api.http.get(flow.url("/timeline"), headers=flow.me)).json()["items"]
    [noted] = [e for e in timeline if e["kind"] == "payment_partially_refunded"]
    assert noted["detail"]["amount_refunded"] == 900
    response = await deliver(
        flow, event("charge.refunded", charge | {"refunded": True, "amount_refunded": 9900})
    )
    assert response.json()["outcome"] == "refund_recorded"
    assert payment(flow).status == "refunded"
    # Made outside microcred: the enrolment goes on, and the admins are asked to decide.
    assert await eventually(lambda: notes(flow, "operator_alert", flow.api.admin()))
    [alert] = await notes(flow, "operator_alert", flow.api.admin())
    assert "refunded in full at the payment provider" in alert["body"]
    assert f"/api/v1/admin/enrolments/{flow.enrolment_id}/cancellation" in alert["body"]
    assert await flow.api.status_of(flow.member, flow.enrolment_id) == "in_progress"


@pytest.mark.parametrize("amount", [9900, 100], ids=["the-price", "another-amount"])
async def test_a_late_payment_is_refunded_and_the_member_told(
    flow: Flow, ts_env: WorkflowEnvironment, amount: int
) -> None:
    """Whatever its amount: once the enrolment has ended, nothing could use it."""
    await flow.buy()
    await ts_env.sleep(timedelta(hours=25))  # the 24 h payment window passes
    await eventually_status(flow.api, flow.member, flow.enrolment_id, "cancelled")
    completed = event("checkout.session.completed", session_object(flow, amount_total=amount))
    response = await deliver(flow, completed)
    assert response.json()["outcome"] == "refunding_late_payment"
    handle = ts_env.client.get_workflow_handle(f"refund-{flow.checkout_session_id}")
    result = await handle.result()
    assert result["refunded"] is True
    row = payment(flow)
    assert row.status == "refunded" and row.refund_id
    with flow.api.sessions() as session:
        told = session.exec(
            select(Notification).where(
                Notification.recipient_id == flow.member, Notification.kind == "payment_refunded"
            )
        ).all()
    assert len(told) == 1
    # A redelivered completion never refunds twice.
    again = await deliver(flow, event("checkout.session.completed", session_object(flow)))
    assert again.json()["outcome"] == "delivered" or again.json()["outcome"] == "refunding_late_payment"
    assert payment(flow).refund_id == row.refund_id


async def test_offline_checkout_page_and_pay_button(flow: Flow) -> None:
    created = await flow.buy()
    page = await flow.api.http.get(created["checkout_url"].removeprefix("http://testserver"))
    assert page.status_code == 200
    assert flow.credential["title"] in page.text and "99.00 USD" in page.text and "<form" in page.text
    paid = await flow.api.http.post(f"/api/v1/checkout/{flow.checkout_session_id}/pay")
    assert paid.status_code == 303 and "/checkout/complete" in paid.headers["location"]
    await eventually_status(flow.api, flow.member, flow.enrolment_id, "in_progress")
    twice = await flow.api.http.post(f"/api/v1/checkout/{flow.checkout_session_id}/pay")
    assert twice.status_code == 409 and twice.json()["detail"]["code"] == "invalid_state"
    # A browser's second click goes back to the page, which says why (not to a JSON error).
    clicked = await flow.api.http.post(
        f"/api/v1/checkout/{flow.checkout_session_id}/pay", headers={"accept": "text/html,*/*;q=0.8"}
    )
    assert clicked.status_code == 303
    assert clicked.headers["location"] == created["checkout_url"]
    after = await flow.api.http.get(created["checkout_url"].removeprefix("http://testserver"))
    assert "This checkout is paid." in after.text and "<form" not in after.text
    unknown = await flow.api.http.get("/api/v1/checkout/cs_offline_nope")
    assert unknown.status_code == 404
    done = await flow.api.http.get(paid.headers["location"].removeprefix("http://testserver"))
    assert done.status_code == 303  # on to the micro-credential in the web app
    assert done.headers["location"] == f"http://testserver/learning/{flow.enrolment_id}?checkout=complete"
    for stray in ("/api/v1/checkout/complete", "/api/v1/checkout/complete?session_id=cs_nope"):
        lost = await flow.api.http.get(stray)
        assert lost.status_code == 404 and "Checkout not found" in lost.text
    back = await flow.api.http.get(f"/api/v1/checkout/cancelled?enrolment_id={flow.enrolment_id}")
    assert back.status_code == 303
    assert back.headers["location"] == f"http://testserver/learning/{flow.enrolment_id}?checkout=cancelled"

    async def receipt() -> bool:
        notes = (await flow.api.http.get("/api/v1/me/notifications", headers=flow.me)).json()["items"]
        return any(n["kind"] == "purchase_receipt" for n in notes)

    assert await eventually(receipt)
