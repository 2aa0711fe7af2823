"""pn.backtest and pn.compare_fills: data sources, strategy shapes, results."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import papernb as pn
from papernb.backtest import load_tape
from papernb.feed.replay import QuoteTape

T0 = 1_704_205_800_000_000_000
SEC = 1_000_000_000


def tape(n: int = 40, start: float = 100.0, step: float = 0.25, sizes: bool = False) -> pd.DataFrame:
    """A zig-zag: down for n/2 quotes, then up, one a second."""
    rows = []
    px = start
    for i in range(n):
        px = px - step if i < n // 2 else px + step
        row = {"ts": T0 + i * SEC, "symbol": "AAPL", "bid": round(px - 0.01, 2), "ask": round(px + 0.01, 2),
               "last": round(px, 2)}
        if sizes:
            row.update(bid_size=3, ask_size=3)
        rows.append(row)
    return pd.DataFrame(rows)


def dip_buyer(ctx: pn.Account, q: pn.Quote) -> None:
    """Buy 10 once the price is 2% down from the first quote; sell them at +1% over cost."""
    if not ctx.orders() and q.last <= D("98.00"):
        ctx.buy(q.symbol, 10, limit=q.last)
    pos = ctx.position(q.symbol)
    if pos is not None and not ctx.orders(status="open"):
        ctx.sell(q.symbol, pos.qty, limit=(pos.avg_price * D("1.01")).quantize(D("0.01")))


def test_backtest_runs_a_function_strategy_on_a_dataframe() -> None:
    res = pn.backtest(tape(), dip_buyer, progress=False)
    assert [o.status.value for o in res.account.orders()] == ["FILLED", "FILLED"]
    (t,) = res.account.trades()
    assert (t.avg_entry, t.avg_exit, t.verdict) == (D("98.00"), D("98.98"), "worked")
    assert res.stats()["trades"] == 1 and res.stats()["quotes"] == 40
    assert list(res.trades["verdict"]) == ["worked"]
    assert len(res.fills) == 2 and len(res.orders) == 2 and res.equity["equity"].iloc[-1] == D("100009.80")


def test_same_data_strategy_and_settings_give_the_same_journal() -> None:
    a = pn.backtest(tape(), dip_buyer, progress=False)
    b = pn.backtest(tape(), dip_buyer, progress=False)
    c = pn.backtest(tape(), dip_buyer, progress=False, commission=1)
    assert a.journal_hash == b.journal_hash != c.journal_hash


def test_chunk_borders_of_the_tape_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quotes are built a chunk at a time while the run goes; where the chunks end must not show."""
    whole = pn.backtest(tape(), dip_buyer, progress=False)
    monkeypatch.setattr(QuoteTape, "CHUNK", 3)
    chunked = pn.backtest(tape(), dip_buyer, progress=False)
    quotes = pn.backtest(list(load_tape(tape())), dip_buyer, progress=False)  # a plain list of quotes
    assert whole.journal_hash == chunked.journal_hash == quotes.journal_hash
    assert whole.quotes == chunked.quotes == quotes.quotes == 40
    assert whole.account.snapshot().equity == chunked.account.snapshot().equity == D("100009.80")


def test_class_strategy_gets_start_fill_and_end_calls_in_order() -> None:
    calls: list[str] = []

    class S:
        def on_start(self, ctx: pn.Account) -> None:
            calls.append("start")

        def on_quote(self, ctx: pn.Account, q: pn.Quote) -> None:
            if not ctx.orders():
                ctx.buy("AAPL", 1)

        def on_fill(self, ctx: pn.Account, fill: pn.Fill) -> None:
            calls.append(f"fill {fill.qty}@{fill.price}")

        def on_end(self, ctx: pn.Account) -> None:
            calls.append("end")

    pn.backtest(tape(4), S, progress=False)
    assert calls == ["start", "fill 1@99.76", "end"]


def test_a_strategy_never_sees_a_future_quote() -> None:
    seen = []

    def peek(ctx: pn.Account, q: pn.Quote) -> None:
        latest = ctx.quote("AAPL")
        seen.append((latest == q, ctx.now == q.ts))

    pn.backtest(tape(10), peek, progress=False)
    assert seen == [(True, True)] * 10


def test_backtest_reads_csv_parquet_and_duckdb(tmp_path: Path) -> None:
    df = tape()
    df.to_csv(tmp_path / "q.csv", index=False)
    df.to_parquet(tmp_path / "q.parquet")
    con = duckdb.connect(str(tmp_path / "q.duckdb"))
    con.execute("CREATE TABLE quotes AS SELECT * FROM df")
    con.execute("CREATE TABLE ticks AS SELECT * FROM df")
    con.close()
    want = pn.backtest(df, dip_buyer, progress=False).journal_hash
    assert pn.backtest(str(tmp_path / "q.csv"), dip_buyer, progress=False).journal_hash == want
    assert pn.backtest(tmp_path / "q.parquet", dip_buyer, progress=False).journal_hash == want
    assert pn.backtest(tmp_path / "q.duckdb", dip_buyer, progress=False).journal_hash == want
    assert pn.backtest(tmp_path / "q.duckdb", dip_buyer, progress=False, table="ticks").journal_hash == want
    q = "SELECT * FROM ticks WHERE ts >= 1704205805000000000"
    assert pn.backtest(tmp_path / "q.duckdb", dip_buyer, progress=False, query=q).quotes == 35


def test_missing_columns_are_named_in_the_error() -> None:
    with pytest.raises(pn.InvalidInput, match="no ts column"):
        pn.backtest(tape().drop(columns=["ts"]), dip_buyer, progress=False)
    with pytest.raises(pn.InvalidInput, match=r"last \(or bid and ask\)"):
        pn.backtest(tape().drop(columns=["last", "ask"]), dip_buyer, progress=False)


def test_malformed_rows_are_dropped_and_counted() -> None:
    df = tape()
    df.loc[3, "bid"] = df.loc[3, "ask"] + 1  # crossed
    df.loc[5, "last"] = -1
    res = pn.backtest(df, dip_buyer, progress=False)
    assert (res.quotes, res.dropped, res.stats()["rows_dropped"]) == (38, 2, 2)


def test_sparse_data_counts_orders_that_waited_on_a_stale_quote() -> None:
    rows = [(0, "AAPL"), (30, "MSFT"), (60, "MSFT"), (90, "AAPL")]  # AAPL quiet for 90 s
    df = pd.DataFrame([{"ts": T0 + s * SEC, "symbol": sym, "bid": 99.99, "ask": 100.01, "last": 100.0}
                       for s, sym in rows])

    def buy_once(ctx: pn.Account, q: pn.Quote) -> None:
        if not ctx.orders():
            ctx.buy("AAPL", 1, limit=200)

    res = pn.backtest(df, buy_once, progress=False, review_seconds=10)
    o = res.account.orders()[0]
    assert res.stats()["waited_on_stale_quote"] == 1  # eligible at 10 s; the AAPL quote was already stale
    assert o.status is pn.OrderStatus.FILLED and res.account.fills()[0].ts == T0 + 90 * SEC


def test_result_saves_a_book_the_app_can_open(tmp_path: Path) -> None:
    res = pn.backtest(tape(), dip_buyer, progress=False)
    path = res.save(tmp_path / "bt.duckdb")
    book = pn.Engine(str(path))
    assert book.state_hash() == res.journal_hash
    assert len(book.account("backtest").trades()) == 1
    book.close()
    with pytest.raises(pn.InvalidInput, match="exists already"):
        res.save(path)


def test_compare_fills_shows_how_much_depends_on_optimistic_fills() -> None:
    def buyer(ctx: pn.Account, q: pn.Quote) -> None:
        if not ctx.orders():
            ctx.buy("AAPL", 10)

    table = pn.compare_fills(tape(sizes=True), buyer,
                             models=["touch", "slippage(50)", "size", {"fill_model": "touch", "commission": 5,
                                                                      "label": "touch + $5"}])
    assert list(table.columns) == ["touch", "slippage(50)", "size", "touch + $5"]
    assert list(table.loc["filled"]) == [1, 1, 1, 1]
    assert table.loc["fees", "touch + $5"] == D("5")
    assert table.loc["equity", "touch"] - table.loc["equity", "touch + $5"] == D("5")
    # 10 x 99.76 x 0.5%, rounded against the trader per share
    assert table.loc["equity", "touch"] - table.loc["equity", "slippage(50)"] == D("4.988")
    assert table.loc["equity", "size"] != table.loc["equity", "touch"]  # 3 + 3 + 3 + 1 at falling asks


def test_plot_is_one_bqplot_figure_with_equity_and_drawdown() -> None:
    import bqplot as bq

    fig = pn.backtest(tape(), dip_buyer, progress=False).plot()
    assert isinstance(fig, bq.Figure) and [m.labels[0] for m in fig.marks] == ["equity", "drawdown"]


def test_bad_strategy_and_data_are_refused_clearly() -> None:
    with pytest.raises(pn.InvalidInput, match="a strategy is a function"):
        pn.backtest(tape(), 42, progress=False)
    with pytest.raises(pn.InvalidInput, match="backtest data must be"):
        pn.backtest({"ts": []}, dip_buyer, progress=False)
    with pytest.raises(pn.ConfigError, match="unknown setting"):
        pn.backtest(tape(), dip_buyer, progress=False, fill="touch")


def test_equity_history_starts_at_the_first_quote_not_1970() -> None:
    t0 = 1_704_205_800_000_000_000
    quotes = [pn.Quote("AAPL", bid="189.90", ask="190.10", last="190.00", ts=t0 + i * 10**9) for i in range(5)]
    res = pn.backtest(quotes, lambda ctx, q: None, progress=False)
    assert res.equity["ts"].iloc[0] == pd.Timestamp(t0, unit="ns", tz="UTC")
    assert res.account.equity_history()[0] == (t0, D("100000"))


def test_a_backtests_account_is_read_only_after_the_run_and_the_engine_is_out_of_reach() -> None:
    t0 = 1_704_205_800_000_000_000
    quotes = [pn.Quote("AAPL", bid="189.90", ask="190.10", last="190.00", ts=t0 + i * 10**9) for i in range(3)]
    reached: list[str] = []

    def strategy(ctx: pn.Account, q: pn.Quote) -> None:
        try:
            ctx.engine.on_quote(pn.Quote("AAPL", last="1.00", ts=q.ts))
        except pn.PaperError as e:
            reached.append(str(e))
        if not ctx.orders():
            ctx.buy("AAPL", 1)

    res = pn.backtest(quotes, strategy, progress=False)
    assert reached and reached[0].startswith("a backtest strategy cannot reach the engine")
    h = res.journal_hash
    with pytest.raises(pn.BacktestFinished, match="this backtest has finished"):
        res.account.buy("AAPL", 1)
    assert res.journal_hash == h and len(res.orders) == 1
