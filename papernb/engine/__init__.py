"""The order engine: accounts, orders, matching, cash, positions, P/L, the DuckDB book.

Modules, bottom up (each imports only those above it):
``model`` (public values: enums, the transition table, ``Order``, views) ->
``state`` (mutable records) -> ``events`` (typed past-tense facts, the journal codec) ->
``ledger`` (applies events: the only writer of durable state) -> ``matching`` (fill models,
marketability) and ``risk`` (reservations, commission, the check at the fill) -> ``store``
(the DuckDB journal) -> ``ordertypes`` (trailing stops, IOC / FOK, OCO pairs, brackets: engine
methods kept apart) -> ``engine`` (commands, the quote loop, time, commit and rebuild) ->
``account`` (the per-trader facade and its views).  Beside them, ``calendar`` (sessions,
holidays, early closes and trading hours from an exchange calendar library) is given to the
engine as its clock is: DAY expiry, day P/L and the ``trading_hours`` gate ask it.
"""

from .account import Account
from .engine import Engine
from .model import (
    TRANSITIONS,
    Alert,
    Estimate,
    Fill,
    MarketState,
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
from .ordertypes import OrderRequest

__all__ = ["TRANSITIONS", "Account", "Alert", "Engine", "Estimate", "Fill", "MarketState", "Order", "OrderRequest",
           "OrderStatus", "OrderType", "OrderView", "PositionView", "RoundTrip", "Side", "Snapshot", "TimeInForce"]
