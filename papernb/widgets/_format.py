"""Text for the screen: escaping, money in cents, prices, percents, times, small HTML tables.

Everything a panel shows goes through :func:`esc` (``html.escape``), so a symbol, a reason
or an error message can never inject markup.  Money is exact until here: amounts are
rounded to the cent (half-even) by :func:`papernb.money.fmt_money` only for display.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from ..money import fmt_money, to_units

DASH = "—"
_Q4 = Decimal("0.0001")
_Q2 = Decimal("0.01")
try:
    _NY = ZoneInfo("America/New_York")
except Exception:  # pragma: no cover - no tz database: fall back to UTC
    _NY = UTC  # type: ignore[assignment]


def esc(value: object) -> str:
    """Any value as HTML-escaped text (quotes too, so it is safe inside attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def money(value: Decimal | None, *, sign: bool = False) -> str:
    """Exact dollars -> ``$1,234.56`` (cents, half-even); None -> a dash."""
    if value is None:
        return DASH
    return fmt_money(to_units(value, "amount", exact=False), sign=sign)


def price(value: Decimal | None) -> str:
    """A price with 2 to 4 decimals: ``$190.10``, ``$0.1234``, ``$190.1235`` for an average."""
    if value is None:
        return DASH
    q = Decimal(value).quantize(_Q4, rounding=ROUND_HALF_EVEN)
    text = f"{abs(q):,.4f}"
    while text.endswith("0") and len(text.rsplit(".", 1)[1]) > 2:
        text = text[:-1]
    return ("-$" if q < 0 else "$") + text


def pct(value: Decimal | None, *, sign: bool = True) -> str:
    """Percent points -> ``+1.23%``."""
    if value is None:
        return DASH
    q = Decimal(value).quantize(_Q2, rounding=ROUND_HALF_EVEN)
    return f"{q:+,.2f}%" if sign else f"{q:,.2f}%"


def ratio_pct(value: Decimal | None) -> str:
    """A fraction (0.5) -> ``50.00%``."""
    return DASH if value is None else pct(Decimal(value) * 100, sign=False)


def pl_class(value: Decimal | None) -> str:
    """CSS class for a profit or loss: green up, red down."""
    if value is None or value == 0:
        return "papernb-flat"
    return "papernb-up" if value > 0 else "papernb-down"


def clock(ns: int | None, *, date: bool = False) -> str:
    """Int ns UTC -> New York wall time, ``14:03:07`` (``Nov 25 14:03:07`` with ``date``)."""
    if not ns:
        return DASH
    t = datetime.fromtimestamp(ns / 1e9, tz=UTC).astimezone(_NY)
    return t.strftime("%b %d %H:%M:%S" if date else "%H:%M:%S")


def duration(ns: int | None) -> str:
    """A holding time: ``12s``, ``4m 10s``, ``2h 05m``, ``3d 4h``."""
    if ns is None:
        return DASH
    s = max(0, int(ns // 1_000_000_000))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m {s:02d}s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h {m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d {h}h"


def label(enum_value: object) -> str:
    """``STOP_LIMIT`` -> ``Stop-limit``, ``PARTIALLY_FILLED`` -> ``Partially filled``."""
    text = str(getattr(enum_value, "value", enum_value))
    if text in ("GTC", "IOC", "FOK"):
        return text
    return text.replace("_", " ").capitalize().replace("Stop limit", "Stop-limit")


def some_symbols(symbols: Sequence[str], n: int = 6) -> str:
    """``AAPL, MSFT, NVDA, … (10 symbols)``; "no symbols yet" when there are none."""
    if not symbols:
        return "no symbols yet"
    head = ", ".join(symbols[:n])
    return head if len(symbols) <= n else f"{head}, … ({len(symbols)} symbols)"


Cell = tuple[str, str]  # (escaped html, extra css classes)


def table(columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Cell]], *, css: str,
          empty: str = "Nothing yet.", row_css: str = "papernb-row") -> str:
    """A small HTML table: ``columns`` are (key, title); each cell gets ``papernb-col-<key>``.

    Cell text must already be escaped (use :func:`esc` or the formatters above, which
    produce no markup).  The ``symbol`` column also gets ``papernb-sym``.
    """
    classes = [f"papernb-col-{k}" + (" papernb-sym" if k == "symbol" else "") for k, _ in columns]
    head = "".join(f'<th class="{c}">{esc(title)}</th>' for c, (_, title) in zip(classes, columns, strict=True))
    body = []
    for row in rows:
        tds = "".join(f'<td class="{c}{" " + extra if extra else ""}">{text}</td>'
                      for c, (text, extra) in zip(classes, row, strict=True))
        body.append(f'<tr class="{row_css}">{tds}</tr>')
    if not body:
        return f'<div class="papernb-empty {css}">{esc(empty)}</div>'
    return (f'<table class="papernb-table {css}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


CSS = """
<style>
.papernb-root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 13px; color: #1f2328; }
.papernb-root .papernb-title { font-weight: 600; font-size: 14px; margin: 4px 0; }
.papernb-up { color: #0a7d32; }
.papernb-down { color: #c62828; }
.papernb-flat { color: #57606a; }
.papernb-table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
.papernb-table th { text-align: right; font-weight: 600; color: #57606a; border-bottom: 1px solid #d0d7de; padding: 3px 8px; white-space: nowrap; }
.papernb-table td { text-align: right; padding: 3px 8px; border-bottom: 1px solid #eaeef2; white-space: nowrap; }
.papernb-table th.papernb-sym, .papernb-table td.papernb-sym, .papernb-table td.papernb-col-reason,
.papernb-table th.papernb-col-reason, .papernb-table td.papernb-col-verdict { text-align: left; }
.papernb-empty { color: #57606a; padding: 6px 2px; font-style: italic; }
.papernb-banner-box { display: flex; flex-wrap: wrap; gap: 6px 20px; align-items: flex-end; padding: 8px 10px;
  background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; }
.papernb-metric { display: flex; flex-direction: column; min-width: 110px; }
.papernb-metric-label { color: #57606a; font-size: 11px; text-transform: uppercase; letter-spacing: .03em; }
.papernb-metric-value { font-size: 16px; font-weight: 600; font-variant-numeric: tabular-nums; }
.papernb-account { font-size: 16px; font-weight: 700; margin-right: 8px; }
.papernb-badge { align-self: flex-start; margin-top: 2px; background: #fff3cd; color: #7a5b00; border: 1px solid #e0c36c; border-radius: 4px; padding: 1px 6px;
  font-size: 11px; font-weight: 700; letter-spacing: .05em; }
.papernb-feed-live { color: #0a7d32; } .papernb-feed-stale { color: #b26a00; } .papernb-feed-disconnected { color: #c62828; }
.papernb-market-state { font-size: 12px; } .papernb-market-open, .papernb-market-early-close { color: #0a7d32; }
.papernb-market-pre-market, .papernb-market-after-hours { color: #b26a00; }
.papernb-market-closed, .papernb-market-holiday { color: #57606a; }
.papernb-order-cells { display: grid; grid-template-columns: 40px 80px 44px 56px 56px 76px 80px 80px 44px 120px 130px 60px;
  gap: 0 6px; font-variant-numeric: tabular-nums; align-items: center; }
.papernb-order-cells span { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.papernb-order-head { color: #57606a; font-weight: 600; border-bottom: 1px solid #d0d7de; }
.papernb-order-note { color: #57606a; font-size: 11px; }
.papernb-row-error, .papernb-error { color: #c62828; }
.papernb-ok { color: #0a7d32; }
.papernb-ticket-quote, .papernb-ticket-estimate { font-variant-numeric: tabular-nums; padding: 2px 0; }
.papernb-stats-grid { display: flex; flex-wrap: wrap; gap: 4px 18px; margin-bottom: 6px; }
.papernb-muted { color: #57606a; }
.papernb-subtitle { font-weight: 600; margin: 8px 0 2px 0; color: #57606a; }
.papernb-datatable tr[data-key] { cursor: pointer; }
.papernb-datatable tr[data-key]:hover { background: #f6f8fa; }
.papernb-datatable tr.papernb-row-selected { background: #ddf4ff; }
.papernb-table td.papernb-col-actions { text-align: left; }
.papernb-action { font: inherit; font-size: 12px; margin: 0 2px; padding: 1px 7px; border: 1px solid #d0d7de;
  border-radius: 4px; background: #f6f8fa; color: #1f2328; cursor: pointer; }
.papernb-action:hover { background: #eaeef2; }
.papernb-action-buy { color: #0a7d32; } .papernb-action-sell, .papernb-action-close { color: #c62828; }
.papernb-spark-up { stroke: #0a7d32; } .papernb-spark-down { stroke: #c62828; }
.papernb-table td.papernb-col-trend { padding-top: 0; padding-bottom: 0; }
.papernb-table td.papernb-col-note, .papernb-table td.papernb-col-tags, .papernb-table td.papernb-col-tag { text-align: left; }
.papernb-table td.papernb-col-note { white-space: normal; min-width: 120px; }
.papernb-confirm { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 4px 8px; margin: 4px 0; }
.papernb-toasts { position: fixed; top: 12px; right: 12px; z-index: 10000; display: flex; flex-direction: column;
  gap: 6px; max-width: min(360px, calc(100vw - 24px)); pointer-events: none; }
.papernb-toast { pointer-events: auto; background: #fff; border: 1px solid #d0d7de; border-left: 4px solid #0969da;
  border-radius: 6px; padding: 8px 10px; box-shadow: 0 4px 12px rgba(0,0,0,.15); font-size: 13px; }
.papernb-toast-ok { border-left-color: #0a7d32; } .papernb-toast-error { border-left-color: #c62828; }
.papernb-toast-warn { border-left-color: #b26a00; }
.papernb-notes { list-style: none; margin: 0; padding: 0; max-height: 360px; overflow-y: auto; }
.papernb-note { padding: 3px 2px; border-bottom: 1px solid #eaeef2; }
.papernb-note-time { color: #57606a; font-variant-numeric: tabular-nums; margin-right: 6px; }
.papernb-note-error .papernb-note-text { color: #c62828; } .papernb-note-ok .papernb-note-text { color: #0a7d32; }
.papernb-downloads { display: flex; flex-wrap: wrap; gap: 6px; margin: 6px 0; }
.papernb-download { font: inherit; padding: 4px 10px; border: 1px solid #d0d7de; border-radius: 4px; background: #f6f8fa;
  cursor: pointer; }
.papernb-download-message { min-height: 1.2em; }
.papernb-dashboard, .papernb-dashboard .widget-box { max-width: 100%; box-sizing: border-box; }
/* a phone (390 px): panels stack, the less needed columns go, the buttons stay */
@media (max-width: 640px) {
  .papernb-board-table .papernb-col-bid, .papernb-board-table .papernb-col-ask,
  .papernb-board-table .papernb-col-change, .papernb-board-table .papernb-col-trend,
  .papernb-positions-table .papernb-col-avg, .papernb-positions-table .papernb-col-value,
  .papernb-positions-table .papernb-col-day, .papernb-positions-table .papernb-col-upl-pct { display: none; }
  .papernb-table th, .papernb-table td { padding: 3px 4px; }
  .papernb-metric { min-width: 90px; }
  .papernb-middle > .widget-box { flex: 1 1 100% !important; margin: 0 !important; }
  .papernb-order-cells { grid-template-columns: 28px 58px 36px 40px 72px 1fr; }
  .papernb-order-cells .papernb-col-filled, .papernb-order-cells .papernb-col-type,
  .papernb-order-cells .papernb-col-stop, .papernb-order-cells .papernb-col-tif,
  .papernb-order-cells .papernb-col-review, .papernb-order-head .papernb-col-holds { display: none; }
  .papernb-order-cells .papernb-col-holds { grid-column: 1 / -1; color: #57606a; }
  .papernb-order-row .widget-hbox { flex-wrap: wrap; }
  .papernb-history-table .papernb-col-id, .papernb-history-table .papernb-col-filled,
  .papernb-history-table .papernb-col-type, .papernb-history-table .papernb-col-limit,
  .papernb-history-table .papernb-col-stop, .papernb-history-table .papernb-col-tif,
  .papernb-history-table .papernb-col-reason, .papernb-history-table .papernb-col-avg,
  .papernb-trips .papernb-col-entry, .papernb-trips .papernb-col-exit,
  .papernb-trips .papernb-col-return, .papernb-trips .papernb-col-held, .papernb-trips .papernb-col-mfe,
  .papernb-trips .papernb-col-mae, .papernb-trips .papernb-col-direction, .papernb-trips .papernb-col-qty,
  .papernb-tags-table th:nth-child(4), .papernb-tags-table td:nth-child(4), .papernb-tags-table th:nth-child(5),
  .papernb-tags-table td:nth-child(5), .papernb-tags-table th:nth-child(6), .papernb-tags-table td:nth-child(6),
  .papernb-alerts-table .papernb-col-set { display: none; }
  .papernb-trips .papernb-col-note { min-width: 0; }
}
</style>
"""
