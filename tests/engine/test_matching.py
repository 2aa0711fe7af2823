"""Matching rules, one scenario each (README: "Matching rules")."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

import papernb as pn

from .conftest import Market

FILLED, PENDING, REJECTED = pn.OrderStatus.FILLED, pn.OrderStatus.PENDING, pn.OrderStatus.REJECTED


def test_market_buy_fills_at_the_ask(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.buy("AAPL", 10)
    assert o.status is FILLED
    assert o.avg_fill_price == D("190.10")
    assert acct.snapshot().cash == D("98099.00")


def test_market_sell_fills_at_the_bid(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    acct.buy("AAPL", 10)
    o = acct.sell("AAPL", 10)
    assert o.avg_fill_price == D("189.90")
    assert acct.snapshot().realized_pl == D("-2.00")


def test_market_order_uses_last_when_the_side_is_missing(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", None, None, 190.00)
    o = acct.buy("AAPL", 10)
    assert o.avg_fill_price == D("190.00")


def test_marketable_limit_buy_fills_at_once_at_the_ask(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.buy("AAPL", 10, limit=195)
    assert o.status is FILLED and o.avg_fill_price == D("190.10")


def test_marketable_limit_sell_fills_at_once_at_the_bid(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    acct.buy("AAPL", 10)
    o = acct.sell("AAPL", 10, limit=185)
    assert o.status is FILLED and o.avg_fill_price == D("189.90")


def test_resting_limit_buy_fills_at_its_limit_when_the_ask_touches(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.buy("AAPL", 10, limit=189.50)
    assert o.status is PENDING
    market.quote("AAPL", 189.40, 189.51, 189.45)
    assert o.status is PENDING  # 189.51 > 189.50: not reached
    market.quote("AAPL", 189.00, 189.20, 189.10)  # gapped through: still fills at the limit
    assert o.status is FILLED and o.avg_fill_price == D("189.50")
    assert acct.snapshot().cash == D("98105.00")


def test_resting_limit_sell_fills_at_its_limit_when_the_bid_touches(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    acct.buy("AAPL", 10)
    o = acct.sell("AAPL", 10, limit=191)
    market.quote("AAPL", 190.99, 191.10, 191.00)
    assert o.status is PENDING
    market.quote("AAPL", 191.00, 191.10, 191.05)
    assert o.status is FILLED and o.avg_fill_price == D("191.00")
    assert acct.snapshot().realized_pl == D("9.00")


def test_through_fill_model_needs_the_quote_to_trade_through(book: pn.Engine) -> None:
    b = pn.Engine(":memory:", fill_model="through")
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 189.90, 190.10, 190.00)
    o = a.buy("AAPL", 10, limit=189.50)
    m.quote("AAPL", 189.40, 189.50, 189.45)
    assert o.status is PENDING
    m.quote("AAPL", 189.40, 189.49, 189.45)
    assert o.status is FILLED and o.avg_fill_price == D("189.50")


def test_buy_stop_triggers_on_last_and_fills_like_a_market_order(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.buy("AAPL", 10, stop=191)
    assert o.type is pn.OrderType.STOP and o.status is PENDING and not o.triggered
    market.quote("AAPL", 190.80, 191.20, 190.99)  # ask above the stop, last below: no trigger
    assert o.status is PENDING
    market.quote("AAPL", 191.00, 191.20, 191.00)
    assert o.triggered and o.status is FILLED and o.avg_fill_price == D("191.20")


def test_sell_stop_triggers_when_last_falls_to_it(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    acct.buy("AAPL", 10)
    o = acct.sell("AAPL", 10, stop=185)
    market.quote("AAPL", 185.10, 185.30, 185.20)
    assert o.status is PENDING
    market.quote("AAPL", 184.80, 185.00, 184.90)
    assert o.status is FILLED and o.avg_fill_price == D("184.80")


def test_stop_triggers_on_the_ask_when_last_is_missing(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.buy("AAPL", 10, stop=191)
    market.quote("AAPL", 190.90, 191.00)
    assert o.status is FILLED and o.avg_fill_price == D("191.00")


def test_stop_already_through_at_acceptance_triggers_at_once(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.buy("AAPL", 10, stop=188)
    assert o.triggered and o.status is FILLED and o.avg_fill_price == D("190.10")


def test_triggered_stop_limit_becomes_a_limit_order(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.buy("AAPL", 10, stop=191, limit=191.10)
    assert o.type is pn.OrderType.STOP_LIMIT
    market.quote("AAPL", 191.10, 191.30, 191.20)  # triggers; ask 191.30 above the limit
    assert o.triggered and o.status is PENDING
    market.quote("AAPL", 191.00, 191.10, 191.05)
    assert o.status is FILLED and o.avg_fill_price == D("191.10")


def test_order_on_a_never_quoted_symbol_is_rejected_with_a_reason(acct: pn.Account) -> None:
    o = acct.buy("XYZ", 10, limit=5)
    assert o.status is REJECTED and o.reason == "no quote for XYZ"
    assert acct.snapshot().reserved == 0
    assert acct.orders(status="rejected") == [o]


def test_market_order_on_a_stale_quote_waits_with_a_visible_reason(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    market.advance(12)
    o = acct.buy("AAPL", 10)
    assert o.status is PENDING
    assert o.reason == "waiting for a fresh quote, last 12 s old"
    market.quote("AAPL", 190.00, 190.20, 190.10)
    assert o.status is FILLED and o.avg_fill_price == D("190.20") and o.reason is None


def test_stale_guard_can_be_switched_off() -> None:
    b = pn.Engine(":memory:", stale_after=None)
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 189.90, 190.10, 190.00)
    m.advance(3600)
    assert a.buy("AAPL", 1).status is FILLED


def test_resting_limit_does_not_fill_on_a_stale_quote_after_a_review_window() -> None:
    b = pn.Engine(":memory:", review_seconds=10)
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 189.90, 190.10, 190.00)
    o = a.buy("AAPL", 10, limit=191)
    m.advance(10)  # eligible now, but the only quote is 10 s old
    assert o.status is PENDING and o.reason.startswith("waiting for a fresh quote")
    m.quote("AAPL", 189.90, 190.05, 190.00)
    assert o.status is FILLED and o.avg_fill_price == D("190.05")


def test_size_fill_model_fills_at_most_the_quoted_size(book: pn.Engine) -> None:
    b = pn.Engine(":memory:", fill_model="size")
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 189.90, 190.10, 190.00, bid_size=100, ask_size=3)
    o = a.buy("AAPL", 10, limit=190.10)
    assert o.status is pn.OrderStatus.PARTIALLY_FILLED and o.filled_qty == 3
    assert a.snapshot().reserved == D("1330.70")  # 7 still held at 190.10
    m.quote("AAPL", 189.90, 190.10, 190.00, bid_size=100, ask_size=4)
    assert o.filled_qty == 7
    m.quote("AAPL", 189.90, 190.00, 190.00, bid_size=100, ask_size=50)
    assert o.status is FILLED and o.filled_qty == 10
    assert a.snapshot().reserved == 0
    assert [f.qty for f in a.fills()] == [3, 4, 3]


def test_size_fill_model_waits_for_a_quote_with_sizes() -> None:
    b = pn.Engine(":memory:", fill_model="size")
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 189.90, 190.10, 190.00)
    o = a.buy("AAPL", 10)
    assert o.status is PENDING and o.reason == "waiting for a quote with sizes (fill model 'size')"
    m.quote("AAPL", 189.90, 190.10, 190.00, bid_size=500, ask_size=500)
    assert o.status is FILLED


def test_size_fill_model_on_data_without_sizes_is_a_clear_error() -> None:
    import pandas as pd

    tape = pd.DataFrame({"ts": [1_704_205_800_000_000_000], "symbol": ["AAPL"], "last": [190.0]})
    with pytest.raises(pn.ConfigError, match="needs bid_size/ask_size in the data"):
        pn.backtest(tape, lambda ctx, q: None, fill_model="size", progress=False)


def test_slippage_makes_market_fills_worse_but_never_past_a_limit() -> None:
    b = pn.Engine(":memory:", fill_model="slippage(10)")
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 99.90, 100.00, 99.95)
    assert a.buy("AAPL", 1).avg_fill_price == D("100.10")  # 10 bps of 100.00
    assert a.buy("AAPL", 1, limit=100.05).avg_fill_price == D("100.05")
    assert a.sell("AAPL", 2).avg_fill_price == D("99.8001")  # 99.90 - 0.0999, rounded against the trader


def test_commission_per_share_per_order_and_minimum() -> None:
    b = pn.Engine(":memory:", commission={"per_share": "0.005", "per_order": "1.00", "minimum": "1.50"})
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 189.90, 190.10, 190.00)
    o = a.buy("AAPL", 10)
    assert o.fees == D("1.50")  # 0.05 + 1.00 is under the minimum
    o2 = a.buy("AAPL", 200)
    assert o2.fees == D("2.00")
    s = a.snapshot()
    assert s.fees == D("3.50")
    assert s.cash == D("100000") - 210 * D("190.10") - D("3.50")
    assert s.equity - s.starting_cash == s.realized_pl + s.unrealized_pl - s.fees


def test_every_fill_records_its_quote_and_age(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    acct.buy("AAPL", 10, limit=189)
    q = market.quote("AAPL", 188.80, 188.90, 188.85)
    (f,) = acct.fills()
    assert (f.quote_bid, f.quote_ask, f.quote_last, f.quote_ts, f.quote_age_ns) == (
        D("188.80"), D("188.90"), D("188.85"), q.ts, 0)


def test_orders_of_one_symbol_fill_first_in_first_filled(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    a = acct.buy("AAPL", 100, limit=189)
    b = acct.buy("AAPL", 100, limit=189.5)
    market.quote("AAPL", 188.80, 188.90, 188.85)
    assert [f.order_id for f in acct.fills()] == [a.id, b.id]


def test_insufficient_buying_power_at_fill_rejects_and_cash_stays_positive() -> None:
    b2 = pn.Engine(":memory:", starting_cash=1006, market_buffer=0)
    m2, a2 = Market(b2), b2.account("alice")
    m2.quote("AAPL", 99.90, 100.00, 99.95)
    o2 = a2.buy("AAPL", 10, stop=100.50)
    assert o2.status is PENDING and a2.snapshot().reserved == D("1005.00")
    m2.quote("AAPL", 101.00, 101.00, 101.00)  # triggers; the fill would cost 1,010.00
    assert o2.status is REJECTED
    assert o2.reason == "insufficient buying power at fill: needs $1,010.00, $1,006.00 free"
    s = a2.snapshot()
    assert (s.cash, s.reserved) == (D("1006"), 0)
