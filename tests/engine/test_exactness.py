"""Every amount exact, on every path: cash never negative, displayed size used once, stops re-armed,
shorts never selling held shares, exact slippage and SQL, the number reader, reset, waiting reasons."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import duckdb
import numpy as np
import pytest

import papernb as pn

from .conftest import SEC, T0, Market


def _book(**settings: object) -> tuple[pn.Engine, Market, pn.Account]:
    book = pn.Engine(":memory:", **settings)
    return book, Market(book), book.account("alice")


# -- cash never goes negative ---------------------------------------------------------------------
def test_a_sale_whose_commission_exceeds_proceeds_and_cash_is_refused_and_cash_stays_positive() -> None:
    book, m, a = _book(starting_cash="1.60", commission={"minimum": "1"})
    m.quote("PNY", "0.0009", "0.0011", "0.001")
    buy = a.buy("PNY", 100)
    assert buy.status == "FILLED" and a.snapshot().cash == D("0.4900")  # 100 x 0.0011 + 1.00
    sell = a.sell("PNY", 100)  # proceeds $0.09, commission $1.00, cash $0.49: would end at -$0.42
    assert sell.status == "REJECTED"
    assert sell.reason.startswith("not enough cash for the commission")
    assert a.snapshot().cash == D("0.4900") and a.position("PNY").qty == 100
    book.check_invariants()


def test_a_sale_that_cannot_pay_its_commission_at_the_fill_is_rejected_there() -> None:
    book, m, a = _book(starting_cash="2.20", commission={"minimum": "1"}, review_seconds=2)
    m.quote("PNY", "0.0100", "0.0101", "0.0100")
    a.buy("PNY", 100)
    m.quote("PNY", "0.0100", "0.0101", "0.0100", dt=3)  # 1.01 + 1.00 commission: cash 0.19
    assert a.snapshot().cash == D("0.19")
    sell = a.sell("PNY", 100)  # at a bid of 0.0100 the proceeds would pay the commission
    assert sell.status == "PENDING"
    m.quote("PNY", "0.0050", "0.0051", "0.0050", dt=3)  # now $0.50 for a $1.00 commission
    assert sell.status == "REJECTED" and sell.reason.startswith("insufficient buying power at fill")
    assert a.snapshot().cash == D("0.19")
    book.check_invariants()


# -- the size model uses each displayed share once -------------------------------------------------
def test_orders_on_one_quote_share_its_displayed_size_first_in_first_filled() -> None:
    book, m, a = _book(fill_model="size")
    m.quote("AAPL", 189.90, 190.10, 190.00, bid_size=100, ask_size=500)
    orders = [a.buy("AAPL", 100, limit=189, tif="gtc") for _ in range(3)]
    m.quote("AAPL", 188.90, 189.00, 188.95, bid_size=100, ask_size=100)  # 100 shown: 100 to the first
    assert [o.filled_qty for o in orders] == [100, 0, 0]
    assert [o.status for o in orders] == ["FILLED", "PENDING", "PENDING"]
    m.quote("AAPL", 188.90, 189.00, 188.95, bid_size=100, ask_size=150)
    assert [o.filled_qty for o in orders] == [100, 100, 50]
    book.check_invariants()


def test_a_replace_does_not_fill_again_on_size_the_same_quote_already_gave() -> None:
    book, m, a = _book(fill_model="size")
    m.quote("AAPL", 189.90, 190.10, 190.00, bid_size=100, ask_size=40)
    o = a.buy("AAPL", 100, limit=190.10, tif="gtc")
    assert o.filled_qty == 40
    a.replace(o, qty=90)  # matched again on the same quote: its 40 shares are gone
    assert o.filled_qty == 40 and o.status == "PARTIALLY_FILLED"
    other = a.buy("AAPL", 10)  # a market buy on that quote waits too
    assert other.filled_qty == 0
    m.quote("AAPL", 189.90, 190.10, 190.00, bid_size=100, ask_size=60)
    assert (o.filled_qty, other.filled_qty) == (90, 10)


# -- stops: a new stop re-arms a triggered order ----------------------------------------------------
def test_a_triggered_stop_limit_given_a_new_stop_waits_for_it_like_a_new_order() -> None:
    book, m, a = _book()
    m.quote("XYZ", 99.90, 100.10, 100.00)
    a.buy("XYZ", 10)
    o = a.sell("XYZ", 10, stop=95, limit=94.50, tif="gtc")
    m.quote("XYZ", 93.90, 94.10, 94.00)  # last 94 <= 95: triggered; bid 93.90 < 94.50: rests
    assert (o.triggered, o.status) == (True, "PENDING")
    m.quote("XYZ", 92.95, 93.05, 93.00)
    a.replace(o, stop=90, limit=89)  # a fresh order with these prices would wait at 93
    assert (o.triggered, o.status, o.filled_qty) == (False, "PENDING", 0)
    m.quote("XYZ", 91.95, 92.05, 92.00)
    assert o.status == "PENDING"
    m.quote("XYZ", 89.95, 90.05, 90.00)  # the new stop: triggers, fills at the bid (above the limit)
    assert (o.triggered, o.status, o.avg_fill_price) == (True, "FILLED", D("89.95"))


def test_a_new_limit_alone_keeps_a_triggered_stop_limit_triggered() -> None:
    book, m, a = _book()
    m.quote("XYZ", 99.90, 100.10, 100.00)
    a.buy("XYZ", 10)
    o = a.sell("XYZ", 10, stop=95, limit=94.50, tif="gtc")
    m.quote("XYZ", 93.90, 94.10, 94.00)
    a.replace(o, limit=93.90)  # marketable now: fills at the bid
    assert (o.triggered, o.status, o.avg_fill_price) == (True, "FILLED", D("93.90"))


def test_a_triggered_plain_stop_given_a_new_stop_is_rearmed() -> None:
    book, m, a = _book(review_seconds=2)
    m.quote("XYZ", 99.90, 100.10, 100.00)
    o = a.buy("XYZ", 5, stop=100, tif="gtc")  # through at acceptance, but in its review window
    m.quote("XYZ", 100.90, 101.10, 101.00, dt=3)
    assert o.status == "FILLED"
    p = a.buy("XYZ", 5, stop=105, tif="gtc")
    m.quote("XYZ", 105.90, 106.10, 106.00, dt=0.5)  # triggers, but still in the review window? no: 0.5 s
    assert p.status == "PENDING"
    a.replace(p, stop=110)  # re-armed: 106 is below the new stop
    m.quote("XYZ", 106.90, 107.10, 107.00, dt=3)
    assert (p.status, p.triggered) == ("PENDING", False)
    m.quote("XYZ", 110.90, 111.10, 111.00, dt=1)
    assert p.status == "FILLED"


# -- shorts never sell shares another order holds ----------------------------------------------------
def test_a_resting_short_sale_waits_while_another_sell_holds_the_long_shares() -> None:
    book, m, a = _book(short_selling=True)
    m.quote("AAPL", 199.90, 200.10, 200.00)
    short = a.sell("AAPL", 5, limit=205, tif="gtc")  # flat: a short sale, resting
    a.buy("AAPL", 10)  # now long 10
    held = a.sell("AAPL", 10, limit=210, tif="gtc")  # holds all 10
    m.quote("AAPL", 205.00, 205.20, 205.10)  # reaches the short sale's limit
    assert short.status == "PENDING" and short.filled_qty == 0
    assert short.reason.startswith("waiting: 10 AAPL shares are held")
    pos = a.position("AAPL")
    assert (pos.qty, pos.reserved_qty) == (10, 10)
    book.check_invariants()
    m.quote("AAPL", 210.00, 210.20, 210.10)  # in id order: the short sale still waits, the held sale fills
    assert held.status == "FILLED" and short.status == "PENDING"
    m.quote("AAPL", 209.00, 209.20, 209.10)  # the next quote: the short sale (flat now) fills
    assert short.status == "FILLED" and short.avg_fill_price == D("205")  # a resting limit: at its limit
    assert a.position("AAPL").qty == -5
    trips = a.trades()
    assert len(trips) == 1 and trips[0].net_pl == D("99.00")  # 10 x (210 - 200.10)
    book.check_invariants()


# -- exact prices, slippage and SQL ----------------------------------------------------------------
@pytest.mark.parametrize("text", ["189,50", "1_0", "١٢٣", "12,34.5"])
def test_a_comma_is_only_a_thousands_separator_and_odd_digits_are_refused(text: str) -> None:
    book, m, a = _book()
    m.quote("AAPL", 189.90, 190.10, 190.00)
    before = book.state_hash()
    with pytest.raises(pn.InvalidOrder, match="limit price must be a number"):
        a.buy("AAPL", 1, limit=text)
    assert book.state_hash() == before


def test_thousands_separators_and_numpy_numbers_are_read_exactly() -> None:
    book, m, a = _book(starting_cash=10_000_000)
    m.quote("BRK.A", 612_000, 612_400, 612_200)
    o = a.buy("BRK.A", np.int64(2), limit="$1,234.50", tif="gtc")
    assert (o.qty, o.limit) == (2, D("1234.50"))
    assert a.order(np.int64(o.id)) is o
    a.replace(np.int32(o.id), qty=np.int16(3), limit=np.float64(1234.6))
    assert (o.qty, o.limit) == (3, D("1234.60"))
    with pytest.raises(pn.InvalidOrder, match="whole number"):
        a.buy("BRK.A", np.float64(2.0))
    with pytest.raises(pn.InvalidOrder, match="whole number"):
        a.buy("BRK.A", np.bool_(True))


def test_slippage_is_whole_units_rounded_against_the_trader() -> None:
    book, m, a = _book(fill_model="slippage(2.5)")
    m.quote("AAPL", 100.01, 100.03, 100.02)
    o = a.buy("AAPL", 1)
    # 100.03 x 2.5 bp = 0.02500750: up to 0.0251 (units of $0.0001), never down
    assert o.avg_fill_price == D("100.0551")
    s = a.sell("AAPL", 1)
    assert s.avg_fill_price == D("99.9849")  # 100.01 - 0.0251 (0.02500250 rounded up to a unit)


def test_the_book_files_views_give_exact_decimals(tmp_path: Path) -> None:
    path = str(tmp_path / "b.duckdb")
    book = pn.Engine(path)
    m, a = Market(book), book.account("alice")
    for px in ("0.10", "0.20"):
        m.quote("PNY", px, px, px)
        a.buy("PNY", 1)
    book.close()
    con = duckdb.connect(path)
    (total,) = con.execute("SELECT sum(price) FROM fills").fetchone()
    con.close()
    assert total == D("0.3000")  # not 0.30000000000000004


# -- reset closes positions, journalled --------------------------------------------------------------
def test_reset_closes_positions_at_their_marks_and_ends_their_round_trips(tmp_path: Path) -> None:
    path = str(tmp_path / "b.duckdb")
    book = pn.Engine(path)
    m, a = Market(book), book.account("alice")
    m.quote("AAPL", 189.90, 190.10, 190.00)
    a.buy("AAPL", 10)
    resting = a.sell("AAPL", 5, limit=200)
    m.quote("AAPL", 191.90, 192.10, 192.00)
    a.reset()
    assert resting.status == "CANCELLED" and resting.reason == "account reset"
    assert a.epoch == 2 and a.positions() == [] and a.snapshot().cash == D("100000")
    (trip,) = a.trades(epoch=1)
    assert (trip.qty, trip.avg_exit, trip.net_pl, trip.verdict) == (10, D("192"), D("19.00"), "worked")
    h = book.state_hash()
    book.close()
    again = pn.Engine(path)
    assert again.state_hash() == h
    again.close()


# -- waiting reasons ----------------------------------------------------------------------------------
def test_a_resting_limit_stops_waiting_for_a_fresh_quote_once_fresh_quotes_arrive() -> None:
    book, m, a = _book()
    m.quote("AAPL", 189.90, 190.10, 190.00)
    o = a.buy("AAPL", 10, limit=189)
    m.advance(10)  # the quote is 10 s old now
    stale = pn.Quote("AAPL", bid="188.90", ask="189.00", last="188.95", ts=m.t - 10 * SEC)
    book.on_quote(stale)  # reaches the limit, but is 10 s old
    assert o.status == "PENDING" and o.reason.startswith("waiting for a fresh quote")
    m.quote("AAPL", 189.40, 189.60, 189.50)  # fresh, not at the limit: waiting for its price now
    assert o.status == "PENDING" and o.reason is None


def test_an_engine_with_a_clock_never_records_a_negative_quote_age() -> None:
    now = [T0]
    book = pn.Engine(":memory:", clock=lambda: now[0])
    a = book.account("alice")
    book.on_quote(pn.Quote("AAPL", bid=189.9, ask=190.1, last=190, ts=T0 + 3 * SEC))  # stamped in the future
    o = a.buy("AAPL", 1)
    (f,) = a.fills()
    assert o.status == "FILLED" and f.quote_age_ns == 0


# -- doors of the engine (issue 11, section 3) --------------------------------------------------------
@pytest.mark.parametrize("bad", [None, {"symbol": "AAPL", "last": 1}, ("AAPL", 1), "AAPL"])
def test_on_quote_with_something_that_is_not_a_quote_is_a_bad_quote_and_changes_nothing(bad: object) -> None:
    book, m, a = _book()
    m.quote("AAPL", 189.90, 190.10, 190.00)
    before = book.state_hash()
    with pytest.raises(pn.BadQuote, match="not a pn.Quote|on_quote takes a pn.Quote"):
        book.on_quote(bad)  # type: ignore[arg-type]
    with pytest.raises(pn.BadQuote, match="not a pn.Quote"):
        book.on_quotes([bad])  # type: ignore[list-item]
    assert book.state_hash() == before


@pytest.mark.parametrize("name", ["ſam", "\u212aelvin", "straße", "ali ce", ""])
def test_account_names_are_ascii_only_and_never_fold_into_someone_elses(name: str) -> None:
    book, m, a = _book()
    book.account("sam")
    with pytest.raises(pn.InvalidInput, match="must be 1-32 of a-z"):
        book.account(name)
    assert book.accounts() == ["alice", "sam"]


@pytest.mark.parametrize("symbol", ["ßAP", "\u212aO", "AA PL"])
def test_symbols_are_ascii_only(symbol: str) -> None:
    book, m, a = _book()
    with pytest.raises(pn.InvalidInput, match="is not a valid symbol"):
        a.buy(symbol, 1)
    with pytest.raises(pn.BadQuote, match="is not a valid symbol"):
        pn.Quote(symbol, last=1)


def test_status_filters_take_open_in_a_list_as_well() -> None:
    book, m, a = _book()
    m.quote("AAPL", 189.90, 190.10, 190.00)
    done = a.buy("AAPL", 1)
    rest = a.buy("AAPL", 1, limit=100)
    assert a.orders(status=["open"]) == [rest]
    assert a.orders(status=["open", "filled"]) == [done, rest]
    assert a.orders(status=("PENDING",)) == [rest]
    with pytest.raises(pn.InvalidOrder, match="status must be one of"):
        a.orders(status=["opened"])
