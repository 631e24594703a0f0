"""Bearer tokens: 401 for missing, bad and expired tokens; 403 for the wrong role; RS256 via JWKS."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from microcred.auth import TokenVerifier, issue_token
from microcred.errors import Unauthenticated
from microcred.identity import Role
from tests.api.conftest import SECRET, Api


def _code(response: Any) -> str:
    return str(response.json()["detail"]["code"])


async def test_no_token_is_401(api: Api) -> None:
    response = await api.http.get("/api/v1/me/learning")
    assert response.status_code == 401
    assert _code(response) == "unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_bad_token_is_401(api: Api) -> None:
    for header in (
        "Bearer not-a-jwt",
        "Basic abc",
        f"Bearer {issue_token('another-secret-entirely-0123456789', sub='m', role=Role.MEMBER)}",
    ):
        response = await api.http.get("/api/v1/me/learning", headers={"Authorization": header})
        assert response.status_code == 401, header


async def test_expired_token_is_401(api: Api) -> None:
    token = issue_token(SECRET, sub="m", role=Role.MEMBER, ttl=timedelta(minutes=-5))
    response = await api.http.get("/api/v1/me/learning", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]["message"]


async def test_token_without_a_known_role_is_401(api: Api) -> None:
    now = datetime.now(UTC)
    token = jwt.encode(
        {"sub": "m", "role": "superuser", "exp": now + timedelta(hours=1)}, SECRET, algorithm="HS256"
    )
    response = await api.http.get("/api/v1/me/learning", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_token_with_claims_longer_than_the_stored_ids_is_401(api: Api) -> None:
    """A sub or email longer than their columns would fail at the first write (a 500 on
    PostgreSQL, stored whole by SQLite): the token is refused before anything runs."""
    for sub, email in (("m" * 201, None), ("m", f"{'e' * 320}@example.org")):
        token = issue_token(SECRET, sub=sub, role=Role.MEMBER, email=email)
        response = await api.http.post(
            "/api/v1/enrolments", json={"credential_id": "any"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, (sub, email)
        assert "at most 200 characters" in response.json()["detail"]["message"]
    fits = issue_token(SECRET, sub="m" * 200, role=Role.MEMBER)
    response = await api.http.get("/api/v1/me/learning", headers={"Authorization": f"Bearer {fits}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [
        ("POST", "/api/v1/credentials", "member"),
        ("PUT", "/api/v1/evaluators/someone", "evaluator"),
        ("POST", "/api/v1/enrolments", "evaluator"),
        ("GET", "/api/v1/me/learning", "admin"),
        ("GET", "/api/v1/reviews", "member"),
        ("POST", "/api/v1/reviews/x/decision", "member"),
        ("GET", "/api/v1/enrolments/x/timeline", "evaluator"),
        ("POST", "/api/v1/admin/enrolments/x/cancellation", "member"),
    ],
)
async def test_wrong_role_is_403(api: Api, method: str, path: str, role: str) -> None:
    response = await api.http.request(method, path, json={}, headers=api.auth(role, "someone"))
    assert response.status_code == 403, response.text
    assert _code(response) == "forbidden"


class _Jwks(BaseHTTPRequestHandler):
    body = b"{}"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, rsa.RSAPrivateKey]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
    handler = type("Handler", (_Jwks,), {"body": json.dumps({"keys": [jwk]}).encode()})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json", key
    server.shutdown()
    server.server_close()


async def test_rs256_tokens_from_a_jwks_url(jwks_server: tuple[str, rsa.RSAPrivateKey]) -> None:
    url, key = jwks_server
    verifier = TokenVerifier(secret=None, jwks_url=url)
    claims = {"sub": "u1", "role": "evaluator", "exp": datetime.now(UTC) + timedelta(minutes=5)}
    good = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
    principal = await verifier.verify(good)
    assert (principal.sub, principal.role) == ("u1", Role.EVALUATOR)

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(Unauthenticated):
        await verifier.verify(forged)
    unknown_kid = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "nope"})
    with pytest.raises(Unauthenticated):
        await verifier.verify(unknown_kid)
    # An HS256 token is refused when only RS256 keys are configured.
    with pytest.raises(Unauthenticated):
        await verifier.verify(issue_token(SECRET, sub="u1", role=Role.ADMIN))


async def test_rs256_tokens_are_checked_for_their_audience_and_issuer(
    jwks_server: tuple[str, rsa.RSAPrivateKey],
) -> None:
    url, key = jwks_server
    issuer = "https://id.example.org"
    verifier = TokenVerifier(secret=SECRET, jwks_url=url, audience="microcred-web", issuer=issuer)

    def token(**changes: Any) -> str:
        claims: dict[str, Any] = {"sub": "u1", "role": "member", "aud": "microcred-web", "iss": issuer}
        claims.update(changes)
        claims = {name: value for name, value in claims.items() if value is not None}
        claims["exp"] = datetime.now(UTC) + timedelta(minutes=5)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})

    assert (await verifier.verify(token())).sub == "u1"
    assert (await verifier.verify(token(aud=["another-app", "microcred-web"]))).sub == "u1"
    for changes, message in (
        ({"aud": "another-app"}, "the token is for another audience"),
        ({"iss": "https://id.example.org/other-tenant"}, "the token is from another issuer"),
        ({"aud": None}, "the token has no aud claim"),
        ({"iss": None}, "the token has no iss claim"),
    ):
        with pytest.raises(Unauthenticated) as refused:
            await verifier.verify(token(**changes))
        assert refused.value.message == message, changes
    # Dev tokens name no audience or issuer: the secret alone vouches for them.
    dev = await verifier.verify(issue_token(SECRET, sub="d1", role=Role.ADMIN))
    assert (dev.sub, dev.role) == ("d1", Role.ADMIN)
