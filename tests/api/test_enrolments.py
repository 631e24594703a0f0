"""Buying, working, submitting, the rubric, resubmitting, the timeline: the member's endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from microcred.contracts import CheckoutInfo
from microcred.db import SessionFactory, transaction
from microcred.errors import Unavailable
from microcred.models import Enrolment
from microcred.payments import CheckoutSpec, OfflineGateway, OpenedCheckout
from microcred.services import enrolments
from microcred.temporal.client import WorkflowClient
from microcred.temporal.names import enrolment_workflow_id
from tests.api.conftest import Api, Flow, eventually, eventually_status, serving
from tests.support import API_BASE, uid
from tests.support import member as new_member


def code(response: object) -> str:
    return str(response.json()["detail"]["code"])  # type: ignore[attr-defined]


def fail_once(
    monkeypatch: pytest.MonkeyPatch, target: object, name: str, failure: Callable[..., Awaitable[Any]]
) -> None:
    """``target.name`` answers its next call with ``failure(original, *args, **kwargs)``, then
    works as before."""
    original = getattr(target, name)

    async def once(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(target, name, original)
        return await failure(original, *args, **kwargs)

    monkeypatch.setattr(target, name, once)


async def unreachable(original: Any, *args: Any, **kwargs: Any) -> Any:
    """Never reached the server."""
    raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")


async def answer_lost(original: Any, *args: Any, **kwargs: Any) -> Any:
    """Done by the server, but its answer timed out on the way back."""
    await original(*args, **kwargs)
    raise RPCError("the answer timed out", RPCStatusCode.DEADLINE_EXCEEDED, b"")


@dataclass
class Buyer:
    """A new member buying ``credential_id`` through the API."""

    api: Api
    credential_id: str
    sub: str = field(default_factory=lambda: uid("member"))

    async def buy(self) -> httpx.Response:
        return await self.api.http.post(
            "/api/v1/enrolments",
            json={"credential_id": self.credential_id},
            headers=self.api.auth("member", self.sub),
        )

    async def learning(self) -> list[dict[str, Any]]:
        return await self.api.learning(self.sub)


async def test_enrol_answers_with_an_open_checkout(flow: Flow) -> None:
    created = await flow.buy()
    assert created["status"] == "awaiting_payment"
    assert created["checkout_url"].startswith("http://testserver/api/v1/checkout/")
    items = await flow.api.learning(flow.member)
    assert [i["status"] for i in items if i["enrolment_id"] == flow.enrolment_id] == ["awaiting_payment"]
    detail = await flow.api.http.get(flow.url(), headers=flow.me)
    assert detail.json()["checkout_url"] == created["checkout_url"]  # a closed tab can resume paying
    assert detail.json()["checkout_session_id"] == created["checkout_session_id"]


async def test_a_second_purchase_is_refused_while_one_is_open(flow: Flow) -> None:
    await flow.buy()
    again = await flow.api.http.post(
        "/api/v1/enrolments", json={"credential_id": flow.credential["id"]}, headers=flow.me
    )
    assert again.status_code == 409 and code(again) == "already_enrolled"
    assert again.json()["detail"]["enrolment_id"] == flow.enrolment_id
    assert len(await flow.api.learning(flow.member)) == 1


async def test_a_purchase_whose_checkout_answers_late_stays_the_one_open(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workflow started but its checkout did not answer in time: the 503 leaves the purchase
    to the workflow, which opens the checkout; once it has, a retry is pointed at it, never a
    second purchase."""
    answer = WorkflowClient.checkout

    async def too_late(workflows: WorkflowClient, enrolment_id: str) -> CheckoutInfo:
        monkeypatch.setattr(WorkflowClient, "checkout", answer)  # only the first answer is lost
        raise Unavailable("the lifecycle engine did not answer in time; try again")

    monkeypatch.setattr(WorkflowClient, "checkout", too_late)
    buyer = Buyer(api, (await api.publish())["id"])
    first = await buyer.buy()
    assert first.status_code == 503 and code(first) == "unavailable"
    [item] = await buyer.learning()
    assert item["status"] == "awaiting_payment"

    async def checkout_open() -> str | None:
        headers = api.auth("member", buyer.sub)
        detail = await api.http.get(f"/api/v1/enrolments/{item['enrolment_id']}", headers=headers)
        return detail.json()["checkout_url"]  # type: ignore[no-any-return]

    assert await eventually(checkout_open)
    again = await buyer.buy()
    assert again.status_code == 409 and code(again) == "already_enrolled"
    assert again.json()["detail"]["enrolment_id"] == item["enrolment_id"]
    assert [i["status"] for i in await buyer.learning()] == ["awaiting_payment"]


class HeldGateway(OfflineGateway):
    """Offline checkouts that open only once ``release`` is set: until then the enrolment's
    workflow runs but has not written its row (seq 0)."""

    def __init__(self) -> None:
        super().__init__(api_base_url=API_BASE)
        self.release = asyncio.Event()

    async def create_checkout(self, spec: CheckoutSpec) -> OpenedCheckout:
        await self.release.wait()
        return await super().create_checkout(spec)


def release_when_asked(monkeypatch: pytest.MonkeyPatch, gateway: HeldGateway, *, requests: int) -> None:
    """Let the checkout open once ``requests`` purchase requests have asked for it, that is once
    each has reserved and started (or joined) the workflow, so none of them races its first write."""
    answer = WorkflowClient.checkout
    asked = 0

    async def checkout(workflows: WorkflowClient, enrolment_id: str) -> CheckoutInfo:
        nonlocal asked
        asked += 1
        if asked == requests:
            gateway.release.set()
        return await answer(workflows, enrolment_id)

    monkeypatch.setattr(WorkflowClient, "checkout", checkout)


async def test_a_start_lost_after_the_server_took_it_keeps_the_purchase_and_a_retry_joins_it(
    ts_env: WorkflowEnvironment, own_sqlite: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The start's answer is lost (a timeout) after the workflow really started: the purchase is
    not released under it, and the member's retry gets that same purchase with its checkout."""
    gateway = HeldGateway()
    async with serving(ts_env.client, own_sqlite, gateway=gateway) as api:
        fail_once(monkeypatch, api.run.client, "start_workflow", answer_lost)
        release_when_asked(monkeypatch, gateway, requests=1)
        buyer = Buyer(api, (await api.publish())["id"])
        try:
            first = await buyer.buy()
            assert first.status_code == 503 and code(first) == "unavailable"
            [item] = await buyer.learning()
            assert item["status"] == "awaiting_payment"  # kept: its workflow runs

            again = await buyer.buy()
            assert again.status_code == 201, again.text
            assert again.json()["id"] == item["enrolment_id"]
            assert again.json()["checkout_url"] and again.json()["checkout_session_id"]
            assert [i["status"] for i in await buyer.learning()] == ["awaiting_payment"]
        finally:
            gateway.release.set()


async def test_a_start_that_never_reached_the_server_releases_the_purchase(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Temporal says no workflow has the enrolment's id: the reservation is released, so it
    blocks no new purchase."""
    fail_once(monkeypatch, api.run.client, "start_workflow", unreachable)
    buyer = Buyer(api, (await api.publish())["id"])
    first = await buyer.buy()
    assert first.status_code == 503 and code(first) == "unavailable"
    [released] = await buyer.learning()
    assert released["status"] == "cancelled"

    again = await buyer.buy()
    assert again.status_code == 201, again.text
    assert again.json()["id"] != released["enrolment_id"] and again.json()["checkout_url"]
    statuses = {i["enrolment_id"]: i["status"] for i in await buyer.learning()}
    assert statuses == {again.json()["id"]: "awaiting_payment", released["enrolment_id"]: "cancelled"}


async def test_a_failed_start_whose_fate_is_unknown_keeps_the_purchase_and_a_retry_starts_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The start failed and Temporal could not say whether the workflow exists: the purchase is
    kept (it may run), and the member's retry starts its workflow and answers its checkout."""
    fail_once(monkeypatch, api.run.client, "start_workflow", unreachable)
    fail_once(monkeypatch, WorkflowHandle, "describe", unreachable)
    buyer = Buyer(api, (await api.publish())["id"])
    first = await buyer.buy()
    assert first.status_code == 503 and code(first) == "unavailable"
    [item] = await buyer.learning()
    assert item["status"] == "awaiting_payment"

    again = await buyer.buy()
    assert again.status_code == 201, again.text
    assert again.json()["id"] == item["enrolment_id"] and again.json()["checkout_url"]
    assert [i["status"] for i in await buyer.learning()] == ["awaiting_payment"]


async def test_a_purchase_cancelled_after_its_workflow_started_is_kept(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request is cancelled (the client went away) while the start's answer is on its way:
    the workflow exists, so the purchase stays open for it; the member's retry finds it."""
    client = api.run.client
    start = client.start_workflow
    started = asyncio.Event()

    async def started_then_stuck(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(client, "start_workflow", start)
        await start(*args, **kwargs)
        started.set()
        await asyncio.Event().wait()  # the answer never comes

    monkeypatch.setattr(client, "start_workflow", started_then_stuck)
    credential = await api.publish()
    buyer = new_member()
    buying = asyncio.create_task(
        enrolments.enrol(
            sessions=api.sessions,
            workflows=api.run.workflows,
            principal=buyer,
            credential_id=credential["id"],
        )
    )
    await started.wait()
    buying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await buying
    [item] = await api.learning(buyer.sub)
    assert item["status"] == "awaiting_payment"

    again = await api.http.post(
        "/api/v1/enrolments", json={"credential_id": credential["id"]}, headers=api.auth("member", buyer.sub)
    )
    # The same purchase: joined (201) while its workflow has not written, pointed at once it has.
    if again.status_code == 201:
        assert again.json()["id"] == item["enrolment_id"]
    else:
        assert again.status_code == 409 and code(again) == "already_enrolled", again.text
        assert again.json()["detail"]["enrolment_id"] == item["enrolment_id"]
    assert [i["status"] for i in await api.learning(buyer.sub)] == ["awaiting_payment"]


async def test_a_second_request_while_the_first_waits_for_its_checkout_gets_the_same_purchase(
    ts_env: WorkflowEnvironment, own_sqlite: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A double click: both requests answer with the one purchase and its one checkout."""
    gateway = HeldGateway()
    async with serving(ts_env.client, own_sqlite, gateway=gateway) as api:
        release_when_asked(monkeypatch, gateway, requests=2)
        buyer = Buyer(api, (await api.publish())["id"])
        try:
            first = asyncio.create_task(buyer.buy())
            assert await eventually(buyer.learning)  # reserved, waiting for the checkout
            second = await buyer.buy()
        finally:
            gateway.release.set()  # had the second not asked for the checkout, the first still ends
        answers = [await first, second]
        assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
        assert answers[0].json() == answers[1].json()
        [item] = await buyer.learning()
        assert item["enrolment_id"] == answers[0].json()["id"] and item["status"] == "awaiting_payment"


async def test_a_kept_purchase_whose_workflow_closed_unwritten_gives_way_to_a_new_one(
    ts_env: WorkflowEnvironment, own_sqlite: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A purchase kept after a lost start answer, whose workflow an operator then terminated
    before it wrote anything: the member's next purchase is a new one, not an error for ever."""
    gateway = HeldGateway()
    async with serving(ts_env.client, own_sqlite, gateway=gateway) as api:
        fail_once(monkeypatch, api.run.client, "start_workflow", answer_lost)
        buyer = Buyer(api, (await api.publish())["id"])
        lost = await buyer.buy()
        assert lost.status_code == 503
        [kept] = await buyer.learning()
        handle = api.run.client.get_workflow_handle(enrolment_workflow_id(kept["enrolment_id"]))
        await handle.terminate("by hand")
        gateway.release.set()

        again = await buyer.buy()

        assert again.status_code == 201, again.text
        assert again.json()["id"] != kept["enrolment_id"] and again.json()["checkout_url"]
        statuses = {i["enrolment_id"]: i["status"] for i in await buyer.learning()}
        assert statuses == {kept["enrolment_id"]: "cancelled", again.json()["id"]: "awaiting_payment"}


async def test_simultaneous_purchases_end_with_one_enrolment(api: Api) -> None:
    buyer = Buyer(api, (await api.publish())["id"])
    answers = await asyncio.gather(*(buyer.buy() for _ in range(3)))
    [item] = await buyer.learning()
    assert item["status"] == "awaiting_payment"
    for answer in answers:
        if answer.status_code == 201:
            assert answer.json()["id"] == item["enrolment_id"]
        else:
            assert answer.status_code == 409 and code(answer) == "already_enrolled", answer.text
    assert any(a.status_code == 201 for a in answers)


async def test_buying_an_unknown_credential_is_404(api: Api) -> None:
    response = await api.http.post(
        "/api/v1/enrolments", json={"credential_id": "no-such"}, headers=api.auth("member", uid("m"))
    )
    assert response.status_code == 404


async def test_paying_starts_the_work_and_grants_the_community(api: Api) -> None:
    credential = await api.publish(community={"id": uid("community"), "name": "Circle"})
    flow = Flow(api=api, credential=credential, member=uid("member"), evaluator="nobody")
    await flow.paid()
    item = await eventually_status(api, flow.member, flow.enrolment_id, "in_progress")
    assert item["purchased_at"] and item["due_at"] and item["due_at"] > item["purchased_at"]
    assert item["community"]["name"] == "Circle"
    assert item["community"]["access"] in (False, True)

    async def granted() -> bool:
        item = {i["enrolment_id"]: i for i in await api.learning(flow.member)}[flow.enrolment_id]
        return bool(item["community"]["access"])

    async def receipt() -> bool:
        notes = await api.http.get("/api/v1/me/notifications", headers=flow.me)
        return any(n["kind"] == "purchase_receipt" for n in notes.json()["items"])

    assert await eventually(granted)
    assert await eventually(receipt)


async def test_someone_elses_enrolment_is_404(flow: Flow) -> None:
    await flow.buy()
    stranger = flow.api.auth("member", uid("stranger"))
    for method, suffix, body in [
        ("GET", "", None),
        ("PUT", "/tasks/plan-1", {"response": "x"}),
        ("POST", "/submit", {"agree_terms": True}),
        ("GET", "/rubric", None),
        ("POST", "/resubmission", None),
        ("GET", "/timeline", None),
    ]:
        response = await flow.api.http.request(method, flow.url(suffix), json=body, headers=stranger)
        assert response.status_code == 404, (method, suffix, response.text)


async def test_task_saves_are_versioned_and_shown(flow: Flow) -> None:
    await flow.paid()
    first, second = await flow.save("plan-1", "draft"), await flow.save("plan-1", "final")
    assert (first.json()["version"], second.json()["version"]) == (1, 2)
    detail = (await flow.api.http.get(flow.url(), headers=flow.me)).json()
    task = next(t for s in detail["sections"] for t in s["tasks"] if t["id"] == "plan-1")
    assert (task["response"], task["version"], task["editable"]) == ("final", 2, True)
    assert detail["sections"][0]["resources"] == [{"title": "Guide", "url": "https://example.org/guide"}]


async def test_nothing_is_editable_once_the_deadline_has_passed(flow: Flow) -> None:
    """Before the workflow's deadline timer has marked it expired, the row still reads in_progress:
    the enrolment shows every task read-only, as the save refuses it."""
    await flow.paid()
    assert (await flow.save("plan-1")).status_code == 200
    with transaction(flow.api.sessions) as session:
        row = session.get(Enrolment, flow.enrolment_id)
        assert row is not None
        row.due_at = datetime.now(UTC) - timedelta(seconds=1)

    detail = (await flow.api.http.get(flow.url(), headers=flow.me)).json()
    assert detail["status"] == "in_progress"
    editable = {t["id"]: t["editable"] for s in detail["sections"] for t in s["tasks"]}
    assert editable == {"plan-1": False, "plan-2": False, "reflect-1": False}
    late = await flow.save("reflect-1")
    assert late.status_code == 409 and code(late) == "not_editable"
    assert late.json()["detail"]["message"] == "the submission deadline has passed"


async def test_saving_before_payment_or_an_unknown_task(flow: Flow) -> None:
    await flow.buy()
    early = await flow.save("plan-1")
    assert early.status_code == 409 and code(early) == "not_editable"
    await flow.api.pay(flow.checkout_session_id)
    await eventually_status(flow.api, flow.member, flow.enrolment_id, "in_progress")
    unknown = await flow.save("no-such-task")
    assert unknown.status_code == 404


async def test_submit_needs_terms_and_every_required_task(flow: Flow) -> None:
    await flow.paid()
    await flow.save("plan-1")
    no_terms = await flow.api.http.post(flow.url("/submit"), json={"agree_terms": False}, headers=flow.me)
    assert no_terms.status_code == 422 and code(no_terms) == "terms_not_agreed"
    for not_a_yes in ("yes", "true", 1, None):  # only the JSON true agrees
        vague = await flow.api.http.post(
            flow.url("/submit"), json={"agree_terms": not_a_yes}, headers=flow.me
        )
        assert vague.status_code == 422 and vague.json()["detail"][0]["loc"] == ["body", "agree_terms"]
    incomplete = await flow.api.http.post(flow.url("/submit"), json={"agree_terms": True}, headers=flow.me)
    assert incomplete.status_code == 422 and code(incomplete) == "tasks_incomplete"
    assert incomplete.json()["detail"]["tasks"] == ["reflect-1"]
    blank = await flow.save("reflect-1", "   ")
    assert blank.status_code == 200
    still = await flow.api.http.post(flow.url("/submit"), json={"agree_terms": True}, headers=flow.me)
    assert code(still) == "tasks_incomplete"
    assert await flow.api.status_of(flow.member, flow.enrolment_id) == "in_progress"


async def test_submit_freezes_the_work_and_locks_it(flow: Flow) -> None:
    await flow.paid()
    await flow.save("plan-1", "plan v1")
    await flow.save("reflect-1", "reflection")
    response = await flow.api.http.post(flow.url("/submit"), json={"agree_terms": True}, headers=flow.me)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "under_review" and body["review_due_at"]
    # A 200 means the new status is already visible in My Learning.
    assert await flow.api.status_of(flow.member, flow.enrolment_id) == "under_review"
    late = await flow.save("plan-1", "sneaky edit")
    assert late.status_code == 409 and code(late) == "not_editable"
    again = await flow.api.http.post(flow.url("/submit"), json={"agree_terms": True}, headers=flow.me)
    assert again.status_code == 409 and code(again) == "invalid_state"
    await flow.assigned()
    review = await flow.api.http.get(f"/api/v1/reviews/{flow.enrolment_id}", headers=flow.reviewer)
    frozen = {t["task_id"]: t["response"] for t in review.json()["tasks"]}
    assert frozen == {"plan-1": "plan v1", "plan-2": None, "reflect-1": "reflection"}


async def test_rubric_is_404_before_a_decision_and_then_marked(flow: Flow) -> None:
    await flow.submitted()
    before = await flow.api.http.get(flow.url("/rubric"), headers=flow.me)
    assert before.status_code == 404
    decided = await flow.decide("resubmit", unmet=("reflect-d",))
    assert decided.status_code == 200 and decided.json()["status"] == "resubmission_requested"
    rubric = (await flow.api.http.get(flow.url("/rubric"), headers=flow.me)).json()
    assert rubric["attempt"] == 1 and rubric["decision"] == "resubmit"
    assert {c["criterion_id"]: (c["section_id"], c["met"]) for c in rubric["criteria"]} == {
        "plan-c": ("plan", True),
        "reflect-c": ("reflect", True),
        "reflect-d": ("reflect", False),
    }
    detail = (await flow.api.http.get(flow.url(), headers=flow.me)).json()
    assert detail["rubric"] == {**rubric}


async def test_resubmission_edits_only_failed_sections(flow: Flow) -> None:
    await flow.submitted()
    early = await flow.api.http.post(flow.url("/resubmission"), headers=flow.me)
    assert early.status_code == 409 and code(early) == "invalid_state"
    await flow.decide("resubmit", unmet=("reflect-d",))
    started = await flow.api.http.post(flow.url("/resubmission"), headers=flow.me)
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["status"] == "awaiting_resubmission_payment" and body["checkout_url"]
    # A second click answers with the same open checkout (no second one).
    twice = await flow.api.http.post(flow.url("/resubmission"), headers=flow.me)
    assert twice.status_code == 201 and twice.json() == body
    await flow.api.pay(body["checkout_session_id"])
    item = await eventually_status(flow.api, flow.member, flow.enrolment_id, "in_progress")
    assert item["attempt"] == 2 and item["decision"] == "resubmit"
    detail = (await flow.api.http.get(flow.url(), headers=flow.me)).json()
    editable = {t["id"]: t["editable"] for s in detail["sections"] for t in s["tasks"]}
    assert editable == {"plan-1": False, "plan-2": False, "reflect-1": True}
    kept = next(t for s in detail["sections"] for t in s["tasks"] if t["id"] == "plan-1")
    assert kept["response"] == "my answer"  # approved work kept, read-only
    assert code(await flow.save("plan-1", "x")) == "not_editable"
    assert (await flow.save("reflect-1", "better reflection")).status_code == 200
    resubmitted = await flow.api.http.post(flow.url("/submit"), json={"agree_terms": True}, headers=flow.me)
    assert resubmitted.status_code == 200
    await flow.assigned()
    approved = await flow.decide("approved")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    again = await flow.api.http.post(
        "/api/v1/enrolments", json={"credential_id": flow.credential["id"]}, headers=flow.me
    )
    assert again.status_code == 409 and code(again) == "already_earned"


async def test_timeline_for_owner_and_admin(flow: Flow) -> None:
    await flow.submitted()

    async def assigned_event() -> bool:
        timeline = await flow.api.http.get(flow.url("/timeline"), headers=flow.me)
        return any(e["kind"] == "evaluator_assigned" for e in timeline.json()["items"])

    await eventually(assigned_event)
    mine = await flow.api.http.get(flow.url("/timeline"), headers=flow.me)
    admins = await flow.api.http.get(flow.url("/timeline"), headers=flow.api.admin())
    assert mine.status_code == admins.status_code == 200
    assert mine.json() == admins.json()
    kinds = [e["kind"] for e in mine.json()["items"]]
    assert kinds[:5] == [
        "enrolled",
        "checkout_opened",
        "payment_confirmed",
        "submitted",
        "evaluator_assigned",
    ]
    times = [datetime.fromisoformat(e["at"]) for e in mine.json()["items"]]
    assert times == sorted(times)
    submitted = next(e for e in mine.json()["items"] if e["kind"] == "submitted")
    assert submitted["actor"] == flow.member
    assert (
        await flow.api.http.get("/api/v1/enrolments/nope/timeline", headers=flow.api.admin())
    ).status_code == 404


async def test_notifications_newest_first(flow: Flow) -> None:
    await flow.submitted()

    async def received() -> list[dict[str, object]] | None:
        items = (await flow.api.http.get("/api/v1/me/notifications", headers=flow.me)).json()["items"]
        return items if items and items[0]["kind"] == "submission_received" else None

    items = await eventually(received)
    kinds = [n["kind"] for n in items]
    assert kinds[0] == "submission_received" and "purchase_receipt" in kinds
    # Compared as times: a stamp with no fraction of a second is written without one.
    stamps = [datetime.fromisoformat(str(n["created_at"])) for n in items]
    assert stamps == sorted(stamps, reverse=True)

    async def reviewer_told() -> list[str]:
        items = (await flow.api.http.get("/api/v1/me/notifications", headers=flow.reviewer)).json()["items"]
        return [n["kind"] for n in items]

    assert await eventually(reviewer_told) == ["evaluator_assigned"]
