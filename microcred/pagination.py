"""Cursor pagination (keyset): a page is the rows after the last one the client has seen.

A cursor is the sort key of the last row of the previous page, opaque to clients (base64url of
a small JSON list). Keyset pages stay correct while rows are added and cost one indexed range
scan however deep the client goes, unlike OFFSET.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from microcred.errors import InvalidRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class Key:
    """One sort column: its SQL expression, its direction, and whether its values are datetimes."""

    column: Any
    descending: bool = False
    is_datetime: bool = False


def encode(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(cursor: str, keys: Sequence[Key]) -> list[Any]:
    """The sort key a cursor holds; a cursor this listing did not hand out is refused with 422."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(keys):
            raise ValueError("wrong shape")
        return [datetime.fromisoformat(v) if k.is_datetime else v for v, k in zip(raw, keys, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidRequest("this cursor is not one a previous page handed out", field="cursor") from exc


def after(keys: Sequence[Key], values: Sequence[Any]) -> Any:
    """SQL: the row sorts after ``values`` (lexicographically, each column in its direction)."""
    clauses = []
    for i, key in enumerate(keys):
        equal = [keys[j].column == values[j] for j in range(i)]
        beyond = key.column < values[i] if key.descending else key.column > values[i]
        clauses.append(sa.and_(*equal, beyond))
    return sa.or_(*clauses)


def order(keys: Sequence[Key]) -> list[Any]:
    return [k.column.desc() if k.descending else k.column.asc() for k in keys]


def paginate(query: Any, keys: Sequence[Key], *, cursor: str | None, limit: int) -> Any:
    """``query`` ordered by ``keys``, from after ``cursor``, one row more than ``limit`` (so the
    caller knows whether another page follows; see ``page``)."""
    if cursor:
        query = query.where(after(keys, decode(cursor, keys)))
    return query.order_by(*order(keys)).limit(limit + 1)


def page(rows: Sequence[Any], *, limit: int, key_of: Any) -> tuple[list[Any], str | None]:
    """The first ``limit`` rows and the cursor of the next page (None on the last page)."""
    items = list(rows[:limit])
    next_cursor = encode(key_of(items[-1])) if len(rows) > limit and items else None
    return items, next_cursor
