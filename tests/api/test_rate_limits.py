"""Rate limits on writes: 429 ``rate_limited`` with Retry-After, per person and per address,
counted in memory or in Redis, never on Stripe's webhook, and never in an ordinary member's way."""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

import httpx
import pytest
import redis.asyncio
import stripe
from fastapi import FastAPI
from limits import parse_many
from limits.aio.storage import MemoryStorage, RedisStorage
from pydantic import ValidationError

from api.deps import AppState
from api.main import API_PREFIX, RATE_LIMIT_EXEMPT, create_app
from api.ratelimit import WRITES, RateLimits, client_key
from microcred.auth import TokenVerifier, issue_token
from microcred.badges import BadgeIssuer
from microcred.config import Environment, Settings
from microcred.db import SessionFactory
from microcred.identity import Role
from tests.api.conftest import SECRET, Flow
from tests.support import test_settings, uid

REDIS_URL = os.environ.get("MICROCRED_TEST_REDIS", "redis://127.0.0.1:6379/0")
AUTOSAVE = Path(__file__).resolve().parents[2] / "frontend" / "src" / "features" / "work" / "autosave.ts"
DEV_TOKEN = f"{API_PREFIX}/auth/dev-token"
WEBHOOK = f"{API_PREFIX}/webhooks/stripe"


DISPLAY = f"{API_PREFIX}/badges/no-such-badge/display"


def member(sub: str, secret: str = SECRET) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(secret, sub=sub, role=Role.MEMBER)}"}


async def write(http: httpx.AsyncClient, sub: str | None = None, *, secret: str = SECRET) -> httpx.Response:
    """A write that needs no Temporal: a member's display choice for a badge that does not exist
    (404 once signed in, 401 anonymous or with a forged token)."""
    headers = member(sub, secret) if sub else {}
    return await http.put(DISPLAY, json={"show_name": True}, headers=headers)


@asynccontextmanager
async def light_app(
    sessions: SessionFactory, settings: Settings | None = None, rate_limits: RateLimits | None = None
) -> AsyncIterator[FastAPI]:
    """The real app, started, over a real database and without Temporal (which no route used
    here reaches)."""
    settings = settings or test_settings(auth_secret=SECRET)
    state = AppState(
        settings=settings,
        sessions=sessions,
        workflows=None,  # type: ignore[arg-type]
        verifier=TokenVerifier(secret=SECRET, jwks_url=None),
        issuer=BadgeIssuer.from_settings(settings),
    )
    app = create_app(state=state, rate_limits=rate_limits)
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def client(app: FastAPI, address: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` calling from ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def assert_rate_limited(response: httpx.Response, window_seconds: int) -> int:
    assert response.status_code == 429, response.text
    detail = response.json()["detail"]
    assert detail["code"] == "rate_limited"
    retry_after = int(response.headers["Retry-After"])
    assert detail["retry_after"] == retry_after
    assert 1 <= retry_after <= window_seconds
    return retry_after


# ---- the defaults, through a real enrolment ----------------------------------------------------


async def test_a_member_over_the_default_limit_is_told_when_to_retry(flow: Flow) -> None:
    """The real default (the API fixture changes no limit): saves beyond it are refused and
    change nothing; another member and the member's own reads are not affected."""
    (per_member,) = parse_many(Settings().rate_limit_member)
    await flow.paid()  # the member's first write: buying (POST /enrolments)
    for n in range(per_member.amount - 1):
        saved = await flow.save("plan-1", f"draft {n}")
        assert saved.status_code == 200, (n, saved.text)
    assert_rate_limited(await flow.save("plan-1", "one too many"), per_member.get_expiry())

    work = await flow.api.http.get(flow.url(), headers=flow.me)  # reads are not limited
    assert work.status_code == 200
    task = next(t for s in work.json()["sections"] for t in s["tasks"] if t["id"] == "plan-1")
    assert task["response"] == f"draft {per_member.amount - 2}"
    assert task["version"] == per_member.amount - 1
    await flow.api.enrol(uid("member"), flow.credential["id"])  # somebody else writes on


def test_the_member_limit_is_above_what_autosave_can_send() -> None:
    """Autosave sends a task's text once typing pauses for SAVE_DELAY_MS, one save at a time:
    even a typist who pauses just that long all the time stays under the default."""
    delay_ms = int(re.search(r"SAVE_DELAY_MS = ([\d_]+)", AUTOSAVE.read_text())[1].replace("_", ""))  # type: ignore[index]
    most_per_second = 1000 / delay_ms
    for item in parse_many(Settings().rate_limit_member):
        assert item.amount / item.get_expiry() > 1.5 * most_per_second, item
        assert item.amount > most_per_second * 10, f"{item}: a burst of ten seconds of saves"
    (per_ip,) = parse_many(Settings().rate_limit_ip)
    (per_member,) = parse_many(Settings().rate_limit_member)
    assert per_ip.amount / per_ip.get_expiry() > per_member.amount / per_member.get_expiry()


# ---- per address, per person -----------------------------------------------------------------


async def test_one_address_over_its_limit_is_refused_and_others_are_not(own_sqlite: SessionFactory) -> None:
    person = {"sub": "m-1", "role": "member"}
    async with (
        light_app(own_sqlite, test_settings(auth_secret=SECRET, rate_limit_ip="3/minute")) as app,
        client(app, "203.0.113.7") as one,
        client(app, "203.0.113.8") as other,
    ):
        for _ in range(3):
            assert (await one.post(DEV_TOKEN, json=person)).status_code == 201
        assert_rate_limited(await one.post(DEV_TOKEN, json=person), 60)
        # Counted before the token is even looked at: anonymous floods stop here too.
        assert_rate_limited(await write(one), 60)
        assert (await one.get(f"{API_PREFIX}/auth/config")).status_code == 200  # reads are not limited
        assert (await other.post(DEV_TOKEN, json=person)).status_code == 201


async def test_stripe_webhooks_are_never_limited(own_sqlite: SessionFactory) -> None:
    settings = test_settings(auth_secret=SECRET, rate_limit_ip="1/minute")
    secret = settings.stripe_webhook_secret.get_secret_value()
    async with light_app(own_sqlite, settings) as app, client(app, "203.0.113.9") as stripe_servers:
        assert (await stripe_servers.post(DEV_TOKEN, json={"sub": "m", "role": "member"})).status_code == 201
        assert (await stripe_servers.post(DEV_TOKEN, json={"sub": "m", "role": "member"})).status_code == 429
        for _ in range(5):
            payload = json.dumps(
                {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": "customer.created", "data": {}}
            )
            signature = stripe.WebhookSignature.generate_signature_header(payload, secret, int(time.time()))
            delivered = await stripe_servers.post(
                WEBHOOK, content=payload, headers={"Stripe-Signature": signature}
            )
            assert delivered.status_code == 200, delivered.text


async def test_the_member_limit_counts_verified_people_only(own_sqlite: SessionFactory) -> None:
    """A token that names a member but is not signed with our key spends nothing of theirs."""
    settings = test_settings(auth_secret=SECRET, rate_limit_member="2/minute")
    async with light_app(own_sqlite, settings) as app, client(app) as http:
        for _ in range(5):
            forged = await write(http, "m-1", secret="x" * 40)
            assert forged.status_code == 401
        for _ in range(2):
            assert (await write(http, "m-1")).status_code == 404
        refused = await write(http, "m-1")
        assert_rate_limited(refused, 60)
        assert (await http.get(f"{API_PREFIX}/me/learning", headers=member("m-1"))).status_code == 200
        assert (await write(http, "m-2")).status_code == 404


def test_an_ipv6_host_is_one_address() -> None:
    """A host usually holds a whole /64: rotating through it must not multiply its allowance."""
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("203.0.113.7") == "203.0.113.7"
    assert client_key(None) == "unknown"


# ---- the two stores --------------------------------------------------------------------------


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own on the test Redis, its keys deleted afterwards."""
    prefix = uid("test-limits")
    server = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        await cast("Awaitable[bool]", server.ping())  # typed for the sync client too
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} (.ci/run starts it): {exc}")
    yield prefix
    keys = [key async for key in server.scan_iter(match=f"{prefix}*")]
    if keys:
        await server.delete(*keys)
    await server.aclose()


def limits_for(backend: str, key_prefix: str, **overrides: str) -> RateLimits:
    """The app's limits, counted in memory or in Redis (under ``key_prefix``)."""
    redis_url = {"redis": REDIS_URL, "memory": None}[backend]
    settings = test_settings(auth_secret=SECRET, redis_url=redis_url, **overrides)
    return RateLimits.from_settings(
        settings, prefix=API_PREFIX, exempt=RATE_LIMIT_EXEMPT, key_prefix=key_prefix
    )


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_each_store_counts_each_person_and_address(
    backend: str, redis_prefix: str, own_sqlite: SessionFactory
) -> None:
    limits = limits_for(backend, redis_prefix, rate_limit_member="2/minute", rate_limit_ip="4/minute")
    assert isinstance(limits.storage, {"memory": MemoryStorage, "redis": RedisStorage}[backend])
    async with (
        light_app(own_sqlite, rate_limits=limits) as app,
        client(app, "198.51.100.1") as one,
        client(app, "198.51.100.2") as other,
    ):
        for _ in range(2):
            assert (await write(one, "a")).status_code == 404
        assert_rate_limited(await write(one, "a"), 60)
        # Another person from the same address: its own allowance, until the address's runs out.
        assert (await write(one, "b")).status_code == 404
        assert_rate_limited(await write(one, "b"), 60)
        # Person "a" from another address: still over their own limit.
        assert_rate_limited(await write(other, "a"), 60)
    if backend == "redis":  # counted there, under the test's prefix
        server = redis.asyncio.Redis.from_url(REDIS_URL)
        assert [key async for key in server.scan_iter(match=f"{redis_prefix}*")]
        await server.aclose()


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_only_redis_shares_the_counts_between_api_processes(
    backend: str, redis_prefix: str, own_sqlite: SessionFactory
) -> None:
    """Two API processes (two apps, two limiters on one store): Redis counts their writes
    together; memory counts each process on its own (so `microcred api --workers N` or several
    replicas need MICROCRED_REDIS_URL)."""
    first = limits_for(backend, redis_prefix, rate_limit_member="2/minute")
    second = limits_for(backend, redis_prefix, rate_limit_member="2/minute")
    async with (
        light_app(own_sqlite, rate_limits=first) as one,
        light_app(own_sqlite, rate_limits=second) as two,
        client(one) as a,
        client(two) as b,
    ):
        assert (await write(a, "m")).status_code == 404
        assert (await write(b, "m")).status_code == 404
        third = await write(a, "m")
    assert third.status_code == (429 if backend == "redis" else 404)


async def test_writes_go_through_when_redis_does_not_answer(
    own_sqlite: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """The limits protect the service; their store failing must not stop members saving."""
    nobody = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings = test_settings(auth_secret=SECRET, redis_url=nobody, rate_limit_member="1/minute")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="microcred.api.ratelimit"):
        async with light_app(own_sqlite, settings) as app, client(app) as http:
            for _ in range(3):
                response = await write(http, "m")
                assert response.status_code == 404, response.text
    assert time.monotonic() - started < 10
    failures = [r for r in caplog.records if r.name == "microcred.api.ratelimit"]
    assert len(failures) == 1, "logged once, not once per write"
    assert "writes go unlimited" in failures[0].getMessage()


# ---- the contract ------------------------------------------------------------------------------


def test_openapi_documents_429_on_exactly_the_limited_operations() -> None:
    doc = create_app(test_settings(auth_secret=SECRET)).openapi()
    assert "ErrorBody" in doc["components"]["schemas"]
    limited = set()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if "429" in operation["responses"]:
                limited.add((method.upper(), path))
                assert "Retry-After" in operation["responses"]["429"]["headers"]
    writes = {
        (method.upper(), path)
        for path, operations in doc["paths"].items()
        for method in operations
        if method.upper() in WRITES and path.startswith(f"{API_PREFIX}/")
    }
    assert limited == writes - {("POST", WEBHOOK)}
    assert ("PUT", f"{API_PREFIX}/enrolments/{{enrolment_id}}/tasks/{{task_id}}") in limited
    assert ("POST", DEV_TOKEN) in limited


def test_rate_limits_are_settings_in_the_limits_notation() -> None:
    settings = Settings(environment=Environment.TEST, rate_limit_member="10/second;300/10 minutes")
    assert [str(item) for item in parse_many(settings.rate_limit_member)] == [
        "10 per 1 second",
        "300 per 10 minute",
    ]
    with pytest.raises(ValidationError, match="couldn't parse rate limit"):
        Settings(environment=Environment.TEST, rate_limit_ip="plenty")
