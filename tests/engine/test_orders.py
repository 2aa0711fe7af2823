"""Order lifecycle: the state table, edit, cancel, review window, client ids, time in force."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

import papernb as pn
from papernb.engine.model import TRANSITIONS

from .conftest import SEC, T0, Market

S = pn.OrderStatus


def test_every_transition_is_in_one_table_and_terminal_states_have_none() -> None:
    terminal = {S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED}
    assert not [k for k in TRANSITIONS if k[0] in terminal]
    assert (S.CANCELLED, "OrderFilled") not in TRANSITIONS
    assert TRANSITIONS[(S.PENDING, "OrderPartiallyFilled")] is S.PARTIALLY_FILLED
    assert TRANSITIONS[(S.PARTIALLY_FILLED, "OrderFilled")] is S.FILLED


def test_submit_returns_the_same_live_order_object_for_an_id(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.buy("AAPL", 10, limit=189)
    assert acct.order(o.id) is o
    assert acct.orders(status="open") == [o]
    market.quote("AAPL", 188.90, 189.00, 188.95)
    assert o.status is S.FILLED  # the handle the strategy kept shows it


def test_enums_are_strings_and_inputs_are_case_insensitive(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.submit("aapl", "buy", 1, type="stop-limit", limit=191, stop=191, tif="gtc")
    assert (o.side, o.type, o.tif) == ("BUY", "STOP_LIMIT", "GTC")
    assert acct.orders(status="pending") == [o]
    assert acct.orders(status=[S.PENDING, "filled"], symbol="aapl") == [o]


def test_edit_keeps_the_id_and_moves_the_reservation_exactly(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.buy("AAPL", 10, limit=189.50)
    assert acct.snapshot().reserved == D("1895.00")
    same = acct.replace(o.id, qty=5, limit=189.60)
    assert same is o and (o.qty, o.limit) == (5, D("189.60"))
    s = acct.snapshot()
    assert (s.reserved, s.buying_power) == (D("948.00"), D("99052.00"))
    acct.cancel(o.id)
    assert o.status is S.CANCELLED and o.reason == "cancelled by you"
    assert acct.snapshot().reserved == 0 and acct.snapshot().buying_power == D("100000")


def test_edit_is_journalled_with_old_and_new_values(tmp_path) -> None:
    path = str(tmp_path / "book.duckdb")
    b = pn.Engine(path)
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 189.90, 190.10, 190.00)
    o = a.buy("AAPL", 10, limit=189.50)
    a.replace(o, limit=189.60)
    b.close()
    import json

    import duckdb

    con = duckdb.connect(path)
    (data,) = con.execute("SELECT data FROM journal WHERE kind = 'OrderReplaced'").fetchone()
    e = json.loads(data)["e"]
    assert (e["old_limit"], e["limit"]) == (1895000, 1896000)
    con.close()


def test_edit_that_does_not_fit_buying_power_is_refused_and_changes_nothing(market: Market,
                                                                             acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.buy("AAPL", 500, limit=150)  # holds 75,000
    before = acct.engine.state_hash()
    with pytest.raises(pn.ReplaceRefused, match="not enough buying power"):
        acct.replace(o.id, qty=700)  # 105,000 > 25,000 + 75,000
    assert (o.qty, o.limit, o.status) == (500, D("150"), S.PENDING)
    assert acct.snapshot().reserved == D("75000")
    assert acct.engine.state_hash() == before


def test_edit_or_cancel_of_a_filled_order_says_why(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.buy("AAPL", 10)
    with pytest.raises(pn.OrderNotOpen, match=f"order {o.id} is already FILLED"):
        acct.cancel(o.id)
    with pytest.raises(pn.OrderNotOpen, match=f"order {o.id} is already FILLED"):
        acct.replace(o.id, qty=5)


def test_cancelled_order_never_fills(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.buy("AAPL", 10, limit=189)
    acct.cancel(o)
    market.quote("AAPL", 180.00, 180.10, 180.05)
    assert o.status is S.CANCELLED and o.filled_qty == 0 and acct.fills() == []


def test_edited_order_is_matched_like_a_new_one(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.buy("AAPL", 10, limit=189)
    acct.replace(o, limit=191)  # now marketable: fills at the ask, not at the limit
    assert o.status is S.FILLED and o.avg_fill_price == D("190.10")


def test_partially_filled_order_can_be_edited_and_cancelled_for_the_rest() -> None:
    b = pn.Engine(":memory:", fill_model="size")
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 189.90, 190.10, 190.00, bid_size=100, ask_size=4)
    o = a.buy("AAPL", 10, limit=189.50)
    m.quote("AAPL", 189.00, 189.50, 189.20, bid_size=100, ask_size=4)
    assert o.status is S.PARTIALLY_FILLED and o.filled_qty == 4
    m.quote("AAPL", 189.90, 190.10, 190.00, bid_size=100, ask_size=4)
    with pytest.raises(pn.InvalidOrder, match="new total must exceed"):
        a.replace(o, qty=4)
    a.replace(o, qty=6)
    assert a.snapshot().reserved == D("379.00")  # 2 left at 189.50
    a.cancel(o)
    assert o.status is S.CANCELLED and o.filled_qty == 4 and a.snapshot().reserved == 0
    assert a.position("AAPL").qty == 4


def test_review_window_holds_a_new_order_until_it_ends() -> None:
    b = pn.Engine(":memory:", review_seconds=30)
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 189.90, 190.10, 190.00)
    o = a.buy("AAPL", 10)
    assert o.status is S.PENDING and o.eligible_at == m.t + 30 * SEC
    m.quote("AAPL", 189.90, 190.10, 190.00, dt=29)
    assert o.status is S.PENDING
    m.quote("AAPL", 189.95, 190.15, 190.05, dt=1)
    assert o.status is S.FILLED and o.avg_fill_price == D("190.15")


def test_review_window_ends_on_advance_without_a_quote() -> None:
    b = pn.Engine(":memory:", review_seconds=3)
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 189.90, 190.10, 190.00)
    o = a.buy("AAPL", 10)
    m.advance(3)
    assert o.status is S.FILLED


def test_edit_restarts_the_review_window() -> None:
    b = pn.Engine(":memory:", review_seconds=10)
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 189.90, 190.10, 190.00)
    o = a.buy("AAPL", 10, limit=195)
    m.advance(8)
    a.replace(o, qty=5)
    assert o.eligible_at == m.t + 10 * SEC
    m.quote("AAPL", 189.90, 190.10, 190.00, dt=5)
    assert o.status is S.PENDING
    m.quote("AAPL", 189.90, 190.10, 190.00, dt=5)
    assert o.status is S.FILLED and o.qty == 5


def test_client_order_id_makes_a_retry_return_the_original(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.buy("AAPL", 10, limit=189, client_order_id="click-1")
    again = acct.buy("AAPL", 10, limit=189, client_order_id="click-1")
    assert again is o and len(acct.orders()) == 1
    with pytest.raises(pn.DuplicateClientOrderId, match="already used for order"):
        acct.buy("AAPL", 11, limit=189, client_order_id="click-1")
    other = acct.engine.account("bob").buy("AAPL", 10, limit=189, client_order_id="click-1")
    assert other.id != o.id  # unique per account


def test_day_order_expires_at_the_new_york_close() -> None:
    b = pn.Engine(":memory:")
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 189.90, 190.10, 190.00)
    day = a.buy("AAPL", 10, limit=180)
    gtc = a.buy("AAPL", 10, limit=180, tif="gtc")
    close = 1_704_229_200_000_000_000  # 2024-01-02 16:00 New York
    assert day.expires_at == close and gtc.expires_at is None
    b.advance(close - 1)
    assert day.status is S.PENDING
    b.advance(close)
    assert day.status is S.EXPIRED and day.expired_at == close
    assert day.reason == "expired at the session close"
    assert gtc.status is S.PENDING
    assert a.snapshot().reserved == D("1800")


def test_expiry_runs_before_matching_on_a_quote_after_the_close() -> None:
    b = pn.Engine(":memory:")
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 189.90, 190.10, 190.00)
    day = a.buy("AAPL", 10, limit=180)
    next_morning = T0 + 24 * 3600 * SEC
    b.on_quote(pn.Quote("AAPL", bid=170, ask=170.10, last=170.05, ts=next_morning))
    assert day.status is S.EXPIRED and day.expired_at == 1_704_229_200_000_000_000


def test_friday_day_order_expires_friday_not_over_the_weekend() -> None:
    b = pn.Engine(":memory:")
    friday_evening = 1_704_499_200_000_000_000  # 2024-01-05 19:00 New York (after the close)
    b.on_quote(pn.Quote("AAPL", bid=189.9, ask=190.1, last=190, ts=friday_evening))
    o = b.account("alice").buy("AAPL", 1, limit=100)
    assert o.expires_at == 1_704_747_600_000_000_000  # Monday 2024-01-08 16:00 New York


def test_sell_reserves_shares_so_they_cannot_be_sold_twice(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    acct.buy("AAPL", 10)
    first = acct.sell("AAPL", 8, limit=200)
    assert acct.position("AAPL").reserved_qty == 8
    second = acct.sell("AAPL", 5, limit=200)
    assert second.status is S.REJECTED
    assert second.reason == "not enough shares: you hold 10 AAPL, 8 already held for open sell orders"
    acct.cancel(first)
    assert acct.sell("AAPL", 5, limit=200).status is S.PENDING


def test_selling_shares_you_do_not_hold_is_rejected(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.sell("AAPL", 1)
    assert o.status is S.REJECTED and o.reason == "not enough shares: you hold 0 AAPL"


def test_buy_beyond_buying_power_is_rejected_with_the_numbers(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.buy("AAPL", 1000, limit=190)
    assert o.status is S.REJECTED
    assert o.reason == "not enough buying power: this order needs $190,000.00, you have $100,000.00"
    assert acct.snapshot().reserved == 0


def test_market_buy_reserves_the_ask_plus_the_buffer(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    market.advance(10)  # stale: the order waits, holding its reservation
    o = acct.buy("AAPL", 10)
    assert o.reserved_cash == D("1996.05")  # 10 x 190.10 x 1.05
    s = acct.snapshot()
    assert s.reserved == D("1996.05")


def test_stop_buy_reserves_the_higher_of_stop_and_ask_plus_buffer(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    o = acct.buy("AAPL", 10, stop=200)
    assert o.reserved_cash == D("2100.00")


def test_reset_cancels_open_orders_and_starts_a_new_epoch(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    acct.buy("AAPL", 10)
    o = acct.buy("AAPL", 10, limit=180)
    acct.reset(cash=50_000)
    assert o.status is S.CANCELLED and o.reason == "account reset"
    s = acct.snapshot()
    assert (s.cash, s.equity, s.reserved, s.positions, s.epoch) == (D("50000"), D("50000"), 0, (), 2)
    assert acct.orders() == [] and len(acct.orders(epoch="all")) == 2
    assert len(acct.fills(epoch="all")) == 1 and acct.fills() == []


def test_short_selling_credits_proceeds_and_holds_150_percent() -> None:
    b = pn.Engine(":memory:", short_selling=True)
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 100.00, 100.10, 100.05)
    o = a.sell("AAPL", 10)
    assert o.status is S.FILLED
    s = a.snapshot()
    assert (s.cash, s.reserved) == (D("101000.00"), D("1500.00"))
    assert a.position("AAPL").qty == -10
    m.quote("AAPL", 95.00, 95.10, 95.05)
    a.buy("AAPL", 10)
    s = a.snapshot()
    assert (s.realized_pl, s.reserved, s.cash) == (D("49.00"), 0, D("100049.00"))
    (t,) = a.trades()
    assert (t.direction, t.verdict, t.net_pl) == ("short", "worked", D("49.00"))


def test_a_limit_that_rests_at_once_is_one_journal_event_and_still_rests_after_a_reopen(tmp_path) -> None:
    path = str(tmp_path / "book.duckdb")
    b = pn.Engine(path)
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 189.90, 190.10, 190.00)
    o = a.buy("AAPL", 10, limit=189.50)
    (kinds,) = b._store.con.execute("SELECT list(kind ORDER BY seq) FROM journal WHERE order_id = ?",
                                    [o.id]).fetchone()
    assert kinds == ["OrderAccepted"]
    b.close()
    b = pn.Engine(path)
    Market(b, t=b.now).quote("AAPL", 189.00, 189.20, 189.10)
    (again,) = b.account("alice").orders()
    assert again.avg_fill_price == D("189.50")  # it had rested: fills at its limit, not at the ask
    b.close()
