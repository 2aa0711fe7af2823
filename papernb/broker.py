"""The Broker protocol: everything a widget may ask of the book, and nothing more.

Widgets talk to a ``Broker``, never to the engine class, DuckDB or Redis.  Today
:class:`LocalBroker` serves it from the engine inside the kernel; an engine service over
Redis can serve the same protocol later, so that many traders' Voila kernels share one
book, without a change in ``papernb/widgets``.  Commands are async (a remote broker will
await a reply); reads are sync and return immutable values.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .engine.model import (
    Fill,
    OrderStatus,
    OrderType,
    OrderView,
    PositionView,
    RoundTrip,
    Side,
    Snapshot,
    TimeInForce,
)
from .quote import Quote

if TYPE_CHECKING:
    from .feed.hub import FeedHealth
    from .session import Session

__all__ = ["Broker", "Fill", "LocalBroker", "OrderStatus", "OrderType", "OrderView", "PositionView", "RoundTrip",
           "Side", "Snapshot", "TimeInForce"]


@runtime_checkable
class Broker(Protocol):
    """What the widgets use.  Commands raise a ``papernb.PaperError`` with a plain message."""

    account_name: str
    simulated: bool

    async def submit(self, symbol: str, side: str, qty: int, *, type: str, limit: Any = None, stop: Any = None,
                     tif: str | None = None, client_order_id: str | None = None) -> OrderView: ...

    async def replace(self, order_id: int, *, qty: int | None = None, limit: Any = None, stop: Any = None,
                      tif: str | None = None) -> OrderView: ...

    async def cancel(self, order_id: int) -> OrderView: ...

    def snapshot(self) -> Snapshot: ...

    def orders(self, status: Any = None, symbol: str | None = None) -> list[OrderView]: ...

    def fills(self) -> list[Fill]: ...

    def trades(self) -> list[RoundTrip]: ...

    def stats(self) -> dict[str, Any]: ...

    def equity_history(self, max_points: int | None = None) -> list[tuple[int, Decimal]]: ...

    def quote(self, symbol: str) -> Quote | None: ...

    def feed_health(self) -> FeedHealth: ...

    def now(self) -> int: ...

    def subscribe(self, callback: Callable[[Snapshot], None]) -> Callable[[], None]: ...


class LocalBroker:
    """The Broker protocol served by a :class:`~papernb.session.Session` in this kernel."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self.account_name = session.account.name
        self.simulated = session.simulated

    async def submit(self, symbol: str, side: str, qty: int, *, type: str, limit: Any = None, stop: Any = None,
                     tif: str | None = None, client_order_id: str | None = None) -> OrderView:
        o = self._s.account.submit(symbol, side, qty, type=type, limit=limit, stop=stop, tif=tif,
                                   client_order_id=client_order_id)
        return o.view()

    async def replace(self, order_id: int, *, qty: int | None = None, limit: Any = None, stop: Any = None,
                      tif: str | None = None) -> OrderView:
        return self._s.account.replace(order_id, qty=qty, limit=limit, stop=stop, tif=tif).view()

    async def cancel(self, order_id: int) -> OrderView:
        return self._s.account.cancel(order_id).view()

    def snapshot(self) -> Snapshot:
        return self._s.account.snapshot()

    def orders(self, status: Any = None, symbol: str | None = None) -> list[OrderView]:
        return [o.view() for o in self._s.account.orders(status=status, symbol=symbol)]

    def fills(self) -> list[Fill]:
        return self._s.account.fills()

    def trades(self) -> list[RoundTrip]:
        return self._s.account.trades()

    def stats(self) -> dict[str, Any]:
        return self._s.account.stats()

    def equity_history(self, max_points: int | None = None) -> list[tuple[int, Decimal]]:
        return self._s.account.equity_history(max_points)

    def quote(self, symbol: str) -> Quote | None:
        return self._s.quote(symbol)

    def feed_health(self) -> FeedHealth:
        return self._s.feed.health()

    def now(self) -> int:
        return self._s.engine.now

    def subscribe(self, callback: Callable[[Snapshot], None]) -> Callable[[], None]:
        return self._s.subscribe(callback)
