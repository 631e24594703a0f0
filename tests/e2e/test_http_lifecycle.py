"""End to end through HTTP only: the real API (uvicorn on a socket) and the real worker, both
built from Settings by their production entry points, on the time-skipping server.

One member goes from purchase through a resubmission to approval; another lets the
submission window run out and finds the enrolment expired.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from temporalio.testing import WorkflowEnvironment

import worker
from api.main import create_app
from microcred import migrate
from microcred.auth import issue_token
from microcred.config import Settings
from microcred.identity import Role
from tests.support import credential_doc, uid

SECRET = "e2e-secret-0123456789abcdef0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    @staticmethod
    def auth(role: str, sub: str) -> dict[str, str]:
        token = issue_token(SECRET, sub=sub, role=Role(role), email=f"{sub}@example.org")
        return {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, role: str, sub: str, expect: int = 200, **kw: Any) -> Any:
        response = await self.http.request(method, path, headers=self.auth(role, sub), **kw)
        assert response.status_code == expect, (method, path, response.text)
        return response.json() if response.content else None

    async def status(self, member: str, enrolment_id: str) -> dict[str, Any]:
        items = (await self.call("GET", "/api/v1/me/learning", "member", member))["items"]
        return dict(next(i for i in items if i["enrolment_id"] == enrolment_id))

    async def until(self, member: str, enrolment_id: str, status: str) -> dict[str, Any]:
        for _ in range(300):
            item = await self.status(member, enrolment_id)
            if item["status"] == status:
                return item
            await asyncio.sleep(0.03)
        raise AssertionError(f"{enrolment_id} never became {status}")

    async def pay(self, checkout_url: str) -> None:
        page = await self.http.get(checkout_url)
        assert page.status_code == 200 and "Pay" in page.text
        paid = await self.http.post(checkout_url + "/pay")
        assert paid.status_code == 303


@pytest.fixture
async def stack(ts_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[tuple[Client, Settings]]:
    port = free_port()
    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'microcred.db'}",
        temporal_address=ts_env.client.service_client.config.target_host,
        task_queue=uid("e2e"),
        auth_secret=SECRET,
        public_base_url=f"http://127.0.0.1:{port}",
    )
    migrate.upgrade(settings.sqlalchemy_url)
    stop = asyncio.Event()
    worker_task = asyncio.create_task(worker.run(settings, stop=stop))
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    server_task = asyncio.create_task(server.serve())
    while not server.started:
        assert not server_task.done(), "the API did not start"
        await asyncio.sleep(0.02)
    async with httpx.AsyncClient(base_url=settings.public_base_url, timeout=30) as http:
        yield Client(http), settings
    server.should_exit = True
    stop.set()
    await server_task
    await worker_task


async def test_purchase_resubmission_approval_and_expiry(
    stack: tuple[Client, Settings], ts_env: WorkflowEnvironment
) -> None:
    api, _ = stack
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200, ready.text
    doc = credential_doc(submission_window="P10M").model_dump(mode="json")
    await api.call("POST", "/api/v1/credentials", "admin", "admin", expect=201, json=doc)
    evaluator = uid("evaluator")
    await api.call(
        "PUT",
        f"/api/v1/evaluators/{evaluator}",
        "admin",
        "admin",
        json={"name": "Eva", "email": f"{evaluator}@example.org", "credential_ids": [doc["id"]]},
    )

    # Purchase, work, submit.
    member = uid("member")
    created = await api.call(
        "POST", "/api/v1/enrolments", "member", member, expect=201, json={"credential_id": doc["id"]}
    )
    enrolment = created["id"]
    await api.pay(created["checkout_url"])
    await api.until(member, enrolment, "in_progress")
    for task in ("plan-1", "reflect-1"):
        await api.call(
            "PUT",
            f"/api/v1/enrolments/{enrolment}/tasks/{task}",
            "member",
            member,
            json={"response": f"first {task}"},
        )
    submitted = await api.call(
        "POST", f"/api/v1/enrolments/{enrolment}/submit", "member", member, json={"agree_terms": True}
    )
    assert submitted["status"] == "under_review"
    assert (await api.status(member, enrolment))["status"] == "under_review"

    # The evaluator asks for a resubmission of one section.
    for _ in range(300):
        queue = (await api.call("GET", "/api/v1/reviews", "evaluator", evaluator))["items"]
        if any(i["enrolment_id"] == enrolment and i["assigned_to"] == evaluator for i in queue):
            break
        await asyncio.sleep(0.03)
    review = await api.call("GET", f"/api/v1/reviews/{enrolment}", "evaluator", evaluator)
    marks = [
        {"criterion_id": c["id"], "met": c["section_id"] != "reflect", "comment": "more evidence"}
        for c in review["rubric"]
    ]
    decided = await api.call(
        "POST",
        f"/api/v1/reviews/{enrolment}/decision",
        "evaluator",
        evaluator,
        json={"outcome": "resubmit", "marks": marks, "feedback": "close"},
    )
    assert decided["status"] == "resubmission_requested"
    rubric = await api.call("GET", f"/api/v1/enrolments/{enrolment}/rubric", "member", member)
    assert {c["criterion_id"] for c in rubric["criteria"] if not c["met"]} == {"reflect-c", "reflect-d"}

    # Resubmission: pay, edit only the failed section, submit attempt 2, approval.
    started = await api.call(
        "POST", f"/api/v1/enrolments/{enrolment}/resubmission", "member", member, expect=201
    )
    await api.pay(started["checkout_url"])
    await api.until(member, enrolment, "in_progress")
    await api.call(
        "PUT",
        f"/api/v1/enrolments/{enrolment}/tasks/plan-1",
        "member",
        member,
        expect=409,
        json={"response": "not allowed"},
    )
    await api.call(
        "PUT",
        f"/api/v1/enrolments/{enrolment}/tasks/reflect-1",
        "member",
        member,
        json={"response": "better reflection"},
    )
    await api.call(
        "POST", f"/api/v1/enrolments/{enrolment}/submit", "member", member, json={"agree_terms": True}
    )
    for _ in range(300):
        queue = (await api.call("GET", "/api/v1/reviews", "evaluator", evaluator))["items"]
        if any(i["enrolment_id"] == enrolment and i["assigned_to"] == evaluator for i in queue):
            break
        await asyncio.sleep(0.03)
    review = await api.call("GET", f"/api/v1/reviews/{enrolment}", "evaluator", evaluator)
    assert review["attempt"] == 2
    assert {t["task_id"]: t["response"] for t in review["tasks"]}["plan-1"] == "first plan-1"
    assert review["previous_rubric"]["decision"] == "resubmit"
    approve = [{"criterion_id": c["id"], "met": True, "comment": ""} for c in review["rubric"]]
    await api.call(
        "POST",
        f"/api/v1/reviews/{enrolment}/decision",
        "evaluator",
        evaluator,
        json={"outcome": "approved", "marks": approve},
    )
    approved = await api.until(member, enrolment, "approved")
    assert approved["attempt"] == 2 and approved["decision"] == "approved"

    # A second member lets the ten-month window run out.
    late = uid("member")
    other = await api.call(
        "POST", "/api/v1/enrolments", "member", late, expect=201, json={"credential_id": doc["id"]}
    )
    await api.pay(other["checkout_url"])
    item = await api.until(late, other["id"], "in_progress")
    await api.call(
        "PUT", f"/api/v1/enrolments/{other['id']}/tasks/plan-1", "member", late, json={"response": "a"}
    )
    await ts_env.sleep(timedelta(days=320))
    expired = await api.until(late, other["id"], "expired")
    assert expired["due_at"] == item["due_at"]
    await api.call(
        "PUT",
        f"/api/v1/enrolments/{other['id']}/tasks/plan-1",
        "member",
        late,
        expect=409,
        json={"response": "too late"},
    )
    timeline = (await api.call("GET", f"/api/v1/enrolments/{other['id']}/timeline", "member", late))["items"]
    assert timeline[-1]["kind"] == "expired"
    # After expiry a new purchase starts anew.
    again = await api.call(
        "POST", "/api/v1/enrolments", "member", late, expect=201, json={"credential_id": doc["id"]}
    )
    assert again["id"] != other["id"]
