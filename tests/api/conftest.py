"""The API over ASGI, with a real worker on the time-skipping server and SQLite."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.deps import AppState
from api.main import create_app
from microcred.auth import TokenVerifier, issue_token
from microcred.badges import BadgeIssuer
from microcred.db import SessionFactory
from microcred.identity import Role
from microcred.payments import PaymentGateway
from microcred.services.evidence import Evidence
from microcred.storage import ObjectStore
from microcred.storage.local import LocalStore
from tests.support import API_BASE, Running, credential_doc, running_worker, test_settings, uid

SECRET = "api-test-secret-0123456789abcdef0123456789"


@dataclass
class Api:
    http: httpx.AsyncClient
    run: Running
    sessions: SessionFactory
    store: ObjectStore | None = None  # where evidence files go (serving's)

    def auth(self, role: Role | str, sub: str, **claims: Any) -> dict[str, str]:
        token = issue_token(SECRET, sub=sub, role=Role(role), email=claims.get("email", f"{sub}@example.org"))
        return {"Authorization": f"Bearer {token}"}

    def admin(self) -> dict[str, str]:
        return self.auth(Role.ADMIN, "admin-1")

    async def publish(self, **overrides: Any) -> dict[str, Any]:
        doc = credential_doc(**overrides).model_dump(mode="json")
        response = await self.http.post("/api/v1/credentials", json=doc, headers=self.admin())
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def evaluator(self, credential_ids: list[str], sub: str | None = None) -> str:
        sub = sub or uid("evaluator")
        response = await self.http.put(
            f"/api/v1/evaluators/{sub}",
            json={
                "name": f"Evaluator {sub}",
                "email": f"{sub}@example.org",
                "credential_ids": credential_ids,
            },
            headers=self.admin(),
        )
        assert response.status_code == 200, response.text
        return sub

    async def enrol(self, member: str, credential_id: str) -> dict[str, Any]:
        response = await self.http.post(
            "/api/v1/enrolments", json={"credential_id": credential_id}, headers=self.auth("member", member)
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def pay(self, checkout_session_id: str) -> None:
        """The offline checkout's Pay button."""
        response = await self.http.post(f"/api/v1/checkout/{checkout_session_id}/pay")
        assert response.status_code == 303, response.text

    async def learning(self, member: str) -> list[dict[str, Any]]:
        response = await self.http.get("/api/v1/me/learning", headers=self.auth("member", member))
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    async def status_of(self, member: str, enrolment_id: str) -> str:
        items = {i["enrolment_id"]: i for i in await self.learning(member)}
        return str(items[enrolment_id]["status"])


@asynccontextmanager
async def serving(
    client: Client,
    sessions: SessionFactory,
    *,
    gateway: PaymentGateway | None = None,
    store: ObjectStore | None = None,
    **settings_: Any,
) -> AsyncIterator[Api]:
    """The API with a worker of its own (taking payments through ``gateway``, offline by default),
    keeping evidence files in ``store`` (a data folder of its own by default); ``settings_``
    override the test settings (the fuzz raises the rate limits)."""
    settings = test_settings(auth_secret=SECRET, **settings_)
    async with running_worker(client, sessions, gateway=gateway) as run:
        with tempfile.TemporaryDirectory(prefix="evidence-") as folder:
            store = store or LocalStore(Path(folder), secret=SECRET, base_url=f"{API_BASE}/storage")
            state = AppState(
                settings=settings,
                sessions=sessions,
                workflows=run.workflows,
                verifier=TokenVerifier(secret=SECRET, jwks_url=None),
                issuer=BadgeIssuer.from_settings(settings),
                evidence=Evidence.from_settings(settings, store=store),
            )
            app = create_app(state=state)
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                    yield Api(http=http, run=run, sessions=sessions, store=store)


@pytest.fixture
async def api(ts_env: WorkflowEnvironment, own_sqlite: SessionFactory) -> AsyncIterator[Api]:
    async with serving(ts_env.client, own_sqlite) as api:
        yield api


async def eventually_status(api: Api, member: str, enrolment_id: str, status: str) -> dict[str, Any]:
    """Wait (briefly, in real time) until My Learning shows ``status``; returns the item."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + 30.0
    while asyncio.get_running_loop().time() < deadline:
        items = {i["enrolment_id"]: i for i in await api.learning(member)}
        if items[enrolment_id]["status"] == status:
            return items[enrolment_id]
        await asyncio.sleep(0.03)
    raise AssertionError(f"{enrolment_id} never reached {status}: {items[enrolment_id]}")


@dataclass
class Flow:
    """One enrolment driven through the API, with its people."""

    api: Api
    credential: dict[str, Any]
    member: str
    evaluator: str
    enrolment_id: str = ""
    checkout_session_id: str = ""

    @property
    def me(self) -> dict[str, str]:
        return self.api.auth("member", self.member)

    @property
    def reviewer(self) -> dict[str, str]:
        return self.api.auth("evaluator", self.evaluator)

    def url(self, suffix: str = "") -> str:
        return f"/api/v1/enrolments/{self.enrolment_id}{suffix}"

    async def buy(self) -> dict[str, Any]:
        created = await self.api.enrol(self.member, self.credential["id"])
        self.enrolment_id, self.checkout_session_id = created["id"], created["checkout_session_id"]
        return created

    async def paid(self) -> None:
        await self.buy()
        await self.api.pay(self.checkout_session_id)
        await eventually_status(self.api, self.member, self.enrolment_id, "in_progress")

    async def save(self, task_id: str, response: str = "my answer") -> httpx.Response:
        return await self.api.http.put(
            self.url(f"/tasks/{task_id}"), json={"response": response}, headers=self.me
        )

    async def submitted(self) -> None:
        await self.paid()
        for task in ("plan-1", "reflect-1"):
            assert (await self.save(task)).status_code == 200
        response = await self.api.http.post(self.url("/submit"), json={"agree_terms": True}, headers=self.me)
        assert response.status_code == 200, response.text
        await self.assigned()

    async def assigned(self) -> None:
        import asyncio

        for _ in range(300):
            queue = await self.api.http.get("/api/v1/reviews", headers=self.reviewer)
            mine = [i for i in queue.json()["items"] if i["enrolment_id"] == self.enrolment_id]
            if mine and mine[0]["assigned_to"] == self.evaluator:
                return
            await asyncio.sleep(0.03)
        raise AssertionError("the review was never assigned")

    async def decide(self, outcome: str, unmet: tuple[str, ...] = ()) -> httpx.Response:
        marks = [
            {"criterion_id": c, "met": c not in unmet, "comment": "needs work" if c in unmet else ""}
            for c in ("plan-c", "reflect-c", "reflect-d")
        ]
        return await self.api.http.post(
            f"/api/v1/reviews/{self.enrolment_id}/decision",
            json={"outcome": outcome, "marks": marks, "feedback": "thanks"},
            headers=self.reviewer,
        )


@pytest.fixture
async def flow(api: Api) -> Flow:
    credential = await api.publish()
    evaluator = await api.evaluator([credential["id"]])
    return Flow(api=api, credential=credential, member=uid("member"), evaluator=evaluator)


async def eventually(probe: Any, *, seconds: float = 30.0) -> Any:
    """Poll an async probe (in real time) until it returns something truthy: at once when all is
    well, with room for a loaded CI machine (a badge took over 9 s there once)."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.03)
    raise AssertionError(f"condition not reached in {seconds} s")
