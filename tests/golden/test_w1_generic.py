"""The generic W1 (bench/w1_strategy.py: positions(), orders(status="open"), status strings)
must reach exactly the golden counts that W1 reaches (test_w1_golden.py), at $10M and $100k,
and write the very same journal: only the way the strategy reads its state differs.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import papernb as pn

from .w1 import W1, w1_table

_BENCH_STRATEGY = Path(__file__).resolve().parents[2] / "bench" / "w1_strategy.py"


def _w1_generic() -> type:
    spec = importlib.util.spec_from_file_location("w1_strategy", _BENCH_STRATEGY)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    assert mod.W1 is W1  # the bench and this test run the very class the golden test pins
    return mod.W1Generic


W1Generic = _w1_generic()


@pytest.fixture(scope="module")
def w1_quotes() -> list[pn.Quote]:
    from papernb.backtest import load

    quotes, dropped = load(w1_table())
    assert (len(quotes), dropped) == (1_000_000, 0)
    return quotes


def test_generic_w1_with_10_million_cash_matches_the_golden_counts(w1_quotes: list[pn.Quote]) -> None:
    strat = W1Generic()
    res = pn.backtest(w1_quotes, strat, cash=10_000_000, progress=False)
    c = strat.counts(res.account)
    assert (c["submitted"], c["filled"], c["cancelled"], c["denied"], c["open"], c["position_qty"]) == (
        4454, 2621, 1805, 0, 28, 940)
    assert (c["cash"], c["equity"]) == ("9909470.30", "10000905.20")
    assert res.journal_hash == pn.backtest(w1_quotes, W1(), cash=10_000_000, progress=False).journal_hash


def test_generic_w1_with_100k_cash_matches_the_golden_counts(w1_quotes: list[pn.Quote]) -> None:
    strat = W1Generic()
    res = pn.backtest(w1_quotes, strat, progress=False)
    c = strat.counts(res.account)
    assert (c["submitted"], c["filled"], c["cancelled"], c["denied"], c["open"]) == (
        4696, 2003, 1700, 968, 25)
    assert c["equity"] == "100669.10"
    assert res.journal_hash == pn.backtest(w1_quotes, W1(), progress=False).journal_hash
    res.engine.check_invariants()
