"""Order history: every order of the account, newest first, filterable by status."""

from __future__ import annotations

import ipywidgets as widgets

from ..broker import OrderView, Snapshot
from ._base import Panel
from ._format import clock, esc, label, price, table

__all__ = ["OrderHistory"]

FILTERS = (("All", "all"), ("Open", "open"), ("Filled", "FILLED"), ("Cancelled", "CANCELLED"),
           ("Rejected", "REJECTED"), ("Expired", "EXPIRED"))

COLUMNS = (
    ("id", "Id"),
    ("time", "Time (NY)"),
    ("symbol", "Symbol"),
    ("side", "Side"),
    ("qty", "Qty"),
    ("filled", "Filled"),
    ("type", "Type"),
    ("limit", "Limit"),
    ("stop", "Stop"),
    ("tif", "TIF"),
    ("status", "Status"),
    ("avg", "Avg fill"),
    ("reason", "Reason"),
)

_STATUS_CLASS = {"FILLED": "papernb-up", "REJECTED": "papernb-down", "CANCELLED": "papernb-flat",
                 "EXPIRED": "papernb-flat"}


class OrderHistory(Panel):
    """All orders (``broker.orders()``) with status, avg fill price and reasons; a status filter."""

    css_class = "papernb-history"
    #: most rows drawn (newest first); the count of the rest is shown
    max_rows = 500

    def _build(self) -> list[widgets.Widget]:
        self.filter = widgets.Dropdown(options=FILTERS, value="all", description="Show",
                                       layout=widgets.Layout(width="220px"))
        self.filter.add_class("papernb-history-filter")
        self.filter.observe(lambda _c: self._soon(self.redraw), names="value")
        self.html = widgets.HTML()
        self.html.add_class("papernb-history-html")
        self._orders: list[OrderView] | None = None
        self._shown_filter: str | None = None
        self._snap_key: tuple | None = None
        return [self.filter, self.html]

    def render(self, snap: Snapshot) -> None:
        f = str(self.filter.value)
        if f not in {v for _, v in FILTERS}:
            f = "all"
        # Listing every order costs more than a snapshot: do it only when the book's journal moved
        # (any order event, a refusal at submission included) or the filter changed.
        key = (snap.epoch, snap.seq)
        if key == self._snap_key and f == self._shown_filter:
            return
        self._snap_key = key
        orders = self.broker.orders(status=None if f == "all" else f)
        if orders == self._orders and f == self._shown_filter:
            return
        self._orders, self._shown_filter = orders, f
        newest = orders[::-1][: self.max_rows]
        rows = []
        for o in newest:
            st = o.status.value
            rows.append([
                (str(o.id), ""),
                (esc(clock(o.created_at, date=True)), ""),
                (esc(o.symbol), ""),
                (esc(label(o.side)), ""),
                (f"{o.qty:,}", ""),
                (f"{o.filled_qty:,}", ""),
                (esc(label(o.type)), ""),
                (esc(price(o.limit)) if o.limit is not None else "", ""),
                (esc(price(o.stop)) if o.stop is not None else "", ""),
                (esc(label(o.tif)), ""),
                (esc(label(o.status)), _STATUS_CLASS.get(st, "")),
                (esc(price(o.avg_fill_price)) if o.avg_fill_price is not None else "", ""),
                (esc(o.reason or ""), ""),
            ])
        empty = "No orders yet." if f == "all" else "No orders with this status."
        html = table(COLUMNS, rows, css="papernb-history-table", empty=empty, row_css="papernb-row papernb-history-row")
        if len(orders) > self.max_rows:
            html += f'<div class="papernb-muted">Showing the latest {self.max_rows} of {len(orders):,} orders.</div>'
        self._set(self.html, value=html)
