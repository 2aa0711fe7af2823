"""papernb: paper trading on live or replayed quotes, in a notebook or a Voila app.

The public surface is what this module names in ``__all__``; everything else is private.
"""

from __future__ import annotations

from .backtest import BacktestResult, backtest, compare_fills
from .config import Commission, EngineConfig
from .engine import (
    Account,
    Alert,
    Engine,
    Fill,
    MarketState,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderView,
    PositionView,
    RoundTrip,
    Side,
    Snapshot,
    TimeInForce,
)
from .errors import (
    BacktestFinished,
    BadQuote,
    BookClosed,
    BookError,
    BookLocked,
    BookUnreadable,
    BookWriteFailed,
    ConfigError,
    DuplicateClientOrderId,
    InvalidInput,
    InvalidOrder,
    InvalidTransition,
    OrderNotOpen,
    PaperError,
    ReplaceRefused,
    UnknownAlert,
    UnknownOrder,
    UnknownTrip,
)
from .money import Price, to_tick
from .quote import Quote
from .session import Session, connect
from .sweep import sweep

__version__ = "0.1.0"


def dashboard(session_or_broker: object, **kwargs: object) -> object:
    """The trader's dashboard for a session (or any Broker); imports the widgets on first use."""
    from .widgets import dashboard as _dashboard

    return _dashboard(session_or_broker, **kwargs)

__all__ = [
    "Account",
    "Alert",
    "BacktestResult",
    "Engine",
    "Fill",
    "MarketState",
    "Order",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "OrderView",
    "PositionView",
    "RoundTrip",
    "Side",
    "Snapshot",
    "TimeInForce",
    "BacktestFinished",
    "BadQuote",
    "BookClosed",
    "BookError",
    "BookLocked",
    "BookUnreadable",
    "BookWriteFailed",
    "Commission",
    "ConfigError",
    "DuplicateClientOrderId",
    "EngineConfig",
    "InvalidInput",
    "InvalidOrder",
    "InvalidTransition",
    "OrderNotOpen",
    "PaperError",
    "Price",
    "Quote",
    "ReplaceRefused",
    "Session",
    "UnknownAlert",
    "UnknownOrder",
    "UnknownTrip",
    "__version__",
    "backtest",
    "compare_fills",
    "connect",
    "dashboard",
    "sweep",
    "to_tick",
]
