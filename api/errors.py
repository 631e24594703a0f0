"""Domain errors to HTTP: one handler per base class, resolved along the MRO.

Every error body is ``{"detail": {"code": ..., "message": ..., <extra fields>}}``, the router's
own (an unknown path, a method a path does not take) included; request-shape errors keep
FastAPI's standard 422 body.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException

from api.schemas import ErrorBody
from microcred import errors

STATUS: dict[type[errors.MicrocredError], int] = {
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Unprocessable: 422,
    errors.TooLarge: 413,
    errors.BadWebhook: 400,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
}


DESCRIPTIONS = {
    400: "The request is malformed (a webhook's signature or payload).",
    401: "No token, or a bad or expired one.",
    403: "The token's role may not do this.",
    404: "No such resource, or not yours.",
    409: "The resource's state does not allow this now.",
    413: "Over a limit on evidence files (`evidence_too_large`, `evidence_quota_exceeded`); the "
    "message names the limit.",
    422: "The request breaks a rule; `detail.code` says which.",
    429: "Too many writes (`rate_limited`); try again after `Retry-After` seconds.",
    503: "The database or the lifecycle engine cannot be reached, or the enrolment is busy: try "
    "again after `Retry-After` seconds.",
}


def documented(*statuses: int, bodies: dict[int, Any] | None = None) -> dict[int | str, Any]:
    """OpenAPI ``responses`` for these error statuses, each with the error body's schema, or
    the more specific one ``bodies`` names: a model, or a union of the models a status may
    answer (``{409: ErrorBody | VersionConflictBody}``)."""
    bodies = bodies or {}
    return {
        status: {"model": bodies.get(status, ErrorBody), "description": DESCRIPTIONS[status]}
        for status in sorted({*statuses, *bodies})
    }


def documented_as_json(*statuses: int) -> dict[int | str, Any]:
    """``documented`` for a route whose success is no JSON (a page, a redirect): its errors are
    still the JSON error body, which FastAPI would otherwise give the route's media type."""
    return {
        status: {
            "description": DESCRIPTIONS[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
        for status in sorted(statuses)
    }


def status_of(error: errors.MicrocredError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.MicrocredError)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if isinstance(exc, errors.Unavailable):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    if "retry_after" in exc.extra:  # a wait of this error's own, which the body names too
        headers["Retry-After"] = str(exc.extra["retry_after"])
    return JSONResponse(
        status_code=status,
        content=jsonable_encoder({"detail": {"code": exc.code, "message": exc.message, **exc.extra}}),
        headers=headers,
    )


async def _database_unreachable(request: Request, exc: Exception) -> JSONResponse:
    """The database down or restarting (a refused or dropped connection, a pool with none free):
    a moment's wait, not a server error. Its transaction was rolled back."""
    unavailable = errors.Unavailable("the database did not answer; try again in a few seconds")
    return await _domain_error(request, unavailable)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """The router's errors in the same shape: ``not_found``, ``method_not_allowed``..."""
    assert isinstance(exc, HTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    message = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else phrase.lower()
    return JSONResponse(
        status_code=exc.status_code,
        content={"detail": {"code": code, "message": message}},
        headers=exc.headers,
    )


REFUSAL_422 = {
    "description": "The request breaks a rule: `detail.code` says which (`invalid_text` for a control "
    "character in a path, query or body, anywhere); or its shape is wrong (FastAPI's list of errors).",
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [
                    {"$ref": "#/components/schemas/ErrorBody"},
                    {"$ref": "#/components/schemas/HTTPValidationError"},
                ]
            }
        }
    },
}


NOT_FOUND_404 = {
    "description": DESCRIPTIONS[404],
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}


UNAVAILABLE_503 = {
    "description": DESCRIPTIONS[503],
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}


TOO_LARGE_413 = {
    "description": "The body is larger than the API reads (`max_body_size`): FastAPI's plain-text answer.",
    "content": {"text/plain": {"schema": {"type": "string"}}},
}


def _document_refusals(app: FastAPI) -> None:
    """Every operation may answer 422 (the input boundary of ``api/boundary.py`` runs before any
    route), in either body: the API's own error, or FastAPI's validation list; 404 where the
    path has a parameter (one holding "/" matches no route); 503 (the database may be
    restarting under any of them); every write may answer 413 (FastAPI stops reading an
    oversized body before any route)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        cached = app.openapi_schema is not None
        doc = build()
        if not cached:
            for path, operations in doc["paths"].items():
                for method, operation in operations.items():
                    responses = operation.setdefault("responses", {})
                    responses["422"] = REFUSAL_422
                    responses.setdefault("503", UNAVAILABLE_503)
                    if "{" in path:  # a parameter holding "/" (%2F) matches no route: the router's 404
                        responses.setdefault("404", NOT_FOUND_404)
                    if method in ("post", "put", "patch"):
                        responses["413"] = TOO_LARGE_413
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.MicrocredError, _domain_error)
    app.add_exception_handler(HTTPException, _http_error)
    # OperationalError: refused or dropped connections; TimeoutError: no pooled connection free.
    for unreachable in (sa_exc.OperationalError, sa_exc.TimeoutError):
        app.add_exception_handler(unreachable, _database_unreachable)
    _document_refusals(app)
