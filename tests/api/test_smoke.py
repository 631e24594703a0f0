from __future__ import annotations

import asyncio

from tests.api.conftest import Api
from tests.support import uid


async def wait_status(api: Api, member: str, enrolment_id: str, status: str) -> None:
    for _ in range(200):
        if await api.status_of(member, enrolment_id) == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never reached {status}")


async def test_purchase_to_submit(api: Api) -> None:
    cred = await api.publish()
    await api.evaluator([cred["id"]])
    member = uid("member")
    created = await api.enrol(member, cred["id"])
    assert created["status"] == "awaiting_payment"
    page = await api.http.get(created["checkout_url"].replace("http://testserver", ""))
    assert page.status_code == 200 and "Pay" in page.text
    await api.pay(created["checkout_session_id"])
    await wait_status(api, member, created["id"], "in_progress")
    h = api.auth("member", member)
    for task in ("plan-1", "reflect-1"):
        r = await api.http.put(
            f"/api/v1/enrolments/{created['id']}/tasks/{task}", json={"response": "x"}, headers=h
        )
        assert r.status_code == 200, r.text
    r = await api.http.post(
        f"/api/v1/enrolments/{created['id']}/submit", json={"agree_terms": True}, headers=h
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "under_review"
