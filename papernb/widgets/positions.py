"""The positions table: what you hold, marked at the latest quote."""

from __future__ import annotations

import ipywidgets as widgets

from ..broker import Snapshot
from ._base import Panel
from ._format import esc, money, pct, pl_class, price, table

__all__ = ["PositionsTable"]

COLUMNS = (
    ("symbol", "Symbol"),
    ("qty", "Qty"),
    ("avg", "Avg price"),
    ("last", "Last"),
    ("value", "Market value"),
    ("upl", "Unrealized P/L"),
    ("upl-pct", "P/L %"),
    ("day", "Day change"),
)


class PositionsTable(Panel):
    """Symbol, qty, avg price, last, market value, unrealized P/L $ and %, day change %; by symbol.

    One ``HTML`` table; numbers sit in cells classed ``papernb-col-<column>``.
    """

    css_class = "papernb-positions"

    def _build(self) -> list[widgets.Widget]:
        title = widgets.HTML('<div class="papernb-title">Positions</div>')
        self.html = widgets.HTML()
        self.html.add_class("papernb-positions-html")
        return [title, self.html]

    def render(self, snap: Snapshot) -> None:
        rows = []
        for p in sorted(snap.positions, key=lambda p: p.symbol):
            rows.append([
                (esc(p.symbol), ""),
                (f"{p.qty:,}", ""),
                (price(p.avg_price), ""),
                (price(p.last), ""),
                (money(p.market_value), ""),
                (money(p.unrealized_pl, sign=True), pl_class(p.unrealized_pl)),
                (pct(p.unrealized_pl_pct), pl_class(p.unrealized_pl_pct)),
                (pct(p.day_change_pct), pl_class(p.day_change_pct)),
            ])
        html = table(COLUMNS, rows, css="papernb-positions-table", empty="No open positions.",
                     row_css="papernb-row papernb-position-row")
        self._set(self.html, value=html)
