"""Calendar arithmetic for the credential policies (ISO 8601 durations such as ``P10M``).

``isodate`` adds calendar months (January 31 + P1M is February 28), which a day count cannot.
Pure and deterministic, so workflows use it directly (passed through the sandbox).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

import isodate

# No policy published or extension granted is longer: far beyond any course, and every deadline
# computed from one stays a representable date (the calendar ends in the year 9999). Checked where
# a duration is accepted (``check_bounded``), never where a stored one is read or used.
LONGEST = "P100Y"
_ANCHOR = datetime(2000, 1, 1, tzinfo=UTC)


class InvalidDuration(ValueError):
    pass


@lru_cache(maxsize=256)  # a handful of policy strings, parsed on every alarm otherwise
def parse(text: str) -> timedelta | isodate.Duration:
    """A non-negative ISO 8601 duration, or ``InvalidDuration``."""
    try:
        value = isodate.parse_duration(text)
    except (isodate.ISO8601Error, TypeError, ValueError, OverflowError) as exc:
        raise InvalidDuration(f"{text!r} is not an ISO 8601 duration such as P10M or PT24H") from exc
    try:
        later = _ANCHOR + value
    except (ValueError, OverflowError):  # beyond either end of the calendar
        later = datetime.min.replace(tzinfo=UTC) if text.startswith("-") else datetime.max.replace(tzinfo=UTC)
    if later < _ANCHOR:
        raise InvalidDuration(f"{text!r} is negative")
    if later == datetime.max.replace(tzinfo=UTC):
        raise InvalidDuration(f"{text!r} is longer than {LONGEST}")
    return value


def check_bounded(text: str) -> None:
    """``InvalidDuration`` unless ``text`` is a duration of at most ``LONGEST``."""
    if add(_ANCHOR, text) > add(_ANCHOR, LONGEST):
        raise InvalidDuration(f"{text!r} is longer than {LONGEST}")


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
    return add(_ANCHOR, duration) - _ANCHOR
