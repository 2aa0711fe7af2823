"""Risk numbers (res.stats(), acct.stats()) and the one-page report (res.report())."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import papernb as pn
from papernb.report import risk_stats

T0 = 1_704_205_800_000_000_000  # 2024-01-02 09:30 New York
SEC = 1_000_000_000


def tape(prices: list[float], step_s: int = 60, symbol: str = "AAPL") -> pd.DataFrame:
    ts = [T0 + i * step_s * SEC for i in range(len(prices))]
    return pd.DataFrame({"ts": ts, "symbol": symbol, "bid": [p - 0.01 for p in prices],
                         "ask": [p + 0.01 for p in prices], "last": prices})


class BuyAndHold:
    def on_quote(self, ctx: pn.Account, q: pn.Quote) -> None:
        if not ctx.orders(epoch="all"):
            ctx.buy(q.symbol, 500)


def test_sharpe_and_sortino_are_the_annualised_textbook_formulas_on_stated_periods() -> None:
    rng = np.random.default_rng(7)
    levels = 100_000 * np.cumprod(1 + rng.normal(0.0002, 0.002, 120))
    points = [(T0 + i * 60 * SEC, float(v)) for i, v in enumerate(levels)]
    st = risk_stats(points, [], periodicity="1min", risk_free=0.05)
    per_year = 252 * 390
    r = levels[1:] / levels[:-1] - 1 - ((1.05) ** (1 / per_year) - 1)
    assert (st["periodicity"], st["periods_per_year"], st["risk_free_rate"]) == ("1min", per_year, 0.05)
    assert st["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(per_year))
    assert st["sortino"] == pytest.approx(r.mean() / math.sqrt(np.mean(np.minimum(r, 0) ** 2)) * math.sqrt(per_year))
    assert risk_stats(points, [])["periodicity"] == "1min"  # two hours: the coarsest period with 30 returns


def test_drawdown_duration_is_peak_to_recovery() -> None:
    pts = [(T0, 100.0), (T0 + 10 * SEC, 110.0), (T0 + 20 * SEC, 90.0), (T0 + 50 * SEC, 111.0),
           (T0 + 60 * SEC, 105.0)]
    assert risk_stats(pts, [])["max_drawdown_duration_s"] == 40.0  # 110 at 10 s, recovered at 50 s


def test_buy_and_hold_tracks_its_benchmark_with_beta_one() -> None:
    prices = [round(100 + 2 * math.sin(i / 7) + i * 0.05, 2) for i in range(200)]
    res = pn.backtest(tape(prices), BuyAndHold, progress=False)
    st = res.stats()
    assert st["benchmark_return_pct"] == pytest.approx((prices[-1] / prices[0] - 1) * 100)
    assert st["beta"] == pytest.approx(0.5, abs=0.06)  # half the equity is in the stock
    assert st["exposure"] == pytest.approx(1.0, abs=0.01)
    assert st["gross_exposure"] == pytest.approx(st["net_exposure"]) and 0.45 < st["gross_exposure"] < 0.6
    assert st["max_position_qty"] == 500 and st["turnover"] == pytest.approx(500 * 100.01 / 100_000, rel=0.05)
    assert st["calmar"] is None  # a run shorter than 30 days is not annualised


def test_exposure_is_the_share_of_time_in_the_market() -> None:
    class HalfTime:
        def on_quote(self, ctx: pn.Account, q: pn.Quote) -> None:
            n = (q.ts - T0) // (60 * SEC)
            if n == 10:
                ctx.buy(q.symbol, 10)
            elif n == 60:
                ctx.close(q.symbol)

    res = pn.backtest(tape([100.0] * 101), HalfTime, progress=False)
    assert res.stats()["exposure"] == pytest.approx(0.5)


def test_a_live_account_has_the_risk_numbers_it_can_know() -> None:
    book = pn.Engine(":memory:")
    acct = book.account("alice")
    for i in range(100):
        book.on_quote(pn.Quote("AAPL", bid=100 + i * 0.01, ask=100.02 + i * 0.01, last=100.01 + i * 0.01,
                               ts=T0 + i * SEC))
        if i == 5:
            acct.buy("AAPL", 100)
    st = acct.stats()
    assert st["sharpe"] is not None and st["exposure"] > 0.9 and st["max_position_qty"] == 100
    assert st["benchmark_return_pct"] is None and st["gross_exposure"] is None  # no marks kept live


def test_report_is_one_page_in_a_notebook_and_a_standalone_file(tmp_path: Path) -> None:
    prices = [100 + 3 * math.sin(i / 9) for i in range(300)]

    class Swing:
        def on_quote(self, ctx: pn.Account, q: pn.Quote) -> None:
            pos = ctx.position(q.symbol)
            if pos is None and q.last < 98:
                ctx.buy(q.symbol, 100)
            elif pos is not None and q.last > 102:
                ctx.sell(q.symbol, pos.qty)

    res = pn.backtest(tape(prices), Swing, progress=False, label="swing")
    table = pn.compare_fills(tape(prices), Swing, models=["touch", "slippage(5)"])
    rep = res.report(comparison=table)
    html = rep._repr_html_()
    for part in ("<h1>swing</h1>", "Equity and buy-and-hold", "Drawdown", "Trades on AAPL", "Monthly returns",
                 "Fill models", "sharpe", "benchmark return pct", "<svg"):
        assert part in html, part
    out = rep.save(tmp_path / "swing.html")
    text = out.read_text()
    assert text.startswith("<!doctype html>") and "<script" not in text and text.count("<svg") == 3
