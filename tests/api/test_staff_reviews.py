"""The evaluator's console beyond the queue: who submitted, the decided history, earlier attempts."""

from __future__ import annotations

from tests.api.conftest import Api, Flow, eventually_status
from tests.api.staff import named, resubmit, submit
from tests.support import uid

DECIDED = "/api/v1/reviews/decided"


async def test_the_queue_names_who_submitted(api: Api) -> None:
    credential = await api.publish()
    evaluator = await api.evaluator([credential["id"]])
    known = Flow(api=api, credential=credential, member=uid("member"), evaluator=evaluator)
    # The member's name is recorded from their token when they buy.
    bought = await api.http.post(
        "/api/v1/enrolments",
        json={"credential_id": credential["id"]},
        headers=named("member", known.member, "Ada Lovelace"),
    )
    assert bought.status_code == 201
    known.enrolment_id, known.checkout_session_id = bought.json()["id"], bought.json()["checkout_session_id"]
    await api.pay(known.checkout_session_id)
    await eventually_status(api, known.member, known.enrolment_id, "in_progress")
    for task in ("plan-1", "reflect-1"):
        await known.save(task)
    await api.http.post(known.url("/submit"), json={"agree_terms": True}, headers=known.me)
    await known.assigned()
    nameless = Flow(api=api, credential=credential, member=uid("member"), evaluator=evaluator)
    await nameless.submitted()

    queue = (await api.http.get("/api/v1/reviews", headers=known.reviewer)).json()["items"]
    names = {i["enrolment_id"]: i["member_name"] for i in queue}
    assert names == {known.enrolment_id: "Ada Lovelace", nameless.enrolment_id: nameless.member}
    assert [i["enrolment_id"] for i in queue] == [known.enrolment_id, nameless.enrolment_id]  # by due date
    review = (await api.http.get(f"/api/v1/reviews/{known.enrolment_id}", headers=known.reviewer)).json()
    assert review["member_name"] == "Ada Lovelace"


async def test_decided_lists_my_decisions_newest_first(flow: Flow) -> None:
    api = flow.api
    await flow.submitted()
    assert (await flow.decide("resubmit", unmet=("reflect-d",))).status_code == 200
    await resubmit(flow)
    await flow.assigned()
    assert (await flow.decide("approved")).status_code == 200
    other = Flow(api=api, credential=flow.credential, member=uid("member"), evaluator=flow.evaluator)
    await other.submitted()  # under review: not decided, not listed

    decided = await api.http.get(DECIDED, headers=flow.reviewer)
    assert decided.status_code == 200, decided.text
    items = decided.json()["items"]
    assert [(i["enrolment_id"], i["attempt"], i["decision"]) for i in items] == [
        (flow.enrolment_id, 2, "approved"),
        (flow.enrolment_id, 1, "resubmit"),
    ]
    newest = items[0]
    assert newest["credential_id"] == flow.credential["id"] and newest["title"] == flow.credential["title"]
    assert newest["member_name"] == flow.member
    assert newest["submitted_at"] < newest["decided_at"] and items[1]["decided_at"] < newest["decided_at"]

    first = (await api.http.get(DECIDED, params={"limit": 1}, headers=flow.reviewer)).json()
    assert [i["attempt"] for i in first["items"]] == [2]
    rest = (
        await api.http.get(
            DECIDED, params={"limit": 1, "cursor": first["next_cursor"]}, headers=flow.reviewer
        )
    ).json()
    assert [i["attempt"] for i in rest["items"]] == [1] and rest["next_cursor"] is None
    stranger = await api.http.get(DECIDED, headers=api.auth("evaluator", uid("stranger")))
    assert stranger.status_code == 200 and stranger.json()["items"] == []


async def test_attempts_for_the_reviewer_and_for_who_decided_before(api: Api) -> None:
    credential = await api.publish()
    first = await api.evaluator([credential["id"]], sub="a-" + uid("first"))
    flow = Flow(api=api, credential=credential, member=uid("member"), evaluator=first)
    await flow.submitted()
    url = f"/api/v1/reviews/{flow.enrolment_id}/attempts"

    reviewing = await api.http.get(url, headers=flow.reviewer)  # assigned to its open review
    assert reviewing.status_code == 200
    [attempt] = reviewing.json()["items"]
    assert attempt["attempt"] == 1 and attempt["decision"] is None and attempt["rubric"] is None
    assert {t["task_id"]: t["response"] for t in attempt["tasks"]}["plan-1"] == "my answer"

    await flow.decide("resubmit", unmet=("reflect-d",))
    # The second attempt goes to another evaluator (the least loaded: first holds nothing, but a
    # colleague registered now sorts first), while first keeps its history.
    second = await api.evaluator([credential["id"]], sub="0-" + uid("second"))
    await resubmit(flow)
    flow.evaluator = second
    await flow.assigned()

    for evaluator in (first, second):
        both = await api.http.get(url, headers=api.auth("evaluator", evaluator))
        assert both.status_code == 200, evaluator
        attempts = both.json()["items"]
        assert [(a["attempt"], a["decision"]) for a in attempts] == [(1, "resubmit"), (2, None)]
        assert [c["met"] for c in attempts[0]["rubric"]["criteria"]] == [True, True, False]
    stranger = await api.evaluator([credential["id"]])
    for outsider in (stranger, uid("unregistered")):
        refused = await api.http.get(url, headers=api.auth("evaluator", outsider))
        assert refused.status_code == 404
    assert (await api.http.get(url, headers=flow.me)).status_code == 403  # members have their own
    unknown = await api.http.get("/api/v1/reviews/nope/attempts", headers=flow.reviewer)
    assert unknown.status_code == 404
    # The review itself is still for its assigned evaluator only.
    assert (
        await api.http.get(f"/api/v1/reviews/{flow.enrolment_id}", headers=api.auth("evaluator", first))
    ).status_code == 404


async def test_decided_is_not_taken_for_an_enrolment_id(api: Api) -> None:
    """/reviews/decided is its own route, never /reviews/{enrolment_id} with the id "decided"."""
    member = await api.http.get(DECIDED, headers=api.auth("member", uid("member")))
    assert member.status_code == 403
    empty = await api.http.get(DECIDED, headers=api.auth("evaluator", uid("evaluator")))
    assert empty.status_code == 200 and empty.json() == {"items": [], "next_cursor": None}


async def test_an_unassigned_review_is_no_evaluators_history(api: Api) -> None:
    credential = await api.publish()
    flow = Flow(api=api, credential=credential, member=uid("member"), evaluator="nobody")
    await submit(flow)
    eligible = await api.evaluator([credential["id"]])
    response = await api.http.get(
        f"/api/v1/reviews/{flow.enrolment_id}/attempts", headers=api.auth("evaluator", eligible)
    )
    assert response.status_code == 404  # claimable, but not theirs until they claim it
