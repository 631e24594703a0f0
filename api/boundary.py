"""The input boundary: no control character gets in, in a path, a query or a JSON body.

C0 control characters other than tab, newline and carriage return (NUL above all, which
PostgreSQL refuses in text) and lone UTF-16 surrogates (which no UTF-8 column can store) are
refused with 422 ``invalid_text`` before any route runs, so no request can carry them into the
database, a workflow's history or a notification. One rule, at one place: a field added
tomorrow is covered without anyone remembering to.

The Stripe webhook is left to its signature check: its payload is Stripe's, and refusing it
would lose the payment it reports. Evidence files sent to the data-folder store are bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from microcred.text import FORBIDDEN, describe

EXEMPT_PATHS = ("/api/v1/webhooks/stripe",)
# The data-folder store's uploads: a member's file, whatever its type, is bytes to store, not text.
EXEMPT_PREFIXES = ("/api/v1/storage/",)


class TextBoundary:
    """ASGI middleware: 422 ``invalid_text`` for a path, query or JSON body that holds a
    forbidden character, naming where (``path``, ``query.<name>``, ``body.marks[0].comment``),
    and for a JSON body whose bytes are no text at all (not UTF-8)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = _in_path_or_query(scope)
        if found is not None:
            await _refuse(send, *found)
            return
        if (
            scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE")
            or scope["path"] in EXEMPT_PATHS
            or scope["path"].startswith(EXEMPT_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        if not _is_json(scope) or _declared_length(scope) > self.max_body_bytes:
            await self.app(scope, receive, send)  # not ours to read (the app answers 413 or 422)
            return
        body, messages = await _read(receive, self.max_body_bytes)
        if body is not None:
            where = _in_json(body)
            if where is not None:
                await _refuse(send, *where)
                return
        await self.app(scope, _replay(messages, receive), send)


def _in_path_or_query(scope: Scope) -> tuple[str, str] | None:
    """Where a forbidden character is, and the refusal's message; None when there is none."""
    path: str = scope["path"]
    if FORBIDDEN.search(path):
        return "path", _forbidden(path)
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        for text in (name, value):
            if FORBIDDEN.search(text):
                return f"query.{name}", _forbidden(text)
    return None


def _is_json(scope: Scope) -> bool:
    for key, value in scope.get("headers", []):
        if key == b"content-type":
            kind: str = value.decode("latin-1").split(";", 1)[0].strip().lower()
            return kind == "application/json" or kind.endswith("+json")
    return False


def _declared_length(scope: Scope) -> int:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


async def _read(receive: Receive, limit: int) -> tuple[bytes | None, list[Message]]:
    """The whole body (None when it is larger than ``limit``: the app refuses it then), and the
    messages it came in, to hand on unchanged."""
    messages: list[Message] = []
    size, chunks = 0, []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages  # the client went away
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return (b"".join(chunks) if size <= limit else None), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _in_json(body: bytes) -> tuple[str, str] | None:
    try:
        document = json.loads(body)
    except UnicodeDecodeError:  # FastAPI would answer an undocumented 400
        return "body", "the body is not UTF-8 text"
    except (ValueError, RecursionError):
        return None  # not JSON: the app answers its own 422
    for where, text in _strings(document, "body"):
        if FORBIDDEN.search(text):
            return where, _forbidden(text)
    return None


def _forbidden(text: str) -> str:
    return f"{describe(text)} is not allowed in text"


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every string in a JSON document (keys too), with where it is."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield f"{where}.{key}", key
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")


async def _refuse(send: Send, where: str, message: str) -> None:
    body = json.dumps(
        {
            "detail": {
                "code": "invalid_text",
                "message": message,
                "field": re.sub(r"[^\x20-\x7e]", "?", where)[:200],
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
