"""Session-close arithmetic in New York time, on int nanoseconds.

DAY orders expire at the first weekday close strictly after they were accepted; there
is no holiday calendar yet.  Results are cached per day because a backtest asks the
same question for every order.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
_NS = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ns_to_datetime(ns: int) -> datetime:
    """Int ns UTC -> aware UTC datetime (microsecond precision)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


def _close_ns(day: datetime, close: time) -> int:
    local = datetime(day.year, day.month, day.day, close.hour, close.minute, tzinfo=NEW_YORK)
    delta = local - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _NS


@lru_cache(maxsize=4096)
def _next_close_from_day(ordinal: int, close: time) -> tuple[int, int]:
    """(this day's close if a weekday else 0, the first weekday close after this day)."""
    day = datetime.fromordinal(ordinal)
    today = _close_ns(day, close) if day.weekday() < 5 else 0
    nxt = day + timedelta(days=1)
    while nxt.weekday() >= 5:
        nxt += timedelta(days=1)
    return today, _close_ns(nxt, close)


def next_close(ns: int, close: time) -> int:
    """The first weekday ``close`` (New York) strictly after ``ns``."""
    local = ns_to_datetime(ns).astimezone(NEW_YORK)
    today, following = _next_close_from_day(local.toordinal(), close)
    return today if today > ns else following


def previous_close(ns: int, close: time) -> int:
    """The last weekday ``close`` (New York) at or before ``ns``."""
    local = ns_to_datetime(ns).astimezone(NEW_YORK)
    day = datetime(local.year, local.month, local.day)
    for _ in range(8):
        if day.weekday() < 5:
            c = _close_ns(day, close)
            if c <= ns:
                return c
        day -= timedelta(days=1)
    raise AssertionError("unreachable: a weekday within 8 days")
