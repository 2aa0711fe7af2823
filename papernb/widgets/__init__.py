"""The trader's screen: one composite widget per panel, each usable on its own.

Every panel is built with a :class:`papernb.broker.Broker` (or a Session), subscribes to
its snapshots, and redraws itself only when what it shows changed::

    import papernb as pn
    from papernb.widgets import dashboard, PositionsTable

    session = pn.connect()
    dashboard(session)                 # everything
    PositionsTable(session.broker)     # or one panel: QuoteBoard, OrderTicket, Notifications, ...

Panels talk to the broker protocol only (never the engine, DuckDB or Redis); clicks are
queued onto the kernel's event loop and validated there.
"""

from __future__ import annotations

from ._base import Panel, parse_price, parse_qty
from .banner import AccountBanner
from .board import QuoteBoard
from .chart import EquityChart
from .dashboard import Dashboard, dashboard
from .export import ExportPanel
from .history import OrderHistory
from .journal import TradeJournal
from .notifications import Notifications
from .pending import PendingOrders
from .positions import PositionsTable
from .table import DataTable
from .ticket import OrderTicket

__all__ = [
    "AccountBanner",
    "Dashboard",
    "DataTable",
    "EquityChart",
    "ExportPanel",
    "Notifications",
    "OrderHistory",
    "OrderTicket",
    "Panel",
    "PendingOrders",
    "PositionsTable",
    "QuoteBoard",
    "TradeJournal",
    "dashboard",
    "parse_price",
    "parse_qty",
]
