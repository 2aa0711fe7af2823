"""The Broker protocol: everything a widget (or a strategy's UI) may ask of a book, and nothing more.

Widgets talk to a ``Broker``, never to the engine class, DuckDB or Redis.  :class:`LocalBroker`
serves it from an engine inside this kernel; the engine service's ``RemoteBroker`` serves the
same protocol over HTTP and its event stream, so many traders, windows and notebooks share
one book with no change in ``papernb/widgets``.  Commands are async (a remote broker awaits a
reply) and raise a ``PaperError`` with a plain message; reads are sync and return immutable
values (a remote broker answers them from a local mirror fed by the event stream).

Broker v2, one protocol grown by several issues.  Each method, with its HTTP endpoint in the
service and the event that changes what it reads:

| method | endpoint (service) | event |
| --- | --- | --- |
| ``submit(...)`` | ``POST /v1/orders`` | order: accepted / rejected (+ filled ...) |
| ``replace(id, ...)`` | ``PATCH /v1/orders/{id}`` | order: replaced |
| ``cancel(id)`` | ``POST /v1/orders/{id}/cancel`` | order: cancelled |
| ``oco(a, b)`` | ``POST /v1/orders/oco`` (``{"orders": [id or order, id or order]}``) | order: linked |
| ``snapshot()`` | ``GET /v1/account`` | account (throttled snapshots) |
| ``orders(status, symbol)`` | ``GET /v1/orders`` | order |
| ``fills()`` / ``trades()`` / ``stats()`` | ``GET /v1/fills`` / ``/v1/trades`` / ``/v1/stats`` | order: filled |
| ``equity_history(n)`` | ``GET /v1/equity`` | account |
| ``quote(symbol)`` / ``quote_age(symbol)`` | ``GET /v1/snapshot?symbols=`` | quotes (mirror) |
| ``estimate(...)`` | ``POST /v1/orders/estimate`` | (none: computed by the engine's own rules) |
| ``feed_health()`` | ``GET /v1/feed`` | feed |
| ``market_state()`` | ``GET /v1/market`` | (none: the calendar at server time) |
| ``now()`` | (server time in every answer) | |
| ``subscribe(cb)`` | ``GET /v1/events`` | ``event: account`` |
| ``subscribe_events(cb)`` | ``GET /v1/events`` | ``event: order`` with {"event", "order"}; ``event: alert`` with {"event", "alert"} |
| ``close(symbol)`` | ``DELETE /v1/positions/{symbol}`` | order: cancelled (closing side) + accepted / filled |
| ``close_all()`` | ``DELETE /v1/positions`` | order: as ``close`` for each position |
| ``cancel_all()`` | ``DELETE /v1/orders`` | order: cancelled |
| ``reset(cash)`` | ``POST /v1/account/reset`` | order: cancelled; account (new epoch) |
| ``watchlist()`` / ``set_watchlist(symbols)`` | ``GET`` / ``PUT /v1/watchlist`` | ``event: watchlist`` |
| ``feed_symbols()`` | ``GET /v1/symbols`` | quotes (mirror) |
| ``trades(tag, symbol, since, until)`` / ``stats(...)`` | ``GET /v1/trades?tag=&symbol=&since=&until=`` / ``/v1/stats?...`` | order: filled; ``event: trade`` |
| ``annotate(trip_id, note, tags)`` | ``PATCH /v1/trades/{id}`` | ``event: trade`` (the round trip) |
| ``alert(symbol, above, below)`` / ``alerts()`` / ``remove_alert(id)`` | ``POST`` / ``GET /v1/alerts``, ``DELETE /v1/alerts/{id}`` | ``event: alert``: set / removed / triggered |
| ``export(name)`` | ``GET /v1/export/{name}`` (``orders.csv`` ... ``workbook.xlsx``) | (none: built on request) |

Order types (the quant's toolkit): ``submit`` takes ``type`` ``trailing_stop`` with ``trail`` (dollars)
or ``trail_pct`` (percent), ``take_profit`` / ``stop_loss`` (a bracket: the children are placed when
the entry fills), and ``tif`` ``ioc`` / ``fok``; ``replace`` takes ``trail`` / ``trail_pct``.  The
order stream adds ``stop_moved`` (a trailing stop's level, coalesced), ``linked`` (an OCO pair) and
``resized`` (an OCO partner filled part, or a bracket entry filled more); ``OrderView`` carries
``trail``, ``trail_pct``, ``take_profit``, ``stop_loss``, ``parent_id``, ``oco_id``, ``child_ids`` and,
for a trailing stop, its current level in ``stop``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .engine import Account
from .engine.events import ALERT_STREAM_NAMES, STREAM_NAMES, AlertEvent, Event, OrderEvent
from .engine.model import (
    Alert,
    Estimate,
    Fill,
    MarketState,
    OrderStatus,
    OrderType,
    OrderView,
    PositionView,
    RoundTrip,
    Side,
    Snapshot,
    TimeInForce,
)
from .engine.ordertypes import OrderRequest
from .quote import Quote, normalize_symbol

if TYPE_CHECKING:
    from .feed.hub import FeedHealth

__all__ = ["Alert", "AlertUpdate", "Broker", "Estimate", "Fill", "LocalBroker", "MarketState", "OrderRequest",
           "OrderStatus", "OrderType", "OrderUpdate", "OrderView", "PositionView", "RoundTrip", "Side", "Snapshot",
           "TimeInForce"]


@dataclass(frozen=True)
class OrderUpdate:
    """One change of one order, as the event stream carries it.

    ``event`` is one of ``accepted``, ``rested``, ``replaced``, ``triggered``, ``partially_filled``,
    ``filled``, ``cancelled``, ``rejected``, ``expired``, ``stop_moved``, ``linked``, ``resized``; ``order`` is the order as it stands once
    the change is durable; ``seq`` is the journal sequence (the stream's event id).
    """

    event: str
    order: OrderView
    seq: int
    ts: int


@dataclass(frozen=True)
class AlertUpdate:
    """One change of one price alert: ``event`` is ``set``, ``removed`` or ``triggered`` (the alert as it
    stands after it: a triggered alert has the ``price`` and ``direction`` that fired it)."""

    event: str
    alert: Alert
    seq: int
    ts: int


@runtime_checkable
class Broker(Protocol):
    """What the widgets use.  Commands raise a ``papernb.PaperError`` with a plain message."""

    account_name: str
    simulated: bool
    #: seconds after which a quote is too old to fill on (the engine's ``stale_after``; None: never)
    stale_after: float | None

    async def submit(self, symbol: str, side: str, qty: int, *, type: str, limit: Any = None, stop: Any = None,
                     tif: str | None = None, client_order_id: str | None = None, trail: Any = None,
                     trail_pct: Any = None, take_profit: Any = None, stop_loss: Any = None) -> OrderView: ...

    async def replace(self, order_id: int, *, qty: int | None = None, limit: Any = None, stop: Any = None,
                      tif: str | None = None, trail: Any = None, trail_pct: Any = None) -> OrderView: ...

    async def cancel(self, order_id: int) -> OrderView: ...

    async def oco(self, first: int | OrderRequest, second: int | OrderRequest) -> tuple[OrderView, OrderView]: ...

    def snapshot(self) -> Snapshot: ...

    def orders(self, status: Any = None, symbol: str | None = None) -> list[OrderView]: ...

    def fills(self) -> list[Fill]: ...

    def trades(self, *, tag: str | None = None, symbol: str | None = None, since: Any = None,
               until: Any = None) -> list[RoundTrip]: ...

    def stats(self, *, tag: str | None = None, symbol: str | None = None, since: Any = None,
              until: Any = None) -> dict[str, Any]: ...

    def equity_history(self, max_points: int | None = None) -> list[tuple[int, Decimal]]: ...

    def quote(self, symbol: str) -> Quote | None: ...

    def quote_age(self, symbol: str) -> tuple[int, bool] | None: ...

    def estimate(self, symbol: str, side: str, qty: int, *, type: str, limit: Any = None,
                 stop: Any = None, trail: Any = None, trail_pct: Any = None) -> Estimate: ...

    def feed_health(self) -> FeedHealth: ...

    def market_state(self) -> MarketState: ...

    def now(self) -> int: ...

    def subscribe(self, callback: Callable[[Snapshot], None]) -> Callable[[], None]: ...

    def subscribe_events(self, callback: Callable[[OrderUpdate | AlertUpdate], None]) -> Callable[[], None]: ...

    async def close(self, symbol: str) -> list[OrderView]: ...

    async def close_all(self) -> list[OrderView]: ...

    async def cancel_all(self) -> list[OrderView]: ...

    async def reset(self, cash: Any = None) -> Snapshot: ...

    def watchlist(self) -> list[str]: ...

    async def set_watchlist(self, symbols: list[str]) -> list[str]: ...

    def feed_symbols(self) -> list[str]: ...

    async def annotate(self, trip_id: int, note: str | None = None, tags: list[str] | None = None) -> RoundTrip: ...

    async def alert(self, symbol: str, above: Any = None, below: Any = None) -> Alert: ...

    def alerts(self) -> list[Alert]: ...

    async def remove_alert(self, alert_id: int) -> Alert: ...

    def export(self, name: str) -> bytes: ...


class LocalBroker:
    """The Broker protocol served by an engine in this kernel.

    ``feed_health`` and ``subscribe`` (throttled snapshots) come from whoever runs the live loop
    (a :class:`~papernb.session.Session`); everything else from the account and its engine.
    """

    def __init__(self, account: Account, *, feed_health: Callable[[], FeedHealth],
                 subscribe: Callable[[Callable[[Snapshot], None]], Callable[[], None]], simulated: bool,
                 feed_symbols: Callable[[], list[str]] | None = None) -> None:
        self._acct = account
        self._engine = account.engine
        self._feed_health = feed_health
        self._subscribe = subscribe
        self._feed_symbols = feed_symbols if feed_symbols is not None else self._engine.symbols
        self.account_name = account.name
        self.simulated = simulated
        self.stale_after = self._engine.config.stale_after

    async def submit(self, symbol: str, side: str, qty: int, *, type: str, limit: Any = None, stop: Any = None,
                     tif: str | None = None, client_order_id: str | None = None, trail: Any = None,
                     trail_pct: Any = None, take_profit: Any = None, stop_loss: Any = None) -> OrderView:
        o = self._acct.submit(symbol, side, qty, type=type, limit=limit, stop=stop, tif=tif,
                              client_order_id=client_order_id, trail=trail, trail_pct=trail_pct,
                              take_profit=take_profit, stop_loss=stop_loss)
        return o.view()

    async def replace(self, order_id: int, *, qty: int | None = None, limit: Any = None, stop: Any = None,
                      tif: str | None = None, trail: Any = None, trail_pct: Any = None) -> OrderView:
        return self._acct.replace(order_id, qty=qty, limit=limit, stop=stop, tif=tif, trail=trail,
                                  trail_pct=trail_pct).view()

    async def cancel(self, order_id: int) -> OrderView:
        return self._acct.cancel(order_id).view()

    async def oco(self, first: int | OrderRequest, second: int | OrderRequest) -> tuple[OrderView, OrderView]:
        a, b = self._acct.oco(first, second)
        return a.view(), b.view()

    def snapshot(self) -> Snapshot:
        return self._acct.snapshot()

    def orders(self, status: Any = None, symbol: str | None = None) -> list[OrderView]:
        return [o.view() for o in self._acct.orders(status=status, symbol=symbol)]

    def fills(self) -> list[Fill]:
        return self._acct.fills()

    def trades(self, *, tag: str | None = None, symbol: str | None = None, since: Any = None,
               until: Any = None) -> list[RoundTrip]:
        return self._acct.trades(tag=tag, symbol=symbol, since=since, until=until)

    def stats(self, *, tag: str | None = None, symbol: str | None = None, since: Any = None,
              until: Any = None) -> dict[str, Any]:
        return self._acct.stats(tag=tag, symbol=symbol, since=since, until=until)

    def equity_history(self, max_points: int | None = None) -> list[tuple[int, Decimal]]:
        return self._acct.equity_history(max_points)

    def quote(self, symbol: str) -> Quote | None:
        """The latest quote as the engine has it (restamped on arrival in this kernel)."""
        return self._engine.quote(normalize_symbol(symbol))

    def quote_age(self, symbol: str) -> tuple[int, bool] | None:
        """(age in ns, too old to fill on) of the latest quote, by the engine's own stale rule."""
        return self._engine.quote_age(normalize_symbol(symbol))

    def estimate(self, symbol: str, side: str, qty: int, *, type: str, limit: Any = None,
                 stop: Any = None, trail: Any = None, trail_pct: Any = None) -> Estimate:
        return self._acct.estimate(symbol, side, qty, type=type, limit=limit, stop=stop, trail=trail,
                                   trail_pct=trail_pct)

    def feed_health(self) -> FeedHealth:
        return self._feed_health()

    def market_state(self) -> MarketState:
        """Where the market is in its day ("Market open", "Market closed until Mon 09:30", ...),
        from the engine's calendar at engine time, with its ``trading_hours`` setting."""
        return self._engine.market_state()

    def now(self) -> int:
        return self._engine.now

    def subscribe(self, callback: Callable[[Snapshot], None]) -> Callable[[], None]:
        return self._subscribe(callback)

    def subscribe_events(self, callback: Callable[[OrderUpdate | AlertUpdate], None]) -> Callable[[], None]:
        """Call ``callback(update)`` for every committed change of this account's orders (an
        :class:`OrderUpdate`) and price alerts (an :class:`AlertUpdate`), in journal order."""
        name, engine = self.account_name, self._engine

        def on_events(events: list[Event]) -> None:
            for e in events:
                if e.account != name:
                    continue
                if isinstance(e, OrderEvent):
                    stream = STREAM_NAMES.get(e.kind)
                    if stream is not None:
                        callback(OrderUpdate(stream, engine.order(name, e.order_id).view(), e.seq, e.ts))
                elif isinstance(e, AlertEvent):
                    al = engine.ledger.alerts.get(e.alert_id)
                    if al is not None:
                        callback(AlertUpdate(ALERT_STREAM_NAMES[e.kind], al.view(), e.seq, e.ts))

        return engine.subscribe(on_events)

    # -- Broker v2: one-click commands, the trader's records, export ---------------------------------
    async def close(self, symbol: str) -> list[OrderView]:
        """Close the position in ``symbol`` in one command: cancel the closing side's open orders, one market order."""
        return [o.view() for o in self._acct.close(symbol)]

    async def close_all(self) -> list[OrderView]:
        return [o.view() for o in self._acct.close_all()]

    async def cancel_all(self) -> list[OrderView]:
        return [o.view() for o in self._acct.cancel_all()]

    async def reset(self, cash: Any = None) -> Snapshot:
        """Start over (open orders cancelled, positions closed at their marks, a new epoch); the new snapshot."""
        self._acct.reset(cash)
        return self._acct.snapshot()

    def watchlist(self) -> list[str]:
        """The account's watchlist; the symbols the feed carries while it never set one."""
        wl = self._acct.watchlist()
        return self.feed_symbols() if wl is None else wl

    async def set_watchlist(self, symbols: list[str]) -> list[str]:
        return self._acct.set_watchlist(symbols)

    def feed_symbols(self) -> list[str]:
        """The symbols the feed carries (the simulated market's list, or the latest-quote table's)."""
        return list(self._feed_symbols())

    async def annotate(self, trip_id: int, note: str | None = None, tags: list[str] | None = None) -> RoundTrip:
        return self._acct.annotate(trip_id, note=note, tags=tags)

    async def alert(self, symbol: str, above: Any = None, below: Any = None) -> Alert:
        return self._acct.alert(symbol, above=above, below=below)

    def alerts(self) -> list[Alert]:
        return self._acct.alerts()

    async def remove_alert(self, alert_id: int) -> Alert:
        return self._acct.remove_alert(alert_id)

    def export(self, name: str) -> bytes:
        """One export file's bytes: ``orders.csv``, ``fills.csv``, ``round_trips.csv``, ``equity.csv`` or
        ``workbook.xlsx`` (New York times, exact money; see :mod:`papernb.engine.export`)."""
        from .engine.export import export_bytes

        return export_bytes(self._acct, name)
