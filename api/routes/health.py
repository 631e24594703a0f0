"""Liveness and readiness."""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import StateDep

router = APIRouter(tags=["health"])
log = logging.getLogger("microcred.api.health")
PROBE_TIMEOUT = 3.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def _database_answers(state: StateDep) -> None:
    with state.sessions() as session:
        session.execute(sa.text("SELECT 1"))


@router.get("/readyz", responses={503: {"description": "The database or Temporal does not answer."}})
async def readyz(state: StateDep) -> JSONResponse:
    """Ready when both the database and Temporal answer."""
    # The probe is public: it names the check that failed, and only the log says how (the
    # driver, the exception, an address).
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(asyncio.to_thread(_database_answers, state), PROBE_TIMEOUT)
        checks["database"] = "ok"
    except Exception:  # any failure means not ready; say which
        log.warning("not ready: the database does not answer", exc_info=True)
        checks["database"] = "error"
    try:
        await asyncio.wait_for(state.workflows.client.service_client.check_health(), PROBE_TIMEOUT)
        checks["temporal"] = "ok"
    except Exception:
        log.warning("not ready: Temporal does not answer", exc_info=True)
        checks["temporal"] = "error"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
    )
