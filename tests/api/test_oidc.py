"""Signing in with a real OpenID Connect provider (oidc-provider-mock): the authorization code flow
with PKCE as the web app runs it, then the API accepting only the ID tokens issued for it."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from microcred.config import Settings
from microcred.db import SessionFactory
from tests.api.conftest import SECRET
from tests.api.test_sign_in import bearer, production, serving
from tests.support import test_settings

with warnings.catch_warnings():
    # authlib, under the mock, deprecates its own jose and httpx modules on import, through a
    # filter of its own that shows its warnings always: ignore them after it is in place.
    import authlib.deprecate  # noqa: F401

    warnings.simplefilter("ignore", DeprecationWarning)
    from oidc_provider_mock import User, run_server_in_thread

# The mock configures authlib the way authlib 1.7 deprecated; its server thread warns per token.
pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")

CLIENT_ID = "microcred-web"
REDIRECT_URI = "http://localhost:5173/sign-in/callback"
MEMBER = User(
    sub="oidc-member", claims={"role": "member", "name": "Oidc Member", "email": "oidc-member@example.org"}
)


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """A provider of this module's own; its URL is its issuer."""
    with run_server_in_thread(port=0, user_claims=[MEMBER]) as server:
        yield f"http://localhost:{server.server_port}"


def signing_in_with(issuer: str, **overrides: Any) -> Settings:
    """A production deployment whose only sign-in is the provider's (no secret, no JWKS URL)."""
    return production(oidc_issuer=issuer, oidc_client_id=CLIENT_ID, **overrides)


async def sign_in(issuer: str, sub: str, *, client_id: str = CLIENT_ID) -> str:
    """The web app's sign-in as oidc-client-ts runs it: discovery, the authorization request with
    PKCE and state, the person picking who they are on the provider's form, the code exchanged at
    the token endpoint with the verifier. Returns the ID token."""
    async with httpx.AsyncClient() as http:
        metadata = (await http.get(f"{issuer}/.well-known/openid-configuration")).raise_for_status().json()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
        state = secrets.token_urlsafe(16)
        form = await http.post(
            metadata["authorization_endpoint"],
            params={
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": REDIRECT_URI,
                "scope": "openid profile email",
                "state": state,
                "code_challenge": challenge.decode(),
                "code_challenge_method": "S256",
            },
            data={"sub": sub},
        )
        assert form.status_code == 302, form.text
        callback = urlsplit(form.headers["location"])
        assert f"{callback.scheme}://{callback.netloc}{callback.path}" == REDIRECT_URI
        answer = dict(parse_qsl(callback.query))
        assert answer["state"] == state
        tokens = await http.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": answer["code"],
                "redirect_uri": REDIRECT_URI,
                "client_id": client_id,
                "code_verifier": verifier,
            },
            # The mock authenticates every client (any secret will do); a browser app has none.
            auth=(client_id, "unused"),
        )
        assert tokens.status_code == 200, tokens.text
        return str(tokens.json()["id_token"])


def provider_requests(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The paths the provider served, from its access log."""
    found = (re.search(r'"[A-Z]+ (/[^ ?]*)', r.getMessage()) for r in caplog.records if r.name == "werkzeug")
    return [match[1] for match in found if match]


async def test_an_id_token_of_the_provider_signs_in(
    provider: str, own_sqlite: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:
    token = await sign_in(provider, MEMBER.sub)
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        caplog.clear()
        async with serving(signing_in_with(provider), own_sqlite) as http:
            assert provider_requests(caplog) == [], "keys are fetched on first use, not at startup"
            response = await http.get("/api/v1/me/notifications", headers=bearer(token))
            assert response.status_code == 200, response.text
            assert (await http.get("/api/v1/me/learning", headers=bearer(token))).status_code == 200
            refused = await http.get("/api/v1/reviews", headers=bearer(token))
            assert refused.status_code == 403 and refused.json()["detail"]["role"] == "member"
    # The key set's URL came from the discovery document, fetched once.
    assert provider_requests(caplog) == ["/.well-known/openid-configuration", "/jwks"]


async def test_a_token_for_another_application_is_refused(provider: str, own_sqlite: SessionFactory) -> None:
    token = await sign_in(provider, MEMBER.sub, client_id="another-application")
    async with serving(signing_in_with(provider), own_sqlite) as http:
        response = await http.get("/api/v1/me/notifications", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["detail"] == {
        "code": "unauthenticated",
        "message": "the token is for another audience",
    }


async def test_a_token_from_another_issuer_is_refused(provider: str, own_sqlite: SessionFactory) -> None:
    # Reached by another name, the provider signs with the same key but names itself differently.
    elsewhere = provider.replace("localhost", "127.0.0.1")
    token = await sign_in(elsewhere, MEMBER.sub)
    async with serving(signing_in_with(provider), own_sqlite) as http:
        response = await http.get("/api/v1/me/notifications", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["detail"]["message"] == "the token is from another issuer"
    async with serving(signing_in_with(elsewhere), own_sqlite) as http:
        assert (await http.get("/api/v1/me/notifications", headers=bearer(token))).status_code == 200


async def test_an_expired_token_is_refused(own_sqlite: SessionFactory) -> None:
    # Tokens that expired five minutes before they were issued: past the verifier's leeway.
    with run_server_in_thread(
        port=0, user_claims=[MEMBER], access_token_max_age=timedelta(minutes=-5)
    ) as server:
        issuer = f"http://localhost:{server.server_port}"
        token = await sign_in(issuer, MEMBER.sub)
        async with serving(signing_in_with(issuer), own_sqlite) as http:
            response = await http.get("/api/v1/me/notifications", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["detail"]["message"] == "the token has expired"


async def test_a_token_without_a_role_is_refused(provider: str, own_sqlite: SessionFactory) -> None:
    token = await sign_in(provider, "someone-without-a-role")  # the mock gives them an email only
    async with serving(signing_in_with(provider), own_sqlite) as http:
        response = await http.get("/api/v1/me/notifications", headers=bearer(token))
    assert response.status_code == 401
    assert "a role of member, evaluator or admin" in response.json()["detail"]["message"]


async def test_dev_tokens_still_sign_in_beside_the_provider(
    provider: str, own_sqlite: SessionFactory
) -> None:
    settings = test_settings(auth_secret=SECRET, oidc_issuer=provider, oidc_client_id=CLIENT_ID)
    async with serving(settings, own_sqlite) as http:
        minted = await http.post("/api/v1/auth/dev-token", json={"sub": "demo-member", "role": "member"})
        assert minted.status_code == 201, minted.text
        for token in (minted.json()["access_token"], await sign_in(provider, MEMBER.sub)):
            assert (await http.get("/api/v1/me/learning", headers=bearer(token))).status_code == 200


async def test_the_api_starts_while_the_provider_is_down(provider: str, own_sqlite: SessionFactory) -> None:
    token = await sign_in(provider, MEMBER.sub)
    settings = signing_in_with("http://127.0.0.1:1", auth_secret=SecretStr(SECRET))  # nothing listens there
    async with serving(settings, own_sqlite) as http:
        assert (await http.get("/api/v1/auth/config")).status_code == 200
        response = await http.get("/api/v1/me/notifications", headers=bearer(token))
    assert response.status_code == 503
    assert response.json()["detail"]["code"] == "unavailable"
