"""The web app: the built single-page app (``frontend/dist``) served at ``/``.

The app is one ``index.html`` whose routes run in the browser, so any page path a router would
call unknown answers ``index.html`` and a deep link works on reload. Paths under ``/api/`` keep
their JSON 404, and a missing asset stays a 404 rather than a page. Built assets carry a hash in
their names, so they are cached for good; ``index.html`` is never cached, so a deploy shows at
once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import Scope

from microcred.config import Environment, Settings

DEFAULT_WEB_DIR = Path(__file__).resolve().parents[1] / "frontend" / "dist"
NOT_PAGES = ("/api/", "/assets/", "/.well-known/")
# Pages that exist only where anyone may sign in as anyone (dev and test deployments).
DEV_ONLY_PAGES = ("/sign-in/dev",)
# The API's documentation: where it is switched off, a 404, never the app.
API_DOCS = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>microcred</title></head>
<body><main><h1>The web app is not built</h1><p>Build it with <code>make web</code> (make dev does it
for you), or use the API at <a href="/docs">/docs</a>.</p></main></body></html>"""

Handler = Callable[[Request, Exception], Awaitable[Response]]


class Assets(StaticFiles):
    """Hashed build output: immutable, cached for a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def web_dir(settings: Settings) -> Path:
    return settings.web_dir or DEFAULT_WEB_DIR


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the app at ``/``: its assets, its top-level files and every page path."""
    root = web_dir(settings)
    index = root / "index.html"
    if (root / "assets").is_dir():
        app.mount("/assets", Assets(directory=root / "assets"), name="assets")
    hidden = API_DOCS + (DEV_ONLY_PAGES if settings.environment is Environment.PRODUCTION else ())

    def page(request: Request) -> Response | None:
        """What a browser asking for this path gets, when it is a page of the app."""
        path = request.url.path
        if request.method not in ("GET", "HEAD") or path.startswith(NOT_PAGES) or path in hidden:
            return None
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503)
        top_level = root / path.lstrip("/")
        if path.count("/") == 1 and path != "/" and top_level.is_file():  # favicon.svg, robots.txt
            return FileResponse(top_level)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    # Pages are the router's 404s: every API route, the docs and the probes are matched first.
    api_not_found = cast(Handler, app.exception_handlers[HTTPException])

    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        found = page(request) if exc.status_code == 404 else None
        return found if found is not None else await api_not_found(request, exc)

    app.add_exception_handler(HTTPException, not_found)
