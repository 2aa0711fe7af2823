"""Accounts, exact cash and P/L, round trips, stats and DataFrames."""

from __future__ import annotations

from decimal import Decimal as D

import pandas as pd
import pytest

import papernb as pn

from .conftest import SEC, Market


def test_a_new_account_starts_with_100000_dollars(book: pn.Engine) -> None:
    s = book.account("alice").snapshot()
    assert (s.cash, s.reserved, s.buying_power, s.market_value, s.equity) == (D("100000"), 0, D("100000"), 0,
                                                                              D("100000"))
    assert (s.unrealized_pl, s.realized_pl, s.fees, s.positions, s.open_orders) == (0, 0, 0, (), ())


def test_account_names_are_case_folded_and_many_live_in_one_book(book: pn.Engine) -> None:
    assert book.account("Alice") is book.account("alice")
    book.account("bob-2")
    assert book.accounts() == ["alice", "bob-2"]


def test_starting_cash_is_configurable() -> None:
    b = pn.Engine(":memory:", starting_cash="25000.50")
    assert b.account("x").snapshot().cash == D("25000.50")


def test_positions_are_marked_at_last_or_the_mid(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00, change_pct=1.25)
    acct.buy("AAPL", 10)
    p = acct.position("AAPL")
    assert (p.qty, p.avg_price, p.last, p.market_value, p.unrealized_pl, p.unrealized_pl_pct, p.day_change_pct) == (
        10, D("190.10"), D("190.00"), D("1900.00"), D("-1.00"), D("-0.05"), D("1.25"))
    market.quote("AAPL", 191.00, 191.10)  # no last: the mid, 191.05
    s = acct.snapshot()
    assert (s.market_value, s.unrealized_pl, s.equity) == (D("1910.50"), D("9.50"), D("100009.50"))


def test_average_cost_and_partial_close_realize_exactly(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 9.99, 10.00, 10.00)
    acct.buy("AAPL", 3)
    market.quote("AAPL", 10.00, 10.01, 10.01)
    acct.buy("AAPL", 3)  # cost 60.03 for 6: avg 10.005
    market.quote("AAPL", 11.00, 11.01, 11.00)
    acct.sell("AAPL", 1)  # realizes 11.00 - 10.005 = 0.995
    p = acct.position("AAPL")
    assert p.avg_price == D("10.005") and p.cost == D("50.025")
    acct.sell("AAPL", 2)
    s = acct.snapshot()
    assert s.realized_pl == D("2.985")
    assert s.equity - s.starting_cash == s.realized_pl + s.unrealized_pl - s.fees
    acct.sell("AAPL", 3)
    assert acct.snapshot().realized_pl == D("5.97") and acct.position("AAPL") is None


def test_realized_rounding_on_a_third_is_half_even_and_the_books_still_balance(market: Market,
                                                                            acct: pn.Account) -> None:
    market.quote("X", 0.9999, 1.00, 1.00)
    acct.buy("X", 3)
    market.quote("X", 1.01, 1.02, 1.01)
    acct.buy("X", 1, limit=1.02)  # cost 4.02 for 4 -> avg 1.005
    market.quote("X", 1.10, 1.11, 1.10)
    acct.sell("X", 1)  # cost removed 4.02/4 = 1.005 exactly
    acct.sell("X", 2)  # 3.015 x 2/3 = 2.01
    s = acct.snapshot()
    assert s.realized_pl == D("0.095") + D("0.19")
    acct.engine.check_invariants()


def test_a_round_trip_records_entries_exits_and_a_verdict(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 99.90, 100.00, 99.95)
    acct.buy("AAPL", 10)
    market.quote("AAPL", 101.90, 102.00, 101.95, dt=60)
    acct.buy("AAPL", 10)
    market.quote("AAPL", 98.90, 99.00, 98.95, dt=60)
    acct.sell("AAPL", 5)
    market.quote("AAPL", 103.00, 103.10, 103.05, dt=60)
    acct.sell("AAPL", 15)
    (t,) = acct.trades()
    assert (t.direction, t.qty, t.entries, t.exits) == ("long", 20, 2, 2)
    assert (t.avg_entry, t.avg_exit) == (D("101"), D("101.975"))  # (5 x 98.90 + 15 x 103.00) / 20
    assert (t.realized_pl, t.net_pl, t.verdict, t.return_pct) == (D("19.50"), D("19.50"), "worked", D("0.9653"))
    assert t.holding_ns == 180 * SEC
    assert (t.mfe, t.mae) == (D("30.75"), D("-41.00"))  # 15 x 103.05 - 1515; 20 x 98.95 - 2020


def test_a_losing_trade_did_not_work_and_a_scratch_is_flat(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 100.00, 100.00, 100.00)
    acct.buy("AAPL", 1)
    acct.sell("AAPL", 1)
    market.quote("AAPL", 99.00, 100.00, 99.50)
    acct.buy("AAPL", 1)
    acct.sell("AAPL", 1)
    assert [t.verdict for t in acct.trades()] == ["flat", "didn't work"]


def test_stats_sum_up_the_journal(market: Market, acct: pn.Account) -> None:
    for buy, sell in [(100, 110), (100, 95), (100, 120), (100, 100)]:
        market.quote("AAPL", buy, buy, buy)
        acct.buy("AAPL", 10)
        market.quote("AAPL", sell, sell, sell, dt=30)
        acct.sell("AAPL", 10)
    st = acct.stats()
    assert (st["trades"], st["wins"], st["losses"]) == (4, 2, 1)
    assert st["win_rate"] == D("0.5")
    assert (st["avg_win"], st["avg_loss"]) == (D("150"), D("-50"))
    assert st["profit_factor"] == D("6")
    assert st["expectancy"] == D("62.5")
    assert (st["largest_win"], st["largest_loss"]) == (D("200.00"), D("-50.00"))
    assert st["avg_holding_s"] == 30.0
    assert st["total_return_pct"] == D("0.25")
    assert st["max_drawdown"] == D("50.00")


def test_dataframes_for_orders_fills_positions_trades_equity(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    acct.buy("AAPL", 10)
    acct.buy("AAPL", 5, limit=180)
    market.quote("AAPL", 192.00, 192.10, 192.05)
    acct.sell("AAPL", 10)
    acct.buy("AAPL", 2)
    odf = acct.orders_df()
    assert list(odf["status"]) == ["FILLED", "PENDING", "FILLED", "FILLED"]
    assert odf["created_at"].dt.tz is not None
    fdf = acct.fills_df()
    assert list(fdf["price"]) == [D("190.10"), D("192.00"), D("192.10")]
    assert acct.positions_df().loc[0, "qty"] == 2
    tdf = acct.trades_df()
    assert list(tdf["verdict"]) == ["worked"] and tdf.loc[0, "net_pl"] == D("19.00")
    edf = acct.equity_df()
    assert isinstance(edf["ts"].dtype, pd.DatetimeTZDtype) and edf["equity"].iloc[-1] == acct.snapshot().equity


def test_equity_history_is_at_most_one_point_a_second_plus_each_fill(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 99.90, 100.00, 99.95)
    acct.buy("AAPL", 10)
    for i in range(50):  # 50 quotes within one second
        market.quote("AAPL", 99.90 + i / 100, 100.00 + i / 100, 99.95 + i / 100, dt=0.01)
    market.quote("AAPL", 101.00, 101.10, 101.05, dt=1)
    ts = [t for t, _ in acct.equity_history()]
    assert len(ts) <= 4 and ts == sorted(ts)


def test_day_pl_counts_from_the_previous_close() -> None:
    b = pn.Engine(":memory:")
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 99.90, 100.00, 99.95)
    a.buy("AAPL", 10)  # opened today: counts from the fill price
    assert a.snapshot().day_pl == D("-0.50")
    close = 1_704_229_200_000_000_000
    b.on_quote(pn.Quote("AAPL", bid=104.90, ask=105.00, last=104.95, ts=close - SEC))
    b.advance(close + 3600 * SEC)  # the close is recorded: equity 100,049.50
    b.on_quote(pn.Quote("AAPL", bid=106.90, ask=107.00, last=106.95, ts=close + 17 * 3600 * SEC))
    assert a.snapshot().day_pl == D("20.00")


def test_listeners_hear_each_committed_change(market: Market, acct: pn.Account) -> None:
    heard: list = []
    stop = acct.engine.subscribe(heard.append)
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.buy("AAPL", 10, limit=189)
    acct.cancel(o)
    stop()
    acct.buy("AAPL", 1)
    assert [[(e.kind, e.account, e.order_id) for e in batch] for batch in heard] == [
        [("OrderAccepted", "alice", o.id)], [("OrderCancelled", "alice", o.id)]]


@pytest.mark.parametrize("qty", [1, 7, 100])
def test_equity_identity_holds_through_a_round_trip_with_fees(qty: int) -> None:
    b = pn.Engine(":memory:", commission={"per_share": "0.0035", "minimum": "0.35"})
    m, a = Market(b), b.account("alice")
    m.quote("Z", 12.34, 12.35, 12.345)
    a.buy("Z", qty)
    m.quote("Z", 12.51, 12.52, 12.515)
    a.sell("Z", qty)
    s = a.snapshot()
    assert s.equity - s.starting_cash == s.realized_pl - s.fees
    b.check_invariants()
