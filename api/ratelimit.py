"""Rate limits on writes: per client address and per signed-in person.

Every write under ``/api/v1`` (POST, PUT, PATCH, DELETE) counts against the caller's address
before anything else runs, and against the person once their bearer token is verified
(``api.deps.current_principal``), so nobody can spend another person's allowance by naming them
in a forged token. Over either limit the API answers 429 ``rate_limited`` with ``Retry-After``.

Stripe's webhook is never limited: a refused delivery is retried by Stripe only hours later, so
a payment would wait on a limit meant for people, and a forged flood costs one signature check
each. Reads are not limited here (they change nothing and are cheap indexed queries).

The counts live in Redis when ``MICROCRED_REDIS_URL`` is set, shared by every API process;
otherwise in this process's memory (``microcred dev``, tests, a single process). The windows
are moving windows: a limit of 120 per minute allows 120 writes in any 60 seconds, and
``Retry-After`` says when the oldest of them leaves the window. When Redis does not answer the
request goes through, and the failure is logged: the limits protect the service, and an outage
of their store must not stop members saving their work or payments arriving.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Collection
from typing import Any

from fastapi import FastAPI, Request
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool

from api.errors import DESCRIPTIONS
from microcred.config import Settings
from microcred.errors import RateLimited

log = logging.getLogger("microcred.api.ratelimit")

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEY_PREFIX = "microcred"
# Redis sits next to the API: an answer takes well under a millisecond. Past this, the write
# goes through unlimited rather than waiting on the limiter.
REDIS_TIMEOUT = 0.5
# How often a failing store is logged while it keeps failing (every write would flood the log).
STORE_FAILURE_LOG_INTERVAL = 60.0
# An IPv6 host usually holds a whole /64: one limit for all of it, not one per address.
IPV6_PREFIX = 64
TOO_MANY = {
    "description": DESCRIPTIONS[429],
    "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}


def client_key(host: str | None) -> str:
    """Whose address a request comes from, as a limit's key."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return host or "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


class RateLimits:
    """The API's write limits, counted in ``storage`` (one instance per app)."""

    def __init__(
        self,
        storage: Storage,
        *,
        member: str,
        ip: str,
        prefix: str,
        exempt: Collection[str] = (),
        pool: ConnectionPool | None = None,
    ) -> None:
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        self.member = parse_many(member)
        self.ip = parse_many(ip)
        self.prefix = prefix.rstrip("/") + "/"
        self.exempt = frozenset(exempt)
        self.pool = pool
        self._failure_logged_at = -math.inf

    @classmethod
    def from_settings(
        cls, settings: Settings, *, prefix: str, exempt: Collection[str] = (), key_prefix: str = KEY_PREFIX
    ) -> RateLimits:
        """Counted in Redis when ``MICROCRED_REDIS_URL`` is set, else in this process's memory."""
        member, ip = settings.rate_limit_member, settings.rate_limit_ip
        if settings.redis_url is None:
            return cls(MemoryStorage(), member=member, ip=ip, prefix=prefix, exempt=exempt)
        pool = ConnectionPool.from_url(
            settings.redis_url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
        )
        # Typed as scalars by limits; the client passes its options on to redis-py's Redis.
        options: dict[str, Any] = {"connection_pool": pool}
        storage = RedisStorage(
            f"async+{settings.redis_url}",
            implementation="redispy",
            wrap_exceptions=True,  # one StorageError, whatever the client raised
            key_prefix=key_prefix,
            **options,
        )
        return cls(storage, member=member, ip=ip, prefix=prefix, exempt=exempt, pool=pool)

    def applies(self, method: str, path: str) -> bool:
        """Whether a request (or a route, by its template) is limited."""
        return method.upper() in WRITES and path.startswith(self.prefix) and path not in self.exempt

    async def by_address(self, request: Request) -> None:
        """Dependency of every route: count a write against the client's address."""
        if self.applies(request.method, request.url.path):
            client = request.client.host if request.client else None
            await self._hit(self.ip, "ip", client_key(client))

    async def by_member(self, request: Request, sub: str) -> None:
        """Count a write against the verified person ``sub``."""
        if self.applies(request.method, request.url.path):
            await self._hit(self.member, "member", sub)

    async def _hit(self, items: list[RateLimitItem], kind: str, key: str) -> None:
        try:
            for item in items:
                if not await self.limiter.hit(item, kind, key):
                    reset, _ = await self.limiter.get_window_stats(item, kind, key)
                    retry_after = max(1, math.ceil(reset - time.time()))
                    raise RateLimited(
                        f"too many requests; try again in {retry_after} s", retry_after=retry_after
                    )
        except StorageError:
            now = time.monotonic()
            if now - self._failure_logged_at >= STORE_FAILURE_LOG_INTERVAL:
                self._failure_logged_at = now
                log.warning("the rate limits' store does not answer: writes go unlimited", exc_info=True)

    def document(self, app: FastAPI) -> None:
        """The 429 of every operation these limits apply to, in the app's OpenAPI document."""
        build = app.openapi

        def openapi() -> dict[str, Any]:
            cached = app.openapi_schema is not None
            doc = build()
            if not cached:
                for path, operations in doc["paths"].items():
                    for method, operation in operations.items():
                        if self.applies(method, path):
                            operation.setdefault("responses", {})["429"] = TOO_MANY
            return doc

        app.openapi = openapi  # type: ignore[method-assign]

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.aclose()
