"""The positions table: what you hold, marked at the latest quote, with Close and Close all."""

from __future__ import annotations

import ipywidgets as widgets

from ..broker import OrderView, PositionView, Side, Snapshot
from ._base import ConfirmBar, Panel, message_html
from ._format import money, pct, pl_class, price
from .table import DataTable

__all__ = ["PositionsTable", "close_question", "describe_closed"]

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


def _closing_orders(snap: Snapshot, p: PositionView) -> list[OrderView]:
    """The open orders that ``close`` cancels: the closing side's (sells of a long, buys of a short)."""
    closing = Side.SELL if p.qty > 0 else Side.BUY
    return [o for o in snap.open_orders if o.symbol == p.symbol and o.side is closing]


def close_question(snap: Snapshot, symbol: str | None) -> str:
    """What Close (one symbol) or Close all (None) will do, in the trader's words."""
    positions = [p for p in snap.positions if symbol is None or p.symbol == symbol]
    cancels = sum(len(_closing_orders(snap, p)) for p in positions)
    held = f"cancels {cancels} open order{'s' if cancels != 1 else ''} on the closing side, then " if cancels else ""
    if symbol is not None:
        (p,) = positions
        verb = f"sells {p.qty:,} shares at the bid" if p.qty > 0 else f"buys back {-p.qty:,} shares at the ask"
        around = f" (about {money(p.market_value)} at the last mark)" if p.last is not None else ""
        return f"Close {p.qty:,} {p.symbol} at market? This {held}{verb}{around}."
    names = ", ".join(p.symbol for p in positions)
    return (f"Close all {len(positions)} position{'s' if len(positions) != 1 else ''} ({names}) at market? This "
            f"{held}places one market order per position.")


def describe_closed(orders: list[OrderView]) -> str:
    """``closed AAPL: sold 10 @ $189.90`` (or what is still pending / why it was rejected)."""
    parts = []
    for o in orders:
        if o.status.value == "CANCELLED":
            continue
        verb = "sold" if o.side is Side.SELL else "bought"
        if o.status.value == "FILLED":
            parts.append(f"{o.symbol}: {verb} {o.filled_qty:,} @ {price(o.avg_fill_price)}")
        elif o.status.value == "REJECTED":
            parts.append(f"{o.symbol}: order {o.id} rejected: {o.reason}")
        else:
            parts.append(f"{o.symbol}: order {o.id} {o.status.value}" + (f" ({o.reason})" if o.reason else ""))
    return "closed " + "; ".join(parts) if parts else "nothing to close"


class PositionsTable(Panel):
    """Symbol, qty, avg price, last, market value, unrealized P/L $ and %, day change %; by symbol.

    One table widget (cells classed ``papernb-col-<column>``), a Close button on each row and
    Close all under it, each asking first what it will do (:class:`~papernb.widgets._base.ConfirmBar`).
    """

    css_class = "papernb-positions"

    def _build(self) -> list[widgets.Widget]:
        title = widgets.HTML('<div class="papernb-title">Positions</div>')
        self.table = DataTable(columns=COLUMNS, actions=(("close", "Close", "close this position at market"),),
                               dispatch=self._soon, table_class="papernb-positions-table",
                               row_class="papernb-row papernb-position-row", empty="No open positions.")
        self.table.on_row(self._row_clicked)
        self.close_all_button = widgets.Button(description="Close all", disabled=True,
                                               tooltip="close every position at market",
                                               layout=widgets.Layout(width="auto"))
        self.close_all_button.add_class("papernb-close-all")
        self.close_all_button.on_click(lambda _b: self._soon(self.ask_close_all))
        self.confirm = ConfirmBar(self, "papernb-positions-confirm")
        self.message = widgets.HTML()
        self.message.add_class("papernb-positions-message")
        scroller = widgets.Box([self.table], layout=widgets.Layout(overflow="auto"))
        return [title, scroller, widgets.HBox([self.close_all_button]), self.confirm, self.message]

    def render(self, snap: Snapshot) -> None:
        rows = []
        for p in sorted(snap.positions, key=lambda p: p.symbol):
            rows.append((p.symbol, {
                "symbol": (p.symbol, ""),
                "qty": (f"{p.qty:,}", ""),
                "avg": (price(p.avg_price), ""),
                "last": (price(p.last), ""),
                "value": (money(p.market_value), ""),
                "upl": (money(p.unrealized_pl, sign=True), pl_class(p.unrealized_pl)),
                "upl-pct": (pct(p.unrealized_pl_pct), pl_class(p.unrealized_pl_pct)),
                "day": (pct(p.day_change_pct), pl_class(p.day_change_pct)),
            }))
        self.table.update(rows)
        self._set(self.close_all_button, disabled=not rows)

    # -- close --------------------------------------------------------------------------------------
    def _row_clicked(self, symbol: str, action: str | None) -> None:
        if action == "close":
            self.ask_close(symbol)

    def _snap(self) -> Snapshot:
        return self.broker.snapshot()

    def ask_close(self, symbol: str) -> None:
        """Close pressed on a row: say what will happen; Confirm sends ``broker.close(symbol)``."""
        snap = self._snap()
        if not any(p.symbol == symbol for p in snap.positions):
            self._say(f"there is no open position in {symbol} to close", "error")
            return
        self._say("", "ok")
        self.confirm.ask(close_question(snap, symbol), f"Close {symbol}", lambda: self._close(symbol))

    def ask_close_all(self) -> None:
        snap = self._snap()
        if not snap.positions:
            self._say("there are no open positions to close", "error")
            return
        self._say("", "ok")
        self.confirm.ask(close_question(snap, None), "Close all", self._close_all)

    def _close(self, symbol: str) -> None:
        self._say(f"closing {symbol}…", "muted")
        self._run(lambda: self.broker.close(symbol), self._closed)

    def _close_all(self) -> None:
        self._say("closing every position…", "muted")
        self._run(self.broker.close_all, self._closed)

    def _closed(self, orders: list[OrderView] | None, error: str | None) -> None:
        if error is not None or orders is None:
            self._say(error or "no answer from the broker", "error")
            return
        bad = any(o.status.value == "REJECTED" for o in orders)
        self._say(describe_closed(orders), "error" if bad else "ok")
        self.redraw()

    def _say(self, text: str, kind: str) -> None:
        self._set(self.message, value=message_html(text, kind))

    def close(self) -> None:
        self.confirm.close()
        super().close()
