"""Buying, working, submitting, the rubric, resubmitting, the timeline: the member's endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from microcred.contracts import CheckoutInfo
from microcred.db import transaction
from microcred.errors import Unavailable
from microcred.lifecycle import Lifecycle
from microcred.models import Enrolment
from tests.api.conftest import Api, Flow, eventually, eventually_status
from tests.support import uid


def code(response: object) -> str:
    return str(response.json()["detail"]["code"])  # type: ignore[attr-defined]


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
    to the workflow, which opens the checkout; a retry is pointed at it, never a second purchase."""
    answer = Lifecycle.checkout

    async def too_late(lifecycle: Lifecycle, enrolment_id: str) -> CheckoutInfo:
        monkeypatch.setattr(Lifecycle, "checkout", answer)  # only the first answer is lost
        raise Unavailable("the lifecycle engine did not answer in time; try again")

    monkeypatch.setattr(Lifecycle, "checkout", too_late)
    credential = await api.publish()
    member = uid("member")
    headers = api.auth("member", member)
    buy = {"credential_id": credential["id"]}
    first = await api.http.post("/api/v1/enrolments", json=buy, headers=headers)
    assert first.status_code == 503 and code(first) == "unavailable"
    [item] = await api.learning(member)
    assert item["status"] == "awaiting_payment"

    again = await api.http.post("/api/v1/enrolments", json=buy, headers=headers)
    assert again.status_code == 409 and code(again) == "already_enrolled"
    assert again.json()["detail"]["enrolment_id"] == item["enrolment_id"]

    async def checkout_open() -> str | None:
        detail = await api.http.get(f"/api/v1/enrolments/{item['enrolment_id']}", headers=headers)
        return detail.json()["checkout_url"]  # type: ignore[no-any-return]

    assert await eventually(checkout_open)
    assert [i["status"] for i in await api.learning(member)] == ["awaiting_payment"]


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
    times = [e["at"] for e in mine.json()["items"]]
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
    stamps = [n["created_at"] for n in items]
    assert stamps == sorted(stamps, reverse=True)

    async def reviewer_told() -> list[str]:
        items = (await flow.api.http.get("/api/v1/me/notifications", headers=flow.reviewer)).json()["items"]
        return [n["kind"] for n in items]

    assert await eventually(reviewer_told) == ["evaluator_assigned"]
