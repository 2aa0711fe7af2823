"""The quant's order types, one scenario per rule (README, "Matching rules" 11-14):
trailing stops, brackets, OCO pairs, IOC / FOK."""

from __future__ import annotations

import json
from decimal import Decimal as D

import duckdb
import pytest

import papernb as pn

from .conftest import SEC, T0, Market

S = pn.OrderStatus


def long_position(market: Market, acct: pn.Account, qty: int = 10) -> None:
    market.quote("AAPL", "99.90", "100.00", "99.95")
    acct.buy("AAPL", qty)


# ---------------------------------------------------------------------------------------- trailing stops
def test_trailing_sell_stop_follows_the_highest_price_and_never_falls(market: Market, acct: pn.Account) -> None:
    long_position(market, acct)
    o = acct.sell("AAPL", 10, trail=1.00)
    assert (o.type, o.trail, o.stop) == (pn.OrderType.TRAILING_STOP, D("1.00"), D("98.95"))  # last 99.95 - 1
    market.quote("AAPL", "101.90", "102.00", "101.95")
    assert o.stop == D("100.95")
    market.quote("AAPL", "101.40", "101.50", "101.45")  # lower: the stop stays
    assert (o.stop, o.status) == (D("100.95"), S.PENDING)
    market.quote("AAPL", "100.80", "100.90", "100.95")  # last reaches the stop: triggers, fills at the bid
    assert (o.status, o.triggered, o.avg_fill_price) == (S.FILLED, True, D("100.80"))
    acct.engine.check_invariants()


def test_trailing_percent_stop_is_the_best_price_less_the_percent_rounded_half_even(market: Market,
                                                                                    acct: pn.Account) -> None:
    long_position(market, acct)
    o = acct.sell("AAPL", 10, trail_pct=2.5)
    assert o.trail_pct == D("2.5") and o.trail is None
    assert o.stop == D("97.4512")  # 99.95 - 2.49875 (2.5 %, half-even to $0.0001: 2.4988)
    market.quote("AAPL", "109.90", "110.00", "110.00")
    assert o.stop == D("107.25")


def test_trailing_buy_stop_follows_the_lowest_price_and_triggers_on_the_way_up(market: Market,
                                                                                acct: pn.Account) -> None:
    market.quote("AAPL", "99.90", "100.00", "99.95")
    o = acct.buy("AAPL", 10, trail="0.50")
    assert o.stop == D("100.45")
    assert o.reserved_cash == D("1054.725")  # 10 x max(stop 100.45, ask 100.00) x 1.05
    market.quote("AAPL", "98.90", "99.00", "98.95")
    assert o.stop == D("99.45")
    market.quote("AAPL", "99.40", "99.50", "99.45")
    assert (o.status, o.avg_fill_price) == (S.FILLED, D("99.50"))  # at the ask
    acct.engine.check_invariants()


def test_trailing_stop_without_a_last_watches_the_bid_for_a_sell(market: Market, acct: pn.Account) -> None:
    long_position(market, acct)
    o = acct.sell("AAPL", 10, trail=1)
    market.quote("AAPL", "103.00", "103.10")  # no last: the bid is the sell's reference
    assert o.stop == D("102.00")
    market.quote("AAPL", "102.00", "102.10")
    assert (o.status, o.avg_fill_price) == (S.FILLED, D("102.00"))


def test_trailing_stop_follows_the_price_during_the_review_window() -> None:
    book = pn.Engine(":memory:", review_seconds=5)
    m, acct = Market(book), book.account("alice")
    m.quote("AAPL", "99.90", "100.00", "99.95")
    acct.buy("AAPL", 10)
    m.advance(6)
    m.quote("AAPL", "99.90", "100.00", "99.95")
    o = acct.sell("AAPL", 10, trail=1)
    m.quote("AAPL", "104.90", "105.00", "104.95", dt=1)  # in the review window: no fill, but the stop moves
    assert (o.stop, o.status) == (D("103.95"), S.PENDING)
    m.quote("AAPL", "103.00", "103.10", "103.05", dt=6)  # eligible now, and below the stop
    assert o.status is S.FILLED and o.avg_fill_price == D("103.00")


def test_trailing_stop_moves_are_journalled_once_per_batch_and_a_reopened_book_holds_the_stop(tmp_path) -> None:
    path = str(tmp_path / "book.duckdb")
    book = pn.Engine(path)
    acct = book.account("alice")
    book.on_quote(pn.Quote("AAPL", bid="99.90", ask="100.00", last="99.95", ts=T0))
    acct.buy("AAPL", 10)
    o = acct.sell("AAPL", 10, trail=1, tif="gtc")
    book.on_quotes([pn.Quote("AAPL", bid=f"{100 + i}.90", ask=f"{101 + i}.00", last=f"{100 + i}.95",
                             ts=T0 + (i + 1) * SEC) for i in range(10)])
    assert o.stop == D("108.95")
    before = book.state_hash()
    book.close()
    con = duckdb.connect(path)
    moves = con.execute("SELECT data FROM journal WHERE kind = 'OrderTrailMoved'").fetchall()
    con.close()
    assert [json.loads(d)["e"] for (d,) in moves] == [{"best": 1099500, "stop": 1089500}]  # ten quotes, one row
    book = pn.Engine(path)
    try:
        assert book.state_hash() == before
        o2 = book.account("alice").order(o.id)
        assert (o2.stop, o2.trail) == (D("108.95"), D("1.00"))
        book.on_quote(pn.Quote("AAPL", bid="108.90", ask="109.00", last="108.95", ts=T0 + 20 * SEC))
        assert o2.status is S.FILLED
    finally:
        book.close()


def test_replace_trail_moves_the_level_from_the_same_best_price_and_stop_is_refused(market: Market,
                                                                                     acct: pn.Account) -> None:
    long_position(market, acct)
    o = acct.sell("AAPL", 10, trail=1)
    market.quote("AAPL", "101.90", "102.00", "101.95")
    acct.replace(o, trail="0.50")
    assert (o.trail, o.stop) == (D("0.50"), D("101.45"))
    acct.replace(o, trail_pct=1)
    assert (o.trail, o.trail_pct, o.stop) == (None, D("1"), D("100.9305"))
    with pytest.raises(pn.InvalidOrder, match="its level follows the price"):
        acct.replace(o, stop=100)
    acct.engine.check_invariants()


def test_a_trail_at_least_the_price_is_rejected(market: Market, acct: pn.Account) -> None:
    market.quote("PNY", "0.9000", "0.9100", "0.9050")
    acct.buy("PNY", 10)
    o = acct.sell("PNY", 10, trail=1)
    assert o.status is S.REJECTED and o.reason.startswith("the trail is more than the price")


# ---------------------------------------------------------------------------------------- brackets
def test_bracket_children_are_placed_on_fill_as_an_oco_pair_holding_the_shares_once(market: Market,
                                                                                     acct: pn.Account) -> None:
    market.quote("AAPL", "100.00", "100.10", "100.05")
    e = acct.buy("AAPL", 10, limit="99.50", take_profit=105, stop_loss=95)
    assert (e.status, e.children, e.take_profit, e.stop_loss) == (S.PENDING, (), D("105.00"), D("95.00"))
    market.quote("AAPL", "99.40", "99.50", "99.45")
    assert e.status is S.FILLED
    tp, sl = e.children
    assert (tp.type, tp.side, tp.qty, tp.limit, tp.tif) == (pn.OrderType.LIMIT, pn.Side.SELL, 10, D("105.00"), "GTC")
    assert (sl.type, sl.side, sl.qty, sl.stop) == (pn.OrderType.STOP, pn.Side.SELL, 10, D("95.00"))
    assert (tp.parent_id, sl.parent_id, tp.oco_id, sl.oco_id, e.child_ids) == (e.id, e.id, sl.id, tp.id,
                                                                               (tp.id, sl.id))
    assert acct.position("AAPL").reserved_qty == 10  # once, not twice
    assert tp.reserved_shares + sl.reserved_shares == 10
    market.quote("AAPL", "105.00", "105.10", "105.05")
    assert (tp.status, sl.status, sl.reason) == (S.FILLED, S.CANCELLED, f"its OCO partner {tp.id} filled")
    assert acct.position("AAPL") is None
    acct.engine.check_invariants()


def test_bracket_stop_loss_fills_and_cancels_the_take_profit(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", "100.00", "100.10", "100.05")
    e = acct.buy("AAPL", 10, take_profit=105, stop_loss=95)
    tp, sl = e.children
    market.quote("AAPL", "94.80", "94.90", "94.85")
    assert (sl.status, sl.avg_fill_price, tp.status) == (S.FILLED, D("94.80"), S.CANCELLED)


def test_partial_entry_fills_place_then_grow_the_children() -> None:
    book = pn.Engine(":memory:", fill_model="size")
    m, acct = Market(book), book.account("alice")
    m.quote("AAPL", "100.00", "100.10", "100.05", bid_size=100, ask_size=4)
    e = acct.buy("AAPL", 10, take_profit=105, stop_loss=95, tif="gtc")
    assert (e.status, e.filled_qty) == (S.PARTIALLY_FILLED, 4)
    tp, sl = e.children
    assert (tp.qty, sl.qty) == (4, 4)
    m.quote("AAPL", "100.00", "100.10", "100.05", bid_size=100, ask_size=5)
    assert (e.filled_qty, tp.qty, sl.qty, len(e.children)) == (9, 9, 9, 2)
    assert acct.position("AAPL").reserved_qty == 9
    book.check_invariants()


def test_a_partial_fill_of_one_child_reduces_the_other() -> None:
    book = pn.Engine(":memory:", fill_model="size")
    m, acct = Market(book), book.account("alice")
    m.quote("AAPL", "100.00", "100.10", "100.05", bid_size=100, ask_size=100)
    e = acct.buy("AAPL", 10, take_profit=105, stop_loss=95)
    tp, sl = e.children
    m.quote("AAPL", "105.00", "105.10", "105.05", bid_size=4, ask_size=100)
    assert (tp.status, tp.filled_qty, sl.qty, sl.remaining_qty) == (S.PARTIALLY_FILLED, 4, 6, 6)
    assert acct.position("AAPL").reserved_qty == 6
    m.quote("AAPL", "94.90", "95.00", "94.95", bid_size=100, ask_size=100)
    assert (sl.status, sl.filled_qty, tp.status) == (S.FILLED, 6, S.CANCELLED)
    assert acct.position("AAPL") is None
    book.check_invariants()


def test_cancelling_an_entry_that_never_filled_leaves_no_children(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", "100.00", "100.10", "100.05")
    e = acct.buy("AAPL", 10, limit=99, take_profit=105, stop_loss=95)
    acct.cancel(e)
    assert (e.status, e.children, acct.orders(status="open")) == (S.CANCELLED, (), [])


def test_children_of_a_partly_filled_entry_stay_when_it_is_cancelled() -> None:
    book = pn.Engine(":memory:", fill_model="size")
    m, acct = Market(book), book.account("alice")
    m.quote("AAPL", "100.00", "100.10", "100.05", bid_size=100, ask_size=4)
    e = acct.buy("AAPL", 10, limit="100.10", take_profit=105, stop_loss=95)
    acct.cancel(e)
    tp, sl = e.children
    assert (e.status, e.filled_qty, tp.status, sl.status, tp.qty) == (S.CANCELLED, 4, S.PENDING, S.PENDING, 4)


def test_children_prices_are_editable_and_their_quantity_follows_the_pair(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", "100.00", "100.10", "100.05")
    e = acct.buy("AAPL", 10, take_profit=105, stop_loss=95)
    tp, sl = e.children
    acct.replace(tp, limit=106)
    acct.replace(sl, stop=97)
    assert (tp.limit, sl.stop, acct.position("AAPL").reserved_qty) == (D("106.00"), D("97.00"), 10)
    with pytest.raises(pn.InvalidOrder, match="its quantity follows the pair"):
        acct.replace(sl, qty=5)
    market.quote("AAPL", "96.90", "97.00", "96.95")
    assert (sl.status, tp.status) == (S.FILLED, S.CANCELLED)
    acct.engine.check_invariants()


def test_cancelling_one_child_cancels_the_pair(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", "100.00", "100.10", "100.05")
    e = acct.buy("AAPL", 10, take_profit=105, stop_loss=95)
    tp, sl = e.children
    acct.cancel(tp)
    assert (sl.status, sl.reason) == (S.CANCELLED, f"its OCO partner {tp.id} was cancelled")
    assert acct.position("AAPL").reserved_qty == 0


def test_bracket_prices_must_be_on_the_right_sides(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", "100.00", "100.10", "100.05")
    with pytest.raises(pn.InvalidOrder, match="take_profit 99.00 must be above the entry price 99.50"):
        acct.buy("AAPL", 10, limit="99.50", take_profit=99)
    with pytest.raises(pn.InvalidOrder, match="stop_loss 110.00 must be below take_profit 90.00 for a buy"):
        acct.buy("AAPL", 1, take_profit=90, stop_loss=110)
    with pytest.raises(pn.InvalidOrder, match="stop_loss 95.00 must be above the entry price 99.50 of a sell"):
        acct.sell("AAPL", 1, limit="99.50", stop_loss=95)
    assert acct.orders() == []


def test_a_short_bracket_places_buy_children_that_hold_cash_once() -> None:
    book = pn.Engine(":memory:", short_selling=True)
    m, acct = Market(book), book.account("alice")
    m.quote("AAPL", "100.00", "100.10", "100.05")
    e = acct.sell("AAPL", 10, take_profit=95, stop_loss=105)
    tp, sl = e.children
    assert (tp.side, tp.limit, sl.stop) == (pn.Side.BUY, D("95.00"), D("105.00"))
    # one reservation: the larger of 10 x 95 (the limit) and 10 x max(105, ask) x 1.05 (the stop)
    assert tp.reserved_cash + sl.reserved_cash == D("1102.50")
    book.check_invariants()


def test_bracket_links_survive_a_reopen(tmp_path) -> None:
    path = str(tmp_path / "book.duckdb")
    book = pn.Engine(path)
    m, acct = Market(book), book.account("alice")
    m.quote("AAPL", "100.00", "100.10", "100.05")
    e = acct.buy("AAPL", 10, take_profit=105, stop_loss=95)
    tp, sl = e.children
    before = book.state_hash()
    book.close()
    book = pn.Engine(path)
    try:
        assert book.state_hash() == before
        acct = book.account("alice")
        e2 = acct.order(e.id)
        assert e2.child_ids == (tp.id, sl.id) and acct.order(tp.id).oco_id == sl.id
        book.on_quote(pn.Quote("AAPL", bid="105.00", ask="105.10", last="105.05", ts=book.now + SEC))
        assert (acct.order(tp.id).status, acct.order(sl.id).status) == (S.FILLED, S.CANCELLED)
        book.check_invariants()
    finally:
        book.close()


# ---------------------------------------------------------------------------------------- OCO
def test_oco_of_two_sell_requests_holds_the_shares_once_and_one_fill_cancels_the_other(
        market: Market, acct: pn.Account) -> None:
    long_position(market, acct)
    a, b = acct.oco(pn.OrderRequest("AAPL", "sell", 10, limit=110), pn.OrderRequest("AAPL", "sell", 10, stop=95))
    assert (a.oco_id, b.oco_id, a.status, b.status) == (b.id, a.id, S.PENDING, S.PENDING)
    assert acct.position("AAPL").reserved_qty == 10
    market.quote("AAPL", "110.00", "110.10", "110.05")
    assert (a.status, b.status, b.reason) == (S.FILLED, S.CANCELLED, f"its OCO partner {a.id} filled")
    acct.engine.check_invariants()


def test_oco_of_two_open_buys_holds_the_larger_reservation(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", "100.00", "100.10", "100.05")
    dip = acct.buy("AAPL", 10, limit=95)  # holds 950
    breakout = acct.buy("AAPL", 10, stop=105)  # holds 10 x 105 x 1.05 = 1102.50
    assert acct.snapshot().reserved == D("2052.50")
    same = acct.oco(dip, breakout.id)
    assert same == (dip, breakout)
    assert acct.snapshot().reserved == D("1102.50")
    market.quote("AAPL", "94.90", "95.00", "94.95")
    assert (dip.status, breakout.status, acct.snapshot().reserved) == (S.FILLED, S.CANCELLED, 0)
    acct.engine.check_invariants()


def test_oco_partial_fill_reduces_the_other_to_the_remaining_quantity() -> None:
    book = pn.Engine(":memory:", fill_model="size")
    m, acct = Market(book), book.account("alice")
    m.quote("AAPL", "99.90", "100.00", "99.95", bid_size=100, ask_size=100)
    acct.buy("AAPL", 10)
    a, b = acct.oco(pn.OrderRequest("AAPL", "sell", 10, limit=110), pn.OrderRequest("AAPL", "sell", 10, stop=95))
    m.quote("AAPL", "110.00", "110.10", "110.05", bid_size=3, ask_size=100)
    assert (a.filled_qty, b.qty, b.status) == (3, 7, S.PENDING)
    assert acct.position("AAPL").reserved_qty == 7
    book.check_invariants()


def test_cancelling_or_expiring_one_of_an_oco_pair_cancels_the_other(market: Market, acct: pn.Account) -> None:
    long_position(market, acct)
    a, b = acct.oco(pn.OrderRequest("AAPL", "sell", 5, limit=110, tif="day"),
                    pn.OrderRequest("AAPL", "sell", 5, stop=95, tif="gtc"))
    c, d = acct.oco(pn.OrderRequest("AAPL", "sell", 5, limit=111, tif="gtc"),
                    pn.OrderRequest("AAPL", "sell", 5, stop=94, tif="gtc"))
    acct.cancel(c)
    assert (d.status, d.reason) == (S.CANCELLED, f"its OCO partner {c.id} was cancelled")
    market.advance(8 * 3600)  # past the 16:00 close: the DAY one expires, and takes its partner along
    assert (a.status, b.status, b.reason) == (S.EXPIRED, S.CANCELLED, f"its OCO partner {a.id} was expired")
    acct.engine.check_invariants()


@pytest.mark.parametrize("second, message", [
    (pn.OrderRequest("MSFT", "sell", 10, limit=110), "two orders of one symbol"),
    (pn.OrderRequest("AAPL", "buy", 10, limit=90), "on the same side"),
    (pn.OrderRequest("AAPL", "sell", 5, limit=110), "the same remaining quantity"),
    (pn.OrderRequest("AAPL", "sell", 10, limit=110, tif="ioc"), "ioc / fok do not apply"),
    ({"symbol": "AAPL"}, "pn.OrderRequest"),
])
def test_oco_refusals_change_nothing(market: Market, acct: pn.Account, second, message) -> None:
    long_position(market, acct)
    market.quote("MSFT", "99.90", "100.00", "99.95")
    before = acct.engine.state_hash()
    with pytest.raises(pn.PaperError, match=message):
        acct.oco(pn.OrderRequest("AAPL", "sell", 10, stop=95), second)
    assert acct.engine.state_hash() == before


def test_the_oco_link_is_journalled_and_survives_a_reopen(tmp_path) -> None:
    path = str(tmp_path / "book.duckdb")
    book = pn.Engine(path)
    m, acct = Market(book), book.account("alice")
    m.quote("AAPL", "100.00", "100.10", "100.05")
    a = acct.buy("AAPL", 10, limit=95, tif="gtc")
    b = acct.buy("AAPL", 10, limit=96, tif="gtc")
    acct.oco(a, b)
    before = book.state_hash()
    book.close()
    con = duckdb.connect(path)
    (row,) = con.execute("SELECT order_id, data FROM journal WHERE kind = 'OrderLinked'").fetchall()
    con.close()
    assert row[0] == a.id and json.loads(row[1])["e"] == {"other_id": b.id, "res_cash": 9_600_000, "res_shares": 0}
    book = pn.Engine(path)
    try:
        assert book.state_hash() == before
        acct = book.account("alice")
        assert acct.order(a.id).oco_id == b.id and acct.snapshot().reserved == D("960.00")
    finally:
        book.close()


def test_replacing_a_member_of_an_oco_pair_keeps_one_reservation(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", "100.00", "100.10", "100.05")
    a, b = acct.oco(pn.OrderRequest("AAPL", "buy", 10, limit=95), pn.OrderRequest("AAPL", "buy", 10, limit=96))
    assert acct.snapshot().reserved == D("960.00")
    acct.replace(a, limit=97)
    assert acct.snapshot().reserved == D("970.00")
    acct.replace(a, limit=90)
    assert acct.snapshot().reserved == D("960.00")
    acct.engine.check_invariants()


# ---------------------------------------------------------------------------------------- IOC / FOK
def test_ioc_limit_fills_when_marketable_and_is_cancelled_when_not(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", "100.00", "100.10", "100.05")
    hit = acct.buy("AAPL", 10, limit="100.10", tif="ioc")
    miss = acct.buy("AAPL", 10, limit=100, tif="ioc")
    assert (hit.status, hit.filled_qty) == (S.FILLED, 10)
    assert (miss.status, miss.filled_qty) == (S.CANCELLED, 0)
    assert miss.reason == "immediate or cancel: not marketable: ask $100.10 is above the limit $100.00"
    assert acct.orders(status="open") == []


def test_ioc_under_the_size_model_fills_the_displayed_size_and_cancels_the_rest() -> None:
    book = pn.Engine(":memory:", fill_model="size")
    m, acct = Market(book), book.account("alice")
    m.quote("AAPL", "100.00", "100.10", "100.05", bid_size=100, ask_size=4)
    o = acct.buy("AAPL", 10, tif="ioc")
    assert (o.status, o.filled_qty, o.reason) == (S.CANCELLED, 4, "immediate or cancel: 6 of 10 not filled on the quote")
    assert acct.snapshot().reserved == 0
    book.check_invariants()


def test_fok_fills_all_on_the_quote_or_nothing() -> None:
    book = pn.Engine(":memory:", fill_model="size")
    m, acct = Market(book), book.account("alice")
    m.quote("AAPL", "100.00", "100.10", "100.05", bid_size=100, ask_size=4)
    killed = acct.buy("AAPL", 10, tif="fok")
    assert (killed.status, killed.filled_qty, killed.reason) == (S.CANCELLED, 0,
                                                                 "fill or kill: the quote shows 4 shares, 10 wanted")
    filled = acct.buy("AAPL", 4, tif="fok")
    assert (filled.status, filled.filled_qty) == (S.FILLED, 4)


def test_ioc_waits_out_its_review_window_then_acts_once() -> None:
    book = pn.Engine(":memory:", review_seconds=5)
    m, acct = Market(book), book.account("alice")
    m.quote("AAPL", "100.00", "100.10", "100.05")
    o = acct.buy("AAPL", 10, limit="99.60", tif="ioc")
    assert o.status is S.PENDING
    m.quote("AAPL", "99.50", "99.60", "99.55", dt=2)  # marketable, but in the review window
    assert o.status is S.PENDING
    m.quote("AAPL", "99.60", "99.70", "99.65", dt=4)  # eligible on this quote: not marketable at 99.70
    assert (o.status, o.filled_qty) == (S.CANCELLED, 0)


def test_ioc_on_a_stale_quote_is_cancelled_with_the_reason(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", "100.00", "100.10", "100.05")
    market.advance(30)
    o = acct.buy("AAPL", 10, tif="ioc")
    assert (o.status, o.reason) == (S.CANCELLED, "immediate or cancel: waiting for a fresh quote, last 30 s old")


def test_replace_to_ioc_acts_at_once_on_a_resting_limit(market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", "100.00", "100.10", "100.05")
    o = acct.buy("AAPL", 10, limit=99)
    acct.replace(o, tif="ioc")
    assert (o.status, o.tif) == (S.CANCELLED, "IOC")


# ---------------------------------------------------------------------------------------- views and the table
def test_views_carry_trail_links_and_the_current_stop(market: Market, acct: pn.Account) -> None:
    long_position(market, acct)
    o = acct.sell("AAPL", 10, trail=1)
    market.quote("AAPL", "101.90", "102.00", "101.95")
    v = o.view()
    assert (v.stop, v.trail, v.trail_pct, v.oco_id, v.parent_id, v.child_ids) == (D("100.95"), D("1.00"), None,
                                                                                   None, None, ())
    assert v.to_dict()["stop"] == D("100.95")
    assert [x.stop for x in acct.snapshot().open_orders] == [D("100.95")]


def test_the_new_events_are_rows_of_the_one_transition_table() -> None:
    from papernb.engine.model import TRANSITIONS

    for event in ("OrderTrailMoved", "OrderLinked", "OrderResized"):
        assert TRANSITIONS[(S.PENDING, event)] is S.PENDING
        assert TRANSITIONS[(S.PARTIALLY_FILLED, event)] is S.PARTIALLY_FILLED
        assert not [k for k in TRANSITIONS if k[1] == event and k[0] not in (S.PENDING, S.PARTIALLY_FILLED)]
