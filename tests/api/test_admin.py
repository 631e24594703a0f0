"""Operator repairs through the API: each validated, recorded with who and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import select

from microcred.models import Notification, Payment
from tests.api.conftest import Flow, eventually, eventually_status


def code(response: Any) -> str:
    return str(response.json()["detail"]["code"])


def admin_url(flow: Flow, action: str) -> str:
    return f"/api/v1/admin/enrolments/{flow.enrolment_id}/{action}"


async def test_extend_deadline(flow: Flow) -> None:
    await flow.paid()
    before = await eventually_status(flow.api, flow.member, flow.enrolment_id, "in_progress")
    response = await flow.api.http.post(
        admin_url(flow, "deadline-extension"),
        json={"by": "P1M", "reason": "illness"},
        headers=flow.api.admin(),
    )
    assert response.status_code == 200, response.text
    old, new = datetime.fromisoformat(before["due_at"]), datetime.fromisoformat(response.json()["due_at"])
    assert (new.year * 12 + new.month) - (old.year * 12 + old.month) == 1  # a calendar month later
    after = {i["enrolment_id"]: i for i in await flow.api.learning(flow.member)}[flow.enrolment_id]
    assert after["due_at"] == response.json()["due_at"]
    timeline = (await flow.api.http.get(flow.url("/timeline"), headers=flow.me)).json()["items"]
    extended = [e for e in timeline if e["kind"] == "deadline_extended"]
    assert extended and extended[0]["actor"] == "admin-1" and extended[0]["detail"]["reason"] == "illness"
    bad = await flow.api.http.post(
        admin_url(flow, "deadline-extension"), json={"by": "soon", "reason": "x"}, headers=flow.api.admin()
    )
    assert bad.status_code == 422 and code(bad) == "invalid_request"
    # Durations past the end of the calendar are refused before the workflow accepts them.
    for endless in ("P99999999D", "P7990Y"):
        refused = await flow.api.http.post(
            admin_url(flow, "deadline-extension"),
            json={"by": endless, "reason": "x"},
            headers=flow.api.admin(),
        )
        assert refused.status_code == 422 and code(refused) == "invalid_request", refused.text
        assert "longer than P100Y" in refused.json()["detail"]["message"]
    unchanged = {i["enrolment_id"]: i for i in await flow.api.learning(flow.member)}[flow.enrolment_id]
    assert unchanged["due_at"] == response.json()["due_at"]
    no_reason = await flow.api.http.post(
        admin_url(flow, "deadline-extension"), json={"by": "P1D", "reason": ""}, headers=flow.api.admin()
    )
    assert no_reason.status_code == 422


async def test_extend_deadline_needs_a_paid_enrolment(flow: Flow) -> None:
    await flow.buy()
    response = await flow.api.http.post(
        admin_url(flow, "deadline-extension"), json={"by": "P1D", "reason": "x"}, headers=flow.api.admin()
    )
    assert response.status_code == 409 and code(response) == "invalid_state"


async def test_reassign_review(flow: Flow) -> None:
    await flow.submitted()
    nobody_else = await flow.api.http.post(
        admin_url(flow, "reassignment"), json={"reason": "on leave"}, headers=flow.api.admin()
    )
    assert nobody_else.status_code == 403 and code(nobody_else) == "not_eligible"
    ghost = await flow.api.http.post(
        admin_url(flow, "reassignment"),
        json={"reason": "on leave", "evaluator_id": "ghost"},
        headers=flow.api.admin(),
    )
    assert ghost.status_code == 403 and code(ghost) == "not_eligible"
    assert "evaluator ghost cannot take this review: not registered" in ghost.json()["detail"]["message"]
    second = await flow.api.evaluator([flow.credential["id"]])
    moved = await flow.api.http.post(
        admin_url(flow, "reassignment"), json={"reason": "on leave"}, headers=flow.api.admin()
    )
    assert moved.status_code == 200 and moved.json()["evaluator_id"] == second
    queue = (await flow.api.http.get("/api/v1/reviews", headers=flow.api.auth("evaluator", second))).json()
    assert [i["assigned_to"] for i in queue["items"] if i["enrolment_id"] == flow.enrolment_id] == [second]
    old = await flow.decide("approved")
    assert old.status_code == 403 and code(old) == "not_assigned"


async def test_cancel_refunds_an_unreviewed_attempt(flow: Flow) -> None:
    await flow.paid()
    response = await flow.api.http.post(
        admin_url(flow, "cancellation"), json={"reason": "duplicate account"}, headers=flow.api.admin()
    )
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert await flow.api.status_of(flow.member, flow.enrolment_id) == "cancelled"

    def refunded() -> bool:
        with flow.api.sessions() as session:
            row = session.get(Payment, flow.checkout_session_id)
            return row is not None and row.status == "refunded"

    async def probe() -> bool:
        return refunded()

    assert await eventually(probe)
    again = await flow.api.http.post(
        admin_url(flow, "cancellation"), json={"reason": "twice"}, headers=flow.api.admin()
    )
    assert again.status_code == 409 and code(again) == "invalid_state"


async def test_cancel_without_refund_when_asked(flow: Flow) -> None:
    await flow.paid()
    response = await flow.api.http.post(
        admin_url(flow, "cancellation"),
        json={"reason": "policy breach", "refund": False},
        headers=flow.api.admin(),
    )
    assert response.status_code == 200
    with flow.api.sessions() as session:
        assert session.get(Payment, flow.checkout_session_id).status == "paid"  # type: ignore[union-attr]


async def test_resend_notification(flow: Flow) -> None:
    await flow.paid()

    def receipt() -> Notification | None:
        with flow.api.sessions() as session:
            return session.exec(
                select(Notification).where(
                    Notification.enrolment_id == flow.enrolment_id, Notification.kind == "purchase_receipt"
                )
            ).first()

    async def probe() -> Notification | None:
        return receipt()

    original = await eventually(probe)
    resent = await flow.api.http.post(
        admin_url(flow, f"notifications/{original.id}/resend"),
        json={"reason": "lost mail"},
        headers=flow.api.admin(),
    )
    assert resent.status_code == 204, resent.text
    items = (await flow.api.http.get("/api/v1/me/notifications", headers=flow.me)).json()["items"]
    assert [n["kind"] for n in items].count("purchase_receipt") == 2
    unknown = await flow.api.http.post(
        admin_url(flow, "notifications/nope/resend"), json={"reason": "x"}, headers=flow.api.admin()
    )
    assert unknown.status_code == 404
    timeline = (await flow.api.http.get(flow.url("/timeline"), headers=flow.api.admin())).json()["items"]
    assert [e["detail"].get("reason") for e in timeline if e["kind"] == "notification_resent"] == [
        "lost mail"
    ]
