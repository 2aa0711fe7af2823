"""The engine: one book of paper accounts, driven by commands, quotes and time, on one thread.

How a call changes the book (the mechanism every command and quote batch shares):

1. **Time first.**  A command first moves engine time (a live engine's clock); what falls due
   (DAY expiries, review windows ending, the market opening or closing) is applied and
   committed as its own step, so a fill that happens while ``cancel`` runs is durable before
   ``cancel`` answers.  Sessions come from the calendar the engine is given (NYSE by default):
   a DAY order expires at the next session close, and with ``trading_hours`` regular or
   extended nothing fills while the market is closed (futures, ``/ES``, are exempt).
2. **Validate, then decide.**  Malformed input raises a ``PaperError`` before anything changes.
   Matching (:mod:`.matching`) and risk (:mod:`.risk`) decide; the decisions become
   past-tense events (:mod:`.events`).
3. **Apply, then commit.**  Each event is applied to memory by the ledger (:mod:`.ledger`, the
   only writer of durable state) and queued as a journal row; the rows of one command, or of
   one quote batch, are committed to the DuckDB journal in one transaction before the call
   returns (``:memory:`` books buffer them).
4. **If the commit fails, rebuild.**  The engine replays its journal into a fresh ledger
   (the same code a reopen runs), keeps the handles users hold and the quotes it has seen,
   and raises ``BookWriteFailed`` naming the file and the cause.  Memory then equals what a
   reopen would give, and the next call tries again.  The same happens if anything raises
   between the first event and the commit.  This is also what the engine service's
   sequencer needs: apply a group of commands in memory, commit them together, answer nobody
   before the commit, and rebuild from the journal if it fails.
5. **Then tell.**  Listeners hear about committed events only, each in isolation: one that
   raises is logged and counted in :meth:`Engine.health` and never breaks the call.

The per-quote loop (:meth:`Engine.on_quotes`) is kept tiny on purpose and inline (a call per
quote would cost more than the work): store the quote, run what is due, match the symbol's
open orders, widen the mark range of its open positions.  P/L and equity are computed when
asked for.  The trading-hours gate costs the loop nothing: the next open or close is one more
due time, and a closed market is one more reason in the ``_paused`` check ``_match`` already
makes (with ``trading_hours="always"`` there is no due time at all).
"""

from __future__ import annotations

import heapq
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ..config import EngineConfig
from ..errors import (
    BadQuote,
    BookClosed,
    BookWriteFailed,
    DuplicateClientOrderId,
    InvalidInput,
    InvalidOrder,
    ReplaceRefused,
    UnknownAlert,
    UnknownOrder,
    UnknownTrip,
)
from ..money import from_units, price_units, read_int, to_units
from ..quote import Quote, normalize_symbol, to_ns
from . import events as ev
from .account import Account, account_key, check_invariants, state_hash
from .calendar import MarketCalendar, closed_reason, engine_calendar, market_state
from .ledger import Ledger, equity_units
from .matching import fill_model, marketable, side_price, stale_reason, stop_reached, stop_ref, trail_stop
from .model import (
    Alert,
    Estimate,
    MarketState,
    Order,
    OrderStatus,
    OrderType,
    OrderView,
    RoundTrip,
    Side,
    TimeInForce,
    transition,
)
from .ordertypes import Extras, OrderTypes
from .risk import Risk
from .state import AccountState, OrderState, SymbolBook
from .store import Store, default_book_path

log = logging.getLogger("papernb.engine")

_NS = 1_000_000_000
_NEVER = 1 << 62
_MAX_QTY = 1_000_000_000
_BUY, _SELL = Side.BUY, Side.SELL
_MKT, _LMT, _STP, _STL = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT
_TRL = OrderType.TRAILING_STOP
_PENDING, _PF = OrderStatus.PENDING, OrderStatus.PARTIALLY_FILLED
_DAY, _IOC, _FOK = TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK
_EXPIRE, _ELIGIBLE = 0, 1  # heap kinds: at equal times expiry runs first


def _qty(value: object, what: str = "quantity") -> int:
    if type(value) is not int:
        try:
            value = read_int(value, what)
        except InvalidInput:
            raise InvalidOrder(f"{what} must be a whole number of shares (an int), was {value!r}") from None
    if value <= 0:  # type: ignore[operator]
        raise InvalidOrder(f"{what} must be at least 1 share, was {value}")
    if value > _MAX_QTY:  # type: ignore[operator]
        raise InvalidOrder(f"{what} {value:,} is absurdly large (limit {_MAX_QTY:,})")
    return value  # type: ignore[return-value]


def _order_price(value: object, what: str) -> int:
    try:
        return price_units(value, what)
    except InvalidInput as e:
        text = str(e)
        if "whole cents" in text or "more than 4 decimals" in text:  # computed prices: say how to round them
            text += "; pn.to_tick(price, 'buy' or 'sell') rounds it onto the tick the safe way"
        raise InvalidOrder(text) from None


def _infer_type(limit: Any, stop: Any, trail: Any = None) -> OrderType:
    if trail is not None:
        return _TRL
    if limit is None and stop is None:
        return _MKT
    if stop is None:
        return _LMT
    if limit is None:
        return _STP
    return _STL


_MAX_WATCHLIST = 500
_MAX_ALERTS = 200
_MAX_NOTE = 2000
_MAX_TAGS = 10
_TAG_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}", re.ASCII)


def _symbol_list(symbols: Any) -> list[str]:
    if isinstance(symbols, str) or not isinstance(symbols, Iterable):
        raise InvalidInput(f"a watchlist is a list of symbols like ['AAPL', 'MSFT'], was {symbols!r:.60}")
    out = list(dict.fromkeys(normalize_symbol(s) for s in symbols))
    if len(out) > _MAX_WATCHLIST:
        raise InvalidInput(f"a watchlist holds at most {_MAX_WATCHLIST} symbols, was given {len(out)}")
    return out


def _note(note: Any) -> str:
    if not isinstance(note, str):
        raise InvalidInput(f"a note is text, was {note!r:.60}")
    text = note.strip()
    if len(text) > _MAX_NOTE:
        raise InvalidInput(f"a note holds at most {_MAX_NOTE:,} characters, was {len(text):,}")
    if any(not (c.isprintable() or c in "\n\t") for c in text):
        raise InvalidInput("a note cannot hold control characters")
    return text


def _tags(tags: Any) -> list[str]:
    """Tags as given (a list, or one text of words separated by commas or spaces) -> lower-case words."""
    if isinstance(tags, str):
        items = tags.replace(",", " ").split()
    elif isinstance(tags, Iterable):
        items = list(tags)
    else:
        raise InvalidInput(f"tags are a list of words like ['breakout', 'news'], was {tags!r:.60}")
    out: list[str] = []
    for t in items:
        if not isinstance(t, str):
            raise InvalidInput(f"a tag is a word, was {t!r:.40}")
        word = t.strip().lower() if t.isascii() else t
        if not _TAG_RE.fullmatch(word):
            raise InvalidInput(f"tag {t!r:.40} must be 1-32 of a-z, 0-9, _ and - (starting with a letter or digit)")
        if word not in out:
            out.append(word)
    if len(out) > _MAX_TAGS:
        raise InvalidInput(f"a round trip takes at most {_MAX_TAGS} tags, was given {len(out)}")
    return out


def _alert_price(value: object, what: str) -> int:
    try:
        return price_units(value, f"alert {what} price")
    except InvalidInput as e:
        raise InvalidInput(str(e)) from None


Listener = Callable[[list[ev.Event]], None]


class Engine(OrderTypes):
    """A book of paper accounts over one DuckDB file (or ``:memory:``).

    ``clock`` is a callable returning int ns UTC (live sessions pass wall time); without
    one, engine time comes from the quotes and ``advance`` calls, so a replay is
    deterministic.  ``calendar`` (a :class:`~papernb.engine.calendar.MarketCalendar`, NYSE
    by default) says when sessions open and close: DAY expiry, day P/L and ``trading_hours``.
    Keyword settings are those of :class:`~papernb.EngineConfig`.
    """

    def __init__(self, path: str | None = None, *, config: EngineConfig | None = None,
                 clock: Callable[[], int] | None = None, calendar: MarketCalendar | None = None,
                 **settings: Any) -> None:
        self.config = cfg = EngineConfig.build(config, **settings)
        self.path = default_book_path() if path is None else str(path)
        self._clock = clock
        self._now = 0
        self._accounts: dict[str, Account] = {}  # name -> Account facade (created on first ask)
        self._rows: list[tuple] = []  # applied, not yet committed
        self._touched = False  # something was applied since the last commit (rebuild if it fails)
        self._seq = 0
        self._committed = 0
        self._listeners: list[Listener] = []
        self._watchers: list[Callable[[ev.Event, OrderView | None], None]] = []
        self._heap: list[tuple[int, int, int]] = []
        self._quoting: SymbolBook | None = None
        self._next_second = 0
        self._next_close = _NEVER
        self._due = 0
        self._dirty = False
        self._checkpoint_due = False
        self._equity_written: dict[str, tuple[int, int]] = {}  # account -> (epoch, points written)
        self._trips_written = 0
        self._expiry_cache = (0, 0)
        self._trail_pending: dict[int, OrderState] = {}  # trailing stops that moved since the last commit
        self.counters = {"waited_on_stale_quote": 0, "listener_errors": 0, "write_failures": 0,
                         "checkpoint_errors": 0, "rebuilds": 0}
        self._last_listener_error: str | None = None
        self._paused: str | None = None  # why nothing may fill now (feed down, market closed), or None
        self._feed_paused: str | None = None  # pause_fills: the live feed is down
        self._closed_reason: str | None = None  # trading_hours: the market is closed (futures exempt)
        self.calendar = engine_calendar(calendar, cfg.session_close)
        self._hours = cfg.trading_hours
        self._hours_change = _NEVER if self._hours == "always" else 1  # when the gate next opens or closes
        self._grouped = False  # group commits: rows wait in _group for the owner to write them
        self._group: list[tuple] = []  # applied and committed in memory, not yet written (group mode)
        self._review_ns = int(cfg.review_seconds * _NS)
        self._stale_ns = None if cfg.stale_after is None else int(cfg.stale_after * _NS)
        self.model = fill_model(cfg)
        self.risk = Risk(cfg)
        self._start_cash = to_units(cfg.starting_cash)
        self.ledger = Ledger()
        self._store: Store | None = Store(self.path, owner=self)
        try:
            self._open()
        except BaseException:
            self._store.close()
            self._store = None
            raise

    # ------------------------------------------------------------------ public: book
    @property
    def now(self) -> int:
        """Engine time, int ns UTC; never goes backwards."""
        return self._now

    @property
    def closed(self) -> bool:
        return self._store is None

    def account(self, name: str) -> Account:
        """The account ``name`` (case-folded ASCII ``a-z0-9_-``, 1-32), created with the starting cash if new."""
        key = account_key(name)
        facade = self._accounts.get(key)
        if facade is not None and key in self.ledger.accounts:
            self._check_open()
            return facade
        if key not in self.ledger.accounts:
            with self._command():
                self._emit(ev.AccountOpened(self._seq + 1, self._now, key, self._start_cash))
        facade = self._accounts[key] = Account(self, key)
        return facade

    def accounts(self) -> list[str]:
        return sorted(self.ledger.accounts)

    def on_quote(self, q: Quote) -> None:
        """A new quote: expire/activate what is due, match the symbol's orders, track marks."""
        if type(q) is not Quote:
            raise BadQuote(f"on_quote takes a pn.Quote, not {type(q).__name__}: {q!r:.60}")
        self.on_quotes((q,))

    def on_quotes(self, quotes: Iterable[Quote], then: Callable[[Quote], object] | None = None) -> None:
        """Quotes in order, each exactly as :meth:`on_quote`; ``then(quote)`` runs after each.

        One loop for every path that feeds quotes: a live batch from the feed, a backtest
        (its strategy is ``then``, so it sees each quote right after the engine has matched
        on it), and ``on_quote``.  What the batch changed is committed once at its end, or
        before each ``then`` call that follows a change (a strategy only sees durable state).
        """
        self._check_open()
        clock = self._clock
        syms = self.ledger.symbols
        # engine time and the next due time live in locals; they are read back from the engine after
        # every call that can move them (the clock, what falls due, the strategy), written when a quote does
        now, due = self._now, self._due
        alerting = self.ledger.open_alerts > 0  # price alerts cost one local test per quote when there are none
        try:
            for q in quotes:
                ts = q._ts
                if ts is None or clock is not None:
                    self._tick_clock()
                    now, due = self._now, self._due
                    if ts is None:
                        q = q.restamped(now)
                elif ts > now:
                    self._now = now = ts
                sym = q._sym
                st = syms.get(sym)
                if st is None:
                    st = syms[sym] = SymbolBook(sym)
                    self.ledger.known.add(sym)
                st.quote = q
                if alerting and st.alerts:
                    self._check_alerts(st, q)
                if now >= due:
                    self._quoting = st
                    self._run_due()  # expiries first; orders of this symbol that just became eligible
                    self._quoting = None  # are matched once, by the loop below, on this quote
                    due = self._due
                if st.orders:
                    for o in st.orders:  # closed orders leave the list at the commit, not during this loop
                        rest = o.rest
                        if rest is not None:  # a resting limit: most quotes do not reach it (``marketable``
                            # inline here: a call per order per quote would cost more than the check)
                            px = q._ask if o.buy else q._bid
                            if px is not None and (px > rest if o.buy else px < rest):
                                if o.waiting is not None:
                                    o.waiting = None  # not waiting for a fresh quote: for its price
                                continue
                        if o.status is _PENDING or o.status is _PF:
                            self._match(o, q, st)
                if st.positions:  # widen the range seen since the last fold into MFE/MAE
                    m = q._mark
                    hi = st.hi
                    if hi is None:
                        st.hi = st.lo = m
                    elif m > hi:
                        st.hi = m
                    elif m < st.lo:  # type: ignore[operator]
                        st.lo = m
                if then is not None:
                    if self._rows:
                        self._commit()
                    then(q)
                    now, due = self._now, self._due
                    alerting = self.ledger.open_alerts > 0
        except (AttributeError, TypeError) as e:
            bad = q if "q" in locals() else None
            if type(bad) is Quote:
                self._abort()
                raise
            self._commit()
            raise BadQuote(f"a batch of quotes holds a {type(bad).__name__}, not a pn.Quote: {e}") from None
        except BaseException:
            self._abort()
            raise
        if self._rows or self._trail_pending:
            self._commit()

    def advance(self, ts: Any) -> None:
        """Move engine time to ``ts`` with no quote: ends review windows, expires DAY orders."""
        self._check_open()
        ns = to_ns(ts, "advance time")
        with self._command():
            if ns > self._now:
                self._now = ns
            self._tick_clock()
            if self._now >= self._due:
                self._run_due()

    def quote(self, symbol: str) -> Quote | None:
        """The latest quote the engine has seen for ``symbol`` (as stamped on arrival)."""
        st = self.ledger.symbols.get(normalize_symbol(symbol))
        return st.quote if st else None

    def quote_age(self, symbol: str) -> tuple[int, bool] | None:
        """(age in ns, too old to fill on) of the latest quote of ``symbol``, or None when never quoted.

        The one stale rule (``stale_after``) the matching uses; ages are never negative.
        """
        st = self.ledger.symbols.get(normalize_symbol(symbol))
        q = st.quote if st is not None else None
        if q is None:
            return None
        age = self._now - q._ts
        return (age if age > 0 else 0), stale_reason(self._now, q, self._stale_ns) is not None

    def pause_fills(self, reason: str | None) -> None:
        """Let nothing fill while ``reason`` holds (a live session: "feed disconnected"); None resumes.

        Quotes still mark positions and orders are still accepted; open orders wait, showing the
        reason.  Not state: a reopened book is not paused.
        """
        self._feed_paused = reason
        self._paused = reason if reason is not None else self._closed_reason

    def market_state(self, symbol: str | None = None) -> MarketState:
        """Where the market is in its day at engine time, from the calendar, in the banner's words.

        With ``symbol`` a future (``/ES``), the exchange's hours do not apply to it.
        """
        exempt = symbol is not None and normalize_symbol(symbol).startswith("/")
        return market_state(self.calendar, self._now, self._hours, exempt)

    def symbols(self) -> list[str]:
        """Every symbol this engine has seen a quote for since it was opened."""
        return sorted(s for s, st in self.ledger.symbols.items() if st.quote is not None)

    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Call ``callback(events)`` after each commit with the committed events; returns unsubscribe.

        Events are the typed values of :mod:`papernb.engine.events`.  Listeners run on the
        engine's thread after the commit, so a cell that trades directly still refreshes a
        dashboard; one that raises is logged and counted, never breaking the call.
        """
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    def watch(self, callback: Callable[[ev.Event, OrderView | None], None]) -> Callable[[], None]:
        """Call ``callback(event, order_view)`` as each event is applied, before it is durable; returns
        unwatch.  For buffering only (a strategy runner keeps each order as it stood after each
        change): pair it with :meth:`subscribe` to learn which events committed (a failed commit
        rolls them back).  The callback must not call the engine; ``order_view`` is None for account
        events."""
        self._watchers.append(callback)

        def unwatch() -> None:
            if callback in self._watchers:
                self._watchers.remove(callback)

        return unwatch

    def health(self) -> dict[str, Any]:
        """Counters that say whether the book is well: listener errors, failed writes, rebuilds."""
        return {**self.counters, "last_listener_error": self._last_listener_error, "seq": self._committed,
                "closed": self.closed}

    @property
    def store(self) -> Store:
        """The book's store: for an owner that writes the journal itself (the engine service)."""
        self._check_open()
        return self._store  # type: ignore[return-value]

    @property
    def seq(self) -> int:
        """The last committed journal sequence number (moves exactly when durable state changed)."""
        return self._committed

    def save(self, path: str) -> None:
        """Write a copy of the whole book (journal and checkpoints) to the new file ``path``."""
        self._check_open()
        from pathlib import Path

        out = Path(path).expanduser()
        if out.exists():
            raise InvalidInput(f"{out} exists already; save to a new file")
        Engine(str(out), config=self.config).close()  # creates the schema
        self._commit()
        self._checkpoint()
        self._store.copy_to(str(out))  # type: ignore[union-attr]

    def flush(self) -> None:
        """Write buffered journal rows and refresh the checkpoint tables now."""
        self._check_open()
        self._checkpoint()

    def close(self) -> None:
        """Checkpoint and release the book file (another Engine or process may then open it)."""
        store = self._store
        if store is None:
            return
        try:
            self._commit()
            self._checkpoint()
        finally:
            self._store = None
            store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def state_hash(self) -> str:
        """A hash of everything durable (not quotes, marks or equity points)."""
        return state_hash(self.ledger)

    def check_invariants(self) -> None:
        """Raise AssertionError if the books do not balance exactly (used by tests)."""
        check_invariants(self)

    def order(self, account: str, order_id: Any) -> Order:
        """The live order ``order_id`` of ``account``; another account's id is an unknown order."""
        return self._lookup(account, order_id).handle

    # ------------------------------------------------------------------ commands (used by Account)
    def submit(self, account: str, symbol: Any, side: Any, qty: Any, *, type: Any = None, limit: Any = None,
               stop: Any = None, tif: Any = None, client_order_id: Any = None, trail: Any = None,
               trail_pct: Any = None, take_profit: Any = None, stop_loss: Any = None) -> Order:
        """Place an order for ``account``; ``type`` None infers it from the prices given.

        ``trail`` / ``trail_pct`` make a trailing stop; ``take_profit`` / ``stop_loss`` a bracket
        (children placed on fill); ``tif`` ``"ioc"`` / ``"fok"`` act once (papernb/engine/ordertypes.py).
        """
        self._check_open()
        a = self._account_state(account)
        sym, side_, type_, n, lim, stp, tif_, x = self._parse_order(symbol, side, qty, type, limit, stop, tif, trail,
                                                                    trail_pct, take_profit, stop_loss)
        coid = None
        if client_order_id is not None:
            if not isinstance(client_order_id, str) or not 1 <= len(client_order_id) <= 64 \
                    or not client_order_id.isprintable():
                raise InvalidOrder(f"client_order_id must be 1-64 printable characters, was {client_order_id!r}")
            coid = client_order_id
        if coid is not None and coid in a.coids:
            orig = a.coids[coid]
            request = (sym, side_.value, type_.value, n, lim, stp, tif_.value)
            if x is not None:
                request += (x,)
            if orig.request == request:
                return orig.handle
            raise DuplicateClientOrderId(f"client_order_id {coid!r} was already used for order {orig.id} "
                                         f"with other parameters")
        with self._command():
            o = self._place(self.ledger.accounts[a.name], sym, side_, type_, n, lim, stp, tif_, coid, x)
        return o.handle

    def _parse_order(self, symbol: Any, side: Any, qty: Any, type: Any, limit: Any, stop: Any, tif: Any,
                     trail: Any = None, trail_pct: Any = None, take_profit: Any = None,
                     stop_loss: Any = None) -> tuple:
        """A submitted order, checked: (symbol, side, type, qty, limit, stop, tif, extras or None)."""
        sym = normalize_symbol(symbol)
        side_ = Side.parse(side, "side")
        if type is None:
            type_ = _infer_type(limit, stop, trail if trail is not None else trail_pct)
        else:
            type_ = OrderType.parse(type, "order type")
        n = _qty(qty)
        lim = None if limit is None else _order_price(limit, "limit price")
        stp = None if stop is None else _order_price(stop, "stop price")
        if type_ is not _TRL:
            needs_lim = type_ in (_LMT, _STL)
            needs_stop = type_ in (_STP, _STL)
            kind = type_.value.lower().replace("_", "-")
            if needs_lim and lim is None:
                raise InvalidOrder(f"a {kind} order needs a limit price")
            if needs_stop and stp is None:
                raise InvalidOrder(f"a {kind} order needs a stop price")
            if not needs_lim and lim is not None:
                raise InvalidOrder(f"a {type_.value.lower()} order takes no limit price (use a limit order)")
            if not needs_stop and stp is not None:
                raise InvalidOrder(f"a {type_.value.lower()} order takes no stop price (use a stop order)")
        tif_ = TimeInForce.parse(self.config.default_tif if tif is None else tif, "time in force")
        x = None
        if type_ is _TRL or trail is not None or trail_pct is not None or take_profit is not None \
                or stop_loss is not None or tif_ is _IOC or tif_ is _FOK:
            x = self._order_extras(type_, side_, tif_, lim, stp, trail, trail_pct, take_profit, stop_loss)
        return sym, side_, type_, n, lim, stp, tif_, x

    def replace(self, account: str, order_id: Any, *, qty: Any = None, limit: Any = None, stop: Any = None,
                tif: Any = None, trail: Any = None, trail_pct: Any = None) -> Order:
        """Edit an open order in place (``qty`` is the new total); raises ``ReplaceRefused``."""
        self._check_open()
        o = self._lookup(account, order_id)
        if not o.is_open:
            transition(o.id, o.status, "OrderReplaced")  # raises OrderNotOpen with the reason
        n = o.qty if qty is None else _qty(qty, "new quantity")
        lim, stp = o.limit, o.stop
        kind = o.type.value.lower().replace("_", "-")
        if limit is not None:
            if o.type not in (_LMT, _STL):
                raise InvalidOrder(f"order {o.id} is a {kind} order: it has no limit price to change")
            lim = _order_price(limit, "limit price")
        if stop is not None:
            if o.type not in (_STP, _STL):
                if o.trailing:
                    raise InvalidOrder(f"order {o.id} is a trailing stop: its level follows the price; change "
                                       f"trail= or trail_pct=")
                raise InvalidOrder(f"order {o.id} is a {kind} order: it has no stop price to change")
            stp = _order_price(stop, "stop price")
        trl, pct = o.trail, o.trail_pct
        if trail is not None or trail_pct is not None:
            if not o.trailing:
                raise InvalidOrder(f"order {o.id} is a {kind} order: trail= and trail_pct= are for trailing stops")
            trl, pct = self._order_extras(_TRL, o.side, o.tif, None, None, trail, trail_pct, None, None)[:2]
        tif_ = o.tif if tif is None else TimeInForce.parse(tif, "time in force")
        if tif_ is not o.tif and (tif_ is _IOC or tif_ is _FOK):
            if o.type is not _MKT and o.type is not _LMT:
                raise InvalidOrder(f"time in force {tif_.value.lower()} is for market and limit orders, not "
                                   f"{kind} orders")
            if o.oco is not None or o.parent is not None:
                raise InvalidOrder(f"order {o.id} is one of a pair (OCO or bracket): it rests, ioc / fok do not apply")
        if n <= o.filled:
            raise InvalidOrder(f"order {o.id} has {o.filled} shares filled; the new total must exceed that")
        if n != o.qty and o.oco is not None:
            raise InvalidOrder(f"order {o.id} is one of an OCO pair with order {o.oco.id}: its quantity follows "
                               f"the pair (cancel the pair and place it again to change it)")
        if n == o.qty and lim == o.limit and stp == o.stop and tif_ is o.tif and trl == o.trail \
                and pct == o.trail_pct:
            return o.handle
        refusal = None
        with self._command():
            o = self.ledger.orders[o.id]  # time may have moved (and filled it) before the command
            if not o.is_open:
                transition(o.id, o.status, "OrderReplaced")
            a = self.ledger.accounts[o.account]
            now = self._now
            st = self.ledger.symbols.get(o.symbol)
            q = st.quote if st is not None else None
            if o.trailing:  # the best price since acceptance stays; the level moves with the new trail
                stp = None if o.live_best is None else trail_stop(o.live_best, trl, pct, o.buy)
            own_cash, own_shares = o.res_cash, o.res_shares
            p = o.oco if o.oco is not None and o.oco.is_open else None
            if p is not None:  # an OCO pair holds one reservation: the larger of what each would hold
                own_cash += p.res_cash
                own_shares += p.res_shares
            res_cash, res_shares, refusal = self.risk.reservation(
                a, o.symbol, o.buy, o.type, n - o.filled, lim, stp, q, own_shares=own_shares, own_cash=own_cash)
            if refusal is None and p is not None:
                pc, ps, refusal = self._pair_need(a, o.symbol, [(p.buy, p.type, n - o.filled, p.limit,
                                                                 self._stop_now(p))], q, own_cash, own_shares)
                res_cash, res_shares = max(res_cash, pc), max(res_shares, ps)
            if refusal is None and stp is not None and stp <= 0:
                refusal = f"the trail is more than the price: its stop would be {from_units(stp)}"
            if refusal is not None:
                self._emit(ev.OrderReplaceRefused(self._seq + 1, now, a.name, o.id, refusal, n, lim, stp,
                                                  tif_.value))
            else:
                old_expires = expires = o.expires
                if tif_ is not o.tif:
                    expires = self._day_expiry(now) if tif_ is _DAY else None
                # a triggered stop given a new stop price waits for it again (README, matching rule 3)
                rearmed = o.triggered and stp != o.stop
                trails = (trl, pct, o.trail, o.trail_pct) if o.trailing else (None, None, None, None)
                self._emit(ev.OrderReplaced(self._seq + 1, now, a.name, o.id, n, lim, stp, tif_.value,
                                            now + self._review_ns, expires, res_cash, res_shares, o.qty, o.limit,
                                            o.stop, o.tif.value, rearmed, *trails))
                if o.eligible <= now:
                    if q is not None:
                        self._match(o, q, st)  # type: ignore[arg-type]
                    elif o.ioc:
                        self._cancel_now(o, f"no quote for {o.symbol} yet")
                else:
                    self._schedule(o.eligible, _ELIGIBLE, o.id)
                if o.expires is not None and o.expires != old_expires and o.is_open:
                    self._schedule(o.expires, _EXPIRE, o.id)
        if refusal is not None:
            raise ReplaceRefused(f"order {o.id} was not changed: {refusal}")
        return o.handle

    def cancel(self, account: str, order_id: Any, reason: str = "cancelled by you") -> Order:
        """Cancel an open order; a filled or closed order raises ``OrderNotOpen``."""
        self._check_open()
        o = self._lookup(account, order_id)
        transition(o.id, o.status, "OrderCancelled")  # raises OrderNotOpen when closed
        with self._command():
            o = self.ledger.orders[o.id]
            transition(o.id, o.status, "OrderCancelled")  # the clock may have filled or expired it just now
            self._emit(ev.OrderCancelled(self._seq + 1, self._now, o.account, o.id, reason))
        return o.handle

    def cancel_all(self, account: str, symbol: str | None = None) -> list[Order]:
        """Cancel every open order of ``account`` (of ``symbol``), in one command."""
        self._check_open()
        key = self._account_state(account).name
        sym = None if symbol is None else normalize_symbol(symbol)
        with self._command():
            a = self.ledger.accounts[key]
            done = []
            for o in list(a.open.values()):
                if (sym is None or o.symbol == sym) and o.is_open:  # (an OCO partner is cancelled with its pair)
                    self._emit(ev.OrderCancelled(self._seq + 1, self._now, key, o.id, "cancelled by you"))
                    done.append(o)
        return [o.handle for o in done]

    def close_position(self, account: str, symbol: str | None = None) -> list[Order]:
        """Close ``symbol``'s position (or every position) in one command; returns the orders it touched.

        The open orders on the closing side (sells of a long, buys of a short), which would
        otherwise hold the shares or the cash, are cancelled first; then one market order for
        the whole position is placed.  A flat symbol is an ``InvalidOrder``.
        """
        self._check_open()
        key = self._account_state(account).name
        sym = None if symbol is None else normalize_symbol(symbol)
        a = self.ledger.accounts[key]
        if sym is not None:
            p = a.positions.get(sym)
            if p is None or not p.qty:
                raise InvalidOrder(f"there is no open position in {sym} to close")
            targets = [sym]
        else:
            targets = sorted(s for s, p in a.positions.items() if p.qty)
        for s in targets:
            p = a.positions[s]
            st = self.ledger.symbols.get(s)
            if p.qty < 0 and (st is None or st.quote is None):
                raise InvalidOrder(f"no quote for {s} yet: the order that closes the short cannot be priced")
        with self._command():
            a = self.ledger.accounts[key]
            out: list[OrderState] = []
            for s in targets:
                p = a.positions.get(s)
                if p is None or not p.qty:
                    continue
                selling = p.qty > 0
                for o in list(a.open.values()):
                    if o.symbol == s and o.buy != selling and o.is_open:
                        self._emit(ev.OrderCancelled(self._seq + 1, self._now, key, o.id,
                                                     "cancelled to close the position"))
                        out.append(o)
                out.append(self._place(a, s, _SELL if selling else _BUY, _MKT, abs(p.qty), None, None,
                                       _DAY, None))
        return [o.handle for o in out]

    def reset(self, account: str, cash: Any = None) -> None:
        """Start ``account`` over: cancel its open orders, close its positions at their marks
        (journalled, so their round trips end with a verdict), then a new epoch with ``cash``."""
        self._check_open()
        key = self._account_state(account).name
        units = self._start_cash if cash is None else to_units(cash, "cash")
        if units < 0:
            raise InvalidInput(f"cash cannot be negative, was {cash!r}")
        with self._command():
            a = self.ledger.accounts[key]
            for o in list(a.open.values()):
                if o.is_open:  # (an OCO partner is cancelled with its pair)
                    self._emit(ev.OrderCancelled(self._seq + 1, self._now, key, o.id, "account reset"))
            for s, p in sorted(a.positions.items()):
                if p.qty:
                    st = self.ledger.symbols.get(s)
                    q = st.quote if st is not None else None
                    mark = q._mark if q is not None else p.carry()
                    st.fold(mark)  # type: ignore[union-attr]
                    self._emit(ev.PositionClosed(self._seq + 1, self._now, key, s, p.qty, mark, "account reset",
                                                 p.mfe, p.mae))
            self._emit(ev.AccountReset(self._seq + 1, self._now, key, a.epoch + 1, units))

    def estimate(self, account: str, symbol: Any, side: Any, qty: Any, *, type: Any = None, limit: Any = None,
                 stop: Any = None, trail: Any = None, trail_pct: Any = None) -> Estimate:
        """What the order would hold and cost if placed now, by the engine's own rules (changes nothing)."""
        a = self._account_state(account)
        sym = normalize_symbol(symbol)
        side_ = Side.parse(side, "side")
        trailing = trail if trail is not None else trail_pct
        type_ = _infer_type(limit, stop, trailing) if type is None else OrderType.parse(type, "order type")
        n = _qty(qty)
        lim = None if limit is None else _order_price(limit, "limit price")
        stp = None if stop is None else _order_price(stop, "stop price")
        st = self.ledger.symbols.get(sym)
        q = st.quote if st is not None else None
        buy = side_ is _BUY
        if type_ is _TRL:  # its level now: the trail from the price it would start from
            trl, pct = self._order_extras(_TRL, side_, TimeInForce.GTC, lim, stp, trail, trail_pct, None, None)[:2]
            ref = stop_ref(q, buy) if q is not None else None
            stp = None if ref is None else trail_stop(ref, trl, pct, buy)
        if q is None and sym not in self.ledger.known:
            res_cash, res_shares, refusal = 0, 0, f"no quote for {sym}"
        else:
            res_cash, res_shares, refusal = self.risk.reservation(a, sym, buy, type_, n, lim, stp, q)
        ref = lim if lim is not None else (side_price(q, buy) if q is not None else None)
        if ref is None and stp is not None:
            ref = stp
        age = None if q is None else max(self._now - q._ts, 0)
        stale = q is not None and stale_reason(self._now, q, self._stale_ns) is not None
        bp = a.cash - a.reserved
        return Estimate(sym, side_, type_, n, from_units(ref), from_units(res_cash), res_shares,  # type: ignore[arg-type]
                        from_units(self.risk.commission_estimate(n)), from_units(bp),  # type: ignore[arg-type]
                        from_units(bp - res_cash), refusal, age, stale)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ the trader's records
    # A watchlist, notes and tags on round trips, price alerts: not money, but durable like the rest
    # (typed events, applied by the ledger, committed by the command path, replayed on reopen).
    def set_watchlist(self, account: str, symbols: Any) -> list[str]:
        """Make ``symbols`` (normalized, duplicates dropped, order kept) the account's watchlist."""
        self._check_open()
        key = self._account_state(account).name
        syms = _symbol_list(symbols)
        if self.ledger.watchlists.get(key) == syms:
            return list(syms)
        with self._command():
            self._emit(ev.WatchlistSet(self._seq + 1, self._now, key, syms))
        return list(syms)

    def watchlist(self, account: str) -> list[str] | None:
        """The account's watchlist, or None if it never set one."""
        wl = self.ledger.watchlists.get(self._account_state(account).name)
        return None if wl is None else list(wl)

    def annotate(self, account: str, trip_id: Any, note: Any = None, tags: Any = None) -> RoundTrip:
        """Give round trip ``trip_id`` a note and tags (None keeps what it has; "" / [] clear it)."""
        self._check_open()
        a = self._account_state(account)
        i = self._trip_index(a, trip_id)
        t = a.trips[i]
        text = t.note if note is None else _note(note)
        words = list(t.tags) if tags is None else _tags(tags)
        if text == t.note and tuple(words) == t.tags:
            return t
        with self._command():
            self._emit(ev.TripAnnotated(self._seq + 1, self._now, a.name, t.id, text, words))
        return self.ledger.accounts[a.name].trips[i]

    def trip(self, account: str, trip_id: Any) -> RoundTrip:
        """Round trip ``trip_id`` of ``account`` (any epoch); another account's id is unknown."""
        a = self._account_state(account)
        return a.trips[self._trip_index(a, trip_id)]

    def _trip_index(self, a: AccountState, trip_id: Any) -> int:
        if isinstance(trip_id, RoundTrip):
            trip_id = trip_id.id
        try:
            tid = read_int(trip_id, "round trip id")
        except InvalidInput:
            raise UnknownTrip(f"round trip id must be an int, was {trip_id!r}") from None
        i = self.ledger.trip_index(a, tid)
        if i is None:
            raise UnknownTrip(f"there is no round trip {tid} in account {a.name}")
        return i

    def alert(self, account: str, symbol: Any, above: Any = None, below: Any = None) -> Alert:
        """A price alert: one notification when the mark reaches ``above`` or falls to ``below``."""
        self._check_open()
        a = self._account_state(account)
        sym = normalize_symbol(symbol)
        if above is None and below is None:
            raise InvalidInput(f"an alert on {sym} needs a price: above=..., below=... or both")
        hi = None if above is None else _alert_price(above, "above")
        lo = None if below is None else _alert_price(below, "below")
        if hi is not None and lo is not None and lo >= hi:
            raise InvalidInput(f"an alert's below price ({from_units(lo)}) must be under its above price "
                               f"({from_units(hi)})")
        st = self.ledger.symbols.get(sym)
        if (st is None or st.quote is None) and sym not in self.ledger.known:
            raise InvalidInput(f"no quotes for {sym}: an alert needs a symbol the feed carries")
        mine = sum(1 for al in self.ledger.alerts.values() if al.account == a.name and al.status == "open")
        if mine >= _MAX_ALERTS:
            raise InvalidInput(f"account {a.name} has {mine} open alerts, the most it may have; remove some first")
        with self._command():
            aid = self.ledger.next_alert_id
            self._emit(ev.AlertSet(self._seq + 1, self._now, a.name, aid, sym, hi, lo))
        return self.ledger.alerts[aid].view()

    def alerts(self, account: str) -> list[Alert]:
        """The account's open alerts, oldest first."""
        key = self._account_state(account).name
        return [al.view() for al in self.ledger.alerts.values() if al.account == key and al.status == "open"]

    def remove_alert(self, account: str, alert_id: Any) -> Alert:
        """Remove an open alert; an alert that fired or was removed already is an ``UnknownAlert``."""
        self._check_open()
        key = self._account_state(account).name
        try:
            aid = read_int(alert_id.id if isinstance(alert_id, Alert) else alert_id, "alert id")
        except InvalidInput:
            raise UnknownAlert(f"alert id must be an int, was {alert_id!r}") from None
        al = self.ledger.alerts.get(aid)
        if al is None or al.account != key or al.status != "open":
            why = "" if al is None or al.account != key else f" (it {al.status} already)"
            raise UnknownAlert(f"there is no open alert {aid} in account {key}{why}")
        with self._command():
            if al.status == "open":  # time moving first cannot fire an alert (only quotes do), but be sure
                self._emit(ev.AlertRemoved(self._seq + 1, self._now, key, aid))
        return al.view()

    def _check_alerts(self, st: SymbolBook, q: Quote) -> None:
        """A quote of a symbol with open alerts: fire each alert its mark reached (once, then gone)."""
        m = q._mark
        for al in tuple(st.alerts):
            if al.above is not None and m >= al.above:
                direction = "above"
            elif al.below is not None and m <= al.below:
                direction = "below"
            else:
                continue
            self._emit(ev.AlertTriggered(self._seq + 1, self._now, al.account, al.id, al.symbol, m, direction))

    # ------------------------------------------------------------------ command plumbing
    def _check_open(self) -> None:
        if self._store is None:
            raise BookClosed(self.path)

    @contextmanager
    def _command(self) -> Iterator[None]:
        """One command: time moves (committed on its own), then the body's events commit together."""
        self._begin()
        try:
            yield
            self._commit()
        except BaseException:
            self._abort()
            raise

    def _begin(self) -> None:
        """Start a command: the book must be open; time moves, and what fell due is committed first."""
        if self._store is None:
            raise BookClosed(self.path)
        try:
            self._tick_clock()
            if self._rows or self._trail_pending:
                self._commit()
        except BaseException:
            self._abort()
            raise

    def _abort(self) -> None:
        """Something raised after events were applied but before they committed: rebuild (keeping the
        rows of earlier commands of a group, which are good and will be written with it)."""
        if self._touched or self._rows:
            self._rebuild(self._group)

    def _account_state(self, account: str) -> AccountState:
        a = self.ledger.accounts.get(account)
        if a is None:
            raise InvalidInput(f"there is no account {account!r} in this book")
        return a

    def _lookup(self, account: str, order_id: Any) -> OrderState:
        if isinstance(order_id, Order | OrderView):
            order_id = order_id.id
        try:
            oid = read_int(order_id, "order id")
        except InvalidInput:
            raise UnknownOrder(f"order id must be an int, was {order_id!r}") from None
        o = self.ledger.orders.get(oid)
        if o is None or o.account != account:
            raise UnknownOrder(f"there is no order {oid} in account {account}")
        return o

    def _place(self, a: AccountState, sym: str, side_: Side, type_: OrderType, n: int, lim: int | None,
               stp: int | None, tif_: TimeInForce, coid: str | None, x: Extras | None = None) -> OrderState:
        o = self._accept(a, sym, side_, type_, n, lim, stp, tif_, coid, x)
        if o.is_open:
            self._first_look(o)
        return o

    def _accept(self, a: AccountState, sym: str, side_: Side, type_: OrderType, n: int, lim: int | None,
                stp: int | None, tif_: TimeInForce, coid: str | None, x: Extras | None = None, *,
                held: tuple[int, int, str | None] | None = None, review: bool = True,
                parent_id: int | None = None) -> OrderState:
        """Accept (or deny) a new order; ``held`` is (cash, shares, refusal) decided by the caller
        (an OCO pair's one reservation), ``review=False`` makes it eligible at once (bracket children)."""
        now = self._now
        oid = self.ledger.next_order_id
        elig = now + self._review_ns if review else now
        # no engine time yet (nothing quoted, so it is refused): no session to expire at either
        expires = self._day_expiry(now) if tif_ is _DAY and now else None
        st = self.ledger.symbols.get(sym)
        q = st.quote if st is not None else None
        buy = side_ is _BUY
        best = None
        if type_ is _TRL and q is not None:  # a trailing stop starts from the price at acceptance
            best = stop_ref(q, buy)
            if best is not None:
                stp = trail_stop(best, x[0], x[1], buy)  # type: ignore[index]
        if q is None and sym not in self.ledger.known:
            reason: str | None = f"no quote for {sym}"
            res_cash = res_shares = 0
        elif stp is not None and stp <= 0:
            reason, res_cash, res_shares = (f"the trail is more than the price: its stop would be "
                                            f"{from_units(stp)}"), 0, 0
        elif held is not None:
            res_cash, res_shares, reason = held
        else:  # quoted before (perhaps before the book was reopened): a limit order can wait for the next
            res_cash, res_shares, reason = self.risk.reservation(a, sym, buy, type_, n, lim, stp, q)
        more = () if x is None and parent_id is None else (x or (None, None, None, None))
        if reason is not None:
            if more:
                trl, pct, tp, sl = more  # type: ignore[misc]
                more = (trl, pct, tp, sl, parent_id)
            self._emit(ev.OrderDenied(self._seq + 1, now, a.name, oid, sym, side_.value, type_.value, n, lim, stp,
                                      tif_.value, coid, elig, expires, reason, *more))
            return self.ledger.orders[oid]
        rested = type_ is _LMT and tif_ is not _IOC and tif_ is not _FOK \
            and self._rests_at_once(buy, lim, q, st, sym)  # type: ignore[arg-type]
        if more:
            trl, pct, tp, sl = more  # type: ignore[misc]
            more = (trl, pct, best, tp, sl, parent_id)
        self._emit(ev.OrderAccepted(self._seq + 1, now, a.name, oid, sym, side_.value, type_.value, n, lim, stp,
                                    tif_.value, coid, elig, expires, res_cash, res_shares, rested, *more))
        return self.ledger.orders[oid]

    def _first_look(self, o: OrderState) -> None:
        """A newly accepted order: matched on the latest quote once eligible; its expiry scheduled."""
        now = self._now
        if o.eligible > now:
            self._schedule(o.eligible, _ELIGIBLE, o.id)
        else:
            st = self.ledger.symbols.get(o.symbol)
            q = st.quote if st is not None else None
            if q is not None:
                self._match(o, q, st)  # type: ignore[arg-type]
            elif o.ioc:
                self._cancel_now(o, f"no quote for {o.symbol} yet")
        if o.expires is not None and o.is_open:
            self._schedule(o.expires, _EXPIRE, o.id)

    def _rests_at_once(self, buy: bool, lim: int, q: Quote | None, st: SymbolBook | None, sym: str) -> bool:
        """Would the first look (``_match``) on acceptance find this limit order not marketable?"""
        if q is None or self._review_ns:
            return False
        if self._closed_reason is not None and sym[0] != "/":
            return False  # the market is closed: its first look is at the open, as a new order's
        if stale_reason(self._now, q, self._stale_ns) is not None:
            return False
        if self.model.uses_sizes and not self.model.available(st, q, buy):  # type: ignore[arg-type]
            return False
        return not marketable(buy, side_price(q, buy), lim)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ time
    def _tick_clock(self) -> None:
        if self._clock is not None:
            t = self._clock()
            if t > self._now:
                self._now = t
        if self._now >= self._due:
            self._run_due()

    def _day_expiry(self, now: int) -> int:
        """The first session close strictly after ``now`` (cached until it passes)."""
        lo, hi = self._expiry_cache
        if not lo <= now < hi:
            cal = self.calendar
            hi = cal.next_close(now)
            lo = cal.previous_close(now)
            self._expiry_cache = (lo, hi)
        return hi

    def _update_hours(self, now: int) -> None:
        """The trading-hours gate at ``now``: open or closed, and when that next changes."""
        if not now:  # no engine time yet: nothing can fill anyway
            self._hours_change = 1
            return
        extended = self._hours == "extended"
        trading, change = self.calendar.trading_window(now, extended)
        self._hours_change = change
        self._closed_reason = None if trading else closed_reason(self.calendar, now, extended)
        self._paused = self._feed_paused if self._feed_paused is not None else self._closed_reason

    def last_close(self) -> int:
        """The latest session close at or before engine time (day P/L counts from there)."""
        now = self._now
        lo, hi = self._expiry_cache
        if not lo <= now < hi:
            self._day_expiry(now)
        return self._expiry_cache[0]

    def _schedule(self, t: int, kind: int, oid: int) -> None:
        heapq.heappush(self._heap, (t, kind, oid))
        if t < self._due:
            self._due = t

    def _run_due(self) -> None:
        now = self._now
        if now >= self._hours_change:  # first: an order that becomes eligible at the open may fill
            self._update_hours(now)
        heap = self._heap
        orders = self.ledger.orders
        while heap and heap[0][0] <= now:
            t, kind, oid = heapq.heappop(heap)
            o = orders.get(oid)
            if o is None or not o.is_open:
                continue
            if kind == _EXPIRE:
                if o.expires == t:
                    if o.trailing:
                        self._flush_trail(o)
                    self._emit(ev.OrderExpired(self._seq + 1, now, o.account, oid, t))
            elif o.eligible == t:
                st = self.ledger.symbols.get(o.symbol)
                if st is not None and st.quote is not None and st is not self._quoting:
                    self._match(o, st.quote, st)
                elif o.ioc and (st is None or st.quote is None):  # an IOC / FOK acts now or never
                    self._cancel_now(o, f"no quote for {o.symbol} yet")
        if now >= self._next_close:
            if self._next_close != _NEVER:
                self._record_equity_all(self._next_close)
            self._next_close = self.calendar.next_close(now)
        if now >= self._next_second:
            self._second_tick()
            self._next_second = (now // _NS + 1) * _NS
        self._due = min(heap[0][0] if heap else _NEVER, self._next_second, self._next_close, self._hours_change)

    def _second_tick(self) -> None:
        """Once a second of engine time: fold marks into MFE/MAE, record equity, checkpoint."""
        for st in self.ledger.symbols.values():
            if st.positions:
                st.fold()
        self._record_equity_all(self._now)
        if self._store is not None and not self._store.memory and self._dirty:
            if self._rows:
                self._checkpoint_due = True  # after the commit: checkpoints show durable state only
            else:
                self._checkpoint()

    def _record_equity_all(self, ts: int) -> None:
        for a in self.ledger.accounts.values():
            a.record_equity(ts, equity_units(a))

    # ------------------------------------------------------------------ events, commit, rebuild
    def _emit(self, e: ev.Event) -> None:
        """Apply one event, then queue its journal row (committed at the end of the call)."""
        self._touched = True
        self.ledger.apply(e)
        self._seq = e.seq
        oid = getattr(e, "order_id", None)
        o = self.ledger.orders.get(oid) if oid is not None else None
        if o is None:
            self._rows.append((e.seq, e.ts, e.account, e.kind, oid, getattr(e, "symbol", None), None, e, None))
        else:
            # StrEnum members are str: journalled as their values without the slow ``.value``
            self._rows.append((e.seq, e.ts, e.account, e.kind, oid, o.symbol, o.status, e,
                               (o.side, o.type, o.qty, o.filled, o.limit, o.stop, o.tif, o.reason)))
            if self._watchers:
                view = o.view()
                for cb in self._watchers:
                    cb(e, view)
            if o.links:  # an OCO partner, a bracket's children: what follows from this event (ordertypes.py)
                self._on_linked(o, e)

    def _commit(self) -> None:
        if self._trail_pending:  # the trailing stops' latest levels go with this commit
            self._flush_trails()
        rows = self._rows
        if not rows:
            self._touched = False
            return
        if self.ledger.dirty_symbols:
            self.ledger.compact()
        store = self._store
        if store is None:
            raise BookClosed(self.path)
        if self._grouped:  # the owner writes them with the rest of the group (take_group)
            self._group.extend(rows)
            self._rows = []
            self._touched = False
            return
        try:
            store.append(rows)
        except Exception as exc:
            self.counters["write_failures"] += 1
            self._rebuild()
            if isinstance(exc, BookWriteFailed):
                raise
            raise store.write_failed(exc) from exc
        except BaseException:
            self._rebuild()
            raise
        self._rows = []
        self._touched = False
        self._committed = self._seq
        self._dirty = True
        self._after_commit(rows)

    def _after_commit(self, rows: list[tuple]) -> None:
        changed: set[str] = set()
        for r in rows:
            if r[3] in ("OrderFilled", "OrderPartiallyFilled", "PositionClosed"):
                changed.add(r[2])
        if changed:
            for name in changed:
                a = self.ledger.accounts[name]
                a.record_equity(self._now, equity_units(a), force=True)
        if self._checkpoint_due:
            self._checkpoint_due = False
            self._checkpoint()
        if self._listeners:
            events = [r[7] for r in rows]
            for cb in tuple(self._listeners):
                try:
                    cb(events)
                except Exception as exc:  # one listener's bug never breaks the command or the batch
                    self.counters["listener_errors"] += 1
                    self._last_listener_error = f"{type(exc).__name__}: {exc}"
                    log.exception("engine listener %r failed", cb)

    def _rebuild(self, unwritten: list[tuple] | None = None) -> None:
        """Back to the last durable state: replay the journal into a fresh ledger (then the
        ``unwritten`` rows of a group whose commands succeeded, when a later one failed).

        Handles users hold are re-pointed at the rebuilt orders; quotes, mark ranges,
        MFE/MAE and equity points (not state) are carried over from before.
        """
        self._rows = []
        self._touched = False
        self._trail_pending = {}
        self.counters["rebuilds"] += 1
        old = self.ledger
        new = Ledger({oid: o.handle for oid, o in old.orders.items()})
        if self._store is not None:
            self._replay(new)
        if unwritten:
            for r in unwritten:
                new.apply(r[7])
            new.compact()
        else:
            self._group = []
        for sym, st in old.symbols.items():
            nst = new.symbol(sym)
            nst.quote, nst.hi, nst.lo = st.quote, st.hi, st.lo
        # the same dict object, so a quote loop that holds it (``on_quotes`` calling a strategy
        # whose command failed) goes on with the rebuilt symbols
        old.symbols.clear()
        old.symbols.update(new.symbols)
        new.symbols = old.symbols
        new.known |= old.known
        for name, a in old.accounts.items():
            na = new.accounts.get(name)
            if na is None or na.epoch != a.epoch:
                continue
            na.equity, na.peak, na.max_dd, na.max_dd_peak = a.equity, a.peak, a.max_dd, a.max_dd_peak
            for sym, p in a.positions.items():
                np = na.positions.get(sym)
                if np is not None and np.opened == p.opened:
                    np.mfe, np.mae = max(np.mfe, p.mfe), min(np.mae, p.mae)
        self.ledger = new
        self._seq = unwritten[-1][0] if unwritten else self._committed
        self._reschedule()

    def _replay(self, ledger: Ledger) -> None:
        last = 0
        now = self._now
        for e in self._store.events():  # type: ignore[union-attr]
            ledger.apply(e)
            last = e.seq
            if e.ts > now:
                now = e.ts
        ledger.compact()
        self._now = now
        self._seq = self._committed = last

    def _reschedule(self) -> None:
        self._heap = []
        self._due = 0
        for o in self.ledger.orders.values():
            if o.is_open:
                if o.eligible > self._now:
                    heapq.heappush(self._heap, (o.eligible, _ELIGIBLE, o.id))
                if o.expires is not None:
                    heapq.heappush(self._heap, (o.expires, _EXPIRE, o.id))

    def _open(self) -> None:
        store = self._store
        assert store is not None
        self._replay(self.ledger)
        self._now = max(self._now, store.load_now())  # quotes seen after the last event
        led = self.ledger
        for (acct, sym), (mfe, mae) in store.load_marks().items():
            a = led.accounts.get(acct)
            p = a.positions.get(sym) if a else None
            if p is not None:
                p.mfe, p.mae = max(p.mfe, mfe), min(p.mae, mae)
        loaded: set[str] = set()
        for acct, epoch, ts, eq in store.load_equity():
            a = led.accounts.get(acct)
            if a is not None and epoch == a.epoch:
                units = to_units(eq)
                if acct not in loaded:  # the stored curve replaces the start point replay made
                    loaded.add(acct)
                    a.equity = []
                    a.peak, a.max_dd = units, 0
                a.equity.append((ts, units))
                a.track_drawdown(units)
                self._equity_written[acct] = (a.epoch, len(a.equity))
        self._trips_written = sum(len(a.trips) for a in led.accounts.values())
        self._reschedule()
        self._next_second = (self._now // _NS + 1) * _NS if self._now else 0
        self._next_close = self.calendar.next_close(self._now) if self._now else _NEVER

    # ------------------------------------------------------------------ matching
    def _match(self, o: OrderState, q: Quote, st: SymbolBook) -> None:
        now = self._now
        if o.trailing:  # its level follows every quote since acceptance (ordertypes.py)
            self._trail(o, q)
        if o.eligible > now:
            return
        if o.ioc:  # IOC / FOK: act on this quote, never rest (ordertypes.py)
            self._match_now(o, q, st)
            return
        if self._paused is not None and (self._feed_paused is not None or o.symbol[0] != "/"):
            o.waiting = self._paused  # the feed is down, or the market is closed (futures are exempt)
            return
        why = stale_reason(now, q, self._stale_ns)
        if why is not None:
            if o.waiting is None:
                self.counters["waited_on_stale_quote"] += 1
            o.waiting = why
            return
        buy = o.buy
        model = self.model
        avail = None
        if model.uses_sizes:
            if (q._asz if buy else q._bsz) is None:
                o.waiting = "waiting for a quote with sizes (fill model 'size')"
                return
            avail = model.available(st, q, buy)
        if o.waiting is not None:
            o.waiting = None
        t = o.type
        if (t is _STP or t is _STL) and not o.triggered:
            ref = stop_reached(buy, q, o.stop)  # type: ignore[arg-type]
            if ref is None:
                return
            self._emit(ev.OrderTriggered(self._seq + 1, now, o.account, o.id, ref))
        elif t is _TRL and not o.triggered:
            if o.live_stop is None:
                return
            ref = stop_reached(buy, q, o.live_stop)
            if ref is None:
                return
            self._flush_trail(o)  # the level it triggered at is journalled first
            self._emit(ev.OrderTriggered(self._seq + 1, now, o.account, o.id, ref))
        side_px = side_price(q, buy)
        if t is _MKT or t is _STP or t is _TRL:
            px = model.price(side_px, buy, None)  # type: ignore[arg-type]
        else:
            lim = o.limit
            if o.fresh:
                if marketable(buy, side_px, lim):  # type: ignore[arg-type]
                    px = model.price(side_px, buy, lim)  # type: ignore[arg-type]
                else:
                    self._emit(ev.OrderRested(self._seq + 1, now, o.account, o.id))
                    return
            elif model.resting_fills(buy, side_px, lim):  # type: ignore[arg-type]
                px = lim  # type: ignore[assignment]
            else:
                return
        qty = o.qty - o.filled
        if avail is not None:
            if avail < qty:
                qty = avail
            if qty <= 0:
                return
        self._fill(o, q, st, qty, px)

    def _fill(self, o: OrderState, q: Quote, st: SymbolBook, qty: int, px: int) -> None:
        a = self.ledger.accounts[o.account]
        risk = self.risk
        waiting = risk.shares_in_use(a, o, qty)
        if waiting is not None:
            o.waiting = waiting
            return
        fee = risk.commission(qty, o.filled == 0)
        refusal = risk.fill_refusal(a, o, qty, px, fee)
        now = self._now
        if refusal is not None:
            if o.status is _PENDING:
                self._emit(ev.OrderRejected(self._seq + 1, now, o.account, o.id, refusal))
            else:
                self._emit(ev.OrderCancelled(self._seq + 1, now, o.account, o.id, refusal))
            return
        st.fold(q._mark)  # the quote it fills on counts for MFE/MAE too
        pos = a.positions.get(o.symbol)
        mfe, mae = (pos.mfe, pos.mae) if pos is not None else (0, 0)
        self.model.consume(st, q, o.buy, qty)
        age = now - q._ts
        cls = ev.OrderFilled if qty == o.qty - o.filled else ev.OrderPartiallyFilled
        self._emit(cls(self._seq + 1, now, o.account, o.id, self.ledger.next_fill_id, qty, px, fee, q._ts,
                       age if age > 0 else 0, q._bid, q._ask, q._last, mfe, mae))

    # ------------------------------------------------------------------ checkpoints
    def _checkpoint(self) -> None:
        store = self._store
        if store is None:
            return
        if self._rows or self._group or self._grouped:  # checkpoints show durable state only; in
            self._checkpoint_due = True  # group mode the owner writes them (checkpoint_payload)
            return
        payload = self.checkpoint_payload()
        try:
            store.checkpoint(*payload[0])
        except BookWriteFailed as exc:  # the journal is intact: try again at the next second
            self.counters["checkpoint_errors"] += 1
            log.warning("checkpoint of %s failed (the journal is intact): %s", self.path, exc)
            return
        self.checkpoint_written(payload)

    def checkpoint_payload(self) -> tuple:
        """The rows of a checkpoint of the durable state: ``((tables, append, now), marker)``.

        Built on the engine's thread; written by ``store.checkpoint(*payload[0])`` (a writer thread
        in the engine service), then :meth:`checkpoint_written`.
        """
        for st in self.ledger.symbols.values():
            if st.positions:
                st.fold()
        seq = self._committed
        accounts, positions, marks, equity, trips = [], [], [], [], []
        new_written: dict[str, tuple[int, int]] = {}
        all_trips = []
        for name, a in self.ledger.accounts.items():
            accounts.append((name, a.epoch, from_units(a.start), from_units(a.cash), from_units(a.reserved),
                             from_units(a.realized), from_units(a.fees), seq))
            for sym, p in a.positions.items():
                positions.append((name, sym, p.qty, from_units(p.cost), p.res_sell, p.opened, seq))
                marks.append((name, sym, p.mfe, p.mae, self._now))
            epoch, start = self._equity_written.get(name, (a.epoch, 0))
            if epoch != a.epoch:
                start = 0
            for ts, eq in a.equity[start:]:
                equity.append((name, a.epoch, ts, from_units(eq)))
            new_written[name] = (a.epoch, len(a.equity))
            all_trips.extend(a.trips)
        all_trips.sort(key=lambda t: t.id)
        for t in all_trips[self._trips_written:]:
            trips.append((t.account, t.epoch, t.symbol, t.direction, t.qty, t.entries, t.exits, t.avg_entry,
                          t.avg_exit, t.realized_pl, t.fees, t.net_pl, t.return_pct, t.opened_at,
                          t.closed_at, t.mfe, t.mae, t.verdict, t.id))
        return (({"accounts": accounts, "positions": positions},
                 {"marks": marks, "equity": equity, "round_trips": trips}, self._now), (new_written, len(all_trips)))

    def checkpoint_written(self, payload: tuple) -> None:
        new_written, trips = payload[1]
        self._equity_written.update(new_written)
        self._trips_written = trips
        self._dirty = False
        self._checkpoint_due = False

    # ------------------------------------------------------------------ group commit (the engine service)
    def group_commits(self, on: bool = True) -> None:
        """Group mode, for an owner that writes the journal itself (the engine service's sequencer).

        Commands and quotes apply and commit in memory as always, but their rows wait in a group
        instead of being written; the owner takes them (:meth:`take_group`), writes them in one
        transaction (off the event loop), then says so (:meth:`group_written`, which tells the
        listeners) or not (:meth:`group_failed`, which rebuilds from the journal).  Nobody may be
        answered about a command of the group before ``group_written``.
        """
        if not on and self._group:
            raise InvalidInput("the group still holds unwritten rows: write them (take_group) first")
        self._grouped = on

    @property
    def checkpoint_due(self) -> bool:
        """A checkpoint is owed (group mode: the owner writes it with :meth:`checkpoint_payload`)."""
        return self._checkpoint_due

    def take_group(self) -> list[tuple]:
        """The rows applied since the last take, to be written together (they stay unwritten until
        :meth:`group_written`)."""
        return list(self._group)

    def group_written(self, rows: list[tuple]) -> None:
        """``rows`` (from :meth:`take_group`) are durable: listeners hear of them now."""
        n = len(rows)
        if self._group[:n] != rows:
            raise InvalidInput("group_written: these are not the oldest unwritten rows")
        del self._group[:n]
        self._committed = rows[-1][0] if rows else self._committed
        self._dirty = True
        self._after_commit(rows)

    def group_failed(self) -> None:
        """Writing the group failed: everything not durable is undone (rebuilt from the journal)."""
        self.counters["write_failures"] += 1
        self._group = []
        self._rebuild()

