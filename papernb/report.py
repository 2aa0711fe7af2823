"""Risk numbers and the one-page report of a backtest (``res.stats()``, ``res.report()``).

The numbers a strategy is judged by, from the account's equity curve, its fills and (in a
backtest) the marks of the symbols it traded:

- ``sharpe`` / ``sortino``: mean period return over its standard deviation (Sortino: over the
  downside deviation), less the risk-free rate, annualised by ``sqrt(periods_per_year)``.  The
  period is stated (``periodicity``): ``1D`` (New York session days) for runs of 30 days or more,
  else the coarsest of 1h, 15min, 5min, 1min, 10s, 1s that gives at least 30 returns; a year is 252
  sessions of 6.5 hours.  Returns are those of the equity at the end of each period that has data
  (a night or a weekend without quotes is not a run of zero returns).  ``risk_free`` is an annual
  rate (0 by default), stated as ``risk_free_rate``.
- ``calmar``: annualised return over the maximum drawdown (None for runs shorter than 30 days,
  where annualising a return says nothing); ``max_drawdown_duration_s``: the longest time from a peak to
  the recovery of that peak (or to the end).
- ``exposure``: the share of the time with a position open; ``gross_exposure`` / ``net_exposure``:
  the average of sum |value| and sum value of the positions over equity, at period ends;
  ``avg_position_value`` / ``max_position_value``: the gross value of the positions while in the
  market; ``max_position_qty``; ``turnover``: traded value over average equity.
- ``benchmark_return_pct``: buying the traded symbols and holding them over the same time, equal
  weights; ``alpha`` (annualised) and ``beta`` against it from the period returns.

Exposure values and the benchmark need the marks of the symbols over time, which a backtest has
(its data) and a live account does not keep (quotes are not state): there they are None.
The report (:class:`Report`) is one HTML page, shown in a notebook or saved as a standalone file
(inline SVG, no scripts): equity against the benchmark, drawdown, monthly returns, the trades on
the price of one symbol, the stats table and, when given, a fill-model comparison.  Its layout
follows the tearsheets of quantstats and pyfolio: charts on the left, the numbers on the right.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["Report", "risk_stats"]

_NS = 1_000_000_000
_SESSION_S = 23_400  # 6.5 hours
_PERIODS = (("1h", 3600), ("15min", 900), ("5min", 300), ("1min", 60), ("10s", 10), ("1s", 1))
_NY = "America/New_York"


def _series(points: Sequence[tuple[int, Any]]) -> Any:
    import pandas as pd

    ts = [p[0] for p in points]
    vals = [float(p[1]) for p in points]
    s = pd.Series(vals, index=pd.to_datetime(ts, unit="ns", utc=True), dtype="float64")
    return s[~s.index.duplicated(keep="last")]


def choose_periodicity(start: int, end: int, periodicity: str | None = None) -> tuple[str, float]:
    """(the period name, periods per year): ``1D`` for 30 days or more, else the coarsest intraday period
    that gives 30 returns (a stated choice: pass ``periodicity`` to pick one)."""
    if periodicity is not None:
        if periodicity in ("1D", "D", "daily"):
            return "1D", 252.0
        for name, secs in _PERIODS:
            if periodicity == name:
                return name, 252.0 * _SESSION_S / secs
        raise ValueError(f"periodicity must be one of 1D, {', '.join(n for n, _ in _PERIODS)}; was {periodicity!r}")
    span = (end - start) / _NS
    if span >= 30 * 86_400:
        return "1D", 252.0
    for name, secs in _PERIODS:
        if span / secs >= 30:
            return name, 252.0 * _SESSION_S / secs
    return "1s", 252.0 * _SESSION_S


def _bucket(s: Any, period: str) -> Any:
    """The last value of each period that has data (periods of New York session days for ``1D``)."""
    if s.empty:
        return s
    if period == "1D":
        local = s.tz_convert(_NY)
        return local.groupby(local.index.date).last()
    return s.resample(period, label="right", closed="right").last().dropna()


def _drawdown_duration_s(eq: Any) -> float:
    """The longest time from a peak to its recovery (or to the last point, if still under it), seconds."""
    import numpy as np

    if len(eq) < 2:
        return 0.0
    ts = eq.index.asi8
    v = eq.to_numpy(dtype="float64")
    at_peak = v >= np.maximum.accumulate(v)
    peak_ts = np.maximum.accumulate(np.where(at_peak, ts, ts[0]))  # the time of the last peak so far
    before = np.r_[ts[0], peak_ts[:-1]]  # ... before each point
    under = ~at_peak
    recovered = at_peak & np.r_[False, under[:-1]]
    spans = np.r_[(ts - peak_ts)[under], (ts - before)[recovered]]
    return float(spans.max() / _NS) if len(spans) else 0.0


def _positions_over_time(fills: Sequence[Any]) -> dict[str, list[tuple[int, int]]]:
    """symbol -> [(ts, qty held from then on)], from the fills in order."""
    out: dict[str, list[tuple[int, int]]] = {}
    held: dict[str, int] = {}
    for f in sorted(fills, key=lambda f: (f.ts, f.id)):
        q = held.get(f.symbol, 0) + (f.qty if str(f.side) == "BUY" else -f.qty)
        held[f.symbol] = q
        out.setdefault(f.symbol, []).append((f.ts, q))
    return out


def _time_in_market(fills: Sequence[Any], start: int, end: int) -> float | None:
    if end <= start:
        return None
    changes: list[tuple[int, str, int]] = []
    for sym, steps in _positions_over_time(fills).items():
        changes += [(ts, sym, q) for ts, q in steps]
    changes.sort(key=lambda c: c[0])
    held: dict[str, int] = {}
    inside = 0
    since = None
    for ts, sym, q in changes:
        was_in = any(held.values())
        held[sym] = q
        now_in = any(held.values())
        if now_in and not was_in:
            since = ts
        elif was_in and not now_in and since is not None:
            inside += ts - max(since, start)
            since = None
    if since is not None:
        inside += end - max(since, start)
    return min(inside / (end - start), 1.0)


def risk_stats(equity: Sequence[tuple[int, Any]], fills: Sequence[Any], *, marks: Any = None,
               periodicity: str | None = None, risk_free: float = 0.0, end: int | None = None) -> dict[str, Any]:
    """The risk numbers of the module doc from ``equity`` (ts ns, dollars) points and ``fills``;
    ``marks`` is a DataFrame of the traded symbols' marks in dollars (a UTC time index), when known."""
    import numpy as np

    out: dict[str, Any] = dict.fromkeys((
        "sharpe", "sortino", "calmar", "max_drawdown_duration_s", "exposure", "gross_exposure", "net_exposure",
        "turnover", "avg_position_value", "max_position_value", "max_position_qty", "benchmark_return_pct",
        "alpha", "beta"))
    eq = _series(equity)
    if len(eq) < 2:
        out.update(periodicity=None, periods_per_year=None, risk_free_rate=risk_free)
        return out
    start, stop = int(eq.index[0].value), int(eq.index[-1].value)
    stop = max(stop, end or 0)
    name, per_year = choose_periodicity(start, stop, periodicity)
    out.update(periodicity=name, periods_per_year=round(per_year, 2), risk_free_rate=risk_free)
    rf = (1.0 + risk_free) ** (1.0 / per_year) - 1.0
    buckets = _bucket(eq.iloc[1:], name)  # the equity at the end of each period, after the starting point
    levels = np.concatenate(([eq.iloc[0]], buckets.to_numpy()))
    r = levels[1:] / levels[:-1] - 1.0 if len(levels) > 1 else np.array([])
    if len(r) >= 2:
        ex = r - rf
        sd = ex.std(ddof=1)
        out["sharpe"] = float(ex.mean() / sd * math.sqrt(per_year)) if sd > 0 else None
        down = np.sqrt(np.mean(np.minimum(ex, 0.0) ** 2))
        out["sortino"] = float(ex.mean() / down * math.sqrt(per_year)) if down > 0 else None
    peak = eq.cummax()
    dd = float(((peak - eq) / peak).max()) if len(eq) else 0.0
    total = eq.iloc[-1] / eq.iloc[0] - 1.0
    years = (stop - start) / _NS / (365.25 * 86_400)
    if dd > 0 and (stop - start) >= 30 * 86_400 * _NS:
        try:
            out["calmar"] = float(((1.0 + total) ** (1.0 / years) - 1.0) / dd)
        except OverflowError:
            out["calmar"] = None
    out["max_drawdown_duration_s"] = _drawdown_duration_s(eq)
    out["exposure"] = _time_in_market(fills, start, stop)
    traded = sum(abs(float(f.qty * f.price)) for f in fills)
    mean_eq = float(eq.mean())
    out["turnover"] = traded / mean_eq if mean_eq else None
    held = _positions_over_time(fills)
    out["max_position_qty"] = max((abs(q) for steps in held.values() for _, q in steps), default=0)
    if marks is not None and len(marks.columns) and held:
        _exposure_and_benchmark(out, eq, buckets, r, held, marks, name, per_year, rf)
    return out


def _exposure_and_benchmark(out: dict[str, Any], eq: Any, buckets: Any, r: Any, held: dict[str, list],
                            marks: Any, name: str, per_year: float, rf: float) -> None:
    import numpy as np
    import pandas as pd

    px = marks.sort_index().ffill()
    grid = px.index
    gross = np.zeros(len(grid))
    net = np.zeros(len(grid))
    for sym, steps in held.items():
        if sym not in px.columns:
            continue
        times = np.array([t for t, _ in steps], dtype="int64")
        qtys = np.array([q for _, q in steps], dtype="float64")
        at = np.searchsorted(times, grid.asi8, side="right") - 1
        q = np.where(at >= 0, qtys[np.maximum(at, 0)], 0.0)
        v = q * px[sym].to_numpy(dtype="float64")
        v = np.nan_to_num(v)
        gross += np.abs(v)
        net += v
    equity_at = eq.reindex(grid, method="ffill").to_numpy(dtype="float64")
    ok = equity_at > 0
    if ok.any():
        out["gross_exposure"] = float(np.mean(gross[ok] / equity_at[ok]))
        out["net_exposure"] = float(np.mean(net[ok] / equity_at[ok]))
    inside = gross > 0
    if inside.any():
        out["avg_position_value"] = float(gross[inside].mean())
        out["max_position_value"] = float(gross.max())
    first = px.bfill().iloc[0]
    bench = (px / first).mean(axis=1)  # equal dollars in each traded symbol, bought at the start and held
    out["benchmark_return_pct"] = float((bench.iloc[-1] - 1.0) * 100)
    b_bucket = _bucket(pd.Series(bench.to_numpy(), index=grid), name).reindex(buckets.index, method="ffill")
    b_bucket = b_bucket.fillna(1.0)  # before the first mark: the start
    b_levels = np.concatenate(([1.0], b_bucket.to_numpy(dtype="float64")))
    rb = b_levels[1:] / b_levels[:-1] - 1.0
    n = min(len(r), len(rb))
    if n >= 2:
        rr, bb = r[:n] - rf, rb[:n] - rf
        var = bb.var(ddof=1)
        if var > 0 and np.isfinite(var):
            beta = float(np.cov(rr, bb, ddof=1)[0, 1] / var)
            out["beta"] = beta
            out["alpha"] = float((rr.mean() - beta * bb.mean()) * per_year)


def marks_frame(tape: Any, symbols: Iterable[str], max_points: int = 20_000) -> Any:
    """The marks (last, else the bid/ask mid) of ``symbols`` in a quote tape, in dollars, at most about
    ``max_points`` times per symbol (the last mark of each slice of time), as a DataFrame."""
    import numpy as np
    import pandas as pd

    syms = sorted(set(symbols))
    if not syms or len(tape) == 0:
        return pd.DataFrame()
    cols = tape._cols
    if tape._list is not None:
        qs = tape._list
        sym_col = np.array([q._sym for q in qs], dtype=object)
        ts_col = np.array([q._ts for q in qs], dtype="int64")
        mark_col = np.array([q._mark for q in qs], dtype="float64")
    else:
        sym_col, ts_col, mark_col = cols[0], np.asarray(cols[5], dtype="int64"), np.asarray(cols[4], dtype="float64")
    span = int(ts_col[-1] - ts_col[0]) if len(ts_col) else 0
    step = max(_NS, span // max(max_points, 1))
    codes, names = pd.factorize(sym_col)  # one pass over the symbols, then an int compare per traded one
    where = {n: k for k, n in enumerate(names)}
    frames = {}
    for sym in syms:
        k = where.get(sym)
        if k is None:
            continue
        m = codes == k
        t, v = ts_col[m], mark_col[m] / 10_000
        b = t // step
        last = np.r_[np.nonzero(np.diff(b))[0], len(b) - 1]
        frames[sym] = pd.Series(v[last], index=pd.to_datetime((b[last] + 1) * step, unit="ns", utc=True))
    return pd.DataFrame(frames).sort_index()


# ------------------------------------------------------------------------------------------ the page
def _fmt(v: Any, key: str = "") -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if key.endswith("_pct") or key in ("exposure", "gross_exposure", "net_exposure"):
            return f"{v * 100:.1f}%" if not key.endswith("_pct") else f"{v:.2f}%"
        if key.endswith("_s"):
            return _duration(v)
        return f"{v:,.2f}" if abs(v) >= 100 else f"{v:.3f}"
    if isinstance(v, Decimal):
        if key.endswith("_pct"):
            return f"{v:.2f}%"
        return f"{v:,.2f}" if v == v.quantize(Decimal("0.01")) or abs(v) >= 1 else str(v)
    if isinstance(v, int):
        return f"{v:,}"
    return html.escape(str(v))


def _duration(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172_800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86_400:.1f} days"


def _time_label(ns: float) -> str:
    dt = datetime.fromtimestamp(ns / _NS, tz=UTC)
    try:
        from zoneinfo import ZoneInfo

        dt = dt.astimezone(ZoneInfo(_NY))
    except Exception:  # pragma: no cover - no tz data
        pass
    return dt.strftime("%Y-%m-%d %H:%M")


def svg_chart(lines: Sequence[tuple[Sequence[float], Sequence[float], str, str]], *, width: int = 640,
              height: int = 200, fill: bool = False, markers: Sequence[tuple[float, float, str, str]] = (),
              y_label: str = "") -> str:
    """A small line chart as inline SVG: ``lines`` of (x ns, y, colour, label); ``markers`` of
    (x, y, colour, "up"|"down") triangles."""
    xs_all = [x for xs, _, _, _ in lines for x in xs] + [m[0] for m in markers]
    ys_all = [y for _, ys, _, _ in lines for y in ys] + [m[1] for m in markers]
    ys_all = [y for y in ys_all if y is not None and math.isfinite(y)]
    if not xs_all or not ys_all:
        return '<div class="pn-empty">no data</div>'
    x0, x1 = min(xs_all), max(xs_all)
    y0, y1 = min(ys_all), max(ys_all)
    if fill:
        y1 = max(y1, 0.0)
        y0 = min(y0, 0.0)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1, y0 = y1 + 1, y0 - 1
    pad_l, pad_r, pad_t, pad_b = 64, 10, 10, 26
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def px(x: float) -> float:
        return pad_l + (x - x0) / (x1 - x0) * w

    def py(y: float) -> float:
        return pad_t + (y1 - y) / (y1 - y0) * h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" class="pn-chart" role="img">']
    for frac in (0.0, 0.5, 1.0):
        yv = y0 + (y1 - y0) * frac
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{py(yv):.1f}" y2="{py(yv):.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{pad_l - 4}" y="{py(yv) + 4:.1f}" text-anchor="end" font-size="10" '
                     f'fill="#666">{_axis(yv)}</text>')
    for frac, anchor in ((0.0, "start"), (0.5, "middle"), (1.0, "end")):
        xv = x0 + (x1 - x0) * frac
        parts.append(f'<text x="{px(xv):.1f}" y="{height - 8}" text-anchor="{anchor}" font-size="10" '
                     f'fill="#666">{_time_label(xv)}</text>')
    legend_x = pad_l + 6
    for xs, ys, colour, label in lines:
        pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys, strict=False)
                       if y is not None and math.isfinite(y))
        if not pts:
            continue
        if fill:
            first, last = pts.split(" ")[0].split(",")[0], pts.split(" ")[-1].split(",")[0]
            parts.append(f'<polygon points="{first},{py(0):.1f} {pts} {last},{py(0):.1f}" fill="{colour}" '
                         f'fill-opacity="0.35" stroke="{colour}" stroke-width="1"/>')
        else:
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.4"/>')
        if label:
            parts.append(f'<text x="{legend_x}" y="{pad_t + 12}" font-size="11" fill="{colour}">'
                         f'{html.escape(label)}</text>')
            legend_x += 9 * len(label) + 16
    for x, y, colour, way in markers:
        cx, cy = px(x), py(y)
        tri = (f"{cx - 4:.1f},{cy + 4:.1f} {cx + 4:.1f},{cy + 4:.1f} {cx:.1f},{cy - 4:.1f}" if way == "up" else
               f"{cx - 4:.1f},{cy - 4:.1f} {cx + 4:.1f},{cy - 4:.1f} {cx:.1f},{cy + 4:.1f}")
        parts.append(f'<polygon points="{tri}" fill="{colour}"/>')
    if y_label:
        parts.append(f'<text x="12" y="{pad_t + h / 2:.1f}" font-size="10" fill="#666" '
                     f'transform="rotate(-90 12 {pad_t + h / 2:.1f})" text-anchor="middle">{html.escape(y_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _axis(v: float) -> str:
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def _thin(xs: Sequence[Any], ys: Sequence[Any], n: int = 1500) -> tuple[list, list]:
    if len(xs) <= n:
        return list(xs), list(ys)
    step = (len(xs) - 1) / (n - 1)
    idx = [round(i * step) for i in range(n)]
    return [xs[i] for i in idx], [ys[i] for i in idx]


_CSS = """
.pn-report{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:13px;color:#222;max-width:1080px}
.pn-report h1{font-size:20px;margin:6px 0 2px}.pn-report h2{font-size:14px;margin:14px 0 4px;color:#333}
.pn-report .pn-sub{color:#666;margin-bottom:8px}.pn-cols{display:flex;gap:18px;align-items:flex-start}
.pn-main{flex:1 1 660px;min-width:0}.pn-side{flex:0 0 330px}
.pn-report table{border-collapse:collapse;font-size:12px;width:100%}
.pn-report td,.pn-report th{padding:3px 6px;border-bottom:1px solid #eee;text-align:right}
.pn-report td:first-child,.pn-report th:first-child{text-align:left}
.pn-report .pn-pos{background:#e6f4ea}.pn-report .pn-neg{background:#fce8e6}.pn-empty{color:#999;padding:8px}
"""


class Report:
    """One page about a backtest: ``display(report)`` in a notebook, ``report.save("run.html")`` for a file."""

    def __init__(self, title: str, subtitle: str, stats: dict[str, Any], equity: Any, benchmark: Any,
                 monthly: Any, trades_chart: str, trades_symbol: str | None, comparison: Any = None) -> None:
        self.title, self.subtitle, self.stats = title, subtitle, stats
        self.equity, self.benchmark, self.monthly = equity, benchmark, monthly
        self.trades_chart, self.trades_symbol, self.comparison = trades_chart, trades_symbol, comparison

    # -- pieces -----------------------------------------------------------------------------------
    def _equity_svg(self) -> str:
        xs, ys = _thin([float(t.value) for t in self.equity.index], list(self.equity.to_numpy()))
        lines = [(xs, ys, "#1f77b4", "equity")]
        if self.benchmark is not None and len(self.benchmark):
            bx, by = _thin([float(t.value) for t in self.benchmark.index], list(self.benchmark.to_numpy()))
            lines.append((bx, by, "#999999", "buy and hold"))
        return svg_chart(lines, y_label="$")

    def _drawdown_svg(self) -> str:
        eq = self.equity
        dd = (eq / eq.cummax() - 1.0) * 100
        xs, ys = _thin([float(t.value) for t in dd.index], list(dd.to_numpy()))
        return svg_chart([(xs, ys, "#d62728", "drawdown %")], height=140, fill=True, y_label="%")

    def _monthly_html(self) -> str:
        m = self.monthly
        if m is None or m.empty:
            return '<div class="pn-empty">no data</div>'
        months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        rows = ["<table><tr><th>year</th>" + "".join(f"<th>{x}</th>" for x in months) + "<th>year</th></tr>"]
        for year, row in m.iterrows():
            cells = []
            for k in range(1, 13):
                v = row.get(k)
                if v is None or (isinstance(v, float) and math.isnan(v)):
                    cells.append("<td></td>")
                else:
                    cls = "pn-pos" if v > 0 else "pn-neg" if v < 0 else ""
                    cells.append(f'<td class="{cls}">{v:.2f}%</td>')
            tot = row.get("year")
            cells.append(f"<td><b>{tot:.2f}%</b></td>" if tot is not None and not math.isnan(tot) else "<td></td>")
            rows.append(f"<tr><td>{year}</td>{''.join(cells)}</tr>")
        rows.append("</table>")
        return "".join(rows)

    def _stats_html(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(k.replace('_', ' '))}</td><td>{_fmt(v, k)}</td></tr>"
                       for k, v in self.stats.items() if not isinstance(v, list | dict))
        return f"<table>{rows}</table>"

    def _comparison_html(self) -> str:
        if self.comparison is None:
            return ""
        df = self.comparison
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
        body = "".join("<tr><td>" + html.escape(str(idx)) + "</td>" +
                       "".join(f"<td>{_fmt(v, str(idx))}</td>" for v in row) + "</tr>"
                       for idx, row in zip(df.index, df.itertuples(index=False), strict=True))
        return f"<h2>Fill models</h2><table><tr><th></th>{head}</tr>{body}</table>"

    @property
    def html(self) -> str:
        """The page's HTML fragment (no scripts)."""
        trades = (f"<h2>Trades on {html.escape(self.trades_symbol)}</h2>{self.trades_chart}"
                  if self.trades_symbol else "")
        return (f'<div class="pn-report"><style>{_CSS}</style><h1>{html.escape(self.title)}</h1>'
                f'<div class="pn-sub">{html.escape(self.subtitle)}</div><div class="pn-cols"><div class="pn-main">'
                f"<h2>Equity and buy-and-hold of the traded symbols</h2>{self._equity_svg()}"
                f"<h2>Drawdown</h2>{self._drawdown_svg()}{trades}"
                f"<h2>Monthly returns</h2>{self._monthly_html()}{self._comparison_html()}</div>"
                f'<div class="pn-side"><h2>Numbers</h2>{self._stats_html()}</div></div></div>')

    def _repr_html_(self) -> str:
        return self.html

    def save(self, path: str | Path) -> Path:
        """Write a standalone HTML file (inline SVG charts, no scripts, no network)."""
        out = Path(path).expanduser()
        out.write_text(f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(self.title)}</title>'
                       f"</head><body>{self.html}</body></html>\n", encoding="utf-8")
        return out


def monthly_returns(eq: Any) -> Any:
    """Percent return per calendar month (New York), rows = years, columns 1-12 and ``year``."""
    import pandas as pd

    if eq.empty:
        return pd.DataFrame()
    local = eq.tz_convert(_NY)
    ends = local.groupby([local.index.year, local.index.month]).last()
    starts = local.groupby([local.index.year, local.index.month]).first()
    prev = ends.shift(1)
    base = prev.fillna(starts.iloc[0])
    pct = (ends / base - 1.0) * 100
    table = pct.unstack()
    years = local.groupby(local.index.year)
    y_end = years.last()
    y_base = y_end.shift(1).fillna(local.iloc[0])
    table["year"] = (y_end / y_base - 1.0) * 100
    return table
