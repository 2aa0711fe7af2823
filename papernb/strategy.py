"""A strategy, normalised: the same object runs in ``pn.backtest`` and live with ``session.run``.

A strategy is a function ``on_quote(ctx, quote)`` or an object (or class) with ``on_quote`` and
optional ``on_start(ctx)``, ``on_fill(ctx, fill)``, ``on_order(ctx, order)``, ``on_end(ctx)``.
``ctx`` is the :class:`~papernb.Account` it trades.  The runner (one class for both worlds) hands
it each quote right after the engine matched on it, and, before and after each callback:

- ``on_order(ctx, order)`` once for every change of the strategy's own orders (the orders it
  placed through ``ctx``, and the bracket children of those), in journal order: ``order`` is an
  :class:`OrderChange`, the order as it stood right after that change (an ``OrderView``) with
  ``order.event`` naming it (``accepted``, ``rejected``, ``rested``, ``triggered``, ``replaced``,
  ``partially_filled``, ``filled``, ``cancelled``, ``expired``, ``linked``, ``resized``).  It is
  called after the command or quote that made the change has committed, never from inside
  ``ctx.buy()``; a trailing stop's level moves are not changes (read ``o.stop``);
- ``on_fill(ctx, fill)`` for every fill of its account, after the ``on_order`` calls;
- timers set with ``ctx.schedule(every="1min", fn=...)`` or ``ctx.schedule(at="15:55", fn=...)``
  in ``on_start``: ``fn(ctx)`` runs on engine time, the quotes' time in a backtest (so a run is
  deterministic) and the wall clock live.  ``every`` fires at each multiple of the period (UTC);
  ``at`` once per session day (a weekday) at that New York time.  Times skipped by a gap in the
  quotes are not caught up: after a gap an ``every`` timer fires once, and an ``at`` time whose
  day has passed does not fire.  A timer fires before the quote (or the clock tick) that reached
  its time is handed to ``on_quote``; the quote has already been matched.
"""

from __future__ import annotations

import heapq
import re
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as dtime
from functools import partial
from typing import Any

from .engine import Account
from .engine.calendar import NEW_YORK, local_datetime
from .engine.calendar import to_ns as _to_ns
from .engine.events import STREAM_NAMES, Event
from .engine.model import OrderView
from .errors import InvalidInput
from .quote import Quote

__all__ = ["OrderChange", "Strategy", "StrategyRunner", "Timer"]

_NS = 1_000_000_000
_NEVER = 1 << 62
_UNITS = {"ms": 10**6, "s": _NS, "sec": _NS, "second": _NS, "seconds": _NS, "min": 60 * _NS, "m": 60 * _NS,
          "minute": 60 * _NS, "minutes": 60 * _NS, "h": 3600 * _NS, "hr": 3600 * _NS, "hour": 3600 * _NS,
          "hours": 3600 * _NS, "d": 86_400 * _NS, "day": 86_400 * _NS, "days": 86_400 * _NS}
_EVERY_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]+)\s*", re.ASCII)
_AT_RE = re.compile(r"\s*([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?\s*", re.ASCII)
#: the order events ``on_order`` hears about (a trailing stop's level moves are not changes)
ORDER_CHANGES = {k: v for k, v in STREAM_NAMES.items() if k != "OrderTrailMoved"}


class OrderChange(OrderView):
    """An order right after one change (``on_order``): every ``OrderView`` field, and ``event``."""

    __slots__ = ()
    _fields = (*OrderView._fields, "event")

    @property
    def event(self) -> str:
        """What changed: ``accepted``, ``filled``, ``cancelled`` ... (the Broker stream's names)."""
        return self[31]


class Strategy:
    """The user's strategy as callables (all but ``on_quote`` may be None)."""

    def __init__(self, strategy: Any) -> None:
        if isinstance(strategy, type):
            strategy = strategy()
        self.obj = strategy
        if callable(getattr(strategy, "on_quote", None)):
            self.on_quote = strategy.on_quote
        elif callable(strategy):
            self.on_quote = strategy
        else:
            raise InvalidInput("a strategy is a function on_quote(ctx, quote) or an object with on_quote")
        self.on_fill = getattr(strategy, "on_fill", None)
        self.on_order = getattr(strategy, "on_order", None)
        self.on_start = getattr(strategy, "on_start", None)
        self.on_end = getattr(strategy, "on_end", None)


def parse_every(every: Any) -> int:
    """A period -> int ns: ``"1min"``, ``"30s"``, ``"2h"``, ``"250ms"``, seconds as a number, a timedelta."""
    if isinstance(every, timedelta):
        ns = (every.days * 86_400 + every.seconds) * _NS + every.microseconds * 1000
    elif isinstance(every, int | float) and not isinstance(every, bool):
        ns = int(every * _NS)
    elif isinstance(every, str) and (m := _EVERY_RE.fullmatch(every.lower())) and m.group(2) in _UNITS:
        ns = int(float(m.group(1)) * _UNITS[m.group(2)])
    else:
        raise InvalidInput(f"every must be a period like '1min', '30s', '2h' or a number of seconds, was {every!r}")
    if ns < 1_000_000:
        raise InvalidInput(f"every must be at least 1 ms, was {every!r}")
    return ns


def parse_at(at: Any) -> dtime:
    """A New York time of day: ``"15:55"``, ``"09:30:05"`` or a ``datetime.time``."""
    if isinstance(at, dtime):
        return at.replace(microsecond=0, tzinfo=None)
    m = _AT_RE.fullmatch(at) if isinstance(at, str) else None
    if m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59 or int(m.group(3) or 0) > 59:
        raise InvalidInput(f"at must be a New York time like '15:55', was {at!r}")
    return dtime(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


class Timer:
    """A scheduled ``fn(ctx)``; ``cancel()`` stops it.  ``next_at`` is when it fires next (int ns)."""

    def __init__(self, fn: Callable[[Any], object], every: int | None, at: dtime | None, now: int) -> None:
        self.fn, self.every, self.at = fn, every, at
        self.cancelled = False
        self.next_at = self._after(now)

    def _after(self, now: int) -> int:
        if self.every is not None:
            return (now // self.every + 1) * self.every
        return next_close(now, self.at)  # type: ignore[arg-type]  # the first weekday HH:MM NY after now

    def due(self, now: int) -> bool:
        """Fire now?  (Advances ``next_at`` either way: a time skipped by a gap is not caught up.)"""
        if self.every is not None:
            fire = now >= self.next_at
        else:  # the latest occurrence, if it is today's (an earlier day's was skipped by a gap)
            last = previous_close(now, self.at)  # type: ignore[arg-type]
            fire = last >= self.next_at and _ny_date(last) == _ny_date(now)
        self.next_at = self._after(now)
        return fire

    def cancel(self) -> None:
        self.cancelled = True

    def __repr__(self) -> str:
        what = f"every {self.every / _NS:g} s" if self.every is not None else f"at {self.at} New York"
        return f"<Timer {what} {getattr(self.fn, '__name__', self.fn)}{' cancelled' if self.cancelled else ''}>"


def _ny_date(ns: int) -> Any:
    return local_datetime(ns).date()


def _weekday_at(day: Any, at: dtime) -> int:
    return _to_ns(datetime.combine(day, at, tzinfo=NEW_YORK))


def next_close(ns: int, at: dtime) -> int:
    """The first weekday ``at`` (New York) strictly after ``ns``."""
    day = local_datetime(ns).date()
    for _ in range(9):
        if day.weekday() < 5:
            t = _weekday_at(day, at)
            if t > ns:
                return t
        day += timedelta(days=1)
    raise AssertionError("unreachable: a weekday within 9 days")


def previous_close(ns: int, at: dtime) -> int:
    """The last weekday ``at`` (New York) at or before ``ns``."""
    day = local_datetime(ns).date()
    for _ in range(9):
        if day.weekday() < 5:
            t = _weekday_at(day, at)
            if t <= ns:
                return t
        day -= timedelta(days=1)
    raise AssertionError("unreachable: a weekday within 9 days")


class StrategyRunner:
    """Drives one strategy on one account, in a backtest or live: start, a step per quote, time, end.

    ``engine`` is the book the account lives in (``on_order`` listens to it).
    """

    def __init__(self, strategy: Any, ctx: Account, engine: Any = None) -> None:
        self.strategy = strategy if isinstance(strategy, Strategy) else Strategy(strategy)
        self.ctx = ctx
        self.engine = engine
        done = ctx.fills(epoch="all")
        self._last_fill = done[-1].id if done else 0
        self._timers: list[tuple[int, int, Timer]] = []
        self._next_timer = _NEVER
        self._timer_seq = 0
        self._started = False
        self._fast = False
        self._acting = 0
        self._own: set[int] = set()
        self._pending: list[tuple[Event, OrderView]] = []
        self._ready: deque[OrderChange] = deque()
        self._unhook: list[Callable[[], None]] = []
        if self.strategy.on_order is not None:
            if engine is None:
                raise InvalidInput("on_order needs the runner to know the engine")
            self._unhook.append(engine.watch(self._applied))
            self._unhook.append(engine.subscribe(self._committed))
        ctx._runner = self  # type: ignore[attr-defined]  # ctx.schedule reaches the runner

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self.strategy.on_start is not None:
            self._call(self.strategy.on_start, self.ctx)
        self._started = True
        self.deliver()

    def end(self) -> None:
        self.poll()
        if self.strategy.on_end is not None:
            self._call(self.strategy.on_end, self.ctx)
        self.deliver()
        self.detach()

    def detach(self) -> None:
        for undo in self._unhook:
            undo()
        self._unhook = []
        if getattr(self.ctx, "_runner", None) is self:
            self.ctx._runner = None  # type: ignore[attr-defined]

    def _call(self, fn: Callable[..., object], *args: Any) -> None:
        self._acting += 1  # orders placed now are the strategy's own
        try:
            fn(*args)
        finally:
            self._acting -= 1

    # -- timers ------------------------------------------------------------------------------
    def schedule(self, every: Any = None, at: Any = None, fn: Callable[[Any], object] | None = None) -> Timer:
        if not callable(fn):
            raise InvalidInput("ctx.schedule needs fn=, a function of ctx")
        if (every is None) == (at is None):
            raise InvalidInput("ctx.schedule takes every= (a period) or at= (a New York time), one of them")
        if self._fast:
            raise InvalidInput("set timers in on_start: this strategy's run started without any (its quotes go "
                               "straight to on_quote)")
        t = Timer(fn, None if every is None else parse_every(every), None if at is None else parse_at(at),
                  self.ctx.now)
        self._push(t)
        return t

    def _push(self, t: Timer) -> None:
        self._timer_seq += 1
        heapq.heappush(self._timers, (t.next_at, self._timer_seq, t))
        self._next_timer = self._timers[0][0]

    def fire_timers(self) -> None:
        """Run the timers due at engine time, in time order (each at most once per call)."""
        now = self.ctx.now
        heap = self._timers
        due = []
        while heap and heap[0][0] <= now:
            due.append(heapq.heappop(heap)[2])
        for t in due:
            if t.cancelled:
                continue
            fire = t.due(now)
            self._push(t)
            if fire:
                self._call(t.fn, self.ctx)
                self.deliver()
        self._next_timer = heap[0][0] if heap else _NEVER

    def poll(self) -> None:
        """What falls due without a quote (a live clock tick): timers, then the changes to hand over."""
        if self.ctx.now >= self._next_timer:
            self.fire_timers()
        self.deliver()

    # -- on_order ----------------------------------------------------------------------------
    def _applied(self, e: Event, view: OrderView | None) -> None:
        """Every event as the engine applies it (not durable yet): keep the strategy's own order changes."""
        if view is None or e.account != self.ctx.name or e.kind not in ORDER_CHANGES:
            return
        oid = view[0]
        if oid not in self._own:
            if (self._acting and e.kind in ("OrderAccepted", "OrderDenied")) or view[28] in self._own:
                self._own.add(oid)  # placed by the strategy, or a bracket child of one of its orders
            else:
                return
        self._pending.append((e, view))

    def _committed(self, events: list[Event]) -> None:
        """After a commit: the changes kept for it are now durable (others were rolled back)."""
        if not self._pending:
            return
        done = {id(e) for e in events}
        for e, view in self._pending:
            if id(e) in done:
                self._ready.append(tuple.__new__(OrderChange, (*view, ORDER_CHANGES[e.kind])))
        self._pending = []

    def deliver_orders(self) -> None:
        on_order = self.strategy.on_order
        ready = self._ready
        while ready:
            self._call(on_order, self.ctx, ready.popleft())  # type: ignore[arg-type]

    def deliver_fills(self) -> None:
        """Hand the strategy every fill of its account it has not heard of, in order."""
        on_fill = self.strategy.on_fill
        if on_fill is None:
            return
        for f in self.ctx.fills_after(self._last_fill):
            self._last_fill = f.id
            self._call(on_fill, self.ctx, f)

    def deliver(self) -> None:
        """``on_order`` for every change not handed over yet, then ``on_fill`` for every new fill."""
        while True:
            if self._ready:
                self.deliver_orders()
            self.deliver_fills()
            if not self._ready:
                return

    # -- quotes ------------------------------------------------------------------------------
    def step(self, q: Quote) -> None:
        """One quote, after the engine matched on it: timers due, changes, ``on_quote``, changes."""
        if self.ctx.now >= self._next_timer:
            self.fire_timers()
        self.deliver()
        self._call(self.strategy.on_quote, self.ctx, q)
        self.deliver()

    def step_function(self) -> Callable[[Quote], object]:
        """What the engine calls after matching each quote (``Engine.on_quotes(..., then=)``)."""
        strat = self.strategy
        if strat.on_fill is None and strat.on_order is None and not self._timers:
            self._fast = True  # the common case: nothing between quotes to hand over
            return partial(strat.on_quote, self.ctx)
        return self.step
