"""The evaluator's endpoints: queue, review, claim, decision and its error codes."""

from __future__ import annotations

from typing import Any

from microcred.temporal.names import enrolment_workflow_id
from tests.api.conftest import Api, Flow, eventually, eventually_status
from tests.support import uid


def code(response: Any) -> str:
    return str(response.json()["detail"]["code"])


async def test_queue_and_review_of_the_assigned_evaluator(flow: Flow) -> None:
    await flow.submitted()
    queue = (await flow.api.http.get("/api/v1/reviews", headers=flow.reviewer)).json()["items"]
    item = next(i for i in queue if i["enrolment_id"] == flow.enrolment_id)
    assert item["assigned_to"] == flow.evaluator and item["attempt"] == 1 and item["overdue"] is False
    assert item["title"] == flow.credential["title"] and item["review_due_at"] > item["submitted_at"]
    review = (await flow.api.http.get(f"/api/v1/reviews/{flow.enrolment_id}", headers=flow.reviewer)).json()
    assert [c["id"] for c in review["rubric"]] == ["plan-c", "reflect-c", "reflect-d"]
    assert review["previous_rubric"] is None
    other = flow.api.auth("evaluator", uid("other"))
    assert (await flow.api.http.get(f"/api/v1/reviews/{flow.enrolment_id}", headers=other)).status_code == 404


async def test_decision_error_codes_leave_the_review_open(flow: Flow) -> None:
    await flow.submitted()
    url = f"/api/v1/reviews/{flow.enrolment_id}/decision"
    all_met = [{"criterion_id": c, "met": True, "comment": ""} for c in ("plan-c", "reflect-c", "reflect-d")]
    stranger = await flow.api.evaluator([flow.credential["id"]])
    not_mine = await flow.api.http.post(
        url, json={"outcome": "approved", "marks": all_met}, headers=flow.api.auth("evaluator", stranger)
    )
    assert not_mine.status_code == 403 and code(not_mine) == "not_assigned"
    missing = await flow.api.http.post(
        url, json={"outcome": "approved", "marks": all_met[:2]}, headers=flow.reviewer
    )
    assert missing.status_code == 422 and code(missing) == "rubric_incomplete"
    assert missing.json()["detail"]["missing"] == ["reflect-d"]
    approve_unmet = [dict(m, met=m["criterion_id"] != "plan-c") for m in all_met]
    inconsistent = await flow.api.http.post(
        url, json={"outcome": "approved", "marks": approve_unmet}, headers=flow.reviewer
    )
    assert inconsistent.status_code == 422 and code(inconsistent) == "rubric_inconsistent"
    resubmit_all_met = await flow.api.http.post(
        url, json={"outcome": "resubmit", "marks": all_met}, headers=flow.reviewer
    )
    assert code(resubmit_all_met) == "rubric_inconsistent"
    silent = await flow.api.http.post(
        url, json={"outcome": "resubmit", "marks": approve_unmet}, headers=flow.reviewer
    )
    assert code(silent) == "rubric_inconsistent" and silent.json()["detail"]["uncommented"] == ["plan-c"]
    assert await flow.api.status_of(flow.member, flow.enrolment_id) == "under_review"
    decided = await flow.decide("approved")
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    assert await flow.api.status_of(flow.member, flow.enrolment_id) == "approved"
    twice = await flow.decide("approved")
    assert twice.status_code == 409 and code(twice) == "invalid_state"
    # Once its workflow has finished (the badge issued), the answer still names the status.
    await flow.api.run.client.get_workflow_handle(enrolment_workflow_id(flow.enrolment_id)).result()
    late = await flow.decide("approved")
    assert late.status_code == 409 and late.json()["detail"] == {
        "code": "invalid_state",
        "message": "the enrolment has finished",
        "status": "approved",
    }


async def test_decision_on_an_unknown_enrolment_is_404(flow: Flow) -> None:
    response = await flow.api.http.post(
        "/api/v1/reviews/unknown/decision", json={"outcome": "approved", "marks": []}, headers=flow.reviewer
    )
    assert response.status_code == 404


async def test_unassigned_reviews_are_claimed_by_eligible_evaluators(api: Api) -> None:
    credential = await api.publish()
    flow = Flow(api=api, credential=credential, member=uid("member"), evaluator="none-yet")
    await flow.paid()
    for task in ("plan-1", "reflect-1"):
        await flow.save(task)
    submitted = await api.http.post(flow.url("/submit"), json={"agree_terms": True}, headers=flow.me)
    assert submitted.status_code == 200

    async def admins_told() -> bool:
        notes = (await api.http.get("/api/v1/me/notifications", headers=api.admin())).json()["items"]
        return any(n["kind"] == "review_unassigned" and n["enrolment_id"] == flow.enrolment_id for n in notes)

    assert await eventually(admins_told)
    # Escalations go to the admins as a role: a member whose id reads "admins" never sees them.
    namesake = (await api.http.get("/api/v1/me/notifications", headers=api.auth("member", "admins"))).json()
    assert namesake["items"] == []
    eligible = await api.evaluator([credential["id"]])
    other_credential = await api.publish()
    ineligible = await api.evaluator([other_credential["id"]])
    queue = (await api.http.get("/api/v1/reviews", headers=api.auth("evaluator", eligible))).json()["items"]
    assert [i["assigned_to"] for i in queue if i["enrolment_id"] == flow.enrolment_id] == [None]
    assert not [
        i
        for i in (await api.http.get("/api/v1/reviews", headers=api.auth("evaluator", ineligible))).json()[
            "items"
        ]
        if i["enrolment_id"] == flow.enrolment_id
    ]
    refused = await api.http.post(
        f"/api/v1/reviews/{flow.enrolment_id}/claim", headers=api.auth("evaluator", ineligible)
    )
    # Someone who may not review this credential learns nothing of the enrolment (issue 17, fault 7).
    assert refused.status_code == 404 and code(refused) == "not_found"
    assert set(refused.json()["detail"]) == {"code", "message", "enrolment_id"}
    claimed = await api.http.post(
        f"/api/v1/reviews/{flow.enrolment_id}/claim", headers=api.auth("evaluator", eligible)
    )
    assert claimed.status_code == 200 and claimed.json()["assigned_to"] == eligible
    again = await api.http.post(
        f"/api/v1/reviews/{flow.enrolment_id}/claim", headers=api.auth("evaluator", eligible)
    )
    assert again.status_code == 409 and code(again) == "already_claimed"
    taken = await api.http.post(
        f"/api/v1/reviews/{flow.enrolment_id}/claim",
        headers=api.auth("evaluator", await api.evaluator([credential["id"]])),
    )
    assert taken.status_code == 409 and "evaluator_id" not in taken.json()["detail"]
    wrong = await api.http.post(
        f"/api/v1/reviews/{flow.enrolment_id}/decision",
        json={"outcome": "approved", "marks": []},
        headers=api.auth("evaluator", ineligible),
    )
    assert wrong.status_code == 403 and set(wrong.json()["detail"]) == {"code", "message"}
    flow.evaluator = eligible
    assert (await flow.decide("approved")).status_code == 200
    await eventually_status(api, flow.member, flow.enrolment_id, "approved")


async def test_a_member_never_reviews_their_own_work(api: Api) -> None:
    credential = await api.publish()
    both = uid("person")
    await api.evaluator([credential["id"]], sub=both)
    flow = Flow(api=api, credential=credential, member=both, evaluator=both)
    await flow.paid()
    for task in ("plan-1", "reflect-1"):
        await flow.save(task)
    await api.http.post(flow.url("/submit"), json={"agree_terms": True}, headers=flow.me)

    async def unassigned_event() -> bool:
        timeline = (await api.http.get(flow.url("/timeline"), headers=flow.me)).json()["items"]
        return any(e["kind"] == "review_unassigned" for e in timeline)

    assert await eventually(unassigned_event)
    claim = await api.http.post(
        f"/api/v1/reviews/{flow.enrolment_id}/claim", headers=api.auth("evaluator", both)
    )
    assert claim.status_code == 403 and code(claim) == "not_eligible"


async def test_claiming_something_not_under_review_is_409(flow: Flow) -> None:
    await flow.paid()
    response = await flow.api.http.post(f"/api/v1/reviews/{flow.enrolment_id}/claim", headers=flow.reviewer)
    assert response.status_code == 409 and code(response) == "invalid_state"


async def test_the_queue_offers_only_reviews_the_evaluator_may_claim(api: Api) -> None:
    mine, theirs = await api.publish(), await api.publish()
    specialist = await api.evaluator([mine["id"]])
    flows = []
    for credential in (mine, theirs):
        flow = Flow(api=api, credential=credential, member=uid("member"), evaluator=specialist)
        await flow.paid()
        for task in ("plan-1", "reflect-1"):
            await flow.save(task)
        assert (
            await api.http.post(flow.url("/submit"), json={"agree_terms": True}, headers=flow.me)
        ).status_code == 200
        flows.append(flow)
    await flows[0].assigned()

    async def nobody_for_theirs() -> bool:
        timeline = (await api.http.get(flows[1].url("/timeline"), headers=flows[1].me)).json()["items"]
        return any(e["kind"] == "review_unassigned" for e in timeline)

    await eventually(nobody_for_theirs)
    queue = (await api.http.get("/api/v1/reviews", headers=api.auth("evaluator", specialist))).json()["items"]
    # Their own review, and not the unassigned one of a credential they are not registered for.
    assert [i["enrolment_id"] for i in queue] == [flows[0].enrolment_id]
