"""Events: immutable, past-tense facts, and the one journal codec that stores them.

Commands (``submit``, ``replace``, ``cancel`` ...) decide; events say what happened.  The
ledger applies events and nothing else changes durable state, so the journal of events is
the book: replaying it gives the same state, and the engine service streams the same
values to its clients.  Every event carries ``seq`` (its journal position), ``ts`` (engine
time, int ns) and ``account``; order events also carry ``order_id``.  Money fields are int
units of $0.0001, exactly as journalled.

Journal rows are ``(seq, ts, account, kind, order_id, symbol, status, data)`` where
``data`` is JSON ``{"e": <the event's own fields>, "o": <the order after it>}``; the
``orders`` and ``fills`` views of the book file read those two parts.  Schema 1 (papernb
before Engine 2) stored untyped dicts and one ``OrderRejected`` for both a refusal at
submission and a rejection at the fill; :func:`upgrade_v1` turns its rows into these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any, ClassVar

__all__ = [
    "ALERT_STREAM_NAMES", "EVENT_TYPES", "STREAM_NAMES", "AccountOpened", "AccountReset", "AlertEvent", "AlertRemoved",
    "AlertSet", "AlertTriggered", "Event", "OrderAccepted", "OrderCancelled", "OrderDenied", "OrderEvent",
    "OrderExpired", "OrderFilled", "OrderLinked", "OrderPartiallyFilled", "OrderRejected", "OrderReplaceRefused",
    "OrderReplaced", "OrderResized", "OrderRested", "OrderTrailMoved", "OrderTriggered", "PositionClosed",
    "TripAnnotated", "WatchlistSet", "decode", "encode", "payload", "upgrade_v1",
]


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    ts: int
    account: str
    kind: ClassVar[str] = "Event"


@dataclass(frozen=True, slots=True)
class AccountOpened(Event):
    cash: int
    kind: ClassVar[str] = "AccountOpened"


@dataclass(frozen=True, slots=True)
class AccountReset(Event):
    """A new epoch with ``cash``; open orders were cancelled and positions closed just before."""

    epoch: int
    cash: int
    kind: ClassVar[str] = "AccountReset"


@dataclass(frozen=True, slots=True)
class PositionClosed(Event):
    """A position closed without an order (``acct.reset()``): ``qty`` signed as held, at ``price``;
    ``mfe``/``mae`` as they stood, so the round trip it ends is the same after a replay."""

    symbol: str
    qty: int
    price: int
    reason: str
    mfe: int
    mae: int
    kind: ClassVar[str] = "PositionClosed"


@dataclass(frozen=True, slots=True)
class OrderEvent(Event):
    order_id: int


@dataclass(frozen=True, slots=True)
class OrderAccepted(OrderEvent):
    """Accepted and open; ``rested`` when its first look already found a limit not marketable."""

    symbol: str
    side: str
    type: str
    qty: int
    limit: int | None
    stop: int | None
    tif: str
    coid: str | None
    eligible_at: int
    expires_at: int | None
    res_cash: int
    res_shares: int
    rested: bool = False
    # the quant's order types; absent (None) for plain orders, so older journal rows read the same
    trail: int | None = None  # a trailing stop's distance, units
    trail_pct: int | None = None  # ... or percent in units of 0.0001 %
    best: int | None = None  # a trailing stop's best price at acceptance (``stop`` is its level)
    take_profit: int | None = None  # a bracket entry's children, placed when it fills
    stop_loss: int | None = None
    parent_id: int | None = None  # a bracket child: its entry
    kind: ClassVar[str] = "OrderAccepted"


@dataclass(frozen=True, slots=True)
class OrderDenied(OrderEvent):
    """Refused at submission (never open): status REJECTED with ``reason``."""

    symbol: str
    side: str
    type: str
    qty: int
    limit: int | None
    stop: int | None
    tif: str
    coid: str | None
    eligible_at: int
    expires_at: int | None
    reason: str
    trail: int | None = None
    trail_pct: int | None = None
    take_profit: int | None = None
    stop_loss: int | None = None
    parent_id: int | None = None
    kind: ClassVar[str] = "OrderDenied"


@dataclass(frozen=True, slots=True)
class OrderRested(OrderEvent):
    """Its first look found a limit not marketable: from now on it fills at its limit."""

    kind: ClassVar[str] = "OrderRested"


@dataclass(frozen=True, slots=True)
class OrderTriggered(OrderEvent):
    price: int
    kind: ClassVar[str] = "OrderTriggered"


@dataclass(frozen=True, slots=True)
class OrderReplaced(OrderEvent):
    """Edited in place; ``rearmed`` when a triggered stop got a new stop and waits for it again."""

    qty: int
    limit: int | None
    stop: int | None
    tif: str
    eligible_at: int
    expires_at: int | None
    res_cash: int
    res_shares: int
    old_qty: int
    old_limit: int | None
    old_stop: int | None
    old_tif: str
    rearmed: bool = False
    trail: int | None = None  # a trailing stop's new distance (``stop`` is its new level)
    trail_pct: int | None = None
    old_trail: int | None = None
    old_trail_pct: int | None = None
    kind: ClassVar[str] = "OrderReplaced"


@dataclass(frozen=True, slots=True)
class OrderReplaceRefused(OrderEvent):
    """A replace the account could not afford, kept for the record; the order did not change."""

    reason: str
    qty: int
    limit: int | None
    stop: int | None
    tif: str
    kind: ClassVar[str] = "OrderReplaceRefused"


@dataclass(frozen=True, slots=True)
class _Filled(OrderEvent):
    fill_id: int
    qty: int
    price: int
    fee: int
    quote_ts: int | None
    quote_age_ns: int | None
    bid: int | None
    ask: int | None
    last: int | None
    mfe: int
    mae: int


@dataclass(frozen=True, slots=True)
class OrderPartiallyFilled(_Filled):
    kind: ClassVar[str] = "OrderPartiallyFilled"


@dataclass(frozen=True, slots=True)
class OrderFilled(_Filled):
    kind: ClassVar[str] = "OrderFilled"


@dataclass(frozen=True, slots=True)
class OrderCancelled(OrderEvent):
    reason: str
    kind: ClassVar[str] = "OrderCancelled"


@dataclass(frozen=True, slots=True)
class OrderRejected(OrderEvent):
    """Accepted, then rejected at the fill (cash never goes negative)."""

    reason: str
    kind: ClassVar[str] = "OrderRejected"


@dataclass(frozen=True, slots=True)
class OrderExpired(OrderEvent):
    at: int
    kind: ClassVar[str] = "OrderExpired"


@dataclass(frozen=True, slots=True)
class OrderTrailMoved(OrderEvent):
    """A trailing stop's level followed the price: ``best`` price since acceptance, ``stop`` its level.

    Coalesced: the engine journals the latest level once per quote batch (and before any other
    event of the order), not on every quote."""

    best: int
    stop: int
    kind: ClassVar[str] = "OrderTrailMoved"


@dataclass(frozen=True, slots=True)
class OrderLinked(OrderEvent):
    """The order and ``other_id`` are an OCO pair; the pair's one reservation is held by this order."""

    other_id: int
    res_cash: int
    res_shares: int
    kind: ClassVar[str] = "OrderLinked"


@dataclass(frozen=True, slots=True)
class OrderResized(OrderEvent):
    """The engine set the order's total quantity (an OCO partner filled part of the pair, or a bracket
    entry filled more) and the reservation it holds now."""

    qty: int
    res_cash: int
    res_shares: int
    reason: str
    kind: ClassVar[str] = "OrderResized"


# -- the trader's own records: a watchlist, notes on round trips, price alerts ------------------
# Not money: none of them moves cash, positions or orders.  They are durable like everything
# else (journalled, replayed, in the state hash when present), so a reopened book has them.


@dataclass(frozen=True, slots=True)
class WatchlistSet(Event):
    """The account's watchlist is now ``symbols`` (normalized, in the trader's order)."""

    symbols: list[str]
    kind: ClassVar[str] = "WatchlistSet"


@dataclass(frozen=True, slots=True)
class TripAnnotated(Event):
    """Round trip ``trip_id`` of the account now carries ``note`` and ``tags`` (lower-case)."""

    trip_id: int
    note: str
    tags: list[str]
    kind: ClassVar[str] = "TripAnnotated"


@dataclass(frozen=True, slots=True)
class AlertEvent(Event):
    alert_id: int


@dataclass(frozen=True, slots=True)
class AlertSet(AlertEvent):
    """A price alert: tell the trader once when ``symbol``'s mark reaches ``above`` or ``below`` (units)."""

    symbol: str
    above: int | None
    below: int | None
    kind: ClassVar[str] = "AlertSet"


@dataclass(frozen=True, slots=True)
class AlertRemoved(AlertEvent):
    kind: ClassVar[str] = "AlertRemoved"


@dataclass(frozen=True, slots=True)
class AlertTriggered(AlertEvent):
    """The alert fired (and is gone): the mark was ``price``, at or ``direction`` ("above"/"below") its level."""

    symbol: str
    price: int
    direction: str
    kind: ClassVar[str] = "AlertTriggered"


EVENT_TYPES: dict[str, type[Event]] = {cls.kind: cls for cls in (
    AccountOpened, AccountReset, PositionClosed, OrderAccepted, OrderDenied, OrderRested, OrderTriggered,
    OrderReplaced, OrderReplaceRefused, OrderPartiallyFilled, OrderFilled, OrderCancelled, OrderRejected,
    OrderExpired, OrderTrailMoved, OrderLinked, OrderResized, WatchlistSet, TripAnnotated, AlertSet, AlertRemoved,
    AlertTriggered)}

#: The event names of the Broker protocol's alert stream (the service's SSE ``event: alert``).
ALERT_STREAM_NAMES: dict[str, str] = {"AlertSet": "set", "AlertRemoved": "removed", "AlertTriggered": "triggered"}

#: The event names of the Broker protocol's order stream (and the service's SSE ``event: order``).
STREAM_NAMES: dict[str, str] = {
    "OrderAccepted": "accepted", "OrderDenied": "rejected", "OrderRested": "rested", "OrderTriggered": "triggered",
    "OrderReplaced": "replaced", "OrderPartiallyFilled": "partially_filled", "OrderFilled": "filled",
    "OrderCancelled": "cancelled", "OrderRejected": "rejected", "OrderExpired": "expired",
    "OrderTrailMoved": "stop_moved", "OrderLinked": "linked", "OrderResized": "resized",
}

_HEADER = ("seq", "ts", "account", "order_id")
_FIELDS: dict[type[Event], tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls) if f.name not in _HEADER) for cls in EVENT_TYPES.values()}
#: fields that default to None: left out of the journal when None (plain orders journal as before)
_OPTIONAL: dict[type[Event], frozenset[str]] = {
    cls: frozenset(f.name for f in fields(cls) if f.name not in _HEADER and f.default is None)
    for cls in EVENT_TYPES.values()}
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def payload(ev: Event) -> dict[str, Any]:
    """The event's own fields (not seq, ts, account, order_id: those are journal columns)."""
    opt = _OPTIONAL[type(ev)]
    if not opt:
        return {name: getattr(ev, name) for name in _FIELDS[type(ev)]}
    out = {}
    for name in _FIELDS[type(ev)]:
        v = getattr(ev, name)
        if v is not None or name not in opt:
            out[name] = v
    return out


def encode(ev: Event, order_state: tuple | None) -> str:
    """The ``data`` column: the event's fields and, for order events, the order after it."""
    data: dict[str, Any] = {"e": payload(ev)}
    if order_state is not None:
        side, type_, qty, filled, limit, stop, tif, reason = order_state
        data["o"] = {"side": side, "type": type_, "qty": qty, "filled": filled, "limit": limit, "stop": stop,
                     "tif": tif, "reason": reason}
    return _dumps(data)


def decode(kind: str, seq: int, ts: int, account: str | None, order_id: int | None, e: dict[str, Any]) -> Event:
    """A journal row back into its event (``e`` is the row's decoded ``data["e"]``)."""
    try:
        cls = EVENT_TYPES[kind]
    except KeyError:
        raise ValueError(f"unknown event kind {kind!r} at journal seq {seq}") from None
    if issubclass(cls, OrderEvent):
        return cls(seq, ts, account, order_id, **e)  # type: ignore[call-arg,arg-type]
    return cls(seq, ts, account, **e)  # type: ignore[arg-type]


def upgrade_v1(kind: str, order_id: int | None, e: dict[str, Any], known: set[int]) -> tuple[str, dict[str, Any]]:
    """A schema-1 row's (kind, payload) as schema 2.  ``known``: order ids accepted or denied so far."""
    if kind in ("OrderAccepted", "OrderRejected") and order_id not in known:
        known.add(order_id)  # type: ignore[arg-type]
        e = {k: v for k, v in e.items() if k != "id"}
        if kind == "OrderAccepted":
            e.setdefault("rested", False)
            return kind, e
        return "OrderDenied", e
    if kind == "OrderReplaced":
        old = e["old"]
        return kind, {"qty": e["qty"], "limit": e["limit"], "stop": e["stop"], "tif": e["tif"],
                      "eligible_at": e["eligible_at"], "expires_at": e["expires_at"], "res_cash": e["res_cash"],
                      "res_shares": e["res_shares"], "old_qty": old["qty"], "old_limit": old["limit"],
                      "old_stop": old["stop"], "old_tif": old["tif"], "rearmed": False}
    if kind == "OrderReplaceRefused":
        req = e["requested"]
        return kind, {"reason": e["reason"], "qty": req["qty"], "limit": req["limit"], "stop": req["stop"],
                      "tif": req["tif"]}
    return kind, e
