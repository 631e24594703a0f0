"""Request metrics (Prometheus) and one structured log line per request.

Every label value comes from the code, never from the request: the route is the template of the
route the router matched (``unmatched`` when none did), the method one of HTTP's own (``OTHER``
for any other token a client sends), the status a number. So no request, however random its
path or method, adds a series to ``/metrics``.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Sequence

from fastapi.routing import iter_route_contexts
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from microcred.config import Environment, Settings
from microcred.errors import NotFound, Unauthenticated

log = logging.getLogger("microcred.api")

UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RouteTemplates:
    """The full template of each of an app's routes, its prefix included.

    Starlette's ``scope["route"]`` is the route the router matched; FastAPI puts there the route
    as its router declared it, without the prefix it was included under, so the full template is
    looked up among the app's routes (once, on the first request: by then all are included).
    """

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.routes = routes
        self.by_route: dict[int, str] | None = None

    def of(self, route: object) -> str:
        if route is None:
            return UNMATCHED
        if self.by_route is None:
            self.by_route = {
                id(context.original_route): context.path
                for context in iter_route_contexts(self.routes)
                if context.path is not None
            }
        declared = getattr(route, "path", None)
        return self.by_route.get(id(route)) or (declared if isinstance(declared, str) else UNMATCHED)


class HttpMetrics:
    """The API's metrics, in a registry of its own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "microcred_http_requests",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "microcred_http_request_duration_seconds",
            "Time to answer, by route template.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )


def check_metrics_access(settings: Settings, authorization: str | None) -> None:
    """Who may read ``/metrics``: the bearer of ``MICROCRED_METRICS_TOKEN`` when one is set;
    without one, anybody in dev and test (``microcred dev`` stays one click), nobody in
    production (the metrics name every route and its traffic: not for the public)."""
    token = settings.metrics_token
    if token is None:
        if settings.environment is Environment.PRODUCTION:
            raise NotFound("not found")
        return
    scheme, _, sent = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(
        sent.strip().encode(), token.get_secret_value().encode()
    ):
        raise Unauthenticated("send Authorization: Bearer <MICROCRED_METRICS_TOKEN>")


class Telemetry:
    """ASGI middleware: counts and times every request, and logs it with its enrolment id."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics, templates: RouteTemplates) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            elapsed = time.perf_counter() - started
            params = scope.get("path_params") or {}
            template = self.templates.of(scope.get("route"))
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            if template != "/metrics":
                self.metrics.requests.labels(method, template, str(status)).inc()
                self.metrics.latency.labels(method, template).observe(elapsed)
            log.info(
                "%s %s %s %.1f ms",
                method,
                template,
                status,
                elapsed * 1000,
                extra={
                    "method": method,
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    **{k: v for k, v in params.items() if k in ("enrolment_id", "badge_id", "session_id")},
                },
            )
