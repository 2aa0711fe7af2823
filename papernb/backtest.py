"""Backtests: replay recorded or historical quotes through the very same engine.

``pn.backtest(data, strategy)`` builds a ``:memory:`` engine with the given settings,
validates the quotes in bulk (columns converted at once, not row by row), and feeds them
one by one to the engine and then to the strategy, through the same loop a live session
uses (``Engine.on_quotes``).  Quote objects are built a few thousand at a time as the run
goes, so a million-quote tape stays small and in the CPU cache.  The engine takes its time
from the quotes, so the same data, strategy and settings give the same journal every run
(``result.journal_hash``).  Sessions come from the exchange calendar (NYSE by default, or
``calendar=``): DAY orders expire at each real close, and ``trading_hours="regular"`` (or
``"extended"``) makes orders wait for the open exactly as the quote times say.  Which
calendar data answered is ``result.calendar`` (also in ``result.stats()``): holiday data
changes between releases of the library.

A strategy is a function ``on_quote(ctx, quote)`` or an object (or class) with
``on_quote`` and optional ``on_start(ctx)``, ``on_fill(ctx, fill)``, ``on_order(ctx, order)``,
``on_end(ctx)``, and timers set in ``on_start`` with ``ctx.schedule(every=..., fn=...)`` /
``ctx.schedule(at="15:55", fn=...)`` (papernb/strategy.py: the same runner runs it live).
``ctx`` is the backtest's :class:`~papernb.Account` (buy, sell, submit, replace, cancel,
positions, orders, snapshot, ``ctx.now``, ``ctx.quote(symbol)``): it only knows quotes
that have already arrived.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import EngineConfig
from .engine import Account, Engine, Order
from .errors import BacktestFinished, ConfigError, InvalidInput
from .feed.replay import QuoteTape
from .quote import Quote
from .strategy import Strategy, StrategyRunner

__all__ = ["BacktestResult", "backtest", "compare_fills", "load", "load_tape"]


def load(data: Any, *, table: str | None = None, query: str | None = None,
         tz: str | None = None) -> tuple[list[Quote], int]:
    """Quotes in time order from a DataFrame, CSV/Parquet/DuckDB path, Arrow table or list.

    Returns ``(quotes, rows dropped)``; a missing or unusable column is a clear error
    naming it.  ``tz`` is the time zone of times written without one ("America/New_York").
    """
    tape = load_tape(data, table=table, query=query, tz=tz)
    return tape.quotes(), tape.dropped


def load_tape(data: Any, *, table: str | None = None, query: str | None = None,
              tz: str | None = None) -> QuoteTape:
    """What :func:`load` reads, as a :class:`~papernb.feed.replay.QuoteTape`: validated columns
    whose quotes are built a chunk at a time while a backtest runs (faster, and small).

    Bad rows are dropped and counted (``tape.dropped``), the first few kept with their row,
    column and value (``tape.problems``); data that cannot be used at all raises a
    ``PaperError`` saying why."""
    from .feed.replay import check_tz, read_tape, table_from_pandas

    check_tz(tz)
    if isinstance(data, QuoteTape):
        return data
    if isinstance(data, list | tuple):
        quotes = list(data)
        bad = next((q for q in quotes if not isinstance(q, Quote)), None)
        if bad is not None:
            raise InvalidInput(f"a list of quotes must hold pn.Quote objects, found {type(bad).__name__}")
        if any(q.ts is None for q in quotes):
            raise InvalidInput("every quote of a backtest needs a ts")
        quotes.sort(key=lambda q: q.ts)
        return QuoteTape.from_quotes(quotes)
    if isinstance(data, str | Path):
        return read_tape(data, table=table, query=query, tz=tz)
    import pandas as pd
    import pyarrow as pa

    if isinstance(data, pd.DataFrame):
        return read_tape(table_from_pandas(data), tz=tz, what="the DataFrame")
    if isinstance(data, pa.Table):
        return read_tape(data, tz=tz)
    raise InvalidInput(f"backtest data must be a DataFrame, a CSV/Parquet/DuckDB path, an Arrow table or a list "
                       f"of quotes, not {type(data).__name__}")


def _progress(total: int, wanted: bool | None) -> Any:
    if wanted is False or (wanted is None and not _in_notebook()):
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="quotes", unit_scale=True, desc="backtest")


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython  # type: ignore[attr-defined]
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


@dataclass
class BacktestContext(Account):
    """The account a backtest strategy trades: every command and read of an Account, but no way to
    the engine (quotes come from the data only), and read-only once the run is over (so a result's
    numbers, and ``journal_hash``, cannot change after the fact)."""

    def __init__(self, engine: Engine, name: str) -> None:
        super().__init__(engine, name)
        self._running = True

    @property
    def engine(self) -> Engine:  # type: ignore[override]
        raise InvalidInput("a backtest strategy cannot reach the engine: its quotes come from the data "
                           "(use ctx.quote(symbol), ctx.now)")

    def finish(self) -> None:
        self._running = False

    def _running_check(self) -> None:
        if not self._running:
            raise BacktestFinished("this backtest has finished: its account is read-only (run pn.backtest "
                                   "again to trade)")

    def buy(self, *args: Any, **kwargs: Any) -> Order:  # type: ignore[override]
        self._running_check()
        return super().buy(*args, **kwargs)

    def sell(self, *args: Any, **kwargs: Any) -> Order:  # type: ignore[override]
        self._running_check()
        return super().sell(*args, **kwargs)

    def submit(self, *args: Any, **kwargs: Any) -> Order:  # type: ignore[override]
        self._running_check()
        return super().submit(*args, **kwargs)

    def replace(self, *args: Any, **kwargs: Any) -> Order:  # type: ignore[override]
        self._running_check()
        return super().replace(*args, **kwargs)

    def cancel(self, order_id: Any) -> Order:
        self._running_check()
        return super().cancel(order_id)

    def oco(self, first: Any, second: Any) -> tuple[Order, Order]:
        self._running_check()
        return super().oco(first, second)

    def cancel_all(self, symbol: str | None = None) -> list[Order]:
        self._running_check()
        return super().cancel_all(symbol)

    def close(self, symbol: str) -> list[Order]:
        self._running_check()
        return super().close(symbol)

    def close_all(self) -> list[Order]:
        self._running_check()
        return super().close_all()

    def reset(self, cash: Any = None) -> None:
        self._running_check()
        super().reset(cash)

    def set_watchlist(self, symbols: Any) -> list[str]:
        self._running_check()
        return super().set_watchlist(symbols)

    def annotate(self, *args: Any, **kwargs: Any) -> Any:
        self._running_check()
        return super().annotate(*args, **kwargs)

    def alert(self, *args: Any, **kwargs: Any) -> Any:
        self._running_check()
        return super().alert(*args, **kwargs)

    def remove_alert(self, alert_id: Any) -> Any:
        self._running_check()
        return super().remove_alert(alert_id)


@dataclass
class BacktestResult:
    """What a backtest produced: the account, its DataFrames, stats, plot and save."""

    engine: Engine
    account: Account
    config: EngineConfig
    quotes: int
    dropped: int
    seconds: float
    load_seconds: float
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    tape: Any = field(default=None, repr=False)  # the data, for the marks of the traded symbols (report)

    @property
    def orders(self) -> Any:
        return self.account.orders_df()

    @property
    def fills(self) -> Any:
        return self.account.fills_df()

    @property
    def trades(self) -> Any:
        return self.account.trades_df()

    @property
    def equity(self) -> Any:
        return self.account.equity_df()

    @property
    def calendar(self) -> str:
        """The calendar the run used and where its data came from: "XNYS (exchange_calendars 4.13.2)"."""
        cal = self.engine.calendar
        describe = getattr(cal, "describe", None)
        return describe() if describe is not None else f"{cal.name} ({cal.source})"

    @property
    def journal_hash(self) -> str:
        """Identical for the same data, strategy and settings (the determinism check)."""
        return self.engine.state_hash()

    def marks(self) -> Any:
        """The marks of the symbols this run traded over its time, in dollars (a DataFrame, at most ~20,000
        rows a symbol): what the benchmark and the exposure numbers are computed from."""
        cached = self.extra.get("_marks")
        if cached is None:
            from .report import marks_frame

            traded = {f.symbol for f in self.account.fills()}
            cached = self.extra["_marks"] = marks_frame(self.tape, traded) if self.tape is not None else None
        return cached

    def stats(self, periodicity: str | None = None, risk_free: float = 0.0) -> dict[str, Any]:
        """The account stats, the risk numbers (papernb/report.py: Sharpe, Sortino, Calmar, exposure,
        turnover, benchmark, alpha, beta; ``periodicity`` and the annual ``risk_free`` rate are stated
        and can be set) and what the run itself counted."""
        st = self.account.stats(periodicity=periodicity, risk_free=risk_free, marks=self.marks())
        orders = self.account.orders()
        st.update({
            "quotes": self.quotes, "rows_dropped": self.dropped,
            "bad_rows": [str(p) for p in self.extra.get("bad_rows", ())],
            "orders": len(orders),
            "filled": sum(o.status.value == "FILLED" for o in orders),
            "cancelled": sum(o.status.value == "CANCELLED" for o in orders),
            "rejected": sum(o.status.value == "REJECTED" for o in orders),
            "expired": sum(o.status.value == "EXPIRED" for o in orders),
            "run_seconds": round(self.seconds, 3),
            "calendar": self.calendar,
            "trading_hours": self.config.trading_hours,
        })
        return st

    def plot(self) -> Any:
        """Equity and drawdown in one bqplot figure (a widget in notebooks)."""
        import bqplot as bq
        import numpy as np

        eq = self.equity
        y = eq["equity"].astype(float).to_numpy()
        x = eq["ts"].dt.tz_convert(None).to_numpy()  # bqplot wants naive UTC
        dd = y - np.maximum.accumulate(y) if len(y) else y
        xs = bq.DateScale()
        ys, ds = bq.LinearScale(), bq.LinearScale()
        lines = [bq.Lines(x=x, y=y, scales={"x": xs, "y": ys}, colors=["#1f77b4"], labels=["equity"]),
                 bq.Lines(x=x, y=dd, scales={"x": xs, "y": ds}, colors=["#d62728"], labels=["drawdown"],
                          fill="bottom", opacities=[0.6])]
        axes = [bq.Axis(scale=xs, label="time"), bq.Axis(scale=ys, side="left", label="equity $"),
                bq.Axis(scale=ds, side="right", label="drawdown $")]
        return bq.Figure(marks=lines, axes=axes, title=self.label or "backtest", legend_location="top-left")

    def report(self, symbol: str | None = None, *, comparison: Any = None, periodicity: str | None = None,
               risk_free: float = 0.0) -> Any:
        """One page: equity against buy-and-hold of the traded symbols, drawdown, the trades on the price of
        ``symbol`` (the most traded one by default), monthly returns, the numbers, and ``comparison`` (a
        ``pn.compare_fills`` table) when given.  Shows itself in a notebook; ``.save("run.html")``."""
        import pandas as pd

        from .report import Report, _series, monthly_returns, svg_chart

        st = self.stats(periodicity=periodicity, risk_free=risk_free)
        points = self.account.equity_history()
        if points and self.engine.now > points[-1][0]:  # flat at the end: the curve goes on to the last quote
            points.append((self.engine.now, self.account.snapshot().equity))
        eq = _series(points)
        marks = self.marks()
        bench = None
        if marks is not None and not marks.empty and not eq.empty:
            px = marks.sort_index().ffill().bfill()
            bench = (px / px.iloc[0]).mean(axis=1) * float(eq.iloc[0])
        fills = self.account.fills()
        if symbol is None and fills:
            counts: dict[str, int] = {}
            for f in fills:
                counts[f.symbol] = counts.get(f.symbol, 0) + 1
            symbol = max(sorted(counts), key=counts.__getitem__)
        chart = ""
        if symbol is not None:
            symbol = symbol.upper()
            series = marks[symbol] if marks is not None and symbol in getattr(marks, "columns", ()) else \
                pd.Series(dtype="float64")
            from .report import _thin

            xs, ys = _thin([float(t.value) for t in series.index], list(series.to_numpy()))
            marks_on = [(float(f.ts), float(f.price), "#2ca02c" if f.side.value == "BUY" else "#d62728",
                         "up" if f.side.value == "BUY" else "down") for f in fills if f.symbol == symbol]
            chart = svg_chart([(xs, ys, "#555555", symbol)], markers=marks_on[-2000:], y_label="$")
        cfg = self.config
        first = self.account.equity_history()[:1]
        span = ""
        if first:
            from .report import _time_label

            span = f"{_time_label(first[0][0])} to {_time_label(self.engine.now)} New York"
        sub = (f"{self.quotes:,} quotes, {span}; fill model {cfg.fill_model}, commission "
               f"{cfg.commission.per_share}/share + {cfg.commission.per_order}/order; Sharpe on {st['periodicity']} "
               f"returns, risk-free {st['risk_free_rate']:.2%}")
        shown = {k: v for k, v in st.items() if k not in ("bad_rows",)}
        return Report(self.label or "Backtest", sub, shown, eq, bench, monthly_returns(eq), chart, symbol,
                      comparison)

    def save(self, path: str | Path) -> Path:
        """Write the whole book (journal and checkpoints) to a DuckDB file the app can open."""
        out = Path(path).expanduser()
        self.engine.save(str(out))
        return out

    def __repr__(self) -> str:
        s = self.account.snapshot()
        return (f"<BacktestResult {self.label or ''} {self.quotes:,} quotes in {self.seconds:.2f} s: "
                f"equity {s.equity}, realized {s.realized_pl}, {len(self.account.trades())} round trips>")


def backtest(data: Any, strategy: Any, *, cash: Any = None, progress: bool | None = None,
             account: str = "backtest", table: str | None = None, query: str | None = None,
             label: str = "", tz: str | None = None, calendar: Any = None, **settings: Any) -> BacktestResult:
    """Run ``strategy`` over ``data`` on a fresh ``:memory:`` engine; see the module docstring.

    ``cash`` is ``starting_cash``; ``tz`` the time zone of times written without one;
    ``calendar`` a :class:`~papernb.engine.calendar.MarketCalendar` (NYSE by default); the
    other keywords are :class:`~papernb.EngineConfig` fields (``fill_model``, ``commission``,
    ``review_seconds``, ``trading_hours`` ...).
    """
    if cash is not None:
        if "starting_cash" in settings:
            raise ConfigError("give cash= or starting_cash=, not both")
        settings["starting_cash"] = cash
    config = EngineConfig.build(EngineConfig(), **settings)  # backtests ignore PAPERNB_* settings
    strat = Strategy(strategy)
    t0 = time.perf_counter()
    tape = load_tape(data, table=table, query=query, tz=tz)
    if config.fill_model == "size" and len(tape) and not tape.has_sizes:
        raise ConfigError("fill_model 'size' needs bid_size/ask_size in the data, and it has none")
    t1 = time.perf_counter()
    res = _run(tape, strat, config, progress, account, label, t1 - t0, calendar)
    res.extra.setdefault("bad_rows", list(tape.problems))
    return res


def _run(tape: QuoteTape, strat: Strategy, config: EngineConfig, progress: bool | None, account: str,
         label: str, load_seconds: float, calendar: Any = None) -> BacktestResult:
    book = Engine(":memory:", config=config, calendar=calendar)
    chunks = tape.chunks()
    b0 = time.perf_counter()
    first = next(chunks, None)
    build = time.perf_counter() - b0
    if first:
        book.advance(first[0].ts)  # the account (and its equity curve) starts at the first quote
    book.account(account)
    ctx = BacktestContext(book, account)
    runner = StrategyRunner(strat, ctx, engine=book)
    runner.start()
    bar = _progress(len(tape), progress)
    on_quotes = book.on_quotes
    then = runner.step_function()
    # what exists now (the engine, the strategy's state) stays alive for the whole run:
    # keep the collector from walking it again and again while the quotes come and go
    gc.freeze()
    t0 = time.perf_counter()
    try:
        chunk = first
        while chunk is not None:
            on_quotes(chunk, then)
            if bar is not None:
                bar.update(len(chunk))
            b0 = time.perf_counter()
            chunk = next(chunks, None)
            build += time.perf_counter() - b0
    finally:
        gc.unfreeze()
    seconds = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    runner.end()
    ctx.finish()
    # building the quotes from the columns is loading, though it happens chunk by chunk during the run
    return BacktestResult(book, ctx, config, len(tape), tape.dropped, seconds - build, load_seconds + build, label,
                          tape=tape)


def compare_fills(data: Any, strategy: Any, models: Iterable[Any] = ("touch", "through", "size", "slippage(5)"),
                  *, cash: Any = None, progress: bool | None = False, **settings: Any) -> Any:
    """Run the same strategy under several fill models; one column per model, side by side.

    A model is a fill-model name (``"touch"``, ``"through"``, ``"size"``, ``"slippage(5)"``)
    or a dict of settings (``{"fill_model": "touch", "commission": {"per_share": "0.005"}}``).
    Shows how much of a result depends on optimistic fills.  Pass the strategy as a
    function or a class (a fresh instance per run), not an instance that keeps state.
    """
    import pandas as pd

    tape = load_tape(data, tz=settings.pop("tz", None))
    cols: dict[str, dict[str, Any]] = {}
    for m in models:
        spec = {"fill_model": m} if isinstance(m, str) else dict(m)
        label = spec.pop("label", None) or _label(spec)
        res = backtest(tape, strategy, cash=cash,
                       progress=progress, label=label, **{**settings, **spec})
        st = res.stats()
        cols[label] = st
    rows = ["equity", "total_return_pct", "realized_pl", "unrealized_pl", "fees", "trades", "win_rate",
            "profit_factor", "expectancy", "max_drawdown", "orders", "filled", "cancelled", "rejected",
            "waited_on_stale_quote"]
    return pd.DataFrame({k: [v.get(r) for r in rows] for k, v in cols.items()}, index=rows)


def _label(spec: dict[str, Any]) -> str:
    parts = [str(spec.get("fill_model", "touch"))]
    for k, v in spec.items():
        if k != "fill_model":
            parts.append(f"{k}={v}")
    return ", ".join(parts)

