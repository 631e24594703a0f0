"""What the member's screens read and write beyond the original contract: the rubric criteria in
the enrolment view, the titles of marked criteria, earlier attempts, and saves that refuse stale
text instead of overwriting another tab's work."""

from __future__ import annotations

from tests.api.conftest import Flow, eventually_status


def task_of(detail: dict[str, object], task_id: str) -> dict[str, object]:
    sections = detail["sections"]
    assert isinstance(sections, list)
    return next(t for s in sections for t in s["tasks"] if t["id"] == task_id)


async def test_a_stale_save_is_refused_with_the_newer_version(flow: Flow) -> None:
    await flow.paid()
    put = flow.api.http.put
    first = await put(
        flow.url("/tasks/plan-1"), json={"response": "tab one", "base_version": 0}, headers=flow.me
    )
    assert first.status_code == 200 and first.json()["version"] == 1
    # Another tab, still showing the empty answer it loaded, saves over it: refused, nothing written.
    stale = await put(
        flow.url("/tasks/plan-1"), json={"response": "tab two", "base_version": 0}, headers=flow.me
    )
    assert stale.status_code == 409
    detail = stale.json()["detail"]
    assert detail["code"] == "version_conflict" and detail["task_id"] == "plan-1"
    assert detail["current"]["version"] == 1 and detail["current"]["response"] == "tab one"
    assert detail["current"]["saved_at"]
    view = (await flow.api.http.get(flow.url(), headers=flow.me)).json()
    assert task_of(view, "plan-1")["response"] == "tab one" and task_of(view, "plan-1")["version"] == 1
    # Saving from the version it now knows is accepted; clients that send no version are unchecked.
    kept = await put(
        flow.url("/tasks/plan-1"), json={"response": "tab two", "base_version": 1}, headers=flow.me
    )
    assert kept.status_code == 200 and kept.json()["version"] == 2
    unchecked = await put(flow.url("/tasks/plan-1"), json={"response": "curl"}, headers=flow.me)
    assert unchecked.status_code == 200 and unchecked.json()["version"] == 3
    negative = await put(
        flow.url("/tasks/plan-1"), json={"response": "x", "base_version": -1}, headers=flow.me
    )
    assert negative.status_code == 422


async def test_the_enrolment_view_carries_each_sections_rubric(flow: Flow) -> None:
    await flow.paid()
    view = (await flow.api.http.get(flow.url(), headers=flow.me)).json()
    rubric = {s["id"]: s["rubric"] for s in view["sections"]}
    assert rubric["plan"] == [
        {"id": "plan-c", "title": "Coherent plan", "description": "The plan hangs together."}
    ]
    assert [c["id"] for c in rubric["reflect"]] == ["reflect-c", "reflect-d"]
    assert view["payment_processing"] is False and view["rubric"] is None


async def test_marked_rubrics_and_earlier_attempts(flow: Flow) -> None:
    await flow.submitted()
    assert (await flow.api.http.get(flow.url("/attempts"), headers=flow.me)).json()["items"][0][
        "rubric"
    ] is None
    assert (await flow.decide("resubmit", unmet=("reflect-c",))).status_code == 200
    marked = (await flow.api.http.get(flow.url("/rubric"), headers=flow.me)).json()
    titles = {c["criterion_id"]: c["title"] for c in marked["criteria"]}
    assert titles == {"plan-c": "Coherent plan", "reflect-c": "Honest reflection", "reflect-d": "Next steps"}
    attempts = (await flow.api.http.get(flow.url("/attempts"), headers=flow.me)).json()["items"]
    assert len(attempts) == 1
    [first] = attempts
    assert first["attempt"] == 1 and first["decision"] == "resubmit" and first["decided_at"]
    assert {t["task_id"]: t["response"] for t in first["tasks"]} == {
        "plan-1": "my answer",
        "plan-2": None,
        "reflect-1": "my answer",
    }
    assert first["rubric"]["feedback"] == "thanks"
    assert [c["met"] for c in first["rubric"]["criteria"]] == [True, False, True]
    # Admins read them too; another member does not learn the enrolment exists.
    as_admin = await flow.api.http.get(flow.url("/attempts"), headers=flow.api.admin())
    assert as_admin.status_code == 200 and as_admin.json() == {"items": attempts, "next_cursor": None}
    stranger = await flow.api.http.get(flow.url("/attempts"), headers=flow.api.auth("member", "someone-else"))
    assert stranger.status_code == 404
    as_evaluator = await flow.api.http.get(flow.url("/attempts"), headers=flow.reviewer)
    assert as_evaluator.status_code == 403


async def test_the_checkout_return_lands_on_the_micro_credential(flow: Flow) -> None:
    created = await flow.buy()
    await flow.api.pay(created["checkout_session_id"])
    back = await flow.api.http.get(f"/api/v1/checkout/complete?session_id={created['checkout_session_id']}")
    assert back.status_code == 303
    assert back.headers["location"] == f"http://testserver/learning/{flow.enrolment_id}?checkout=complete"
    await eventually_status(flow.api, flow.member, flow.enrolment_id, "in_progress")
