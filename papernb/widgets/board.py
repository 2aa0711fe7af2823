"""The quote board: the trader's watchlist with live prices, a small trend, and price alerts.

One :class:`~papernb.widgets.table.DataTable` for the whole board, updated cell by cell at
the panel refresh rate (so 200 symbols at thousands of quotes a second are still at most one
message per refresh).  A new account watches the symbols the feed carries; Add and the ×
on a row change the watchlist, which the book keeps per account (``broker.set_watchlist``).
Clicking a row fills the order ticket with its symbol (Buy / Sell fill the side too), and
the alert form under the board sets "tell me when AAPL crosses 195.00" (``broker.alert``).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ipywidgets as widgets

from ..broker import Alert, Snapshot
from ..errors import InvalidInput, PaperError
from ..quote import Quote, normalize_symbol
from ._base import Panel, message_html, parse_price
from ._format import DASH, clock, price, some_symbols
from .table import DataTable

__all__ = ["QuoteBoard", "quote_cells"]

COLUMNS = (
    ("symbol", "Symbol"),
    ("last", "Last"),
    ("change", "Change"),
    ("change-pct", "Chg %"),
    ("bid", "Bid"),
    ("ask", "Ask"),
    ("trend", "Trend"),
)
ACTIONS = (("buy", "Buy", "fill the ticket to buy"), ("sell", "Sell", "fill the ticket to sell"),
           ("remove", "×", "remove from the watchlist"))
ALERT_COLUMNS = (("symbol", "Symbol"), ("above", "Above"), ("below", "Below"), ("set", "Set (NY)"))
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


def _signed(value: Decimal) -> str:
    q = value.quantize(_CENT)
    return f"{q:+,.2f}"


def quote_cells(q: Quote | None, direction: str = "") -> dict[str, tuple[str, str]]:
    """The board's cells for one quote: last (classed by its last tick), change and %, bid, ask."""
    if q is None:
        return {"last": (DASH, ""), "change": (DASH, ""), "change-pct": (DASH, ""), "bid": (DASH, ""),
                "ask": (DASH, "")}
    last = q.last if q.last is not None else q.mark
    pct = q.change_pct
    if pct is None or last is None:
        change = chg_pct = (DASH, "")
    else:
        cls = "papernb-up" if pct > 0 else ("papernb-down" if pct < 0 else "papernb-flat")
        base = last * _HUNDRED / (_HUNDRED + pct) if pct != -_HUNDRED else last
        change = (_signed(last - base), cls)
        chg_pct = (f"{pct.quantize(_CENT):+,.2f}%", cls)
    return {"last": (price(last), direction), "change": change, "change-pct": chg_pct, "bid": (price(q.bid), ""),
            "ask": (price(q.ask), "")}


class QuoteBoard(Panel):
    """The watchlist: symbol, last, change, change %, bid, ask, trend; Buy / Sell / × on each row.

    ``on_select(callback)``: ``callback(symbol, side)`` when a row is clicked (side None) or its
    Buy / Sell is (the dashboard fills the ticket with it).
    """

    css_class = "papernb-board"
    #: seconds between two points of a row's trend, and how many points it keeps (5 minutes)
    trend_every = 5.0
    trend_points = 60

    def _build(self) -> list[widgets.Widget]:
        self.table = DataTable(columns=COLUMNS, actions=ACTIONS, dispatch=self._soon, table_class="papernb-board-table",
                               row_class="papernb-row papernb-board-row",
                               empty="No symbols on the watchlist: add one below.")
        self.table.add_class("papernb-board-grid")
        self.table.on_row(self._row_clicked)
        self.add_symbol = widgets.Combobox(placeholder="add a symbol, e.g. AAPL", ensure_option=False,
                                           layout=widgets.Layout(width="180px"))
        self.add_button = widgets.Button(description="Add", layout=widgets.Layout(width="64px"))
        self.alert_symbol = widgets.Text(placeholder="symbol", layout=widgets.Layout(width="96px"))
        self.alert_above = widgets.Text(placeholder="above, e.g. 195.00", layout=widgets.Layout(width="130px"))
        self.alert_below = widgets.Text(placeholder="below", layout=widgets.Layout(width="110px"))
        self.alert_button = widgets.Button(description="Set alert", layout=widgets.Layout(width="90px"))
        self.alerts_table = DataTable(columns=ALERT_COLUMNS, actions=(("remove", "Remove", "remove this alert"),),
                                      dispatch=self._soon, table_class="papernb-alerts-table",
                                      row_class="papernb-row papernb-alert-row", empty="No price alerts.")
        self.alerts_table.on_row(self._alert_row_clicked)
        self.message = widgets.HTML()
        for w, cls in ((self.add_symbol, "papernb-board-add-symbol"), (self.add_button, "papernb-board-add"),
                       (self.alert_symbol, "papernb-alert-symbol"), (self.alert_above, "papernb-alert-above"),
                       (self.alert_below, "papernb-alert-below"), (self.alert_button, "papernb-alert-set"),
                       (self.message, "papernb-board-message")):
            w.add_class(cls)
        self.add_button.on_click(lambda _b: self._soon(self.add))
        self.alert_button.on_click(lambda _b: self._soon(self.set_alert))
        self._select: list[Callable[[str, str | None], None]] = []
        self._shown: dict[str, tuple[Quote | None, dict[str, tuple]]] = {}  # symbol -> (quote drawn, its cells)
        self._dir: dict[str, str] = {}
        self._trend: dict[str, deque[float]] = {}
        self._next_sample = 0.0
        self._selected: str | None = None
        self._options: tuple[str, ...] = ()
        title = widgets.HTML('<div class="papernb-title">Watchlist</div>')
        add_row = widgets.HBox([self.add_symbol, self.add_button], layout=widgets.Layout(flex_flow="row wrap"))
        alert_row = widgets.HBox([widgets.HTML('<span class="papernb-muted">Alert me when</span>'), self.alert_symbol,
                                  self.alert_above, self.alert_below, self.alert_button],
                                 layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        alert_row.add_class("papernb-alert-form")
        scroller = widgets.Box([self.table], layout=widgets.Layout(max_height="420px", overflow="auto"))
        scroller.add_class("papernb-board-scroll")
        return [title, scroller, add_row, alert_row, self.alerts_table, self.message]

    # -- drawing --------------------------------------------------------------------------------
    def render(self, snap: Snapshot) -> None:
        symbols = self.broker.watchlist()
        now = time.monotonic()
        sample = now >= self._next_sample
        if sample:
            self._next_sample = now + self.trend_every
        rows = []
        shown = {}
        for sym in symbols:
            q = self.broker.quote(sym)
            prev = self._shown.get(sym)
            if prev is not None and prev[0] is q:
                cells = prev[1]
            else:
                direction = self._dir.get(sym, "")
                if q is not None and prev is not None and prev[0] is not None:
                    a, b = q.mark, prev[0].mark
                    if a != b:
                        direction = "papernb-up" if a > b else "papernb-down"
                self._dir[sym] = direction
                cells = {"symbol": (sym, ""), **quote_cells(q, direction)}
            if sample and q is not None:
                pts = self._trend.get(sym)
                if pts is None:
                    pts = self._trend[sym] = deque(maxlen=self.trend_points)
                pts.append(float(q.mark))
            pts = self._trend.get(sym)
            cells = {**cells, "trend": ("", "", list(pts) if pts and len(pts) > 1 else [])}
            shown[sym] = (q, cells)
            rows.append((sym, cells))
        self._shown = shown
        for sym in [s for s in self._trend if s not in shown]:
            del self._trend[sym]
        row_css = {self._selected: "papernb-row-selected"} if self._selected in shown else {}
        self.table.update(rows, row_css=row_css)
        self._draw_alerts()
        self._draw_suggestions(symbols)

    def _draw_alerts(self) -> None:
        rows = [(str(a.id), {"symbol": (a.symbol, ""), "above": (price(a.above) if a.above is not None else "", ""),
                             "below": (price(a.below) if a.below is not None else "", ""),
                             "set": (clock(a.created_at, date=True), "")}) for a in self.broker.alerts()]
        self.alerts_table.update(rows)

    def _draw_suggestions(self, symbols: list[str]) -> None:
        on = set(symbols)
        options = tuple(s for s in self.broker.feed_symbols() if s not in on)
        if options != self._options:
            self._options = options
            self.add_symbol.options = options

    # -- rows -------------------------------------------------------------------------------------
    def on_select(self, callback: Callable[[str, str | None], None]) -> None:
        """``callback(symbol, side)`` when the trader picks a row (side "BUY" / "SELL" from its buttons)."""
        self._select.append(callback)

    def _row_clicked(self, symbol: str, action: str | None) -> None:
        if action == "remove":
            self.remove(symbol)
            return
        self.select(symbol, {"buy": "BUY", "sell": "SELL"}.get(action or ""))

    def select(self, symbol: str, side: str | None = None) -> None:
        """Pick ``symbol`` (on the board): the ticket and the alert form follow it."""
        try:
            sym = normalize_symbol(symbol)
        except PaperError as e:
            self._say(str(e), "error")
            return
        if side not in (None, "BUY", "SELL"):
            self._say(f"side must be Buy or Sell, was {side!r}", "error")
            return
        self._selected = sym
        self.alert_symbol.value = sym
        for cb in tuple(self._select):
            cb(sym, side)
        self.redraw()

    # -- the watchlist ------------------------------------------------------------------------------
    def add(self) -> None:
        """Add the symbol typed in the Add box (checked here: a forged click too)."""
        text = str(self.add_symbol.value or "").strip()
        if not text:
            self._say("type a symbol to add, like AAPL", "error")
            return
        try:
            sym = normalize_symbol(text)
        except PaperError as e:
            self._say(str(e), "error")
            return
        current = self.broker.watchlist()
        if sym in current:
            self._say(f"{sym} is on the watchlist already", "muted")
            return
        carried = self.broker.feed_symbols()
        note = "" if sym in carried or self.broker.quote(sym) is not None else \
            f"; no quotes for {sym} yet: the feed carries {some_symbols(carried)}"

        def done(result: Any, error: str | None) -> None:
            if error is not None:
                self._say(error, "error")
                return
            self.add_symbol.value = ""
            self._say(f"added {sym}{note}", "muted" if note else "ok")
            self.redraw()

        self._run(lambda: self.broker.set_watchlist([*current, sym]), done)

    def remove(self, symbol: str) -> None:
        current = self.broker.watchlist()
        if symbol not in current:
            self._say(f"{symbol} is not on the watchlist", "error")
            return

        def done(result: Any, error: str | None) -> None:
            if error is not None:
                self._say(error, "error")
                return
            if self._selected == symbol:
                self._selected = None
            self._say(f"removed {symbol}", "muted")
            self.redraw()

        self._run(lambda: self.broker.set_watchlist([s for s in current if s != symbol]), done)

    # -- alerts ---------------------------------------------------------------------------------------
    def alert_request(self) -> dict[str, Any]:
        """The alert the form describes, validated; raises a PaperError in plain words."""
        text = self.alert_symbol.value.strip()
        if not text:
            raise InvalidInput("enter the symbol to watch, or click a row of the board")
        sym = normalize_symbol(text)
        above = parse_price(self.alert_above.value, "price above") if self.alert_above.value.strip() else None
        below = parse_price(self.alert_below.value, "price below") if self.alert_below.value.strip() else None
        if above is None and below is None:
            raise InvalidInput(f"enter a price above or below which {sym} should alert you")
        return {"symbol": sym, "above": above, "below": below}

    def set_alert(self) -> None:
        try:
            req = self.alert_request()
        except PaperError as e:
            self._say(str(e), "error")
            return

        def done(a: Alert | None, error: str | None) -> None:
            if error is not None or a is None:
                self._say(error or "no answer from the broker", "error")
                return
            self.alert_above.value = self.alert_below.value = ""
            self._say(f"alert set: {describe_alert(a)}", "ok")
            self._draw_alerts()

        self._run(lambda: self.broker.alert(req["symbol"], above=req["above"], below=req["below"]), done)

    def _alert_row_clicked(self, key: str, action: str | None) -> None:
        if action != "remove":
            return

        def done(a: Alert | None, error: str | None) -> None:
            if error is not None:
                self._say(error, "error")
            else:
                self._say(f"alert {key} removed", "muted")
            self._draw_alerts()

        self._run(lambda: self.broker.remove_alert(int(key)), done)

    def _say(self, text: str, kind: str) -> None:
        self._set(self.message, value=message_html(text, kind))

    def close(self) -> None:
        self._select.clear()
        super().close()


def describe_alert(a: Alert) -> str:
    """``AAPL above $195.00`` / ``AAPL below $180.00`` / ``AAPL above $195.00 or below $180.00``."""
    parts = []
    if a.above is not None:
        parts.append(f"above {price(a.above)}")
    if a.below is not None:
        parts.append(f"below {price(a.below)}")
    return f"{a.symbol} {' or '.join(parts)}"
