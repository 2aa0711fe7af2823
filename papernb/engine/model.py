"""Domain values of the engine: enums, the order state table, orders, fills, positions.

Orders change only through :func:`transition`, driven by past-tense events, so every
status change the engine can make is written down once, in :data:`TRANSITIONS`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..errors import InvalidOrder, InvalidTransition, OrderNotOpen
from ..money import from_units


class _StrEnum(enum.StrEnum):
    """A str enum whose value is its upper-case name; inputs are case-insensitive."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            key = value.strip().upper().replace("-", "_").replace(" ", "_")
            for member in cls:
                if member.value == key:
                    return member
        return None

    @classmethod
    def parse(cls, value: object, what: str) -> Any:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            member = cls.__members__.get(value.upper())
            if member is not None:
                return member
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(m.value.lower() for m in cls)
            raise InvalidOrder(f"{what} must be one of {choices}; was {value!r}") from None

    def __str__(self) -> str:
        return self.value


class Side(_StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(_StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"
    STOP_LIMIT = "STOP_LIMIT"


class TimeInForce(_StrEnum):
    DAY = "DAY"
    GTC = "GTC"


class OrderStatus(_StrEnum):
    PENDING = "PENDING"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_open(self) -> bool:
        return self is OrderStatus.PENDING or self is OrderStatus.PARTIALLY_FILLED


_P, _PF = OrderStatus.PENDING, OrderStatus.PARTIALLY_FILLED
_F, _C, _R, _E = OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED

#: (status before, event) -> status after.  Anything not listed raises; terminal
#: states (FILLED, CANCELLED, REJECTED, EXPIRED) have no rows at all.
TRANSITIONS: dict[tuple[OrderStatus | None, str], OrderStatus] = {
    (None, "OrderAccepted"): _P,
    (None, "OrderRejected"): _R,  # refused at submission: recorded, never open
    (_P, "OrderReplaced"): _P,
    (_P, "OrderTriggered"): _P,  # a stop reached its trigger; still waiting to fill
    (_P, "OrderRested"): _P,  # first look found it not marketable: from now on it rests at its limit
    (_P, "OrderPartiallyFilled"): _PF,
    (_P, "OrderFilled"): _F,
    (_P, "OrderCancelled"): _C,
    (_P, "OrderExpired"): _E,
    (_P, "OrderRejected"): _R,  # insufficient buying power at the fill
    (_PF, "OrderReplaced"): _PF,
    (_PF, "OrderTriggered"): _PF,
    (_PF, "OrderRested"): _PF,
    (_PF, "OrderPartiallyFilled"): _PF,
    (_PF, "OrderFilled"): _F,
    (_PF, "OrderCancelled"): _C,  # the rest cancelled (by the trader, or unaffordable at a fill)
    (_PF, "OrderExpired"): _E,
}


def transition(order_id: int, status: OrderStatus | None, event: str) -> OrderStatus:
    """The status after ``event``, or a clear error when the table forbids it."""
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        if status is not None and not status.is_open:
            raise OrderNotOpen(f"order {order_id} is already {status.value}") from None
        raise InvalidTransition(f"order {order_id}: {event} is not allowed while {status}") from None


def _ro(name: str, conv: Any = None, doc: str | None = None) -> property:
    if conv is None:
        return property(lambda self: getattr(self, name), doc=doc)
    return property(lambda self: conv(getattr(self, name)), doc=doc)


class Order:
    """The engine's live order: one object per id, read-only, updated in place.

    Keep the handle ``submit``/``buy``/``sell`` returned and read ``o.status`` later.
    Prices are exact ``Decimal`` dollars; times are int ns UTC.
    """

    __slots__ = ("_id", "_acct", "_sym", "_side", "_buy", "_type", "_qty", "_filled", "_lim", "_stop", "_tif",
                 "_status", "_reason", "_coid", "_created", "_elig", "_expires", "_updated", "_closed_at",
                 "_fill_value", "_fees", "_res_cash", "_res_shares", "_res_short", "_triggered", "_fresh",
                 "_epoch", "_request", "_rest", "_view", "__weakref__")

    id = _ro("_id")
    account = _ro("_acct")
    symbol = _ro("_sym")
    side = _ro("_side")
    type = _ro("_type")
    qty = _ro("_qty", doc="Total quantity ordered (after any replace).")
    filled_qty = _ro("_filled")
    limit = _ro("_lim", from_units)
    stop = _ro("_stop", from_units)
    tif = _ro("_tif")
    status = _ro("_status")
    reason = _ro("_reason", doc="Why it was rejected, cancelled, expired, or what it is waiting for.")
    client_order_id = _ro("_coid")
    created_at = _ro("_created")
    eligible_at = _ro("_elig", doc="Engine time (ns) when the review window ends and it may fill.")
    expires_at = _ro("_expires", doc="For DAY orders, the session close (ns) when it expires.")
    updated_at = _ro("_updated")
    closed_at = _ro("_closed_at", doc="When it was filled, cancelled, rejected or expired (ns).")
    fees = _ro("_fees", from_units)
    triggered = _ro("_triggered", doc="For stop orders: the stop has been reached.")
    epoch = _ro("_epoch")
    reserved_cash = _ro("_res_cash", from_units, doc="Cash currently held for this order.")
    reserved_shares = _ro("_res_shares", doc="Shares currently held for this (sell) order.")

    @property
    def remaining_qty(self) -> int:
        return self._qty - self._filled

    @property
    def avg_fill_price(self) -> Decimal | None:
        if not self._filled:
            return None
        return Decimal(self._fill_value) / (self._filled * 10_000)

    @property
    def is_open(self) -> bool:
        s = self._status
        return s is _P or s is _PF

    @property
    def expired_at(self) -> int | None:
        return self._expires if self._status is OrderStatus.EXPIRED else None

    def view(self) -> OrderView:
        """A frozen copy for snapshots and the Broker protocol (cached until the order changes)."""
        key = (self._updated, self._status, self._filled, self._reason, self._qty, self._lim, self._stop, self._tif,
               self._triggered, self._res_cash, self._res_shares, self._elig, self._expires)
        cached = self._view
        if cached is not None and cached[0] == key:
            return cached[1]
        v = OrderView(self._id, self._acct, self._sym, self._side, self._type, self._qty, self._filled,
                         from_units(self._lim), from_units(self._stop), self._tif, self._status, self._reason,
                         self._coid, self._created, self._elig, self._expires, self._updated, self.avg_fill_price,
                         from_units(self._fees), self._triggered, self._epoch, from_units(self._res_cash),
                         self._res_shares)
        self._view = (key, v)
        return v

    def __repr__(self) -> str:
        px = ""
        if self._lim is not None:
            px += f" limit={from_units(self._lim)}"
        if self._stop is not None:
            px += f" stop={from_units(self._stop)}"
        filled = f" filled={self._filled}" if self._filled else ""
        why = f" ({self._reason})" if self._reason else ""
        return (f"<Order {self._id} {self._side.value} {self._qty} {self._sym} {self._type.value}{px} "
                f"{self._tif.value} {self._status.value}{filled}{why}>")


@dataclass(frozen=True)
class OrderView:
    """An immutable picture of an order at one moment (snapshots, Broker protocol)."""

    id: int
    account: str
    symbol: str
    side: Side
    type: OrderType
    qty: int
    filled_qty: int
    limit: Decimal | None
    stop: Decimal | None
    tif: TimeInForce
    status: OrderStatus
    reason: str | None
    client_order_id: str | None
    created_at: int
    eligible_at: int
    expires_at: int | None
    updated_at: int
    avg_fill_price: Decimal | None
    fees: Decimal
    triggered: bool
    epoch: int
    reserved_cash: Decimal
    reserved_shares: int

    @property
    def remaining_qty(self) -> int:
        return self.qty - self.filled_qty

    @property
    def is_open(self) -> bool:
        return self.status.is_open


@dataclass(frozen=True)
class Fill:
    """One execution: what filled, at what price and fee, on which quote."""

    id: int
    order_id: int
    account: str
    symbol: str
    side: Side
    qty: int
    price: Decimal
    fee: Decimal
    ts: int
    quote_ts: int | None
    quote_age_ns: int | None
    quote_bid: Decimal | None
    quote_ask: Decimal | None
    quote_last: Decimal | None
    realized_pl: Decimal
    epoch: int


@dataclass(frozen=True)
class PositionView:
    """A position marked at the latest quote."""

    symbol: str
    qty: int
    avg_price: Decimal
    cost: Decimal
    last: Decimal | None
    market_value: Decimal
    unrealized_pl: Decimal
    unrealized_pl_pct: Decimal | None
    day_change_pct: Decimal | None
    reserved_qty: int
    opened_at: int


@dataclass(frozen=True)
class RoundTrip:
    """A position from flat back to flat, with its verdict."""

    account: str
    symbol: str
    direction: str  # "long" | "short"
    qty: int  # largest absolute size held
    entries: int
    exits: int
    avg_entry: Decimal
    avg_exit: Decimal
    realized_pl: Decimal
    fees: Decimal
    net_pl: Decimal
    return_pct: Decimal
    opened_at: int
    closed_at: int
    mfe: Decimal
    mae: Decimal
    epoch: int

    @property
    def holding_ns(self) -> int:
        return self.closed_at - self.opened_at

    @property
    def verdict(self) -> str:
        if self.net_pl > 0:
            return "worked"
        if self.net_pl < 0:
            return "didn't work"
        return "flat"


@dataclass(frozen=True)
class Snapshot:
    """An account at one moment, in exact Decimal dollars (cents only on screen)."""

    account: str
    ts: int
    epoch: int
    starting_cash: Decimal
    cash: Decimal
    reserved: Decimal
    buying_power: Decimal
    market_value: Decimal
    equity: Decimal
    unrealized_pl: Decimal
    realized_pl: Decimal
    fees: Decimal
    day_pl: Decimal | None
    positions: tuple[PositionView, ...] = ()
    open_orders: tuple[OrderView, ...] = ()
    #: the book's journal sequence number: it moves exactly when something durable changed
    seq: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


class Position:
    """Internal, mutable: an open position and its round-trip accumulators."""

    __slots__ = ("acct", "sym", "qty", "cost", "res_sell", "res_short", "mfe", "mae", "opened",
                 "max_abs", "long", "entries", "exits", "entry_qty", "entry_value", "exit_qty", "exit_value",
                 "realized", "fees")

    def __init__(self, acct: str, sym: str, opened: int) -> None:
        self.acct, self.sym, self.opened = acct, sym, opened
        self.qty = 0  # signed: negative is short
        self.cost = 0  # signed units: sum of signed qty x price still held
        self.res_sell = 0  # shares held for open sell orders
        self.res_short = 0  # cash units held against the short part
        self.mfe = 0
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
