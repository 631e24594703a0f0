"""Calendar arithmetic for the credential policies (ISO 8601 durations such as ``P10M``).

``isodate`` adds calendar months (January 31 + P1M is February 28), which a day count cannot.
Pure and deterministic, so workflows use it directly (passed through the sandbox).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

import isodate


class InvalidDuration(ValueError):
    pass


@lru_cache(maxsize=256)  # a handful of policy strings, parsed on every alarm otherwise
def parse(text: str) -> timedelta | isodate.Duration:
    """A non-negative ISO 8601 duration, or ``InvalidDuration``."""
    try:
        value = isodate.parse_duration(text)
    except (isodate.ISO8601Error, TypeError, ValueError) as exc:
        raise InvalidDuration(f"{text!r} is not an ISO 8601 duration such as P10M or PT24H") from exc
    anchor = datetime(2000, 1, 1, tzinfo=UTC)
    if anchor + value < anchor:
        raise InvalidDuration(f"{text!r} is negative")
    return value


def add(moment: datetime, duration: str) -> datetime:
    """``moment`` plus ``duration`` on the calendar."""
    result: datetime = moment + parse(duration)
    return result


def subtract(moment: datetime, duration: str) -> datetime:
    """``moment`` minus ``duration`` on the calendar."""
    result: datetime = moment - parse(duration)
    return result


def approximate(duration: str) -> timedelta:
    """The length of ``duration`` counted from 2000-01-01; for ordering and bounds checks only."""
    anchor = datetime(2000, 1, 1, tzinfo=UTC)
    return add(anchor, duration) - anchor
