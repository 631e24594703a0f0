"""The FastAPI application: ``create_app`` and its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Header
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.engine import Engine

from api import errors, webapp
from api.boundary import TextBoundary
from api.deps import AppState
from api.headers import SecurityHeaders
from api.ratelimit import RateLimits
from api.routes import (
    admin,
    attachments,
    auth,
    badges,
    catalog,
    checkout,
    desk,
    enrolments,
    evaluators,
    health,
    learning,
    reviews,
    storage,
    webhooks,
)
from api.telemetry import HttpMetrics, RouteTemplates, Telemetry, check_metrics_access
from microcred.auth import TokenVerifier
from microcred.badges import BadgeIssuer
from microcred.config import Settings
from microcred.db import create_db_engine, make_session_factory
from microcred.temporal.client import WorkflowClient, connect

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 1024 * 1024
# Stripe's deliveries are never rate limited (api/ratelimit.py says why).
RATE_LIMIT_EXEMPT = (f"{API_PREFIX}/webhooks/stripe",)


@dataclass
class BuiltState(AppState):
    """The state this process built, with what it must close."""

    engine: Engine | None = None


async def build_state(settings: Settings) -> BuiltState:
    """The long-lived clients of one API process."""
    engine = create_db_engine(settings.sqlalchemy_url)
    client = await connect(settings, lazy=True)
    return BuiltState(
        engine=engine,
        settings=settings,
        sessions=make_session_factory(engine),
        workflows=WorkflowClient(client, task_queue=settings.task_queue),
        verifier=TokenVerifier.from_settings(settings),
        issuer=BadgeIssuer.from_settings(settings),
    )


def operation_id(route: APIRoute) -> str:
    """OpenAPI operation ids are the route functions' names, which name the generated client's
    functions (``get_enrolment`` becomes ``getEnrolment``)."""
    return route.name


def create_app(
    settings: Settings | None = None, *, state: AppState | None = None, rate_limits: RateLimits | None = None
) -> FastAPI:
    """The API and the web app; tests pass a ready ``state`` (their own clients) and may pass
    ``rate_limits`` (their own counters); processes pass settings (or none: then they are read
    from the environment here, never at import)."""
    settings = settings or (state.settings if state is not None else Settings())
    limits = rate_limits or RateLimits.from_settings(settings, prefix=API_PREFIX, exempt=RATE_LIMIT_EXEMPT)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state is not None:
            app.state.microcred = state
            yield
            await limits.close()
            return
        built = await build_state(settings)
        app.state.microcred = built
        yield
        await limits.close()
        if built.engine is not None:
            built.engine.dispose()  # close the pool's connections on shutdown

    # The docs are off in production unless asked for; the document itself is still built
    # in-process from the app (``app.openapi()``: ``make client``, ``python -m api.openapi``).
    docs = settings.serves_api_docs
    app = FastAPI(
        title="microcred",
        version="1.0",
        summary="Paid micro-credentials: buy, work, submit, review, resubmit, earn a badge.",
        lifespan=lifespan,
        max_body_size=MAX_BODY_BYTES,  # larger bodies get 413 before they are read whole
        generate_unique_id_function=operation_id,
        dependencies=[Depends(limits.by_address)],  # only writes under /api/v1 count
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    app.state.rate_limits = limits
    metrics = HttpMetrics()
    app.add_middleware(TextBoundary, max_body_bytes=MAX_BODY_BYTES)  # inner: Telemetry counts its 422s
    app.add_middleware(Telemetry, metrics=metrics, templates=RouteTemplates(app.routes))
    if settings.cors_origins:  # the web app itself is same-origin and needs none
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(SecurityHeaders)
    errors.install(app)
    limits.document(app)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics(authorization: Annotated[str | None, Header()] = None) -> Response:
        check_metrics_access(settings, authorization)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(health.router)
    app.include_router(badges.wellknown)
    for module in (
        catalog,
        evaluators,
        enrolments,
        attachments,
        storage,
        learning,
        reviews,
        webhooks,
        checkout,
        badges,
        admin,
        desk,
    ):
        app.include_router(module.router, prefix=API_PREFIX)
    auth.include(app, settings, API_PREFIX)
    webapp.install(app, settings)  # last: the app's pages are the paths no route above matches
    return app
