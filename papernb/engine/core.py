"""The engine: accounts, orders, matching, cash and positions, on one thread.

Commands (``submit``, ``replace``, ``cancel``, ``on_quote``, ``advance``) validate their
input first, then produce past-tense events.  Each event is applied by :meth:`Engine._apply`
(the only code that changes state) and journalled; the journal rows of one call are
committed together before the call returns.  Re-opening a book feeds the journal back
through the same ``_apply``, so a reopened book is the same book.

The per-quote path (``on_quote``) is kept tiny on purpose: it stores the quote, matches
the symbol's open orders (if any) and widens the price range seen by open positions.
Everything else (P/L, equity) is computed when asked for.
"""

from __future__ import annotations

import hashlib
import heapq
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from ..config import EngineConfig
from ..errors import (
    DuplicateClientOrderId,
    InvalidInput,
    InvalidOrder,
    ReplaceRefused,
    UnknownOrder,
)
from ..money import div_round, fmt_money, from_units, price_units, to_units
from ..quote import Quote, normalize_symbol, to_ns
from .clock import next_close, previous_close
from .model import (
    Fill,
    Order,
    OrderStatus,
    OrderType,
    OrderView,
    Position,
    PositionView,
    RoundTrip,
    Side,
    Snapshot,
    TimeInForce,
    transition,
)
from .store import Store, default_book_path

_NS = 1_000_000_000
_NEVER = 1 << 62
_MAX_QTY = 1_000_000_000
_ACCOUNT_RE = re.compile(r"^[a-z0-9_-]{1,32}$")
_BUY, _SELL = Side.BUY, Side.SELL
_MKT, _LMT, _STP, _STL = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT
_PENDING, _PF = OrderStatus.PENDING, OrderStatus.PARTIALLY_FILLED
_EXPIRE, _ELIGIBLE = 0, 1  # heap kinds: at equal times expiry runs first


def _qty(value: object, what: str = "quantity") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidOrder(f"{what} must be a whole number of shares (an int), was {value!r}")
    if value <= 0:
        raise InvalidOrder(f"{what} must be at least 1 share, was {value}")
    if value > _MAX_QTY:
        raise InvalidOrder(f"{what} {value:,} is absurdly large (limit {_MAX_QTY:,})")
    return value


def _order_price(value: object, what: str) -> int:
    try:
        return price_units(value, what)
    except InvalidInput as e:
        raise InvalidOrder(str(e)) from None


def _age_text(ns: int) -> str:
    s = ns / _NS
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min"


class _Sym:
    """Per-symbol state the hot path touches: latest quote, open orders, open positions."""

    __slots__ = ("sym", "quote", "orders", "positions", "hi", "lo")

    def __init__(self, sym: str) -> None:
        self.sym = sym
        self.quote: Quote | None = None
        self.orders: list[Order] = []  # open orders, in id order (first in, first filled)
        self.positions: list[Position] = []
        self.hi: int | None = None  # mark extremes since the positions last folded them
        self.lo: int | None = None

    def fold(self, mark: int | None = None) -> None:
        """Fold the extremes (and ``mark``) into every open position's MFE/MAE; restart the range."""
        hi, lo = self.hi, self.lo
        if mark is not None:
            hi = mark if hi is None or mark > hi else hi
            lo = mark if lo is None or mark < lo else lo
        if hi is not None:
            for p in self.positions:
                p.fold_marks(hi, lo)  # type: ignore[arg-type]
        if mark is None and self.quote is not None:
            mark = self.quote._mark
        self.hi = self.lo = mark


class Engine:
    """A book of paper accounts over one DuckDB file (or ``:memory:``).

    ``clock`` is a callable returning int ns UTC (live sessions pass wall time); without
    one, engine time comes from the quotes and ``advance`` calls, so a replay is
    deterministic.  Keyword settings are those of :class:`~papernb.EngineConfig`.
    """

    def __init__(self, path: str | None = None, *, config: EngineConfig | None = None,
                 clock: Callable[[], int] | None = None, **settings: Any) -> None:
        self.config = cfg = EngineConfig.build(config, **settings)
        self.path = default_book_path() if path is None else str(path)
        self._clock = clock
        self._now = 0
        self._accounts: dict[str, Account] = {}
        self._orders: dict[int, Order] = {}
        self._syms: dict[str, _Sym] = {}
        self._next_oid = 1
        self._next_fill = 1
        self._seq = 0
        self._rows: list[tuple] = []
        self._listeners: list[Callable[[list[tuple[str, str | None, int | None]]], None]] = []
        self._heap: list[tuple[int, int, int]] = []
        self._compact: set[str] = set()
        self._known: set[str] = set()  # symbols ever quoted in this book (an accepted order proves one)
        self._expiry_cache = (0, 0)
        self._quoting: _Sym | None = None
        self._next_second = 0
        self._next_close = _NEVER
        self._due = 0
        self._replaying = False
        self._dirty = False
        self._equity_written: dict[str, int] = {}
        self._trips_written = 0
        self.counters = {"waited_on_stale_quote": 0}
        # settings the hot path reads, in engine units
        self._review_ns = int(cfg.review_seconds * _NS)
        self._stale_ns = None if cfg.stale_after is None else int(cfg.stale_after * _NS)
        self._buffer_bp = int(cfg.market_buffer * 10_000)  # basis points of 1
        self._comm = cfg.commission.units()
        self._comm_zero = cfg.commission.is_zero
        self._slip_bp = cfg.slippage_bps if cfg.fill_model == "slippage" else Decimal(0)
        self._model = cfg.fill_model
        self._short = cfg.short_selling
        self._close_time = cfg.session_close
        self._start_cash = to_units(cfg.starting_cash)
        self._store = Store(self.path)
        try:
            self._replay()
        except BaseException:
            self._store.close()
            raise

    # ------------------------------------------------------------------ public: book
    @property
    def now(self) -> int:
        """Engine time, int ns UTC; never goes backwards."""
        return self._now

    def account(self, name: str) -> Account:
        """The account ``name`` (case-folded), created with the starting cash if new."""
        if not isinstance(name, str):
            raise InvalidInput(f"account name must be text, was {name!r}")
        key = name.strip().casefold()
        if not _ACCOUNT_RE.match(key):
            raise InvalidInput(f"account name {name!r} must be 1-32 of a-z, 0-9, _ and -")
        acct = self._accounts.get(key)
        if acct is None:
            self._tick_clock()
            self._emit("AccountOpened", key, None, {"cash": self._start_cash})
            self._commit()
            acct = self._accounts[key]
        return acct

    def accounts(self) -> list[str]:
        return sorted(self._accounts)

    def on_quote(self, q: Quote) -> None:
        """A new quote: expire/activate what is due, match the symbol's orders, track marks."""
        self.on_quotes((q,))

    def on_quotes(self, quotes: Iterable[Quote], then: Callable[[Quote], object] | None = None) -> None:
        """Quotes in order, each exactly as :meth:`on_quote`; ``then(quote)`` runs after each.

        One loop for every path that feeds quotes: a live batch from the feed, a backtest
        (its strategy is ``then``, so it sees each quote right after the engine has matched
        on it), and ``on_quote``.  Lookups are hoisted out of the loop, but anything ``then``
        may change (engine time, the next due time, pending journal rows) is read afresh
        for every quote.
        """
        syms = self._syms
        clock = self._clock
        for q in quotes:
            ts = q._ts
            if ts is None:
                self._tick_clock()
                q = q.restamped(self._now)
            elif clock is not None:
                self._tick_clock()
            elif ts > self._now:
                self._now = ts
            sym = q._sym
            st = syms.get(sym)
            if st is None:
                st = syms[sym] = _Sym(sym)
                self._known.add(sym)
            st.quote = q
            if self._now >= self._due:
                self._quoting = st
                self._run_due()  # expiries first; orders of this symbol that just became eligible
                self._quoting = None  # are matched once, by the loop below, on this quote
            if st.orders:
                for o in st.orders:  # closed orders leave the list at the commit, not during this loop
                    rest = o._rest
                    if rest is not None:  # a resting limit: most quotes do not reach it
                        if o._buy:
                            px = q._ask
                            if px is not None and px > rest:
                                continue
                        else:
                            px = q._bid
                            if px is not None and px < rest:
                                continue
                    if o._status is _PENDING or o._status is _PF:
                        self._match(o, q)
            if st.positions:  # widen the range seen since the last fold into MFE/MAE
                m = q._mark
                hi = st.hi
                if hi is None:
                    st.hi = st.lo = m
                elif m > hi:
                    st.hi = m
                elif m < st.lo:
                    st.lo = m
            if self._rows:
                self._commit()
            if then is not None:
                then(q)

    def advance(self, ts: Any) -> None:
        """Move engine time to ``ts`` with no quote: ends review windows, expires DAY orders."""
        ns = to_ns(ts, "advance time")
        if ns > self._now:
            self._now = ns
        self._tick_clock()
        if self._now >= self._due:
            self._run_due()
        self._commit()

    def quote(self, symbol: str) -> Quote | None:
        """The latest quote the engine has seen for ``symbol``."""
        st = self._syms.get(normalize_symbol(symbol))
        return st.quote if st else None

    def subscribe(self, callback: Callable[[list[tuple[str, str | None, int | None]]], None]) -> Callable[[], None]:
        """Call ``callback(events)`` after each committed change; returns an unsubscribe function.

        Events are ``(kind, account, order_id)`` tuples.  Listeners run synchronously on the
        engine's thread, so a cell that trades directly still refreshes a dashboard.
        """
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    def flush(self) -> None:
        """Write buffered journal rows and refresh the checkpoint tables now."""
        self._checkpoint()

    def close(self) -> None:
        """Checkpoint and release the book file (another process may then open it)."""
        if self._store is None:
            return
        try:
            self._checkpoint()
        finally:
            self._store.close()
            self._store = None  # type: ignore[assignment]

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def state_hash(self) -> str:
        """A hash of everything durable (not quotes, marks or equity points)."""
        h = hashlib.sha256()
        for name in sorted(self._accounts):
            a = self._accounts[name]
            h.update(repr((name, a._epoch, a._start, a._cash, a._reserved, a._realized, a._fees)).encode())
            for sym in sorted(a._positions):
                p = a._positions[sym]
                h.update(repr((sym, p.qty, p.cost, p.res_sell, p.res_short, p.opened, p.entries, p.exits,
                               p.entry_qty, p.entry_value, p.exit_qty, p.exit_value, p.realized, p.fees,
                               p.max_abs)).encode())
            for t in a._trips:
                h.update(repr(t).encode())
            for f in a._fills:
                h.update(repr(f).encode())
        for oid in sorted(self._orders):
            o = self._orders[oid]
            reason = None if o._status.is_open else o._reason
            h.update(repr((oid, o._acct, o._sym, o._side, o._type, o._qty, o._filled, o._lim, o._stop, o._tif,
                           o._status, reason, o._coid, o._created, o._elig, o._expires, o._fill_value, o._fees,
                           o._res_cash, o._res_shares, o._triggered, o._fresh, o._epoch)).encode())
        h.update(repr((self._next_oid, self._next_fill)).encode())
        return h.hexdigest()

    def check_invariants(self) -> None:
        """Raise AssertionError if the books do not balance exactly (used by tests)."""
        for a in self._accounts.values():
            open_orders = [o for o in self._orders.values() if o._acct == a._name and o._status.is_open]
            res = sum(o._res_cash for o in open_orders) + sum(p.res_short for p in a._positions.values())
            assert res == a._reserved, (a._name, res, a._reserved)
            for sym, p in a._positions.items():
                held = sum(o._res_shares for o in open_orders if o._sym == sym)
                assert held == p.res_sell, (sym, held, p.res_sell)
                assert p.res_sell <= max(p.qty, 0), (sym, p.res_sell, p.qty)
                assert p.qty != 0 or p.cost == 0, (sym, p.qty, p.cost)
            assert a._cash >= 0 or self._short, (a._name, a._cash)
            s = a.snapshot()
            lhs = s.equity - s.starting_cash
            assert lhs == s.realized_pl + s.unrealized_pl - s.fees, (lhs, s.realized_pl, s.unrealized_pl, s.fees)

    # ------------------------------------------------------------------ time
    def _tick_clock(self) -> None:
        if self._clock is not None:
            t = self._clock()
            if t > self._now:
                self._now = t
        if self._now >= self._due:
            self._run_due()

    def _day_expiry(self, now: int) -> int:
        lo, hi = self._expiry_cache
        if not lo <= now < hi:
            hi = next_close(now, self._close_time)
            lo = previous_close(now, self._close_time)
            self._expiry_cache = (lo, hi)
        return hi

    def _schedule(self, t: int, kind: int, oid: int) -> None:
        heapq.heappush(self._heap, (t, kind, oid))
        if t < self._due:
            self._due = t

    def _run_due(self) -> None:
        now = self._now
        heap = self._heap
        while heap and heap[0][0] <= now:
            t, kind, oid = heapq.heappop(heap)
            o = self._orders.get(oid)
            if o is None or not o._status.is_open:
                continue
            if kind == _EXPIRE:
                if o._expires == t:
                    self._emit("OrderExpired", o._acct, o, {"at": t})
            elif o._elig == t:
                st = self._syms.get(o._sym)
                if st is not None and st.quote is not None and st is not self._quoting:
                    self._match(o, st.quote)
        if now >= self._next_close:
            if self._next_close != _NEVER:
                self._record_equity_all(self._next_close)
            self._next_close = next_close(now, self._close_time)
        if now >= self._next_second:
            self._second_tick()
            self._next_second = (now // _NS + 1) * _NS
        self._due = min(heap[0][0] if heap else _NEVER, self._next_second, self._next_close)

    def _second_tick(self) -> None:
        """Once a second of engine time: fold marks into MFE/MAE, record equity, checkpoint."""
        for st in self._syms.values():
            if st.positions:
                st.fold()
        self._record_equity_all(self._now)
        if not self._store.memory and self._dirty:
            self._checkpoint()

    def _record_equity_all(self, ts: int) -> None:
        for a in self._accounts.values():
            a._record_equity(ts)

    # ------------------------------------------------------------------ events
    def _emit(self, kind: str, account: str | None, order: Order | None, payload: dict[str, Any]) -> None:
        """Apply one event, then queue its journal row (committed at the end of the call).

        The row keeps the payload and the order's state after the event as Python values;
        the store encodes them (at once for a file book, in bulk for ``:memory:``).
        """
        oid = order._id if order is not None else payload.get("id")
        now = self._now
        self._apply(kind, account, oid, payload, now)
        self._seq += 1
        o = self._orders.get(oid) if oid is not None else None
        if o is None:
            self._rows.append((self._seq, now, account, kind, oid, None, None, payload, None))
        else:
            # StrEnum members are str: journalled as their values without the slow ``.value``
            self._rows.append((self._seq, now, account, kind, oid, o._sym, o._status, payload,
                               (o._side, o._type, o._qty, o._filled, o._lim, o._stop, o._tif, o._reason)))

    def _compact_orders(self) -> None:
        for sym in self._compact:
            st = self._syms[sym]
            st.orders = [o for o in st.orders if o._status is _PENDING or o._status is _PF]
        self._compact.clear()

    def _commit(self) -> None:
        rows = self._rows
        if not rows:
            return
        if self._compact:
            self._compact_orders()
        self._rows = []
        self._store.append(rows)
        self._dirty = True
        if self._listeners:
            events = [(r[3], r[2], r[4]) for r in rows]
            for cb in list(self._listeners):
                cb(events)

    def _replay(self) -> None:
        self._replaying = True
        try:
            for seq, ts, account, kind, oid, data in self._store.events():
                if ts > self._now:
                    self._now = ts
                self._apply(kind, account, oid, data["e"], ts)
                self._seq = seq
        finally:
            self._replaying = False
        self._compact_orders()
        self._now = max(self._now, self._store.load_now())  # quotes seen after the last event
        marks = self._store.load_marks()
        for (acct, sym), (mfe, mae) in marks.items():
            a = self._accounts.get(acct)
            p = a._positions.get(sym) if a else None
            if p is not None:
                p.mfe, p.mae = max(p.mfe, mfe), min(p.mae, mae)
        loaded: set[str] = set()
        for acct, epoch, ts, eq in self._store.load_equity():
            a = self._accounts.get(acct)
            if a is not None and epoch == a._epoch:
                if acct not in loaded:  # the stored curve replaces the start point replay made
                    loaded.add(acct)
                    a._equity = []
                    a._peak, a._max_dd = to_units(eq), 0
                a._equity.append((ts, to_units(eq)))
                a._track_drawdown(to_units(eq))
                self._equity_written[acct] = len(a._equity)
        self._trips_written = sum(len(a._trips) for a in self._accounts.values())
        for o in self._orders.values():
            if o._status.is_open:
                if o._elig > self._now:
                    self._schedule(o._elig, _ELIGIBLE, o._id)
                if o._expires is not None:
                    self._schedule(o._expires, _EXPIRE, o._id)
        self._next_second = (self._now // _NS + 1) * _NS if self._now else 0
        self._next_close = next_close(self._now, self._close_time) if self._now else _NEVER
        self._due = 0

    def _apply(self, kind: str, account: str | None, oid: int | None, e: dict[str, Any], ts: int) -> None:
        """The only code that changes state.  Live calls and journal replay both come here."""
        if kind == "AccountOpened":
            self._accounts[account] = Account(self, account, e["cash"], ts)  # type: ignore[index,arg-type]
            return
        a = self._accounts[account]  # type: ignore[index]
        if kind == "AccountReset":
            a._start_epoch(e["epoch"], e["cash"], ts)
            return
        if kind in ("OrderAccepted", "OrderRejected") and oid not in self._orders:
            o = self._new_order(a, e, ts)
            o._status = transition(o._id, None, kind)
            if o._status is _PENDING:
                if e.get("rested"):
                    o._fresh = False
                    o._rest = o._lim
                a._reserve(o, e["res_cash"], e["res_shares"])
                self._sym(o._sym).orders.append(o)
                self._known.add(o._sym)  # it was accepted, so it had been quoted
            else:
                o._reason = e["reason"]
                o._closed_at = ts
            return
        o = self._orders[oid]  # type: ignore[index]
        if kind == "OrderReplaceRefused":  # journalled for the record; nothing changes
            return
        new_status = transition(o._id, o._status, kind)
        o._updated = ts
        if kind == "OrderFilled" or kind == "OrderPartiallyFilled":
            self._apply_fill(a, o, e, ts)
        elif kind == "OrderRested":
            o._fresh = False
            o._rest = o._lim  # from now on it fills at its limit when the quote reaches it
        elif kind == "OrderTriggered":
            o._triggered = True
            o._fresh = True
        elif kind == "OrderReplaced":
            a._release(o)
            o._qty, o._lim, o._stop = e["qty"], e["limit"], e["stop"]
            o._tif, o._elig, o._expires = TimeInForce(e["tif"]), e["eligible_at"], e["expires_at"]
            o._fresh = True
            o._rest = None
            o._reason = None
            a._reserve(o, e["res_cash"], e["res_shares"])
        o._status = new_status
        if not new_status.is_open:
            if kind == "OrderExpired":
                o._reason = "expired at the session close"
            elif kind != "OrderFilled":
                o._reason = e["reason"]
            a._release(o)
            o._closed_at = ts
            o._rest = None
            self._compact.add(o._sym)

    def _new_order(self, a: Account, e: dict[str, Any], ts: int) -> Order:
        o = Order.__new__(Order)
        o._id = e["id"]
        o._acct = a._name
        o._sym = e["symbol"]
        o._side = Side(e["side"])
        o._buy = o._side is _BUY
        o._type = OrderType(e["type"])
        o._qty = e["qty"]
        o._filled = 0
        o._lim = e["limit"]
        o._stop = e["stop"]
        o._tif = TimeInForce(e["tif"])
        o._status = None
        o._reason = None
        o._coid = e["coid"]
        o._created = o._updated = ts
        o._elig = e["eligible_at"]
        o._expires = e["expires_at"]
        o._closed_at = None
        o._fill_value = 0
        o._fees = 0
        o._res_cash = 0
        o._res_shares = 0
        o._res_short = 0
        o._triggered = False
        o._fresh = True
        o._rest = None
        o._view = None
        o._epoch = a._epoch
        o._request = (o._sym, e["side"], e["type"], o._qty, o._lim, o._stop, e["tif"])
        self._orders[o._id] = o
        a._order_ids.append(o._id)
        if o._coid is not None:
            a._coids[o._coid] = o
        if o._id >= self._next_oid:
            self._next_oid = o._id + 1
        return o

    def _sym(self, sym: str) -> _Sym:
        st = self._syms.get(sym)
        if st is None:
            st = self._syms[sym] = _Sym(sym)
        return st

    def _apply_fill(self, a: Account, o: Order, e: dict[str, Any], ts: int) -> None:
        q, px, fee = e["qty"], e["price"], e["fee"]
        remaining = o._qty - o._filled
        # release what this part of the order was holding
        if o._buy:
            cash_q, cash_rem = q, remaining
            sh = 0
        else:
            sh = min(o._res_shares, q)
            cash_q, cash_rem = q - sh, remaining - o._res_shares
        if cash_q == cash_rem:
            rel = o._res_cash
        else:
            rel = div_round(o._res_cash * cash_q, cash_rem) if cash_rem else 0
        o._res_cash -= rel
        a._reserved -= rel
        o._res_shares -= sh
        o._filled += q
        o._fill_value += q * px
        o._fees += fee
        signed = q if o._buy else -q
        a._cash -= signed * px + fee
        a._fees += fee
        pos = a._positions.get(o._sym)
        if pos is None:
            pos = a._open_position(o._sym, ts)
        pos.res_sell -= sh
        pos.mfe, pos.mae = e["mfe"], e["mae"]
        pos.fees += fee
        realized = 0
        P = pos.qty
        if P and (P > 0) != (signed > 0):  # reduces, closes or flips the position
            closed = min(q, abs(P))
            cost_removed = div_round(pos.cost * closed, abs(P))
            realized = (closed * px if P > 0 else -closed * px) - cost_removed
            if pos.res_short:
                rel_s = pos.res_short if closed == abs(P) else div_round(pos.res_short * closed, abs(P))
                pos.res_short -= rel_s
                a._reserved -= rel_s
            pos.cost -= cost_removed
            pos.qty = P + (closed if P < 0 else -closed)
            pos.exits += 1
            pos.exit_qty += closed
            pos.exit_value += closed * px
            pos.realized += realized
            a._realized += realized
            rest = q - closed
            if pos.qty == 0:
                a._close_trip(pos, ts)
                a._drop_position(pos)
                if rest:
                    pos = a._open_position(o._sym, ts)
                    self._add_to_position(a, pos, -rest if signed < 0 else rest, px)
        else:
            self._add_to_position(a, pos, signed, px)
        fill = Fill(e["fill_id"], o._id, a._name, o._sym, o._side, q, from_units(px), from_units(fee), ts,
                    e["quote_ts"], e["quote_age_ns"], from_units(e["bid"]), from_units(e["ask"]),
                    from_units(e["last"]), from_units(realized), a._epoch)
        a._fills.append(fill)
        if e["fill_id"] >= self._next_fill:
            self._next_fill = e["fill_id"] + 1
        if not self._replaying:
            a._record_equity(ts, force=True)

    def _add_to_position(self, a: Account, pos: Position, signed: int, px: int) -> None:
        q = abs(signed)
        if not pos.entries:
            pos.long = signed > 0
        pos.qty += signed
        pos.cost += signed * px
        pos.entries += 1
        pos.entry_qty += q
        pos.entry_value += q * px
        if abs(pos.qty) > pos.max_abs:
            pos.max_abs = abs(pos.qty)
        if signed < 0:  # opening or adding to a short: hold 150% of its value
            add = (3 * q * px + 1) // 2
            pos.res_short += add
            a._reserved += add

    # ------------------------------------------------------------------ matching
    def _match(self, o: Order, q: Quote) -> None:
        now = self._now
        if o._elig > now:
            return
        stale = self._stale_ns
        if stale is not None and now - q._ts > stale:
            if o._reason is None:
                self.counters["waited_on_stale_quote"] += 1
            o._reason = f"waiting for a fresh quote, last {_age_text(now - q._ts)} old"
            return
        buy = o._buy
        if self._model == "size" and (q._asz if buy else q._bsz) is None:
            o._reason = "waiting for a quote with sizes (fill model 'size')"
            return
        if o._reason is not None:
            o._reason = None
        t = o._type
        if (t is _STP or t is _STL) and not o._triggered:
            ref = q._last
            if ref is None:
                ref = q._ask if buy else q._bid
            if ref is None:
                return
            if (ref >= o._stop) if buy else (ref <= o._stop):
                self._emit("OrderTriggered", o._acct, o, {"price": ref})
            else:
                return
        side_px = q._ask if buy else q._bid
        if side_px is None:
            side_px = q._last
        if t is _MKT or t is _STP:
            px = self._slipped(side_px, buy, None)
        else:
            lim = o._lim
            if o._fresh:
                if (side_px <= lim) if buy else (side_px >= lim):
                    px = self._slipped(side_px, buy, lim)
                else:
                    self._emit("OrderRested", o._acct, o, {})
                    return
            elif self._model == "through":
                if (side_px < lim) if buy else (side_px > lim):
                    px = lim
                else:
                    return
            elif (side_px <= lim) if buy else (side_px >= lim):
                px = lim
            else:
                return
        qty = o._qty - o._filled
        if self._model == "size":
            size = q._asz if buy else q._bsz
            if size < qty:
                qty = size
            if qty <= 0:
                return
        self._fill(o, q, qty, px)

    def _slipped(self, px: int, buy: bool, limit: int | None) -> int:
        bps = self._slip_bp
        if bps:
            delta = px * bps / 10_000
            step = int(delta) if delta == int(delta) else int(delta) + 1  # never in the trader's favour
            px = px + step if buy else px - step
            if limit is not None:
                px = min(px, limit) if buy else max(px, limit)
        return px

    def _commission(self, o: Order, qty: int) -> int:
        if self._comm_zero:
            return 0
        per_share, per_order, minimum = self._comm
        fee = per_share * qty
        if o._filled == 0:
            fee = max(fee + per_order, minimum)
        return fee

    def _fill(self, o: Order, q: Quote, qty: int, px: int) -> None:
        a = self._accounts[o._acct]
        fee = self._commission(o, qty)
        if o._buy:
            need = qty * px + fee
            free = a._cash - (a._reserved - o._res_cash)
            if need > free:
                kind = "OrderRejected" if o._status is _PENDING else "OrderCancelled"
                self._emit(kind, o._acct, o, {"reason": f"insufficient buying power at fill: needs "
                                                        f"{fmt_money(need)}, {fmt_money(free)} free"})
                return
        pos = a._positions.get(o._sym)
        mfe = mae = 0
        st = self._syms[o._sym]
        st.fold(q._mark)  # the quote it fills on counts for MFE/MAE too
        if pos is not None:
            mfe, mae = pos.mfe, pos.mae
        done = qty == o._qty - o._filled
        self._emit("OrderFilled" if done else "OrderPartiallyFilled", o._acct, o, {
            "fill_id": self._next_fill, "qty": qty, "price": px, "fee": fee, "quote_ts": q._ts,
            "quote_age_ns": self._now - q._ts, "bid": q._bid, "ask": q._ask, "last": q._last,
            "mfe": mfe, "mae": mae})

    # ------------------------------------------------------------------ commands
    def _submit(self, a: Account, symbol: Any, side: Any, qty: Any, type: Any, limit: Any, stop: Any, tif: Any,
                client_order_id: Any) -> Order:
        if self._store is None:
            raise InvalidInput("this book is closed")
        sym = normalize_symbol(symbol)
        side_ = Side.parse(side, "side")
        type_ = OrderType.parse(type, "order type")
        n = _qty(qty)
        lim = None if limit is None else _order_price(limit, "limit price")
        stp = None if stop is None else _order_price(stop, "stop price")
        needs_lim = type_ in (_LMT, _STL)
        needs_stop = type_ in (_STP, _STL)
        if needs_lim and lim is None:
            raise InvalidOrder(f"a {type_.value.lower().replace('_', '-')} order needs a limit price")
        if needs_stop and stp is None:
            raise InvalidOrder(f"a {type_.value.lower().replace('_', '-')} order needs a stop price")
        if not needs_lim and lim is not None:
            raise InvalidOrder(f"a {type_.value.lower()} order takes no limit price (use a limit order)")
        if not needs_stop and stp is not None:
            raise InvalidOrder(f"a {type_.value.lower()} order takes no stop price (use a stop order)")
        tif_ = TimeInForce.parse(self.config.default_tif if tif is None else tif, "time in force")
        coid = None
        if client_order_id is not None:
            if not isinstance(client_order_id, str) or not 1 <= len(client_order_id) <= 64 \
                    or not client_order_id.isprintable():
                raise InvalidOrder(f"client_order_id must be 1-64 printable characters, was {client_order_id!r}")
            coid = client_order_id
        request = (sym, side_.value, type_.value, n, lim, stp, tif_.value)
        if coid is not None and coid in a._coids:
            orig = a._coids[coid]
            if orig._request == request:
                return orig
            raise DuplicateClientOrderId(f"client_order_id {coid!r} was already used for order {orig._id} "
                                         f"with other parameters")
        self._tick_clock()
        now = self._now
        oid = self._next_oid
        base = {"id": oid, "symbol": sym, "side": side_.value, "type": type_.value, "qty": n, "limit": lim,
                "stop": stp, "tif": tif_.value, "coid": coid,
                "eligible_at": now + self._review_ns,
                "expires_at": self._day_expiry(now) if tif_ is TimeInForce.DAY else None}
        st = self._syms.get(sym)
        q = st.quote if st is not None else None
        if q is None and sym not in self._known:
            reason: str | None = f"no quote for {sym}"
            res_cash = res_shares = 0
        else:  # quoted before (perhaps before the book was reopened): a limit order can wait for the next
            res_cash, res_shares, reason = self._reservation(a, sym, side_ is _BUY, type_, n, lim, stp, q)
        if reason is not None:
            self._emit("OrderRejected", a._name, None, {**base, "reason": reason})
            self._commit()
            return self._orders[oid]
        accepted = {**base, "res_cash": res_cash, "res_shares": res_shares}
        if type_ is _LMT and self._rests_at_once(side_ is _BUY, lim, q):  # type: ignore[arg-type]
            accepted["rested"] = True  # one journal row instead of OrderAccepted + OrderRested
        self._emit("OrderAccepted", a._name, None, accepted)
        o = self._orders[oid]
        if o._elig > now:
            self._schedule(o._elig, _ELIGIBLE, oid)
        elif q is not None:
            self._match(o, q)
        if o._expires is not None and o._status.is_open:
            self._schedule(o._expires, _EXPIRE, oid)
        self._commit()
        return o

    def _rests_at_once(self, buy: bool, lim: int, q: Quote | None) -> bool:
        """Would the first look (``_match``) on acceptance find this limit order not marketable?"""
        if q is None or self._review_ns:
            return False
        if self._stale_ns is not None and self._now - q._ts > self._stale_ns:
            return False
        if self._model == "size" and (q._asz if buy else q._bsz) is None:
            return False
        side_px = q._ask if buy else q._bid
        if side_px is None:
            side_px = q._last
        return side_px > lim if buy else side_px < lim

    def _reservation(self, a: Account, sym: str, buy: bool, type_: OrderType, n: int, lim: int | None,
                     stp: int | None, q: Quote | None, own_shares: int = 0,
                     own_cash: int = 0) -> tuple[int, int, str | None]:
        """(cash held, shares held, refusal) for ``n`` shares; ``own_*`` is what a replaced order holds."""
        bp = a._cash - a._reserved + own_cash
        if buy:
            if q is None and type_ in (_MKT, _STP):
                return 0, 0, f"no quote for {sym} yet"
            res = self._buy_reservation(type_, n, lim, stp, q)  # type: ignore[arg-type]
            if res > bp:
                return 0, 0, f"not enough buying power: this order needs {fmt_money(res)}, you have {fmt_money(bp)}"
            return res, 0, None
        pos = a._positions.get(sym)
        held = max(pos.qty, 0) if pos is not None else 0
        others = pos.res_sell - own_shares if pos is not None else 0  # held for other sell orders
        shares = min(n, max(held - others, 0))
        short = n - shares
        if not short:
            return 0, shares, None
        if not self._short or others:
            # a short sale would first close shares that other sell orders hold: never sell them twice
            reason = f"not enough shares: you hold {held} {sym}"
            if others:
                reason += f", {others} already held for open sell orders"
            return 0, 0, reason
        ref = lim if lim is not None else (q._bid or q._last if q is not None else None)
        if ref is None:
            return 0, 0, f"no quote for {sym} yet"
        res = (3 * short * ref + 1) // 2 + self._commission_estimate(n)
        if res > bp:
            return 0, 0, f"not enough buying power for the short sale: needs {fmt_money(res)}, you have {fmt_money(bp)}"
        return res, shares, None

    def _commission_estimate(self, qty: int) -> int:
        if self._comm_zero:
            return 0
        per_share, per_order, minimum = self._comm
        return max(per_share * qty + per_order, minimum)

    def _buy_reservation(self, type_: OrderType, n: int, lim: int | None, stp: int | None, q: Quote) -> int:
        if type_ is _LMT or type_ is _STL:
            base = n * lim  # type: ignore[operator]
        else:
            ask = q._ask if q._ask is not None else q._last
            ref = ask if type_ is _MKT else max(stp, ask)  # type: ignore[type-var]
            base = -(-n * ref * (10_000 + self._buffer_bp) // 10_000)  # ceil
        return base + self._commission_estimate(n)

    def _replace(self, a: Account, order_id: Any, qty: Any, limit: Any, stop: Any, tif: Any) -> Order:
        o = a._lookup(order_id)
        if not o._status.is_open:
            transition(o._id, o._status, "OrderReplaced")  # raises OrderNotOpen with the reason
        n = o._qty if qty is None else _qty(qty, "new quantity")
        lim, stp = o._lim, o._stop
        kind = o._type.value.lower().replace("_", "-")
        if limit is not None:
            if o._type not in (_LMT, _STL):
                raise InvalidOrder(f"order {o._id} is a {kind} order: it has no limit price to change")
            lim = _order_price(limit, "limit price")
        if stop is not None:
            if o._type not in (_STP, _STL):
                raise InvalidOrder(f"order {o._id} is a {kind} order: it has no stop price to change")
            stp = _order_price(stop, "stop price")
        tif_ = o._tif if tif is None else TimeInForce.parse(tif, "time in force")
        if n <= o._filled:
            raise InvalidOrder(f"order {o._id} has {o._filled} shares filled; the new total must exceed that")
        if n == o._qty and lim == o._lim and stp == o._stop and tif_ is o._tif:
            return o
        self._tick_clock()
        if not o._status.is_open:  # expired while the clock moved
            transition(o._id, o._status, "OrderReplaced")
        now = self._now
        rest = n - o._filled
        st = self._syms.get(o._sym)
        q = st.quote if st is not None else None
        requested = {"qty": n, "limit": lim, "stop": stp, "tif": tif_.value}
        res_cash, res_shares, refusal = self._reservation(a, o._sym, o._buy, o._type, rest, lim, stp, q,
                                                          own_shares=o._res_shares, own_cash=o._res_cash)
        if refusal is not None:
            self._emit("OrderReplaceRefused", a._name, o, {"reason": refusal, "requested": requested})
            self._commit()
            raise ReplaceRefused(f"order {o._id} was not changed: {refusal}")
        old = {"qty": o._qty, "limit": o._lim, "stop": o._stop, "tif": o._tif.value}
        old_expires = expires = o._expires
        if tif_ is not o._tif:
            expires = self._day_expiry(now) if tif_ is TimeInForce.DAY else None
        self._emit("OrderReplaced", a._name, o, {**requested, "old": old, "eligible_at": now + self._review_ns,
                                                 "expires_at": expires, "res_cash": res_cash,
                                                 "res_shares": res_shares})
        if o._elig <= now:
            if q is not None:
                self._match(o, q)
        else:
            self._schedule(o._elig, _ELIGIBLE, o._id)
        if o._expires is not None and o._expires != old_expires and o._status.is_open:
            self._schedule(o._expires, _EXPIRE, o._id)
        self._commit()
        return o

    def _cancel(self, a: Account, order_id: Any, reason: str = "cancelled by you") -> Order:
        o = a._lookup(order_id)
        transition(o._id, o._status, "OrderCancelled")  # raises OrderNotOpen when closed
        self._tick_clock()
        transition(o._id, o._status, "OrderCancelled")  # the clock may have expired it just now
        self._emit("OrderCancelled", a._name, o, {"reason": reason})
        self._commit()
        return o

    # ------------------------------------------------------------------ checkpoints
    def _checkpoint(self) -> None:
        if self._store is None:
            return
        self._commit()
        seq = self._seq
        for st in self._syms.values():
            if st.positions:
                st.fold()
        accounts, positions, marks, equity, trips = [], [], [], [], []
        all_trips: list[RoundTrip] = []
        for name, a in self._accounts.items():
            accounts.append((name, a._epoch, from_units(a._start), from_units(a._cash), from_units(a._reserved),
                             from_units(a._realized), from_units(a._fees), seq))
            for sym, p in a._positions.items():
                positions.append((name, sym, p.qty, from_units(p.cost), p.res_sell, p.opened, seq))
                marks.append((name, sym, p.mfe, p.mae, self._now))
            start = self._equity_written.get(name, 0)
            for ts, eq in a._equity[start:]:
                equity.append((name, a._epoch, ts, from_units(eq)))
            self._equity_written[name] = len(a._equity)
            all_trips.extend(a._trips)
        for t in all_trips[self._trips_written:]:
            trips.append((t.account, t.epoch, t.symbol, t.direction, t.qty, t.entries, t.exits, t.avg_entry,
                          t.avg_exit, t.realized_pl, t.fees, t.net_pl, float(t.return_pct), t.opened_at,
                          t.closed_at, t.mfe, t.mae, t.verdict))
        self._trips_written = len(all_trips)
        self._store.checkpoint({"accounts": accounts, "positions": positions},
                               {"marks": marks, "equity": equity, "round_trips": trips}, now=self._now)
        self._dirty = False


class Account:
    """One paper account in a book: orders, cash, positions, P/L and its history.

    Get it with ``book.account(name)``.  Listings show the current epoch (since the
    last ``reset``) unless ``epoch="all"``.
    """

    def __init__(self, engine: Engine, name: str, cash: int, ts: int) -> None:
        self._engine = engine
        self._name = name
        self._order_ids: list[int] = []
        self._coids: dict[str, Order] = {}
        self._fills: list[Fill] = []
        self._trips: list[RoundTrip] = []
        self._created = ts
        self._start_epoch(1, cash, ts)

    def _start_epoch(self, epoch: int, cash: int, ts: int) -> None:
        eng = self._engine
        for p in getattr(self, "_positions", {}).values():
            st = eng._syms.get(p.sym)
            if st is not None and p in st.positions:
                st.positions.remove(p)
        self._epoch = epoch
        self._start = cash
        self._cash = cash
        self._reserved = 0
        self._realized = 0
        self._fees = 0
        self._positions: dict[str, Position] = {}
        self._equity: list[tuple[int, int]] = [(ts, cash)]
        self._peak, self._max_dd, self._max_dd_peak = cash, 0, cash
        self._epoch_start = ts
        eng._equity_written.pop(self._name, None)

    # -- internal bookkeeping used by Engine._apply --------------------------------------
    def _reserve(self, o: Order, cash: int, shares: int) -> None:
        o._res_cash = cash
        o._res_shares = shares
        self._reserved += cash
        if shares:
            self._positions[o._sym].res_sell += shares

    def _release(self, o: Order) -> None:
        self._reserved -= o._res_cash
        o._res_cash = 0
        if o._res_shares:
            self._positions[o._sym].res_sell -= o._res_shares
            o._res_shares = 0

    def _open_position(self, sym: str, ts: int) -> Position:
        p = Position(self._name, sym, ts)
        self._positions[sym] = p
        self._engine._sym(sym).positions.append(p)
        return p

    def _drop_position(self, p: Position) -> None:
        if p.res_sell == 0 and self._positions.get(p.sym) is p:
            del self._positions[p.sym]
            st = self._engine._syms.get(p.sym)
            if st is not None and p in st.positions:
                st.positions.remove(p)

    def _close_trip(self, p: Position, ts: int) -> None:
        net = p.realized - p.fees
        pct = (Decimal(net) * 100 / Decimal(p.entry_value)).quantize(Decimal("0.0001")) if p.entry_value else Decimal(0)
        self._trips.append(RoundTrip(
            self._name, p.sym, "long" if p.long else "short", p.max_abs, p.entries, p.exits,
            Decimal(p.entry_value) / (p.entry_qty * 10_000), Decimal(p.exit_value) / (p.exit_qty * 10_000),
            from_units(p.realized), from_units(p.fees), from_units(net), pct, p.opened, ts,
            from_units(p.mfe), from_units(p.mae), self._epoch))

    def _record_equity(self, ts: int, force: bool = False) -> None:
        eq = self._equity_units()
        last_ts, last_eq = self._equity[-1]
        if eq == last_eq and not force:
            return
        if ts == last_ts:
            self._equity[-1] = (ts, eq)
        else:
            self._equity.append((ts, eq))
        self._track_drawdown(eq)

    def _track_drawdown(self, eq: int) -> None:
        """Running peak and deepest fall, so stats never rescan a long equity history."""
        if eq > self._peak:
            self._peak = eq
        dd = self._peak - eq
        if dd > self._max_dd:
            self._max_dd = dd
            self._max_dd_peak = self._peak

    def _marks(self) -> Iterable[tuple[Position, int]]:
        syms = self._engine._syms
        for p in self._positions.values():
            st = syms.get(p.sym)
            q = st.quote if st is not None else None
            if q is not None:
                yield p, q._mark
            else:  # never quoted since the book was opened: carry at cost
                yield p, (div_round(p.cost, p.qty) if p.qty else 0)

    def _equity_units(self) -> int:
        mv = 0
        for p, m in self._marks():
            mv += p.qty * m
        return self._cash + mv

    def _lookup(self, order_id: Any) -> Order:
        if isinstance(order_id, Order | OrderView):
            order_id = order_id.id
        if isinstance(order_id, bool) or not isinstance(order_id, int):
            raise UnknownOrder(f"order id must be an int, was {order_id!r}")
        o = self._engine._orders.get(order_id)
        if o is None or o._acct != self._name:
            raise UnknownOrder(f"there is no order {order_id} in account {self._name}")
        return o

    # -- public API ----------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def now(self) -> int:
        return self._engine._now

    def quote(self, symbol: str) -> Quote | None:
        """The latest quote seen for ``symbol`` (never a future one)."""
        return self._engine.quote(symbol)

    def buy(self, symbol: str, qty: int, *, limit: Any = None, stop: Any = None, tif: str | None = None,
            client_order_id: str | None = None) -> Order:
        """Buy: market, or limit / stop / stop-limit from which prices are given."""
        return self._engine._submit(self, symbol, "BUY", qty, _infer_type(limit, stop), limit, stop, tif,
                                    client_order_id)

    def sell(self, symbol: str, qty: int, *, limit: Any = None, stop: Any = None, tif: str | None = None,
             client_order_id: str | None = None) -> Order:
        """Sell: market, or limit / stop / stop-limit from which prices are given."""
        return self._engine._submit(self, symbol, "SELL", qty, _infer_type(limit, stop), limit, stop, tif,
                                    client_order_id)

    def submit(self, symbol: str, side: str | Side, qty: int, *, type: str | OrderType, limit: Any = None,
               stop: Any = None, tif: str | None = None, client_order_id: str | None = None) -> Order:
        """The explicit form (the ticket and the Broker protocol): type and prices must agree."""
        return self._engine._submit(self, symbol, side, qty, type, limit, stop, tif, client_order_id)

    def replace(self, order_id: int | Order, *, qty: int | None = None, limit: Any = None, stop: Any = None,
                tif: str | None = None) -> Order:
        """Edit an open order in place (``qty`` is the new total); raises ``ReplaceRefused``."""
        return self._engine._replace(self, order_id, qty, limit, stop, tif)

    def cancel(self, order_id: int | Order) -> Order:
        """Cancel an open order; a filled or closed order raises ``OrderNotOpen``."""
        return self._engine._cancel(self, order_id)

    def cancel_all(self, symbol: str | None = None) -> list[Order]:
        out = []
        for o in self.orders(status="open", symbol=symbol):
            out.append(self.cancel(o.id))
        return out

    def reset(self, cash: Any = None) -> None:
        """Start over: cancel open orders, flatten, new epoch with ``cash`` (history kept)."""
        eng = self._engine
        units = eng._start_cash if cash is None else to_units(cash, "cash")
        if units < 0:
            raise InvalidInput(f"cash cannot be negative, was {cash!r}")
        eng._tick_clock()
        for o in self.orders(status="open"):
            eng._emit("OrderCancelled", self._name, o, {"reason": "account reset"})
        eng._emit("AccountReset", self._name, None, {"epoch": self._epoch + 1, "cash": units})
        eng._commit()

    def order(self, order_id: int) -> Order:
        return self._lookup(order_id)

    def orders(self, status: Any = None, symbol: str | None = None, epoch: int | str | None = None) -> list[Order]:
        """Live orders in id order; ``status`` is a status, a list of them, or ``"open"``."""
        want: set[OrderStatus] | None
        if status is None:
            want = None
        elif isinstance(status, str) and status.strip().lower() == "open":
            want = {_PENDING, _PF}
        elif isinstance(status, str | OrderStatus):
            want = {OrderStatus.parse(status, "status")}
        else:
            want = {OrderStatus.parse(s, "status") for s in status}
        sym = None if symbol is None else normalize_symbol(symbol)
        ep = self._epoch_filter(epoch)
        out = []
        orders = self._engine._orders
        for oid in self._order_ids:
            o = orders[oid]
            if (want is None or o._status in want) and (sym is None or o._sym == sym) and (ep is None or o._epoch == ep):
                out.append(o)
        return out

    def _epoch_filter(self, epoch: int | str | None) -> int | None:
        if epoch is None:
            return self._epoch
        if epoch == "all":
            return None
        if isinstance(epoch, int) and not isinstance(epoch, bool):
            return epoch
        raise InvalidInput(f"epoch must be an int or 'all', was {epoch!r}")

    def positions(self) -> list[PositionView]:
        return list(self.snapshot().positions)

    def position(self, symbol: str) -> PositionView | None:
        """The open position in ``symbol`` marked at its latest quote, or None when flat."""
        p = self._positions.get(normalize_symbol(symbol))
        if p is None or not p.qty:
            return None
        return self._position_view(p)

    def _position_view(self, p: Position) -> PositionView:
        st = self._engine._syms.get(p.sym)
        q = st.quote if st is not None else None
        m = q._mark if q is not None else div_round(p.cost, p.qty)
        mv = p.qty * m
        u = mv - p.cost
        return PositionView(
            p.sym, p.qty, Decimal(p.cost) / (p.qty * 10_000), from_units(p.cost),
            from_units(m) if q is not None else None, from_units(mv), from_units(u),
            (Decimal(u) * 100 / abs(Decimal(p.cost))).quantize(Decimal("0.01")) if p.cost else None,
            q._chg if q is not None else None, p.res_sell, p.opened)

    def fills(self, epoch: int | str | None = None) -> list[Fill]:
        ep = self._epoch_filter(epoch)
        return [f for f in self._fills if ep is None or f.epoch == ep]

    def trades(self, epoch: int | str | None = None) -> list[RoundTrip]:
        ep = self._epoch_filter(epoch)
        return [t for t in self._trips if ep is None or t.epoch == ep]

    def equity_history(self, max_points: int | None = None) -> list[tuple[int, Decimal]]:
        """(ts ns, equity) points of the current epoch: at most one a second, plus each fill.

        ``max_points`` thins a long day evenly (first and last kept) before converting, so a
        chart that redraws every second does not pay for every point of the session.
        """
        pts = self._equity
        n = len(pts)
        if max_points is not None and n > max(max_points, 2):
            step = (n - 1) / (max_points - 1)
            pts = [pts[round(i * step)] for i in range(max_points)]
        return [(ts, from_units(eq)) for ts, eq in pts]  # type: ignore[misc]

    def snapshot(self) -> Snapshot:
        """Cash, reservations, buying power, market value, equity and P/L, exact."""
        eng = self._engine
        views = []
        mv_total = cost_total = 0
        for p, m in self._marks():
            mv_total += p.qty * m
            cost_total += p.cost
            if p.qty:
                views.append(self._position_view(p))
        views.sort(key=lambda v: v.symbol)
        equity = self._cash + mv_total
        open_views = tuple(o.view() for o in self.orders(status="open"))
        return Snapshot(self._name, eng._now, self._epoch, from_units(self._start), from_units(self._cash),
                        from_units(self._reserved), from_units(self._cash - self._reserved), from_units(mv_total),
                        from_units(equity), from_units(mv_total - cost_total), from_units(self._realized),
                        from_units(self._fees), self._day_pl(equity), tuple(views), open_views, eng._seq)

    def _day_pl(self, equity: int) -> Decimal | None:
        now = self._engine._now
        if not now:
            return None
        close = previous_close(now, self._engine._close_time)
        if self._epoch_start > close:
            return from_units(equity - self._start)
        i = bisect_right(self._equity, (close, 1 << 62))
        if i == 0:
            return None
        return from_units(equity - self._equity[i - 1][1])

    def stats(self, epoch: int | str | None = None) -> dict[str, Any]:
        from .stats import account_stats

        return account_stats(self, self.trades(epoch))

    # -- DataFrames ------------------------------------------------------------------------
    def orders_df(self, status: Any = None, epoch: int | str | None = None) -> Any:
        from .frames import orders_frame

        return orders_frame(self.orders(status=status, epoch=epoch))

    def fills_df(self, epoch: int | str | None = None) -> Any:
        from .frames import dataclass_frame

        return dataclass_frame(self.fills(epoch), Fill)

    def positions_df(self) -> Any:
        from .frames import dataclass_frame

        return dataclass_frame(self.positions(), PositionView)

    def trades_df(self, epoch: int | str | None = None) -> Any:
        from .frames import trades_frame

        return trades_frame(self.trades(epoch))

    def equity_df(self) -> Any:
        from .frames import equity_frame

        return equity_frame(self._equity)

    def __repr__(self) -> str:
        s = self.snapshot()
        return (f"<Account {self._name}: equity {fmt_money(to_units(s.equity))}, cash {fmt_money(to_units(s.cash))}, "
                f"buying power {fmt_money(to_units(s.buying_power))}, {len(s.positions)} positions, "
                f"{len(s.open_orders)} open orders>")


def _infer_type(limit: Any, stop: Any) -> OrderType:
    if limit is None and stop is None:
        return _MKT
    if stop is None:
        return _LMT
    if limit is None:
        return _STP
    return _STL
