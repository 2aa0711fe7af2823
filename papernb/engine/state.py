"""The engine's mutable state: one small record per order, position, account and symbol.

These are internal (users see ``Order`` handles and immutable views).  Their fields are
plain attributes in int units so the hot loop reads them at slot speed; the rule that
keeps them honest is who writes what:

- durable state (everything the journal rebuilds) is written only by :mod:`.ledger`,
  while it applies an event;
- transient fields, marked below, are written by the engine's matching loop: the latest
  quote and mark range of a symbol, an open order's ``waiting`` text, the displayed size
  left on the current quote.  They are never journalled and a rebuild starts them afresh.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..money import div_round, from_units
from .model import Alert, Fill, Order, OrderStatus, OrderType, OrderView, RoundTrip, Side, TimeInForce, rebind

if TYPE_CHECKING:
    from ..quote import Quote

_P, _PF = OrderStatus.PENDING, OrderStatus.PARTIALLY_FILLED
_BUY = Side.BUY


class OrderState:
    """One order.  ``handle`` is the live :class:`Order` users hold (it outlives rebuilds)."""

    __slots__ = ("id", "account", "symbol", "side", "buy", "type", "qty", "filled", "limit", "stop", "tif",
                 "status", "reason", "waiting", "coid", "created", "eligible", "expires", "updated", "closed_at",
                 "fill_value", "fees", "res_cash", "res_shares", "triggered", "fresh", "rest", "epoch", "request",
                 "handle", "_view",
                 # the quant's order types (papernb/engine/ordertypes.py); all None / False for plain orders
                 "trailing", "trail", "trail_pct", "best", "live_best", "live_stop", "ioc", "tp", "sl", "parent",
                 "oco", "children", "links")

    def __init__(self, oid: int, account: str, symbol: str, side: Side, type_: OrderType, qty: int,
                 limit: int | None, stop: int | None, tif: TimeInForce, coid: str | None, created: int,
                 eligible: int, expires: int | None, epoch: int, handle: Order | None = None) -> None:
        self.id = oid
        self.account = account
        self.symbol = symbol
        self.side = side
        self.buy = side is _BUY
        self.type = type_
        self.qty = qty
        self.filled = 0
        self.limit = limit
        self.stop = stop
        self.tif = tif
        self.status: OrderStatus | None = None
        self.reason: str | None = None  # durable: why it was rejected, cancelled, expired
        self.waiting: str | None = None  # transient: what an open order waits for (stale quote, sizes)
        self.coid = coid
        self.created = self.updated = created
        self.eligible = eligible
        self.expires = expires
        self.closed_at: int | None = None
        self.fill_value = 0  # sum of qty x price of its fills, units
        self.fees = 0
        self.res_cash = 0
        self.res_shares = 0
        self.triggered = False
        self.fresh = True  # not looked at yet: a marketable limit fills at the quote, not at its limit
        self.rest: int | None = None  # a resting limit's price: the hot loop skips quotes that do not reach it
        self.epoch = epoch
        self.request = (symbol, side.value, type_.value, qty, limit, stop, tif.value)  # for client_order_id
        self._view: tuple | None = None
        self.trailing = type_ is OrderType.TRAILING_STOP
        self.trail: int | None = None  # a trailing stop's distance, units
        self.trail_pct: int | None = None  # ... or in units of 0.0001 % of the best price
        self.best: int | None = None  # durable: the best price since acceptance, as last journalled
        self.live_best: int | None = None  # transient: the best price seen (journalled at the end of the batch)
        self.live_stop: int | None = None  # transient: the stop that follows ``live_best``
        self.ioc = tif is TimeInForce.IOC or tif is TimeInForce.FOK  # acts once, at eligibility
        self.tp: int | None = None  # a bracket entry's take-profit / stop-loss prices
        self.sl: int | None = None
        self.parent: OrderState | None = None  # a bracket child's entry
        self.oco: OrderState | None = None  # the other order of its OCO pair
        self.children: list[OrderState] | None = None  # a bracket entry's children, in id order
        self.links = False  # any of parent / oco / tp / sl: the engine has something to do after its events
        if handle is None:
            self.handle = Order(self)
        else:
            rebind(handle, self)
            self.handle = handle

    @property
    def is_open(self) -> bool:
        s = self.status
        return s is _P or s is _PF

    def view(self) -> OrderView:
        """A frozen copy, cached until the order changes."""
        reason = self.reason if self.reason is not None else self.waiting
        stop = self.live_stop if self.trailing and self.is_open else self.stop
        key = (self.updated, self.status, self.filled, reason, self.qty, self.limit, stop, self.tif,
               self.triggered, self.res_cash, self.res_shares, self.eligible, self.expires, self.trail,
               self.trail_pct, self.oco, len(self.children) if self.children else 0)
        cached = self._view
        if cached is not None and cached[0] == key:
            return cached[1]
        v = tuple.__new__(OrderView, (
            self.id, self.account, self.symbol, self.side, self.type, self.qty, self.filled, self.limit, stop,
            self.tif, self.status, reason, self.coid, self.created, self.eligible, self.expires, self.updated,
            self.fill_value, self.fees, self.triggered, self.epoch, self.res_cash, self.res_shares, self.closed_at,
            self.trail, self.trail_pct, self.tp, self.sl, None if self.parent is None else self.parent.id,
            None if self.oco is None else self.oco.id,
            tuple(c.id for c in self.children) if self.children else ()))
        self._view = (key, v)
        return v


class Position:
    """An open position and its round-trip accumulators (units; ``qty`` signed: negative is short)."""

    __slots__ = ("sym", "book", "qty", "cost", "res_sell", "res_short", "mfe", "mae", "opened", "max_abs", "long",
                 "entries", "exits", "entry_qty", "entry_value", "exit_qty", "exit_value", "realized", "fees")

    def __init__(self, sym: str, opened: int, book: SymbolBook) -> None:
        self.sym, self.opened = sym, opened
        self.book = book  # its symbol's state: the latest quote marks it
        self.qty = 0
        self.cost = 0  # signed units: sum of signed qty x price still held (exact basis)
        self.res_sell = 0  # shares held for open sell orders
        self.res_short = 0  # cash units held against the short part
        self.mfe = 0  # best / worst unrealized P/L seen while open (transient between checkpoints)
        self.mae = 0
        self.max_abs = 0
        self.long = True
        self.entries = self.exits = 0
        self.entry_qty = self.entry_value = self.exit_qty = self.exit_value = 0
        self.realized = self.fees = 0

    def fold_marks(self, hi: int, lo: int) -> None:
        """Turn the price extremes seen since the last fold into MFE/MAE in units."""
        if not self.qty:
            return
        a = self.qty * hi - self.cost
        b = self.qty * lo - self.cost
        best, worst = (a, b) if a >= b else (b, a)
        if best > self.mfe:
            self.mfe = best
        if worst < self.mae:
            self.mae = worst

    def carry(self) -> int:
        """The mark used before any quote is seen: the average cost (P/L 0)."""
        return div_round(self.cost, self.qty) if self.qty else 0


class AccountState:
    """One account's books.  Lists keep every epoch; ``*_from`` say where the current one starts."""

    __slots__ = ("name", "created", "epoch", "start", "cash", "reserved", "realized", "fees", "positions",
                 "by_symbol", "orders", "open", "coids", "fills", "trips", "epoch_start", "orders_from", "fills_from",
                 "trips_from", "equity", "peak", "max_dd", "max_dd_peak")

    def __init__(self, name: str, created: int) -> None:
        self.name = name
        self.created = created
        self.orders: list[OrderState] = []  # every order, in id order
        self.open: dict[int, OrderState] = {}  # open orders, in id order
        self.coids: dict[str, OrderState] = {}
        self.fills: list[Fill] = []
        self.trips: list[RoundTrip] = []
        self.positions: dict[str, Position] = {}
        self.by_symbol: list[Position] | None = None  # positions sorted by symbol; None: sort again
        self.epoch = 0
        self.start = self.cash = self.reserved = self.realized = self.fees = 0
        self.epoch_start = created
        self.orders_from = self.fills_from = self.trips_from = 0
        # equity history of the current epoch: (ts, units); not journalled (checkpointed)
        self.equity: list[tuple[int, int]] = []
        self.peak = self.max_dd = self.max_dd_peak = 0

    def sorted_positions(self) -> list[Position]:
        """Positions by symbol (sorted again only after one was opened or dropped)."""
        ps = self.by_symbol
        if ps is None:
            ps = self.by_symbol = [p for _, p in sorted(self.positions.items())]
        return ps

    def new_epoch(self, epoch: int, cash: int, ts: int) -> None:
        self.epoch = epoch
        self.start = self.cash = cash
        self.reserved = self.realized = self.fees = 0
        self.positions = {}
        self.by_symbol = None
        self.epoch_start = ts
        self.orders_from, self.fills_from, self.trips_from = len(self.orders), len(self.fills), len(self.trips)
        self.equity = [(ts, cash)]
        self.peak, self.max_dd, self.max_dd_peak = cash, 0, cash

    def record_equity(self, ts: int, eq: int, force: bool = False) -> None:
        """One point of the equity curve (replacing a point at the same ts); running drawdown."""
        eqs = self.equity
        if eqs:
            last_ts, last_eq = eqs[-1]
            if eq == last_eq and not force:
                return
            if ts <= last_ts:
                eqs[-1] = (last_ts, eq)
            else:
                eqs.append((ts, eq))
        else:
            eqs.append((ts, eq))
        self.track_drawdown(eq)

    def track_drawdown(self, eq: int) -> None:
        if eq > self.peak:
            self.peak = eq
        dd = self.peak - eq
        if dd > self.max_dd:
            self.max_dd = dd
            self.max_dd_peak = self.peak


class SymbolBook:
    """Per-symbol state the hot path touches: latest quote, open orders, open positions.

    ``quote``, ``hi``/``lo`` and the displayed-size counters are transient (quotes are not state).
    """

    __slots__ = ("sym", "quote", "orders", "positions", "hi", "lo", "liq_quote", "liq_bid", "liq_ask", "alerts")

    def __init__(self, sym: str) -> None:
        self.sym = sym
        self.quote: Quote | None = None
        self.orders: list[OrderState] = []  # open orders, in id order (first in, first filled)
        self.positions: list[Position] = []
        self.hi: int | None = None  # mark extremes since the positions last folded them
        self.lo: int | None = None
        self.liq_quote: Quote | None = None  # the quote whose displayed sizes are being used up
        self.liq_bid = 0
        self.liq_ask = 0
        self.alerts: list[AlertState] = []  # open price alerts on this symbol (durable, kept by the ledger)

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


class AlertState:
    """One price alert (levels in units).  Open alerts are also listed on their symbol's book."""

    __slots__ = ("id", "account", "symbol", "above", "below", "created", "status", "closed_at", "price",
                 "direction")

    def __init__(self, aid: int, account: str, symbol: str, above: int | None, below: int | None,
                 created: int) -> None:
        self.id = aid
        self.account = account
        self.symbol = symbol
        self.above = above
        self.below = below
        self.created = created
        self.status = "open"  # open | triggered | removed
        self.closed_at: int | None = None
        self.price: int | None = None
        self.direction: str | None = None

    def view(self) -> Alert:
        return Alert(self.id, self.account, self.symbol, from_units(self.above), from_units(self.below),
                     self.created, self.status, self.closed_at, from_units(self.price), self.direction)
