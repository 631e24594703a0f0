"""The API over ASGI, with a real worker on the time-skipping server and SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.deps import AppState
from api.main import create_app
from microcred.auth import TokenVerifier, issue_token
from microcred.badges import BadgeIssuer
from microcred.db import SessionFactory
from microcred.identity import Role
from tests.support import Running, credential_doc, running_worker, test_settings, uid

SECRET = "api-test-secret-0123456789abcdef0123456789"


@dataclass
class Api:
    http: httpx.AsyncClient
    run: Running
    sessions: SessionFactory

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
            json={"name": f"Evaluator {sub}", "email": f"{sub}@example.org", "credential_ids": credential_ids},
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


@pytest.fixture
async def api(ts_env: WorkflowEnvironment, sqlite_sessions: SessionFactory) -> AsyncIterator[Api]:
    settings = test_settings(auth_secret=SECRET)
    async with running_worker(ts_env.client, sqlite_sessions) as run:
        state = AppState(
            settings=settings,
            sessions=sqlite_sessions,
            lifecycle=run.lifecycle,
            verifier=TokenVerifier(secret=SECRET, jwks_url=None),
            issuer=BadgeIssuer.from_settings(settings),
        )
        app = create_app(state=state)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                yield Api(http=http, run=run, sessions=sqlite_sessions)
