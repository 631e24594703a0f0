"""/healthz and /readyz."""

from __future__ import annotations

import logging

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.deps import AppState
from api.main import create_app
from microcred.auth import TokenVerifier
from microcred.badges import BadgeIssuer
from microcred.db import create_db_engine, make_session_factory
from microcred.temporal.client import WorkflowClient
from tests.api.conftest import SECRET, Api
from tests.support import test_settings


async def test_healthy_and_ready(api: Api) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "temporal": "ok"}}


async def test_not_ready_when_temporal_or_the_database_is_down(caplog: pytest.LogCaptureFixture) -> None:
    settings = test_settings(auth_secret=SECRET)
    # Nothing listens on port 1; the database file's folder does not exist.
    client = await Client.connect("127.0.0.1:1", data_converter=pydantic_data_converter, lazy=True)
    sessions = make_session_factory(create_db_engine("sqlite:////nonexistent-folder/x.db"))
    state = AppState(
        settings=settings,
        sessions=sessions,
        workflows=WorkflowClient(client, task_queue="nowhere"),
        verifier=TokenVerifier(secret=SECRET, jwks_url=None),
        issuer=BadgeIssuer.from_settings(settings),
    )
    app = create_app(state=state)
    transport = httpx.ASGITransport(app=app)
    lifespan = app.router.lifespan_context(app)
    with caplog.at_level(logging.WARNING, logger="microcred.api.health"):
        async with lifespan, httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            assert (await http.get("/healthz")).status_code == 200
            ready = await http.get("/readyz")
    assert ready.status_code == 503
    # A public probe names what is not ready, never how it failed (driver, exception, address) ...
    assert ready.json() == {"status": "not_ready", "checks": {"database": "error", "temporal": "error"}}
    # ... which the log keeps, for the operator.
    logged = {r.getMessage(): r.exc_info[1] for r in caplog.records if r.exc_info and r.exc_info[1]}
    assert set(logged) == {"not ready: the database does not answer", "not ready: Temporal does not answer"}
    database_error = logged["not ready: the database does not answer"]
    assert type(database_error).__module__.startswith("sqlalchemy"), database_error
    assert type(database_error).__name__ not in ready.text


async def test_the_routers_own_errors_carry_a_code_too(api: Api) -> None:
    unknown = await api.http.get("/api/v1/no-such-thing", headers=api.admin())
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": {"code": "not_found", "message": "not found"}}
    wrong_method = await api.http.delete("/api/v1/credentials", headers=api.admin())
    assert wrong_method.status_code == 405 and wrong_method.json()["detail"]["code"] == "method_not_allowed"
    assert "GET" in wrong_method.headers["allow"]
