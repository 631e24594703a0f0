"""The admins' evaluators: the list, "all credentials" said outright, off duty, the reviews each holds."""

from __future__ import annotations

from tests.api.conftest import Api, Flow
from tests.api.staff import code, held_by, set_duty, submit, timeline_has
from tests.support import uid

EVALUATORS = "/api/v1/evaluators"


async def register(api: Api, sub: str, **body: object) -> tuple[int, dict[str, object]]:
    response = await api.http.put(
        f"{EVALUATORS}/{sub}",
        json={"name": body.pop("name", f"Evaluator {sub}"), "email": f"{sub}@example.org", **body},
        headers=api.admin(),
    )
    return response.status_code, response.json()


async def test_all_credentials_said_outright(api: Api) -> None:
    credential = await api.publish()
    sub = uid("evaluator")
    status, everything = await register(api, sub, credential_ids=[], all_credentials=True)
    assert status == 200 and everything["all_credentials"] is True and everything["credential_ids"] == []
    status, some = await register(api, sub, credential_ids=[credential["id"]], all_credentials=False)
    assert status == 200 and some["all_credentials"] is False
    assert some["credential_ids"] == [credential["id"]]

    status, both = await register(api, sub, credential_ids=[credential["id"]], all_credentials=True)
    assert status == 422 and both["detail"]["code"] == "invalid_request"  # type: ignore[index]
    status, none = await register(api, sub, credential_ids=[], all_credentials=False)
    assert status == 422 and none["detail"]["code"] == "invalid_request"  # type: ignore[index]
    assert "choose at least one credential" in none["detail"]["message"]  # type: ignore[index]
    status, unknown = await register(api, sub, credential_ids=["nope"], all_credentials=False)
    assert status == 422 and unknown["detail"]["credential_ids"] == ["nope"]  # type: ignore[index]
    status, _ = await register(api, sub, credential_ids=[], all_credentials="yes")
    assert status == 422  # true or false only
    # The refusals changed nothing; and without the field, an empty list still means all.
    listed = (await api.http.get(EVALUATORS, headers=api.admin())).json()["items"]
    assert [e["credential_ids"] for e in listed if e["id"] == sub] == [[credential["id"]]]
    status, legacy = await register(api, sub, credential_ids=[])
    assert status == 200 and legacy["all_credentials"] is True


async def test_the_list_by_name_with_duty_and_open_reviews(flow: Flow) -> None:
    api = flow.api
    await submit(flow)
    await flow.assigned()
    await set_duty(api, flow.evaluator, False)
    await api.evaluator([flow.credential["id"]], sub="zed-" + uid("e"))
    await register(api, "amy-" + uid("e"), name="Amy", all_credentials=True)
    await register(api, "amy-2-" + uid("e"), name="Amy", credential_ids=[flow.credential["id"]])

    first = await api.http.get(EVALUATORS, params={"limit": 2}, headers=api.admin())
    assert first.status_code == 200
    page = first.json()
    rest = (
        await api.http.get(EVALUATORS, params={"cursor": page["next_cursor"]}, headers=api.admin())
    ).json()
    everyone = page["items"] + rest["items"]
    assert rest["next_cursor"] is None
    assert [(e["name"], e["id"]) for e in everyone] == sorted((e["name"], e["id"]) for e in everyone)
    assert [e["name"] for e in everyone][:2] == ["Amy", "Amy"]
    mine = next(e for e in everyone if e["id"] == flow.evaluator)
    assert (mine["on_duty"], mine["open_reviews"], mine["all_credentials"]) == (False, 1, False)
    others = [e for e in everyone if e["id"] != flow.evaluator]
    assert {(e["on_duty"], e["open_reviews"]) for e in others} == {(True, 0)}


async def test_duty_of_an_unknown_evaluator_is_404(api: Api) -> None:
    response = await api.http.put(f"{EVALUATORS}/nobody/duty", json={"on_duty": False}, headers=api.admin())
    assert response.status_code == 404 and code(response) == "not_found"
    sub = await api.evaluator([])
    assert (
        await api.http.put(f"{EVALUATORS}/{sub}/duty", json={"on_duty": "no"}, headers=api.admin())
    ).status_code == 422
    reviews = await api.http.get(f"{EVALUATORS}/nobody/reviews", headers=api.admin())
    assert reviews.status_code == 404


async def test_off_duty_gets_no_new_review_keeps_the_open_ones_and_cannot_claim(api: Api) -> None:
    credential = await api.publish()
    cid = credential["id"]
    # Idle and first in id order: the one automatic assignment would pick, but off duty.
    away = await api.evaluator([cid], sub="a-" + uid("away"))
    here = await api.evaluator([cid], sub="b-" + uid("here"))
    holding = Flow(api=api, credential=credential, member=uid("member"), evaluator=away)
    await holding.submitted()  # away takes this one while on duty
    assert (await set_duty(api, away, False))["on_duty"] is False

    goes_elsewhere = Flow(api=api, credential=credential, member=uid("member"), evaluator=here)
    await submit(goes_elsewhere)
    await goes_elsewhere.assigned()
    # The review away held before stays theirs, and is listed for handing over.
    assert await held_by(api, holding.enrolment_id) == away
    held = (await api.http.get(f"{EVALUATORS}/{away}/reviews", headers=api.admin())).json()
    assert [i["enrolment_id"] for i in held["items"]] == [holding.enrolment_id]
    assert held["items"][0]["assigned_to"] == away
    assert (await holding.decide("approved")).status_code == 200  # and they may still decide it

    await set_duty(api, here, False)
    waiting = Flow(api=api, credential=credential, member=uid("member"), evaluator=away)
    await submit(waiting)
    await timeline_has(waiting, "review_unassigned")  # nobody on duty: it waits
    claim_url = f"/api/v1/reviews/{waiting.enrolment_id}/claim"
    queue = (await api.http.get("/api/v1/reviews", headers=waiting.reviewer)).json()["items"]
    assert waiting.enrolment_id not in [i["enrolment_id"] for i in queue]  # nothing to claim off duty
    refused = await api.http.post(claim_url, headers=waiting.reviewer)
    assert refused.status_code == 403 and code(refused) == "not_eligible"
    assert "off duty" in refused.json()["detail"]["message"]

    await set_duty(api, away, True)
    queue = (await api.http.get("/api/v1/reviews", headers=waiting.reviewer)).json()["items"]
    assert [i["assigned_to"] for i in queue if i["enrolment_id"] == waiting.enrolment_id] == [None]
    claimed = await api.http.post(claim_url, headers=waiting.reviewer)
    assert claimed.status_code == 200 and claimed.json()["assigned_to"] == away


async def test_an_off_duty_evaluator_is_refused_as_the_target_of_a_reassignment(flow: Flow) -> None:
    api = flow.api
    await submit(flow)
    await flow.assigned()
    away = await api.evaluator([flow.credential["id"]])
    await set_duty(api, away, False)
    url = f"/api/v1/admin/enrolments/{flow.enrolment_id}/reassignment"

    named = await api.http.post(url, json={"reason": "leave", "evaluator_id": away}, headers=api.admin())
    assert named.status_code == 403 and code(named) == "not_eligible"
    assert "off duty" in named.json()["detail"]["message"]
    anyone = await api.http.post(url, json={"reason": "leave"}, headers=api.admin())
    assert anyone.status_code == 403 and code(anyone) == "not_eligible"  # the least loaded skips them too
    assert await held_by(api, flow.enrolment_id) == flow.evaluator

    await set_duty(api, away, True)
    moved = await api.http.post(url, json={"reason": "leave", "evaluator_id": away}, headers=api.admin())
    assert moved.status_code == 200 and moved.json()["evaluator_id"] == away
