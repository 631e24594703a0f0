"""Helpers of the staff's tests (evaluators' console, admins' desk): steps of an enrolment that
``Flow`` leaves to the test, and tokens that carry a name."""

from __future__ import annotations

from typing import Any

import httpx

from microcred.auth import issue_token
from microcred.identity import Role
from tests.api.conftest import SECRET, Api, Flow, eventually, eventually_status


def code(response: httpx.Response) -> str:
    return str(response.json()["detail"]["code"])


def named(role: Role | str, sub: str, name: str) -> dict[str, str]:
    """Headers whose token carries a name (the member's name is recorded when they buy)."""
    token = issue_token(SECRET, sub=sub, role=Role(role), email=f"{sub}@example.org", name=name)
    return {"Authorization": f"Bearer {token}"}


async def submit(flow: Flow) -> None:
    """Pay, answer the required tasks and submit, without waiting for an evaluator."""
    await flow.paid()
    for task in ("plan-1", "reflect-1"):
        assert (await flow.save(task)).status_code == 200
    response = await flow.api.http.post(flow.url("/submit"), json={"agree_terms": True}, headers=flow.me)
    assert response.status_code == 200, response.text


async def resubmit(flow: Flow) -> None:
    """After a request to resubmit: pay the resubmission, improve the reflection, submit again."""
    started = await flow.api.http.post(flow.url("/resubmission"), headers=flow.me)
    assert started.status_code == 201, started.text
    await flow.api.pay(started.json()["checkout_session_id"])
    await eventually_status(flow.api, flow.member, flow.enrolment_id, "in_progress")
    assert (await flow.save("reflect-1", "a better reflection")).status_code == 200
    response = await flow.api.http.post(flow.url("/submit"), json={"agree_terms": True}, headers=flow.me)
    assert response.status_code == 200, response.text


async def timeline_has(flow: Flow, kind: str) -> None:
    async def probe() -> bool:
        items = (await flow.api.http.get(flow.url("/timeline"), headers=flow.api.admin())).json()["items"]
        return any(e["kind"] == kind for e in items)

    await eventually(probe)


async def set_duty(api: Api, sub: str, on_duty: bool) -> dict[str, Any]:
    response = await api.http.put(
        f"/api/v1/evaluators/{sub}/duty", json={"on_duty": on_duty}, headers=api.admin()
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def held_by(api: Api, enrolment_id: str) -> str | None:
    """Who holds the enrolment's review, as the admins' search shows it."""
    found = await api.http.get(
        "/api/v1/admin/enrolments", params={"enrolment_id": enrolment_id}, headers=api.admin()
    )
    [item] = found.json()["items"]
    return item["evaluator_id"]  # type: ignore[no-any-return]
