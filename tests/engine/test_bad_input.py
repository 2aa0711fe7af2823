"""The bad-input table: every malformed call raises a PaperError naming the problem and changes nothing.

Each row is one malformed call against the same small book (two accounts, one resting limit, one
partially filled limit, one market order waiting on a stale quote, and FILLED / CANCELLED / REJECTED
orders).  After the call the book's state hash and the account's order list must be exactly as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

import papernb as pn

T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC
SEC = 1_000_000_000


@dataclass
class Book:
    book: pn.Engine
    alice: pn.Account
    bob: pn.Account
    resting: int  # alice: PENDING limit buy AAPL 10 @ 150
    partial: int  # alice: PARTIALLY_FILLED limit buy AAPL 50 @ 200 (20 filled)
    waiting_market: int  # alice: PENDING market buy MSFT (its quote is stale)
    filled: int  # alice: FILLED market buy AAPL 5
    cancelled: int  # alice: CANCELLED limit buy AAPL 1 @ 100
    rejected: int  # alice: REJECTED buy of a never-quoted symbol
    bobs: int  # bob: PENDING limit buy AAPL 1 @ 100


@pytest.fixture
def ctx() -> Book:
    book = pn.Engine(":memory:", fill_model="size")
    alice, bob = book.account("alice"), book.account("bob")
    book.on_quote(pn.Quote("MSFT", bid=399.9, ask=400.1, last=400, ts=T0, bid_size=100, ask_size=100))
    book.on_quote(pn.Quote("AAPL", bid=189.9, ask=190.1, last=190, ts=T0 + 10 * SEC, bid_size=100, ask_size=20))
    resting = alice.buy("AAPL", 10, limit=150, tif="gtc")
    partial = alice.buy("AAPL", 50, limit=200, tif="gtc")
    waiting = alice.buy("MSFT", 3, tif="gtc")
    book.on_quote(pn.Quote("AAPL", bid=189.9, ask=190.1, last=190, ts=T0 + 11 * SEC, bid_size=100, ask_size=5))
    # that quote fills 5 more of `partial` and has nothing left; buy 5 at market where there is room
    book.on_quote(pn.Quote("IBM", bid=149.9, ask=150.1, last=150, ts=T0 + 11 * SEC, bid_size=100, ask_size=100))
    filled = alice.buy("IBM", 5)
    cancelled = alice.buy("AAPL", 1, limit=100, tif="gtc")
    alice.cancel(cancelled.id)
    rejected = alice.buy("NEVERQ", 1)
    bobs = bob.buy("AAPL", 1, limit=100, tif="gtc")
    assert resting.status is pn.OrderStatus.PENDING
    assert partial.status is pn.OrderStatus.PARTIALLY_FILLED and partial.filled_qty == 25
    assert waiting.status is pn.OrderStatus.PENDING and waiting.reason.startswith("waiting for a fresh quote")
    assert filled.status is pn.OrderStatus.FILLED
    assert cancelled.status is pn.OrderStatus.CANCELLED
    assert rejected.status is pn.OrderStatus.REJECTED
    assert bobs.status is pn.OrderStatus.PENDING
    return Book(book, alice, bob, resting.id, partial.id, waiting.id, filled.id, cancelled.id, rejected.id, bobs.id)


Call = Callable[[Book], Any]
CASES: list[tuple[str, Call, type[pn.PaperError], str]] = []


def _add(name: str, fn: Call, exc: type[pn.PaperError], pattern: str) -> None:
    CASES.append((name, fn, exc, pattern))


# --- quantities -------------------------------------------------------------------------------
for _label, _qty, _pat in [
    ("qty_zero", 0, r"quantity must be at least 1 share, was 0"),
    ("qty_negative", -1, r"quantity must be at least 1 share, was -1"),
    ("qty_fraction", 1.5, r"quantity must be a whole number.*1\.5"),
    ("qty_string", "10", r"quantity must be a whole number.*'10'"),
    ("qty_bool", True, r"quantity must be a whole number.*True"),
    ("qty_none", None, r"quantity must be a whole number.*None"),
    ("qty_absurd", 10**12, r"quantity 1,000,000,000,000 is absurdly large"),
    ("qty_decimal", Decimal("10"), r"quantity must be a whole number.*Decimal\('10'\)"),
]:
    _add(f"buy_{_label}", lambda c, q=_qty: c.alice.buy("AAPL", q), pn.InvalidOrder, _pat)
    _add(f"limit_sell_{_label}", lambda c, q=_qty: c.alice.sell("AAPL", q, limit=190), pn.InvalidOrder, _pat)
    if _qty is not None:  # replace(qty=None) means "keep the quantity"
        _add(f"replace_{_label}", lambda c, q=_qty: c.alice.replace(c.resting, qty=q), pn.InvalidOrder,
             _pat.replace("quantity", "new quantity"))

# --- prices -----------------------------------------------------------------------------------
for _label, _px, _pat in [
    ("nan", float("nan"), r"limit price must be a finite number"),
    ("inf", float("inf"), r"limit price must be a finite number"),
    ("negative", -1, r"limit price must be positive, was -1"),
    ("zero", 0, r"limit price must be positive, was 0"),
    ("text", "abc", r"limit price must be a number, was 'abc'"),
    ("absurd", 1e30, r"limit price is absurdly large"),
    ("off_tick", 189.123, r"limit price .*(whole cents|more than 4 decimals).*189\.123"),
    ("too_many_decimals", 0.00001, r"limit price has more than 4 decimals"),
]:
    _add(f"buy_limit_{_label}", lambda c, p=_px: c.alice.buy("AAPL", 1, limit=p), pn.InvalidOrder, _pat)
    _add(f"replace_limit_{_label}", lambda c, p=_px: c.alice.replace(c.resting, limit=p), pn.InvalidOrder, _pat)
    _add(f"sell_stop_{_label}", lambda c, p=_px: c.alice.sell("AAPL", 1, stop=p), pn.InvalidOrder,
         _pat.replace("limit price", "stop price"))

# --- side, type, time in force, price/type agreement ---------------------------------------------
_add("submit_side_hold", lambda c: c.alice.submit("AAPL", "hold", 1, type="market"), pn.InvalidOrder,
     r"side must be one of buy, sell; was 'hold'")
_add("submit_side_none", lambda c: c.alice.submit("AAPL", None, 1, type="market"), pn.InvalidOrder,
     r"side must be one of buy, sell; was None")
_add("submit_type_twap", lambda c: c.alice.submit("AAPL", "buy", 1, type="twap"), pn.InvalidOrder,
     r"order type must be one of market, limit, stop, stop_limit, trailing_stop; was 'twap'")
_add("buy_tif_gtd", lambda c: c.alice.buy("AAPL", 1, limit=150, tif="gtd"), pn.InvalidOrder,
     r"time in force must be one of day, gtc, ioc, fok; was 'gtd'")
_add("replace_tif_gtd", lambda c: c.alice.replace(c.resting, tif="gtd"), pn.InvalidOrder,
     r"time in force must be one of day, gtc, ioc, fok; was 'gtd'")
_add("buy_stop_ioc", lambda c: c.alice.buy("AAPL", 1, stop=200, tif="ioc"), pn.InvalidOrder,
     r"time in force ioc is for market and limit orders, not stop orders")
_add("sell_trail_and_trail_pct", lambda c: c.alice.sell("AAPL", 1, trail=1, trail_pct=2), pn.InvalidOrder,
     r"a trailing stop needs trail= \(dollars\) or trail_pct= \(percent\), one of them")
_add("sell_trail_pct_100", lambda c: c.alice.sell("AAPL", 1, trail_pct=100), pn.InvalidOrder,
     r"trail_pct must be more than 0 and less than 100")
_add("limit_with_trail", lambda c: c.alice.submit("AAPL", "buy", 1, type="limit", limit=150, trail=1),
     pn.InvalidOrder, r"trail= and trail_pct= are for trailing stop orders, not limit orders")
_add("bracket_stop_loss_above_entry", lambda c: c.alice.buy("AAPL", 1, limit=150, stop_loss=151),
     pn.InvalidOrder, r"stop_loss 151.00 must be below the entry price 150.00 of a buy")
_add("oco_of_one_order_twice", lambda c: c.alice.oco(c.resting, c.resting), pn.InvalidOrder,
     r"an OCO pair needs two orders")
_add("submit_limit_without_limit", lambda c: c.alice.submit("AAPL", "buy", 1, type="limit"), pn.InvalidOrder,
     r"a limit order needs a limit price")
_add("submit_stop_limit_without_limit", lambda c: c.alice.submit("AAPL", "buy", 1, type="stop_limit", stop=200),
     pn.InvalidOrder, r"a stop-limit order needs a limit price")
_add("submit_stop_without_stop", lambda c: c.alice.submit("AAPL", "sell", 1, type="stop"), pn.InvalidOrder,
     r"a stop order needs a stop price")
_add("submit_market_with_limit", lambda c: c.alice.submit("AAPL", "buy", 1, type="market", limit=190),
     pn.InvalidOrder, r"a market order takes no limit price")
_add("submit_market_with_stop", lambda c: c.alice.submit("AAPL", "buy", 1, type="market", stop=190),
     pn.InvalidOrder, r"a market order takes no stop price")
_add("submit_limit_with_stop", lambda c: c.alice.submit("AAPL", "buy", 1, type="limit", limit=190, stop=191),
     pn.InvalidOrder, r"a limit order takes no stop price")

# --- symbols ------------------------------------------------------------------------------------
for _label, _sym, _pat in [
    ("empty", "", r"'' is not a valid symbol"),
    ("blank", "   ", r"'   ' is not a valid symbol"),
    ("sql", "AAPL; DROP TABLE orders", r"'AAPL; DROP TABLE orders' is not a valid symbol"),
    ("html", "<img src=x onerror=alert(1)>", r"'<img src=x onerror=alert\(1\)>' is not a valid symbol"),
    ("too_long", "A" * 40, r"'A{40}' is not a valid symbol"),
    ("none", None, r"symbol must be text like 'AAPL', was None"),
    ("int", 42, r"symbol must be text like 'AAPL', was 42"),
]:
    _add(f"buy_symbol_{_label}", lambda c, s=_sym: c.alice.buy(s, 1), pn.InvalidInput, _pat)
    _add(f"submit_symbol_{_label}", lambda c, s=_sym: c.alice.submit(s, "sell", 1, type="limit", limit=190),
         pn.InvalidInput, _pat)

# --- order ids and order states -------------------------------------------------------------------
_add("cancel_unknown_id", lambda c: c.alice.cancel(999), pn.UnknownOrder, r"there is no order 999 in account alice")
_add("replace_unknown_id", lambda c: c.alice.replace(999, qty=1), pn.UnknownOrder,
     r"there is no order 999 in account alice")
_add("cancel_other_accounts_order", lambda c: c.alice.cancel(c.bobs), pn.UnknownOrder,
     r"there is no order \d+ in account alice")
_add("replace_other_accounts_order", lambda c: c.alice.replace(c.bobs, qty=2), pn.UnknownOrder,
     r"there is no order \d+ in account alice")
_add("cancel_id_as_text", lambda c: c.alice.cancel(str(c.resting)), pn.UnknownOrder, r"order id must be an int")
_add("cancel_id_none", lambda c: c.alice.cancel(None), pn.UnknownOrder, r"order id must be an int, was None")
_add("cancel_id_bool", lambda c: c.alice.cancel(True), pn.UnknownOrder, r"order id must be an int, was True")
for _label, _attr, _status in [("filled", "filled", "FILLED"), ("cancelled", "cancelled", "CANCELLED"),
                               ("rejected", "rejected", "REJECTED")]:
    _add(f"cancel_{_label}_order", lambda c, a=_attr: c.alice.cancel(getattr(c, a)), pn.OrderNotOpen,
         rf"order \d+ is already {_status}")
    _add(f"replace_{_label}_order", lambda c, a=_attr: c.alice.replace(getattr(c, a), qty=7), pn.OrderNotOpen,
         rf"order \d+ is already {_status}")
_add("replace_qty_equal_to_filled", lambda c: c.alice.replace(c.partial, qty=25), pn.InvalidOrder,
     r"order \d+ has 25 shares filled; the new total must exceed that")
_add("replace_qty_below_filled", lambda c: c.alice.replace(c.partial, qty=10), pn.InvalidOrder,
     r"order \d+ has 25 shares filled; the new total must exceed that")
_add("replace_limit_on_market_order", lambda c: c.alice.replace(c.waiting_market, limit=400), pn.InvalidOrder,
     r"order \d+ is a market order: it has no limit price to change")
_add("replace_stop_on_limit_order", lambda c: c.alice.replace(c.resting, stop=140), pn.InvalidOrder,
     r"order \d+ is a limit order: it has no stop price to change")

# --- account names and reset ----------------------------------------------------------------------
for _label, _name, _pat in [
    ("empty", "", r"account name '' must be 1-32 of a-z, 0-9, _ and -"),
    ("punctuation", "Bad Name!", r"account name 'Bad Name!' must be 1-32 of a-z, 0-9, _ and -"),
    ("too_long", "x" * 33, r"account name 'x{33}' must be 1-32"),
    ("none", None, r"account name must be text, was None"),
]:
    _add(f"account_name_{_label}", lambda c, n=_name: c.book.account(n), pn.InvalidInput, _pat)
_add("reset_negative_cash", lambda c: c.alice.reset(cash=-5), pn.InvalidInput, r"cash cannot be negative, was -5")
_add("reset_nan_cash", lambda c: c.alice.reset(cash=float("nan")), pn.InvalidInput, r"cash must be a finite number")
_add("reset_text_cash", lambda c: c.alice.reset(cash="lots"), pn.InvalidInput, r"cash must be a number, was 'lots'")
_add("reset_absurd_cash", lambda c: c.alice.reset(cash=1e30), pn.InvalidInput, r"cash is absurdly large")
_add("client_order_id_empty", lambda c: c.alice.buy("AAPL", 1, limit=150, client_order_id=""), pn.InvalidOrder,
     r"client_order_id must be 1-64 printable characters")

# --- advance --------------------------------------------------------------------------------------
_add("advance_float_ts", lambda c: c.book.advance(1.7e18), pn.InvalidInput, r"advance time must be an aware")
_add("advance_seconds_as_ns", lambda c: c.book.advance(1_704_205_800), pn.InvalidInput,
     r"advance time 1704205800 is outside 1990-2100")


@pytest.mark.parametrize(("call", "exc", "pattern"), [pytest.param(fn, exc, pat, id=name)
                                                       for name, fn, exc, pat in CASES])
def test_malformed_call_raises_and_changes_nothing(ctx: Book, call: Call, exc: type[pn.PaperError],
                                                   pattern: str) -> None:
    before = ctx.book.state_hash()
    orders_before = [(o.id, o.status, o.filled_qty, o.qty, o.limit) for o in ctx.alice.orders(epoch="all")]
    accounts_before = ctx.book.accounts()
    snap_before = ctx.alice.snapshot()
    with pytest.raises(exc) as info:
        call(ctx)
    assert isinstance(info.value, pn.PaperError)
    assert re.search(pattern, str(info.value)), f"message {str(info.value)!r} does not match {pattern!r}"
    assert ctx.book.state_hash() == before
    assert [(o.id, o.status, o.filled_qty, o.qty, o.limit) for o in ctx.alice.orders(epoch="all")] == orders_before
    assert ctx.book.accounts() == accounts_before
    after = ctx.alice.snapshot()
    assert (after.cash, after.reserved, after.epoch) == (snap_before.cash, snap_before.reserved, snap_before.epoch)
    ctx.book.check_invariants()


def test_client_order_id_reused_with_other_parameters_raises_and_keeps_only_the_first(ctx: Book) -> None:
    first = ctx.alice.buy("AAPL", 1, limit=150, tif="gtc", client_order_id="k1")
    before = ctx.book.state_hash()
    n_before = len(ctx.alice.orders(epoch="all"))
    with pytest.raises(pn.DuplicateClientOrderId, match=rf"'k1' was already used for order {first.id}"):
        ctx.alice.buy("AAPL", 2, limit=150, tif="gtc", client_order_id="k1")
    assert ctx.book.state_hash() == before
    assert len(ctx.alice.orders(epoch="all")) == n_before
    assert ctx.alice.buy("AAPL", 1, limit=150, tif="gtc", client_order_id="k1") is first
    assert ctx.book.state_hash() == before


def test_table_covers_every_listed_kind_of_bad_input() -> None:
    names = {name for name, *_ in CASES}
    assert len(names) == len(CASES)  # ids are unique
    assert len(CASES) >= 100


# --- Quote construction ------------------------------------------------------------------------------
QUOTE_CASES = [
    ("bid_above_ask", dict(bid=191, ask=190, last=190), r"bid 191(\.0+)? is above ask 190"),
    ("negative_bid", dict(bid=-1, ask=190), r"bid must be positive"),
    ("negative_ask", dict(bid=189, ask=-190), r"ask must be positive"),
    ("negative_last", dict(last=-5), r"last must be positive"),
    ("zero_last_only", dict(last=0), r"last must be positive"),
    ("nan_bid", dict(bid=float("nan"), ask=190), r"bid must be a finite number"),
    ("nan_last", dict(last=float("nan")), r"last must be a finite number"),
    ("inf_ask", dict(bid=189, ask=float("inf")), r"ask must be a finite number"),
    ("text_last", dict(last="abc"), r"last must be a number, was 'abc'"),
    ("naive_datetime_ts", dict(last=190, ts=datetime(2024, 1, 2, 14, 30)), r"quote ts must be timezone-aware"),
    ("float_ts", dict(last=190, ts=1.7042058e18), r"quote ts must be an aware datetime or int nanoseconds"),
    ("seconds_passed_as_ns", dict(last=190, ts=1_704_205_800), r"quote ts 1704205800 is outside 1990-2100"),
    ("year_2200_ts", dict(last=190, ts=7_258_118_400 * SEC), r"outside 1990-2100"),
    ("absurd_last", dict(last=1e30), r"last is absurdly large"),
    ("absurd_ask", dict(bid=1, ask=1e30), r"ask is absurdly large"),
    ("no_prices", dict(ts=T0), r"needs a last price or both bid and ask"),
    ("bid_only", dict(bid=189, ts=T0), r"needs a last price or both bid and ask"),
    ("ask_only_zero_bid", dict(bid=0, ask=190, ts=T0), r"needs a last price or both bid and ask"),
    ("fractional_size", dict(last=190, bid_size=1.5), r"bid_size must be a whole number"),
    ("negative_size", dict(last=190, ask_size=-3), r"ask_size must be a whole number"),
]


@pytest.mark.parametrize(("kwargs", "pattern"), [pytest.param(kw, pat, id=name) for name, kw, pat in QUOTE_CASES])
def test_malformed_quote_raises_bad_quote(kwargs: dict[str, Any], pattern: str) -> None:
    with pytest.raises(pn.BadQuote) as info:
        pn.Quote("AAPL", **kwargs)
    assert re.search(pattern, str(info.value)), f"message {str(info.value)!r} does not match {pattern!r}"


@pytest.mark.parametrize("symbol", ["", "   ", "AAPL; DROP TABLE orders", "<b>", "A" * 33, None, 42])
def test_quote_with_bad_symbol_raises_bad_quote(symbol: Any) -> None:
    with pytest.raises(pn.BadQuote, match="symbol"):
        pn.Quote(symbol, last=190, ts=T0)


def test_quote_with_aware_datetime_ts_is_accepted_as_ns() -> None:
    q = pn.Quote("aapl", bid="189.90", ask=190.1, ts=datetime(2024, 1, 2, 14, 30, tzinfo=UTC))
    assert (q.symbol, q.ts, q.bid, q.ask, q.last, q.mark) == ("AAPL", T0, Decimal("189.9"), Decimal("190.1"), None,
                                                               Decimal("190"))
