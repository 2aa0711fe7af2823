"""Exchange calendars: sessions, holidays, early closes and trading hours, on int nanoseconds.

The engine is given a calendar as it is given a clock (``pn.Engine(calendar=...)``); it only
asks it about engine time, never the wall clock.  A calendar is anything with the methods of
:class:`MarketCalendar`; :class:`Calendar` derives them all from one method, ``day(date)``.

- :class:`ExchangeCalendar` (the default, NYSE = ``XNYS``) reads the maintained
  ``exchange_calendars`` library: regular holidays with their names, ad hoc closures, early
  closes.  The library is imported on first use (it costs about a second) and each calendar
  is built for an explicit range of dates (a decade at a time, as questions need them: the
  library raises outside its default window otherwise).  Its name and version go with
  backtest results (``res.calendar``), since holiday data changes between releases.
- :class:`WeekdayCalendar`: every weekday 09:30-16:00 New York, no holidays (tests, or the old
  behaviour on purpose).
- :class:`CloseOverride`: another calendar whose sessions all close at one wall time
  (``EngineConfig.session_close``).

Extended hours are 04:00 to 20:00 New York on trading days (until 17:00, four hours after
the close, on early-close days).  Every answer is cached per day: a backtest asks the same
question for every order.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from ..errors import ConfigError
from .model import MarketState

NEW_YORK = ZoneInfo("America/New_York")
_NS = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PRE_OPEN = time(4, 0)
_POST_CLOSE = time(20, 0)
_POST_AFTER_EARLY = 4 * 3600 * _NS  # after hours end 4 h after an early close (13:00 -> 17:00)
_SEARCH_DAYS = 40  # no exchange closes for longer than this (NYSE's longest since 1914: 4 days + a weekend)


def to_ns(dt: datetime) -> int:
    """An aware datetime -> int ns UTC (whole seconds and microseconds exactly)."""
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1000


def local_datetime(ns: int, tz: ZoneInfo = NEW_YORK) -> datetime:
    """Int ns UTC -> aware datetime in ``tz`` (microsecond precision)."""
    return (_EPOCH + timedelta(microseconds=ns // 1000)).astimezone(tz)


def _at(d: date, t: time, tz: ZoneInfo) -> int:
    return to_ns(datetime(d.year, d.month, d.day, t.hour, t.minute, tzinfo=tz))


@dataclass(frozen=True, slots=True)
class Day:
    """One calendar day of an exchange.  Times are int ns UTC; all None when there is no session.

    ``holiday`` names a weekday without a session ("Thanksgiving Day"); ``early`` is True when
    the session closes before its regular time.  ``pre`` / ``post`` bound the extended hours.
    """

    date: date
    open: int | None = None
    close: int | None = None
    early: bool = False
    holiday: str | None = None
    pre: int | None = None
    post: int | None = None

    @property
    def is_session(self) -> bool:
        return self.open is not None


@runtime_checkable
class MarketCalendar(Protocol):
    """What the engine asks of a calendar (``Calendar`` implements all of it from ``day``)."""

    name: str
    tz: ZoneInfo

    @property
    def source(self) -> str:
        """Which data answers: library and version ("exchange_calendars 4.13.2"), for results."""
        ...

    def day(self, d: date) -> Day: ...
    def day_at(self, ns: int) -> Day: ...
    def session(self, d: date) -> tuple[int, int] | None: ...
    def holiday(self, d: date) -> str | None: ...
    def early_close(self, d: date) -> int | None: ...
    def next_open(self, ns: int, extended: bool = False) -> int: ...
    def next_close(self, ns: int) -> int: ...
    def previous_close(self, ns: int) -> int: ...
    def trading_window(self, ns: int, extended: bool = False) -> tuple[bool, int]: ...


class Calendar:
    """The derived questions, from ``day(date)`` alone (subclasses cache their days)."""

    name = "calendar"
    tz: ZoneInfo = NEW_YORK

    @property
    def source(self) -> str:
        return "papernb"

    def describe(self) -> str:
        """One line for results and logs: "XNYS (exchange_calendars 4.13.2)"."""
        return f"{self.name} ({self.source})"

    def day(self, d: date) -> Day:  # pragma: no cover - abstract
        raise NotImplementedError

    def day_at(self, ns: int) -> Day:
        """The day (in the exchange's time zone) that ``ns`` falls in."""
        return self.day(local_datetime(ns, self.tz).date())

    def session(self, d: date) -> tuple[int, int] | None:
        """(open, close) of the session on ``d``, or None (weekend, holiday)."""
        x = self.day(d)
        return None if x.open is None else (x.open, x.close)  # type: ignore[return-value]

    def holiday(self, d: date) -> str | None:
        """The name of the holiday on ``d`` (a weekday without a session), or None."""
        return self.day(d).holiday

    def early_close(self, d: date) -> int | None:
        """The close of ``d`` when it is early (13:00 the day after Thanksgiving), else None."""
        x = self.day(d)
        return x.close if x.early else None

    def next_close(self, ns: int) -> int:
        """The first session close strictly after ``ns`` (when a DAY order placed at ``ns`` expires)."""
        d = local_datetime(ns, self.tz).date()
        for _ in range(_SEARCH_DAYS):
            x = self.day(d)
            if x.close is not None and x.close > ns:
                return x.close
            d += timedelta(days=1)
        raise ConfigError(f"calendar {self.name}: no session within {_SEARCH_DAYS} days after {d}")

    def previous_close(self, ns: int) -> int:
        """The last session close at or before ``ns`` (day P/L counts from there)."""
        d = local_datetime(ns, self.tz).date()
        for _ in range(_SEARCH_DAYS):
            x = self.day(d)
            if x.close is not None and x.close <= ns:
                return x.close
            d -= timedelta(days=1)
        raise ConfigError(f"calendar {self.name}: no session within {_SEARCH_DAYS} days before {d}")

    def next_open(self, ns: int, extended: bool = False) -> int:
        """The first regular open (or extended-hours start) strictly after ``ns``."""
        d = local_datetime(ns, self.tz).date()
        for _ in range(_SEARCH_DAYS):
            x = self.day(d)
            t = x.pre if extended else x.open
            if t is not None and t > ns:
                return t
            d += timedelta(days=1)
        raise ConfigError(f"calendar {self.name}: no session within {_SEARCH_DAYS} days after {d}")

    def trading_window(self, ns: int, extended: bool = False) -> tuple[bool, int]:
        """(may orders fill at ``ns``, when that next changes): regular hours, or extended ones."""
        x = self.day_at(ns)
        if x.open is not None:
            lo, hi = (x.pre, x.post) if extended else (x.open, x.close)
            if lo <= ns < hi:  # type: ignore[operator]
                return True, hi  # type: ignore[return-value]
        return False, self.next_open(ns, extended)


def _when(ns: int, now: int, tz: ZoneInfo) -> str:
    """ "Mon 09:30" (a date too when it is a week or more away)."""
    t = local_datetime(ns, tz)
    if ns - now >= 6 * 86_400 * _NS:
        return t.strftime("%a %b %d %H:%M")
    return t.strftime("%a %H:%M")


def closed_reason(cal: MarketCalendar, ns: int, extended: bool) -> str:
    """What an order waits for while the trading hours are closed."""
    nxt = cal.next_open(ns, extended)
    return f"market closed: waits for {'pre-market' if extended else 'the open'} {_when(nxt, ns, cal.tz)}"


def market_state(cal: MarketCalendar, ns: int, trading_hours: str, exempt: bool = False) -> MarketState:
    """Where the market is in its day at ``ns``, in the banner's words.

    ``exempt`` (futures: symbols starting with ``/``) means the exchange's hours do not apply.
    """
    tz = cal.tz
    if not ns:
        return MarketState("closed", "No engine time yet (no quotes)", trading_hours, trading_hours == "always",
                           ns, None, None)
    x = cal.day_at(ns)
    nxt_open, nxt_close = cal.next_open(ns), cal.next_close(ns)
    if exempt:
        return MarketState("open", "Market open (futures: exchange hours not applied)", trading_hours, True, ns,
                           nxt_open, nxt_close)
    if x.open is None:
        if x.holiday is not None:
            state, text = "holiday", f"Holiday: {x.holiday}"
        else:
            state, text = "closed", f"Market closed until {_when(nxt_open, ns, tz)}"
    elif x.open <= ns < x.close:  # type: ignore[operator]
        if x.early:
            state, text = "early close", f"Early close {local_datetime(x.close, tz):%H:%M}"  # type: ignore[arg-type]
        else:
            state, text = "open", "Market open"
    elif x.pre <= ns < x.open:  # type: ignore[operator]
        state, text = "pre-market", "Pre-market"
    elif x.close <= ns < x.post:  # type: ignore[operator]
        state, text = "after hours", "After hours"
    else:
        state, text = "closed", f"Market closed until {_when(nxt_open, ns, tz)}"
    if trading_hours == "always":
        trading = True
    elif trading_hours == "extended":
        trading = state in ("open", "early close", "pre-market", "after hours")
    else:
        trading = state in ("open", "early close")
    return MarketState(state, text, trading_hours, trading, ns, nxt_open, nxt_close)


def _session_day(d: date, open_: int, close: int, early: bool, tz: ZoneInfo) -> Day:
    post = close + _POST_AFTER_EARLY if early else max(_at(d, _POST_CLOSE, tz), close)
    return Day(d, open_, close, early, None, min(_at(d, _PRE_OPEN, tz), open_), post)


class WeekdayCalendar(Calendar):
    """Every weekday a session (09:30-16:00 New York by default); no holidays, no early closes."""

    name = "weekdays"

    def __init__(self, open: time = time(9, 30), close: time = time(16, 0), tz: ZoneInfo = NEW_YORK) -> None:
        self.open_time, self.close_time, self.tz = open, close, tz
        self._days: dict[date, Day] = {}

    @property
    def source(self) -> str:
        return f"papernb weekdays {self.open_time:%H:%M}-{self.close_time:%H:%M}, no holidays"

    def day(self, d: date) -> Day:
        x = self._days.get(d)
        if x is None:
            if d.weekday() < 5:
                x = _session_day(d, _at(d, self.open_time, self.tz), _at(d, self.close_time, self.tz), False,
                                 self.tz)
            else:
                x = Day(d)
            self._days[d] = x
        return x


class CloseOverride(Calendar):
    """``base``'s sessions, each closing at ``close`` (local wall time): ``EngineConfig.session_close``."""

    def __init__(self, base: MarketCalendar, close: time) -> None:
        self.base, self.close_time = base, close
        self.name, self.tz = base.name, base.tz
        self._days: dict[date, Day] = {}

    @property
    def source(self) -> str:
        return f"{self.base.source}; every session closes at {self.close_time:%H:%M} (session_close)"

    def day(self, d: date) -> Day:
        x = self._days.get(d)
        if x is None:
            b = self.base.day(d)
            if b.open is None:
                x = b
            else:
                close = max(_at(d, self.close_time, self.tz), b.open + 1)
                x = _session_day(d, b.open, close, False, self.tz)
            self._days[d] = x
        return x


#: The library's holiday names, where the exchange's own is longer (the banner says "Holiday: ...").
_DISPLAY_NAMES = {"Thanksgiving": "Thanksgiving Day", "Christmas": "Christmas Day", "July 4th": "Independence Day",
                  "President's Day": "Washington's Birthday"}
_SPECIAL = "special closure"  # the library's ad hoc closures carry no name
_LIBRARY = "exchange_calendars"
#: (code, first year of a decade) -> that decade's days; shared by every calendar of this process
_DECADES: dict[tuple[str, int], dict[date, Day]] = {}


def library_version() -> str:
    """The installed ``exchange_calendars`` version, read without importing the library."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(_LIBRARY)
    except PackageNotFoundError:
        return "not installed"


class ExchangeCalendar(Calendar):
    """An exchange's sessions from the ``exchange_calendars`` library (``code`` "XNYS" = NYSE).

    ``start`` / ``end`` bound the dates it answers for (a question outside raises ``ConfigError``);
    without them it covers 1990-2109 (the years papernb's quotes may carry), built a decade at
    a time when first needed, each build with an explicit range.
    """

    def __init__(self, code: str = "XNYS", start: date | str | None = None, end: date | str | None = None) -> None:
        self.name = code
        self.tz = NEW_YORK
        self.start = date.fromisoformat(start) if isinstance(start, str) else start
        self.end = date.fromisoformat(end) if isinstance(end, str) else end
        if (self.start is None) != (self.end is None):
            raise ConfigError("give a calendar both start and end, or neither")
        if self.start is not None and self.end is not None and self.start > self.end:  # type: ignore[operator]
            raise ConfigError(f"calendar start {self.start} is after its end {self.end}")
        self._days: dict[date, Day] = {}

    @property
    def library(self) -> str:
        return _LIBRARY

    @property
    def version(self) -> str:
        return library_version()

    @property
    def source(self) -> str:
        return f"{_LIBRARY} {self.version}"

    def day(self, d: date) -> Day:
        x = self._days.get(d)
        if x is None:
            self._load(d)
            x = self._days[d]
        return x

    def _load(self, d: date) -> None:
        if self.start is not None:
            if not self.start <= d <= self.end:  # type: ignore[operator]
                raise ConfigError(f"calendar {self.name} was built for {self.start} to {self.end}; "
                                  f"{d} is outside it")
            self._days.update(_build(self.name, self.start, self.end, self.tz))  # type: ignore[arg-type]
            return
        if not 1990 <= d.year <= 2109:
            raise ConfigError(f"calendar {self.name} covers 1990 to 2109; {d} is outside it")
        y0 = d.year // 10 * 10
        key = (self.name, y0)
        days = _DECADES.get(key)
        if days is None:
            days = _DECADES[key] = _build(self.name, date(y0, 1, 1), date(y0 + 9, 12, 31), self.tz)
        self._days.update(days)


def _build(code: str, start: date, end: date, tz: ZoneInfo) -> dict[date, Day]:
    """Every day from ``start`` to ``end`` from the library, for an explicit range."""
    try:
        import exchange_calendars as xc
    except ImportError:
        raise ConfigError("the exchange calendar needs the exchange_calendars package: "
                          "pip install exchange_calendars") from None
    with warnings.catch_warnings():  # 4.13 reads Series.values, which pandas 3.1 deprecates: not ours to fix
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        cal = xc.get_calendar(code, start=start.isoformat(), end=end.isoformat())
        sched = cal.schedule
        early = {t.date() for t in cal.early_closes}
        holidays = cal.regular_holidays
        named = None if holidays is None else holidays.holidays(start.isoformat(), end.isoformat(),
                                                                  return_name=True)
    names: dict[date, str] = {}
    if named is not None:
        for t, n in named.items():
            names[t.date()] = _DISPLAY_NAMES.get(str(n), str(n))
    days: dict[date, Day] = {}
    for day_, o, c in zip(sched.index, sched["open"], sched["close"], strict=True):
        d = day_.date()
        days[d] = _session_day(d, o.value, c.value, d in early, tz)
    d = start
    one = timedelta(days=1)
    while d <= end:
        if d not in days:
            days[d] = Day(d, holiday=(names.get(d) or _SPECIAL) if d.weekday() < 5 else None)
        d += one
    return days


_DEFAULT: dict[str, ExchangeCalendar] = {}


def default_calendar() -> ExchangeCalendar:
    """The NYSE calendar every engine uses unless given another (one per process; built lazily)."""
    cal = _DEFAULT.get("XNYS")
    if cal is None:
        cal = _DEFAULT["XNYS"] = ExchangeCalendar("XNYS")
    return cal


def engine_calendar(calendar: MarketCalendar | None, session_close: time | None) -> MarketCalendar:
    """The calendar an engine uses: the one given (NYSE by default), with ``session_close`` applied."""
    cal = default_calendar() if calendar is None else calendar
    if not isinstance(cal, MarketCalendar):
        raise ConfigError(f"calendar must be a papernb.engine.calendar.MarketCalendar, was {calendar!r}")
    if session_close is not None:
        cal = CloseOverride(cal, session_close)
    return cal
