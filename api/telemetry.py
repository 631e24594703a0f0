"""Request metrics (Prometheus) and one structured log line per request."""

from __future__ import annotations

import logging
import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("microcred.api")


def _template(path: str, params: dict[str, object]) -> str:
    """The route template of a matched path (ids become ``{name}``, never label values)."""
    remaining = {str(v): k for k, v in params.items()}
    segments = []
    for segment in path.split("/"):
        name = remaining.pop(segment, None)
        segments.append(f"{{{name}}}" if name else segment)
    return "/".join(segments)


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


class Telemetry:
    """ASGI middleware: counts and times every request, and logs it with its enrolment id."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

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
            template = _template(scope["path"], params) if scope.get("route") is not None else "unmatched"
            method = scope["method"]
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
