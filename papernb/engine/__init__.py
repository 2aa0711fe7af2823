"""The order engine: accounts, orders, matching, cash, positions, P/L, the DuckDB book."""

from .core import Account, Engine
from .model import (
    TRANSITIONS,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    OrderView,
    PositionView,
    RoundTrip,
    Side,
    Snapshot,
    TimeInForce,
)

__all__ = ["TRANSITIONS", "Account", "Engine", "Fill", "Order", "OrderStatus", "OrderType", "OrderView",
           "PositionView", "RoundTrip", "Side", "Snapshot", "TimeInForce"]
