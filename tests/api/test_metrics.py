"""The API's /metrics after a lifecycle: request counts and latency by route template."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from api.deps import AppState
from api.main import create_app
from api.telemetry import check_metrics_access
from microcred.auth import TokenVerifier, issue_token
from microcred.badges import BadgeIssuer
from microcred.config import Environment, Settings
from microcred.db import SessionFactory
from microcred.errors import NotFound
from microcred.identity import Role
from tests.api.conftest import SECRET, Flow
from tests.support import test_settings


def production(**overrides: Any) -> Settings:
    """Production settings that start (what they sign with is not used here)."""
    fields: dict[str, Any] = {
        "environment": "production",
        "auth_secret": SecretStr(SECRET),
        "badge_signing_key": SecretStr("unused here"),
        "offline_payments": True,
        "stripe_webhook_secret": SecretStr("whsec_test_0123456789abcdef0123456789"),
    }
    return Settings.model_validate({**fields, **overrides})


@asynccontextmanager
async def metrics_app(sessions: SessionFactory, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with ``settings``, started, without Temporal (no route used here reaches it)."""
    state = AppState(
        settings=settings,
        sessions=sessions,
        workflows=None,  # type: ignore[arg-type]
        verifier=TokenVerifier(secret=SECRET, jwks_url=None),
        issuer=BadgeIssuer.from_settings(test_settings()),
    )
    app = create_app(state=state)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_request_metrics_by_route_template(flow: Flow) -> None:
    await flow.submitted()
    text = (await flow.api.http.get("/metrics")).text
    submit = re.search(
        r'microcred_http_requests_total\{method="POST",route="/api/v1/enrolments/\{enrolment_id\}/submit",'
        r'status="200"\} (\d+)',
        text,
    )
    assert submit and int(float(submit.group(1))) == 1
    saves = re.search(
        r'microcred_http_requests_total\{method="PUT",route="/api/v1/enrolments/\{enrolment_id\}/tasks/\{task_id\}",'
        r'status="200"\} ([\d.]+)',
        text,
    )
    assert saves and float(saves.group(1)) == 2
    assert (
        'microcred_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/api/v1/enrolments"'
        in text
    )
    assert flow.enrolment_id not in text  # ids never become label values


async def test_each_request_is_logged_readably_and_with_its_fields(
    flow: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    await flow.buy()
    with caplog.at_level(logging.INFO, logger="microcred.api"):
        assert (await flow.save("plan-1")).status_code == 409  # not paid yet
    [record] = [r for r in caplog.records if r.name == "microcred.api"]
    route = "/api/v1/enrolments/{enrolment_id}/tasks/{task_id}"
    assert re.fullmatch(rf"PUT {re.escape(route)} 409 \d+\.\d ms", record.getMessage())
    fields = {k: getattr(record, k) for k in ("method", "route", "status", "enrolment_id")}
    assert fields == {"method": "PUT", "route": route, "status": 409, "enrolment_id": flow.enrolment_id}


# ---- no request adds a series -----------------------------------------------------------------


def series(text: str) -> set[str]:
    """Every series (name and labels) of a Prometheus text exposition."""
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}


async def test_random_paths_and_methods_add_no_series(own_sqlite: SessionFactory) -> None:
    """Ids, unknown paths and made-up methods never become label values: after one round of
    each kind of request, more rounds with fresh random values leave the set of series as it is."""
    member = {"Authorization": f"Bearer {issue_token(SECRET, sub='m-1', role=Role.MEMBER)}"}
    seen: list[str] = []

    async def round_of_requests(http: httpx.AsyncClient) -> None:
        r, s = uuid.uuid4().hex, uuid.uuid4().hex
        seen.extend((r, s))
        requests = [
            ("PUT", f"/api/v1/enrolments/{r}/tasks/{r}", {}),  # 401: one id in both places
            ("PUT", f"/api/v1/enrolments/{r}/tasks/{s}", {}),  # 401
            ("GET", f"/api/v1/enrolments/{r}", member),  # 404 of a matched route
            ("GET", f"/api/v1/badges/{r}", {}),  # 404, public
            ("GET", f"/api/v1/{r}/{s}", member),  # unmatched under the API
            ("POST", f"/{r}", {}),  # unmatched
            ("GET", f"/assets/{r}.js", {}),  # a missing asset
            (f"X{r[:6].upper()}", "/api/v1/credentials", member),  # a made-up method: 405
        ]
        for method, path, headers in requests:
            response = await http.request(method, path, headers=headers, json={"response": "x"})
            assert response.status_code in (401, 404, 405), (method, path, response.status_code)

    async with metrics_app(own_sqlite, test_settings(auth_secret=SECRET)) as http:
        await round_of_requests(http)
        before = (await http.get("/metrics")).text
        for _ in range(5):
            await round_of_requests(http)
        after = (await http.get("/metrics")).text
    assert series(after) == series(before)
    assert not [value for value in seen if value in after or value[:6].upper() in after]
    assert 'route="/api/v1/enrolments/{enrolment_id}/tasks/{task_id}",status="401"' in after
    assert 'method="OTHER",route="/api/v1/credentials",status="405"' in after
    assert 'route="unmatched",status="404"' in after


# ---- who may read /metrics ----------------------------------------------------------------------


async def test_with_a_token_set_only_its_bearer_reads_the_metrics(own_sqlite: SessionFactory) -> None:
    token = "metrics-" + "t" * 40
    async with metrics_app(own_sqlite, test_settings(auth_secret=SECRET, metrics_token=token)) as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {token}"}):
            refused = await http.get("/metrics", headers=headers)
            assert refused.status_code == 401, headers
            assert refused.json()["detail"]["code"] == "unauthenticated"
            assert refused.headers["www-authenticate"] == "Bearer"
        allowed = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert allowed.status_code == 200 and "microcred_http_requests_total" in allowed.text


async def test_production_serves_the_metrics_to_its_token_only(
    own_sqlite: SessionFactory, tmp_path: Path
) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>the app</title>")
    async with metrics_app(own_sqlite, production(web_dir=tmp_path)) as http:
        hidden = await http.get("/metrics", headers={"Accept": "text/html"})
    assert hidden.status_code == 404  # as if there were none, and not the web app either
    assert hidden.json()["detail"]["code"] == "not_found"
    token = "metrics-" + "p" * 40
    async with metrics_app(own_sqlite, production(web_dir=tmp_path, metrics_token=token)) as http:
        assert (await http.get("/metrics")).status_code == 401
        assert (await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})).status_code == 200


def test_dev_keeps_the_metrics_open() -> None:
    check_metrics_access(Settings(environment=Environment.DEV), None)  # microcred dev: one click
    with pytest.raises(NotFound):
        check_metrics_access(production(), None)
