"""The dashboard: the panels put together for a trader (JupyterLab or the Voila app)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..broker import Broker
from ._base import as_broker
from ._format import CSS
from .banner import AccountBanner
from .board import QuoteBoard
from .chart import EquityChart
from .export import ExportPanel
from .history import OrderHistory
from .journal import TradeJournal
from .notifications import Notifications
from .pending import PendingOrders
from .positions import PositionsTable
from .ticket import OrderTicket

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["Dashboard", "dashboard"]

TABS = ("Order history", "Trade journal", "Equity", "Notifications", "Export")


class Dashboard(widgets.VBox):
    """The account banner; the quote board (the watchlist); the ticket and pending orders side by side
    (stacked on a phone); positions; then tabs for order history, the trade journal, the equity chart,
    the day's notifications and export.  Notifications also pop up as toasts over the page.

    Clicking a board row fills the ticket.  Each panel subscribes to the broker on its own;
    ``close()`` unsubscribes them all.
    """

    def __init__(self, broker: Broker | Session, *, chart: bool = True, **kwargs: Any) -> None:
        self.broker = as_broker(broker)
        b = self.broker
        self.banner = AccountBanner(b, css=False)
        self.board = QuoteBoard(b, css=False)
        self.ticket = OrderTicket(b, css=False, layout=widgets.Layout(flex="0 1 340px", min_width="0",
                                                                      margin="0 16px 0 0"))
        self.pending = PendingOrders(b, css=False, layout=widgets.Layout(flex="1 1 420px", min_width="0"))
        self.positions = PositionsTable(b, css=False)
        self.history = OrderHistory(b, css=False)
        self.journal = TradeJournal(b, css=False)
        self.chart: EquityChart | None = EquityChart(b, css=False) if chart else None
        self.notifications = Notifications(b, css=False, toasts_inside=False)
        self.export = ExportPanel(b, css=False, subscribe=False)
        self.board.on_select(self.ticket.fill)
        self.panels = [p for p in (self.banner, self.board, self.ticket, self.pending, self.positions, self.history,
                                   self.journal, self.chart, self.notifications, self.export) if p is not None]
        tabs_children = [self.history, self.journal] + ([self.chart] if self.chart is not None else []) + [
            self.notifications, self.export]
        titles = [t for t in TABS if chart or t != "Equity"]
        self.tabs = widgets.Tab(children=tabs_children)
        for i, title in enumerate(titles):
            self.tabs.set_title(i, title)
        self.tabs.add_class("papernb-tabs")
        middle = widgets.HBox([self.ticket, self.pending], layout=widgets.Layout(align_items="flex-start",
                                                                                  width="100%",
                                                                                  flex_flow="row wrap"))
        middle.add_class("papernb-middle")
        style = widgets.HTML(CSS, layout=widgets.Layout(display="none"))
        toasts = self.notifications.toasts
        self._own = [style, middle, self.tabs]
        kwargs.setdefault("layout", widgets.Layout(width="100%", grid_gap="10px"))
        super().__init__([style, toasts, self.banner, self.board, middle, self.positions, self.tabs], **kwargs)
        self.add_class("papernb-root")
        self.add_class("papernb-dashboard")

    def close(self) -> None:
        """Unsubscribe every panel and close the widgets."""
        for p in self.panels:
            p.close()
        for w in self._own:
            w.close()
        super().close()


def dashboard(source: Broker | Session, **kwargs: Any) -> Dashboard:
    """The whole trading screen for a Session (``pn.connect()``) or any Broker."""
    return Dashboard(as_broker(source), **kwargs)
