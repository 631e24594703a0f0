"""GET /auth/config and the dev sign-in (POST /auth/dev-token), which production does not have."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.deps import AppState
from api.main import create_app
from microcred.auth import TokenVerifier
from microcred.badges import BadgeIssuer
from microcred.config import Settings
from microcred.db import SessionFactory
from microcred.identity import Role
from microcred.temporal.client import WorkflowClient
from tests.api.conftest import SECRET
from tests.support import test_settings

OIDC = {"oidc_issuer": "https://id.example.org", "oidc_client_id": "microcred-web"}


def production(**overrides: Any) -> Settings:
    """Production settings that start (the badge key and the payment choice are not used here)."""
    return Settings(
        environment="production",
        public_base_url="http://testserver",
        badge_signing_key=SecretStr("unused by signing in"),
        offline_payments=True,
        stripe_webhook_secret=SecretStr("whsec_test_0123456789abcdef0123456789"),
        **overrides,
    )


@asynccontextmanager
async def serving(settings: Settings, sessions: SessionFactory) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with these settings (its sign-in routes follow them); signing in needs no
    Temporal, so nothing listens behind its lazy client."""
    client = await Client.connect("127.0.0.1:1", data_converter=pydantic_data_converter, lazy=True)
    state = AppState(
        settings=settings,
        sessions=sessions,
        workflows=WorkflowClient(client, task_queue="nowhere"),
        verifier=TokenVerifier.from_settings(settings),
        issuer=BadgeIssuer.from_settings(test_settings()),
    )
    app = create_app(state=state)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_config_offers_the_dev_sign_in_and_its_demo_people_in_test(own_sqlite: SessionFactory) -> None:
    async with serving(test_settings(auth_secret=SECRET), own_sqlite) as http:
        response = await http.get("/api/v1/auth/config")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "dev_sign_in": True,
        "demo_people": [
            {"sub": "demo-member", "role": "member", "name": "Demo Member"},
            {"sub": "demo-evaluator", "role": "evaluator", "name": "Demo Evaluator"},
            {"sub": "demo-admin", "role": "admin", "name": "Demo Admin"},
        ],
        "oidc": None,
    }


async def test_config_in_production_names_the_provider_only(own_sqlite: SessionFactory) -> None:
    async with serving(production(auth_secret=SecretStr(SECRET), **OIDC), own_sqlite) as http:
        response = await http.get("/api/v1/auth/config")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "dev_sign_in": False,
        "demo_people": [],
        "oidc": {
            "issuer": "https://id.example.org",
            "client_id": "microcred-web",
            "scope": "openid profile email",
            "bearer": "id_token",
        },
    }
    settings = production(auth_secret=SecretStr(SECRET), oidc_bearer="access_token", **OIDC)
    async with serving(settings, own_sqlite) as http:
        assert (await http.get("/api/v1/auth/config")).json()["oidc"]["bearer"] == "access_token"
    async with serving(production(auth_secret=SecretStr(SECRET)), own_sqlite) as http:
        assert (await http.get("/api/v1/auth/config")).json()["oidc"] is None


async def test_a_dev_token_signs_in_as_that_person(own_sqlite: SessionFactory) -> None:
    async with serving(test_settings(auth_secret=SECRET), own_sqlite) as http:
        response = await http.post(
            "/api/v1/auth/dev-token", json={"sub": "demo-evaluator", "role": "evaluator"}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["token_type"] == "bearer"
        token = body["access_token"]
        assert (await http.get("/api/v1/reviews", headers=bearer(token))).status_code == 200
        refused = await http.get("/api/v1/me/learning", headers=bearer(token))
        assert refused.status_code == 403 and refused.json()["detail"]["role"] == "evaluator"

    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == "demo-evaluator" and claims["role"] == "evaluator"
    assert claims["name"] == "Demo Evaluator" and claims["email"] == "demo-evaluator@example.org"
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at == datetime.fromtimestamp(claims["exp"], UTC)
    assert abs(expires_at - (datetime.now(UTC) + timedelta(hours=12))) < timedelta(minutes=1)


async def test_a_dev_token_carries_the_name_and_email_given(own_sqlite: SessionFactory) -> None:
    async with serving(test_settings(auth_secret=SECRET), own_sqlite) as http:
        response = await http.post(
            "/api/v1/auth/dev-token",
            json={"sub": "m-1", "role": "member", "name": "Ada Lovelace", "email": "ada@example.org"},
        )
        assert response.status_code == 201, response.text
        token = response.json()["access_token"]
        assert (await http.get("/api/v1/me/learning", headers=bearer(token))).status_code == 200
    principal = await TokenVerifier(secret=SECRET, jwks_url=None).verify(token)
    assert (principal.sub, principal.role, principal.name, principal.email) == (
        "m-1",
        Role.MEMBER,
        "Ada Lovelace",
        "ada@example.org",
    )


async def test_a_dev_token_request_of_the_wrong_shape_is_422(own_sqlite: SessionFactory) -> None:
    async with serving(test_settings(auth_secret=SECRET), own_sqlite) as http:
        for body in (
            {"sub": "m", "role": "superuser"},
            {"sub": "", "role": "member"},
            {"sub": "m" * 201, "role": "member"},
            {"role": "member"},
            {"sub": "m", "role": "member", "name": "n" * 201},
            {"sub": "m", "role": "member", "email": "e" * 321},
            {"sub": "m", "role": "member", "aud": "anything"},
        ):
            response = await http.post("/api/v1/auth/dev-token", json=body)
            assert response.status_code == 422, body


async def test_production_has_no_dev_sign_in(own_sqlite: SessionFactory) -> None:
    settings = production(auth_secret=SecretStr(SECRET), **OIDC)
    async with serving(settings, own_sqlite) as http:
        response = await http.post("/api/v1/auth/dev-token", json={"sub": "demo-admin", "role": "admin"})
        unknown = await http.post("/api/v1/no-such-path", json={"sub": "demo-admin", "role": "admin"})
    paths = create_app(settings).openapi()["paths"]  # production serves no /openapi.json
    assert response.status_code == 404
    assert response.json() == unknown.json() == {"detail": {"code": "not_found", "message": "not found"}}
    assert "/api/v1/auth/dev-token" not in paths and "/api/v1/auth/config" in paths


async def test_no_dev_sign_in_without_a_secret(own_sqlite: SessionFactory) -> None:
    """A test deployment that verifies only the provider's tokens has nothing to sign dev tokens with."""
    async with serving(test_settings(**OIDC), own_sqlite) as http:
        config = (await http.get("/api/v1/auth/config")).json()
        response = await http.post("/api/v1/auth/dev-token", json={"sub": "demo-admin", "role": "admin"})
    assert config["dev_sign_in"] is False and config["demo_people"] == []
    assert response.status_code == 404
