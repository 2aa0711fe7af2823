"""The trade journal: round trips with their verdict, and the account's composite stats."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import ipywidgets as widgets

from ..broker import RoundTrip, Snapshot
from ._base import Panel
from ._format import clock, duration, esc, money, pct, pl_class, price, ratio_pct, table

__all__ = ["TradeJournal"]

COLUMNS = (
    ("closed", "Closed"),
    ("symbol", "Symbol"),
    ("direction", "Side"),
    ("qty", "Qty"),
    ("entry", "Avg entry"),
    ("exit", "Avg exit"),
    ("net", "Net P/L"),
    ("return", "Return"),
    ("held", "Held"),
    ("mfe", "MFE"),
    ("mae", "MAE"),
    ("verdict", "Verdict"),
)

_VERDICT_CLASS = {"worked": "papernb-up", "didn't work": "papernb-down", "flat": "papernb-flat"}


def _num(value: Any) -> str:
    return "—" if value is None else f"{Decimal(value):,.2f}"


def stats_html(stats: dict[str, Any]) -> str:
    """The composite stats as labelled values (each value classed ``papernb-stat-<name>``)."""
    dd = stats.get("max_drawdown")
    dd_pct = stats.get("max_drawdown_pct")
    items = (
        ("trades", "Trades", str(stats.get("trades", 0)), ""),
        ("win-rate", "Win rate", ratio_pct(stats.get("win_rate")), ""),
        ("avg-win", "Avg win", money(stats.get("avg_win"), sign=True), pl_class(stats.get("avg_win"))),
        ("avg-loss", "Avg loss", money(stats.get("avg_loss"), sign=True), pl_class(stats.get("avg_loss"))),
        ("profit-factor", "Profit factor", _num(stats.get("profit_factor")), ""),
        ("expectancy", "Expectancy", money(stats.get("expectancy"), sign=True), pl_class(stats.get("expectancy"))),
        ("max-drawdown", "Max drawdown",
         money(dd) + ("" if dd_pct is None else f" ({pct(dd_pct, sign=False)})"), ""),
        ("total-return", "Total return", pct(stats.get("total_return_pct")), pl_class(stats.get("total_return_pct"))),
    )
    cells = "".join(
        f'<div class="papernb-metric"><span class="papernb-metric-label">{esc(title)}</span>'
        f'<span class="papernb-metric-value papernb-stat-{key} {cls}">{esc(text)}</span></div>'
        for key, title, text, cls in items)
    return f'<div class="papernb-stats papernb-stats-grid">{cells}</div>'


def trips_html(trips: list[RoundTrip]) -> str:
    rows = []
    for t in reversed(trips):
        rows.append([
            (esc(clock(t.closed_at, date=True)), ""),
            (esc(t.symbol), ""),
            (esc(t.direction), ""),
            (f"{t.qty:,}", ""),
            (esc(price(t.avg_entry)), ""),
            (esc(price(t.avg_exit)), ""),
            (esc(money(t.net_pl, sign=True)), pl_class(t.net_pl)),
            (esc(pct(t.return_pct)), pl_class(t.return_pct)),
            (esc(duration(t.holding_ns)), ""),
            (esc(money(t.mfe, sign=True)), ""),
            (esc(money(t.mae, sign=True)), ""),
            (esc(t.verdict), f"papernb-verdict {_VERDICT_CLASS.get(t.verdict, '')}"),
        ])
    return table(COLUMNS, rows, css="papernb-trips", empty="No closed trades yet.",
                 row_css="papernb-row papernb-trip-row")


class TradeJournal(Panel):
    """Round trips (``broker.trades()``) with "worked / didn't work / flat", and ``broker.stats()``.

    The stats move with open P/L; they are recomputed at most once a second unless a
    trade closed, and sent only when their text changes.
    """

    css_class = "papernb-journal"
    stats_interval = 1.0

    def _build(self) -> list[widgets.Widget]:
        self.html = widgets.HTML()
        self.html.add_class("papernb-journal-html")
        self._key: tuple | None = None
        self._stats_at = 0.0
        title = widgets.HTML('<div class="papernb-title">Trade journal</div>')
        return [title, self.html]

    def render(self, snap: Snapshot) -> None:
        trips = self.broker.trades()
        last = trips[-1] if trips else None
        trips_key = (snap.epoch, len(trips), last)
        key = (trips_key, snap.equity, snap.realized_pl, snap.fees)
        if key == self._key:
            return
        now = time.monotonic()
        if self._key is not None and self._key[0] == trips_key and now - self._stats_at < self.stats_interval:
            return  # only marks moved: wait for the next second
        self._key, self._stats_at = key, now
        html = stats_html(self.broker.stats()) + trips_html(trips)
        self._set(self.html, value=html)
