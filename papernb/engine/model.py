"""The engine's public values: enums, the order state table, the live Order handle and views.

Orders change status only through :func:`transition`, driven by past-tense events, so
every status change the engine can make is written down once, in :data:`TRANSITIONS`.

Views (``OrderView``, ``PositionView``, ``Snapshot``) are immutable and keep int units of
$0.0001 inside; a money field becomes an exact ``Decimal`` when it is read.  Building a view
then costs about what a tuple costs, which is what lets a strategy call ``positions()`` at
every decision: a frozen dataclass of Decimals cost ~4 µs per position, this ~0.2 µs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from ..errors import InvalidOrder, InvalidTransition, OrderNotOpen
from ..money import Price, from_units

if TYPE_CHECKING:
    from .state import OrderState

try:  # the C accessor namedtuple uses: attribute reads cost ~30 ns
    from collections import _tuplegetter  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - other Pythons
    from operator import itemgetter

    def _tuplegetter(i: int, doc: str | None) -> property:  # type: ignore[misc]
        return property(itemgetter(i), doc=doc)


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
        if type(value) is cls:
            return value
        member = cls._texts().get(value) if type(value) is str else None  # "BUY", "buy": one dict lookup
        if member is not None:
            return member
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

    @classmethod
    def _texts(cls) -> dict[str, Any]:
        texts = cls.__dict__.get("_text_cache")
        if texts is None:
            texts = {}
            for m in cls:
                texts[m.value] = texts[m.value.lower()] = m
            type.__setattr__(cls, "_text_cache", texts)
        return texts


class Side(_StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(_StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"
    STOP_LIMIT = "STOP_LIMIT"
    TRAILING_STOP = "TRAILING_STOP"  # a stop that follows the best price since acceptance (``trail=``)


class TimeInForce(_StrEnum):
    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"  # immediate or cancel: acts once at eligibility, the rest is cancelled
    FOK = "FOK"  # fill or kill: fills entirely on the quote at eligibility, or is cancelled


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
    (None, "OrderDenied"): _R,  # refused at submission (no quote, buying power): recorded, never open
    (_P, "OrderReplaced"): _P,
    (_P, "OrderTriggered"): _P,  # a stop reached its trigger; still waiting to fill
    (_P, "OrderRested"): _P,  # first look found it not marketable: from now on it rests at its limit
    (_P, "OrderPartiallyFilled"): _PF,
    (_P, "OrderFilled"): _F,
    (_P, "OrderCancelled"): _C,
    (_P, "OrderExpired"): _E,
    (_P, "OrderRejected"): _R,  # accepted, then unaffordable at the fill
    (_PF, "OrderReplaced"): _PF,
    (_PF, "OrderTriggered"): _PF,
    (_PF, "OrderRested"): _PF,
    (_PF, "OrderPartiallyFilled"): _PF,
    (_PF, "OrderFilled"): _F,
    (_PF, "OrderCancelled"): _C,  # the rest cancelled (by the trader, or unaffordable at a fill)
    (_PF, "OrderExpired"): _E,
    # the quant's order types (trailing stops, OCO pairs, bracket children): none changes the status
    (_P, "OrderTrailMoved"): _P,  # a trailing stop's level followed the price (coalesced, once per batch)
    (_PF, "OrderTrailMoved"): _PF,
    (_P, "OrderLinked"): _P,  # joined an OCO pair: the pair holds one reservation
    (_PF, "OrderLinked"): _PF,
    (_P, "OrderResized"): _P,  # quantity set by the engine: an OCO partner filled part, a bracket entry filled more
    (_PF, "OrderResized"): _PF,
}


def transition(order_id: int, status: OrderStatus | None, event: str) -> OrderStatus:
    """The status after ``event``, or a clear error when the table forbids it."""
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        if status is not None and not status.is_open:
            raise OrderNotOpen(f"order {order_id} is already {status.value}") from None
        raise InvalidTransition(f"order {order_id}: {event} is not allowed while {status}") from None


def _avg(value_units: int, qty: int) -> Decimal | None:
    return Price(Decimal(value_units) / (qty * 10_000)) if qty else None


def _state(name: str, doc: str | None = None) -> property:
    return property(attrgetter("_s." + name), doc=doc)


def _state_money(name: str, doc: str | None = None) -> property:
    get = attrgetter("_s." + name)
    return property(lambda self: from_units(get(self)), doc=doc)


class Order:
    """The engine's live order: one object per id, read-only, updated in place.

    Keep the handle ``submit``/``buy``/``sell`` returned and read ``o.status`` later.
    Prices are exact ``Decimal`` dollars; times are int ns UTC.
    """

    __slots__ = ("_s", "__weakref__")

    def __init__(self, state: OrderState) -> None:
        self._s = state

    id = _state("id")
    account = _state("account")
    symbol = _state("symbol")
    side = _state("side")
    type = _state("type")
    qty = _state("qty", "Total quantity ordered (after any replace).")
    filled_qty = _state("filled")
    limit = _state_money("limit")
    tif = _state("tif")
    status = _state("status")
    client_order_id = _state("coid")
    created_at = _state("created")
    eligible_at = _state("eligible", "Engine time (ns) when the review window ends and it may fill.")
    expires_at = _state("expires", "For DAY orders, the session close (ns) when it expires.")
    updated_at = _state("updated")
    closed_at = _state("closed_at", "When it was filled, cancelled, rejected or expired (ns).")
    fees = _state_money("fees")
    triggered = _state("triggered", "For stop orders: the stop has been reached.")
    epoch = _state("epoch")
    reserved_cash = _state_money("res_cash", "Cash currently held for this order.")
    reserved_shares = _state("res_shares", "Shares currently held for this (sell) order.")
    trail = _state_money("trail", "A trailing stop's distance in dollars (None: a percent trail or no trail).")
    take_profit = _state_money("tp", "A bracket entry's take-profit limit price (its child is placed on fill).")
    stop_loss = _state_money("sl", "A bracket entry's stop-loss stop price (its child is placed on fill).")

    @property
    def stop(self) -> Decimal | None:
        """The stop price; for an open trailing stop, its current level (it follows the price)."""
        s = self._s
        return from_units(s.live_stop if s.trailing and (s.status is _P or s.status is _PF) else s.stop)

    @property
    def trail_pct(self) -> Decimal | None:
        """A trailing stop's distance in percent of the best price (None: a dollar trail or no trail)."""
        p = self._s.trail_pct
        return None if p is None else Decimal(p) / 10_000

    @property
    def parent_id(self) -> int | None:
        """For a bracket's take-profit or stop-loss child, the entry order's id."""
        p = self._s.parent
        return None if p is None else p.id

    @property
    def oco_id(self) -> int | None:
        """The other order of its OCO pair (one cancels the other), or None."""
        p = self._s.oco
        return None if p is None else p.id

    @property
    def child_ids(self) -> tuple[int, ...]:
        """For a bracket entry, the ids of the children placed so far (on its fills), in id order."""
        c = self._s.children
        return () if not c else tuple(k.id for k in c)

    @property
    def parent(self) -> Order | None:
        p = self._s.parent
        return None if p is None else p.handle

    @property
    def oco(self) -> Order | None:
        p = self._s.oco
        return None if p is None else p.handle

    @property
    def children(self) -> tuple[Order, ...]:
        c = self._s.children
        return () if not c else tuple(k.handle for k in c)

    @property
    def reason(self) -> str | None:
        """Why it was rejected, cancelled or expired; while open, what it is waiting for."""
        s = self._s
        return s.reason if s.reason is not None else s.waiting

    @property
    def remaining_qty(self) -> int:
        return self._s.qty - self._s.filled

    @property
    def avg_fill_price(self) -> Decimal | None:
        return _avg(self._s.fill_value, self._s.filled)

    @property
    def is_open(self) -> bool:
        s = self._s.status
        return s is _P or s is _PF

    @property
    def expired_at(self) -> int | None:
        s = self._s
        return s.expires if s.status is _E else None

    def view(self) -> OrderView:
        """A frozen copy for snapshots and the Broker protocol."""
        return self._s.view()

    def __repr__(self) -> str:
        s = self._s
        px = ""
        if s.limit is not None:
            px += f" limit={from_units(s.limit)}"
        if self.stop is not None:
            px += f" stop={self.stop}"
        if s.trail is not None:
            px += f" trail={from_units(s.trail)}"
        elif s.trail_pct is not None:
            px += f" trail_pct={self.trail_pct}%"
        if s.tp is not None:
            px += f" take_profit={from_units(s.tp)}"
        if s.sl is not None:
            px += f" stop_loss={from_units(s.sl)}"
        if s.oco is not None:
            px += f" oco={s.oco.id}"
        if s.parent is not None:
            px += f" parent={s.parent.id}"
        filled = f" filled={s.filled}" if s.filled else ""
        why = self.reason
        why = f" ({why})" if why else ""
        return (f"<Order {s.id} {s.side.value} {s.qty} {s.symbol} {s.type.value}{px} "
                f"{s.tif.value} {s.status.value}{filled}{why}>")


def rebind(order: Order, state: OrderState) -> None:
    """Point a live handle at the state a rebuild made for its id (handles outlive rebuilds)."""
    order._s = state


class _View(tuple):
    """Base of the immutable views: a tuple with named, read-only fields."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Every field as the API hands it out (Decimals for money)."""
        return {name: getattr(self, name) for name in self._fields}

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({inner})"

    def __reduce__(self) -> Any:
        return (tuple.__new__, (type(self), tuple(self)))


def _money(i: int, doc: str | None = None) -> property:
    return property(lambda self: from_units(self[i]), doc=doc)


class OrderView(_View):
    """An immutable picture of an order at one moment (snapshots, Broker protocol)."""

    __slots__ = ()
    _fields = ("id", "account", "symbol", "side", "type", "qty", "filled_qty", "limit", "stop", "tif", "status",
               "reason", "client_order_id", "created_at", "eligible_at", "expires_at", "updated_at",
               "avg_fill_price", "fees", "triggered", "epoch", "reserved_cash", "reserved_shares", "closed_at",
               "trail", "trail_pct", "take_profit", "stop_loss", "parent_id", "oco_id", "child_ids")

    id = _tuplegetter(0, None)
    account = _tuplegetter(1, None)
    symbol = _tuplegetter(2, None)
    side = _tuplegetter(3, None)
    type = _tuplegetter(4, None)
    qty = _tuplegetter(5, None)
    filled_qty = _tuplegetter(6, None)
    limit = _money(7)
    stop = _money(8)
    tif = _tuplegetter(9, None)
    status = _tuplegetter(10, None)
    reason = _tuplegetter(11, None)
    client_order_id = _tuplegetter(12, None)
    created_at = _tuplegetter(13, None)
    eligible_at = _tuplegetter(14, None)
    expires_at = _tuplegetter(15, None)
    updated_at = _tuplegetter(16, None)
    fees = _money(18)
    triggered = _tuplegetter(19, None)
    epoch = _tuplegetter(20, None)
    reserved_cash = _money(21)
    reserved_shares = _tuplegetter(22, None)
    closed_at = _tuplegetter(23, None)
    trail = _money(24, "A trailing stop's distance in dollars.")
    take_profit = _money(26, "A bracket entry's take-profit price.")
    stop_loss = _money(27, "A bracket entry's stop-loss price.")
    parent_id = _tuplegetter(28, "For a bracket child, its entry order's id.")
    oco_id = _tuplegetter(29, "The other order of its OCO pair.")
    child_ids = _tuplegetter(30, "For a bracket entry, its children's ids.")

    @property
    def trail_pct(self) -> Decimal | None:
        p = self[25]
        return None if p is None else Decimal(p) / 10_000

    @property
    def avg_fill_price(self) -> Decimal | None:
        return _avg(self[17], self[6])

    @property
    def remaining_qty(self) -> int:
        return self[5] - self[6]

    @property
    def is_open(self) -> bool:
        s = self[10]
        return s is _P or s is _PF


class PositionView(_View):
    """A position marked at the latest quote (the mark: last, else the bid/ask mid)."""

    __slots__ = ()
    _fields = ("symbol", "qty", "avg_price", "cost", "last", "market_value", "unrealized_pl", "unrealized_pl_pct",
               "day_change_pct", "reserved_qty", "opened_at")
    # raw: symbol, qty, cost units, mark units or None (never quoted: carried at cost), carry units,
    #      change_pct, reserved qty, opened_at

    symbol = _tuplegetter(0, None)
    qty = _tuplegetter(1, None)
    cost = _money(2, "What the shares still held cost (exact basis), signed like qty.")
    last = _money(3, "The mark: last trade, or the bid/ask mid; None when not quoted since the book opened.")
    day_change_pct = _tuplegetter(5, None)
    reserved_qty = _tuplegetter(6, None)
    opened_at = _tuplegetter(7, None)

    @property
    def avg_price(self) -> Decimal:
        """cost / qty, unrounded (a :class:`~papernb.money.Price`: ``pos.avg_price * 1.02`` works)."""
        return Price(Decimal(self[2]) / (self[1] * 10_000))

    @property
    def market_value(self) -> Decimal:
        return from_units(self[1] * self[4])  # type: ignore[return-value]

    @property
    def unrealized_pl(self) -> Decimal:
        return from_units(self[1] * self[4] - self[2])  # type: ignore[return-value]

    @property
    def unrealized_pl_pct(self) -> Decimal | None:
        cost = self[2]
        if not cost:
            return None
        return (Decimal(self[1] * self[4] - cost) * 100 / abs(Decimal(cost))).quantize(Decimal("0.01"))


class Snapshot(_View):
    """An account at one moment, in exact Decimal dollars (cents only on screen)."""

    __slots__ = ()
    _fields = ("account", "ts", "epoch", "starting_cash", "cash", "reserved", "buying_power", "market_value",
               "equity", "unrealized_pl", "realized_pl", "fees", "day_pl", "positions", "open_orders", "seq")
    # raw: account, ts, epoch, start, cash, reserved, market value, cost of positions, realized, fees,
    #      day P/L units or None, positions, open orders, seq

    account = _tuplegetter(0, None)
    ts = _tuplegetter(1, None)
    epoch = _tuplegetter(2, None)
    starting_cash = _money(3)
    cash = _money(4)
    reserved = _money(5)
    market_value = _money(6)
    realized_pl = _money(8)
    fees = _money(9)
    day_pl = _money(10, "Equity now minus at the previous session close (None when unknown).")
    positions: tuple[PositionView, ...] = _tuplegetter(11, None)  # type: ignore[assignment]
    open_orders: tuple[OrderView, ...] = _tuplegetter(12, None)  # type: ignore[assignment]
    seq = _tuplegetter(13, "The book's journal sequence: it moves exactly when something durable changed.")

    @property
    def buying_power(self) -> Decimal:
        return from_units(self[4] - self[5])  # type: ignore[return-value]

    @property
    def equity(self) -> Decimal:
        return from_units(self[4] + self[6])  # type: ignore[return-value]

    @property
    def unrealized_pl(self) -> Decimal:
        return from_units(self[6] - self[7])  # type: ignore[return-value]


def _u(d: Any) -> int | None:
    from ..money import to_units

    return None if d is None else to_units(d, "amount", exact=False)


def order_view(*, id: int, account: str, symbol: str, side: Any, type: Any, qty: int, filled_qty: int,
               limit: Any, stop: Any, tif: Any, status: Any, reason: str | None, client_order_id: str | None,
               created_at: int, eligible_at: int, expires_at: int | None, updated_at: int,
               avg_fill_price: Any, fees: Any, triggered: bool, epoch: int, reserved_cash: Any,
               reserved_shares: int, closed_at: int | None, trail: Any = None, trail_pct: Any = None,
               take_profit: Any = None, stop_loss: Any = None, parent_id: int | None = None,
               oco_id: int | None = None, child_ids: tuple[int, ...] = ()) -> OrderView:
    """An OrderView from its fields in dollars (a remote broker's mirror builds its views here)."""
    fill_value = 0 if avg_fill_price is None else round(Decimal(str(avg_fill_price)) * filled_qty * 10_000)
    pct = None if trail_pct is None else int(Decimal(str(trail_pct)) * 10_000)
    return tuple.__new__(OrderView, (
        id, account, symbol, Side.parse(side, "side"), OrderType.parse(type, "type"), qty, filled_qty, _u(limit),
        _u(stop), TimeInForce.parse(tif, "tif"), OrderStatus.parse(status, "status"), reason, client_order_id,
        created_at, eligible_at, expires_at, updated_at, fill_value, _u(fees) or 0, triggered, epoch,
        _u(reserved_cash) or 0, reserved_shares, closed_at, _u(trail), pct, _u(take_profit), _u(stop_loss),
        parent_id, oco_id, tuple(child_ids)))


def position_view(*, symbol: str, qty: int, cost: Any, last: Any, day_change_pct: Any, reserved_qty: int,
                  opened_at: int) -> PositionView:
    """A PositionView from its fields in dollars (``last`` None: carried at cost)."""
    c = _u(cost) or 0
    m = _u(last)
    carry = m if m is not None else (round(c / qty) if qty else 0)
    chg = None if day_change_pct is None else Decimal(str(day_change_pct))
    return tuple.__new__(PositionView, (symbol, qty, c, m, carry, chg, reserved_qty, opened_at))


def snapshot_view(*, account: str, ts: int, epoch: int, starting_cash: Any, cash: Any, reserved: Any,
                  market_value: Any, unrealized_pl: Any, realized_pl: Any, fees: Any, day_pl: Any,
                  positions: tuple[PositionView, ...], open_orders: tuple[OrderView, ...], seq: int) -> Snapshot:
    """A Snapshot from its fields in dollars."""
    mv = _u(market_value) or 0
    return tuple.__new__(Snapshot, (account, ts, epoch, _u(starting_cash), _u(cash), _u(reserved), mv,
                                    mv - (_u(unrealized_pl) or 0), _u(realized_pl), _u(fees), _u(day_pl),
                                    tuple(positions), tuple(open_orders), seq))


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
class RoundTrip:
    """A position from flat back to flat, with its verdict.  ``id`` is book-wide, in closing order."""

    id: int
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
    #: the trader's own words about it (``acct.annotate``): why it worked, or did not
    note: str = ""
    #: lower-case words to group trades by (``breakout``, ``news``, ``fomo``)
    tags: tuple[str, ...] = ()

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
class Estimate:
    """What an order would hold and cost if submitted now, from the engine's own rules.

    ``refusal`` is the sentence the engine would reject it with (None: it would be accepted).
    ``price`` is the reference price used (the limit, or the ask/bid of the latest quote);
    ``quote_age_ns`` and ``stale`` describe that quote as the engine sees it (restamped).
    """

    symbol: str
    side: Side
    type: OrderType
    qty: int
    price: Decimal | None
    reserve_cash: Decimal
    reserve_shares: int
    commission: Decimal
    buying_power: Decimal
    buying_power_after: Decimal
    refusal: str | None
    quote_age_ns: int | None
    stale: bool


#: The states :class:`MarketState` may be in, in the order of a trading day.
MARKET_STATES = ("pre-market", "open", "early close", "after hours", "closed", "holiday")


@dataclass(frozen=True)
class MarketState:
    """Where the market is in its day, at engine time ``ts``, in the words the banner shows.

    ``state`` is one of :data:`MARKET_STATES`; ``text`` the sentence ("Market open", "Pre-market",
    "After hours", "Market closed until Mon 09:30", "Holiday: Thanksgiving Day", "Early close
    13:00").  ``trading_hours`` is the engine's setting (regular | extended | always) and
    ``trading`` says whether orders may fill now under it.  ``next_open`` / ``next_close`` are the
    next regular open and close strictly after ``ts`` (int ns UTC; None before engine time starts).
    """

    state: str
    text: str
    trading_hours: str
    trading: bool
    ts: int
    next_open: int | None
    next_close: int | None


@dataclass(frozen=True)
class Alert:
    """A price alert: tell the trader once when ``symbol``'s mark reaches ``above`` or falls to ``below``.

    ``status`` is ``open`` until it fires (``triggered``, with the ``price`` and ``direction``
    that fired it) or is removed (``removed``).  The mark is the last trade, or the bid/ask mid.
    """

    id: int
    account: str
    symbol: str
    above: Decimal | None
    below: Decimal | None
    created_at: int
    status: str = "open"
    closed_at: int | None = None
    price: Decimal | None = None
    direction: str | None = None
