"""Golden numbers: workload W1 through pn.backtest must reproduce the reference counts exactly.

The counts and money below are the ones ../shared/bench/W1.md gives for an engine with an
exact cost basis that frees a cancelled order's cash at once (papernb's Contracts).
"""

from __future__ import annotations

import pytest

import papernb as pn

from .w1 import W1, w1_table


@pytest.fixture(scope="module")
def w1_quotes() -> list[pn.Quote]:
    from papernb.backtest import load

    quotes, dropped = load(w1_table())
    assert (len(quotes), dropped) == (1_000_000, 0)
    return quotes


def test_w1_with_10_million_cash_matches_every_reference_engine(w1_quotes: list[pn.Quote]) -> None:
    strat = W1()
    res = pn.backtest(w1_quotes, strat, cash=10_000_000, progress=False)
    c = strat.counts(res.account)
    assert (c["submitted"], c["filled"], c["cancelled"], c["denied"], c["open"], c["position_qty"]) == (
        4454, 2621, 1805, 0, 28, 940)
    assert (c["cash"], c["equity"]) == ("9909470.30", "10000905.20")


def test_w1_with_100k_cash_is_exact_and_deterministic(w1_quotes: list[pn.Quote]) -> None:
    first, second = W1(), W1()
    a = pn.backtest(w1_quotes, first, progress=False)
    b = pn.backtest(w1_quotes, second, progress=False)
    c = first.counts(a.account)
    assert (c["submitted"], c["filled"], c["cancelled"], c["denied"], c["open"]) == (4696, 2003, 1700, 968, 25)
    assert c["equity"] == "100669.10"
    assert a.journal_hash == b.journal_hash
    a.engine.check_invariants()
