"""Normalisation and the wire format: one gate for every quote, exact both ways."""

from __future__ import annotations

import json
import math
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papernb.errors import BadQuote, InvalidInput
from papernb.feed import wire
from papernb.feed.wire import decode, encode, normalize
from papernb.money import MAX_UNITS, read_decimal
from papernb.quote import Quote

TS = 1_732_550_400_000_000_000  # 2024-11-25T16:00:00Z

VALID = [
    {"symbol": "AAPL", "bid": "189.49", "ask": "189.51", "last": "189.50", "ts": TS},
    {"symbol": " msft ", "last": 420, "bid_size": 300, "ask_size": "1,200", "change_pct": "-0.35"},
    {"symbol": "/ES", "bid": 5950.25, "ask": 5950.5, "ts": TS, "src": "sim", "seq": 7},
    {"symbol": "BRK/B", "last": Decimal("455.1234"), "bid": "0", "ask": None},
    {"symbol": "$SPX.X", "last": "0.00015", "change_pct": 1.5},  # a fifth decimal rounds half-even: 0.0002
]


@pytest.mark.parametrize("raw", VALID, ids=[r["symbol"].strip() for r in VALID])
def test_normalize_valid_dict_equals_quote_constructor(raw: dict) -> None:
    fields = {k: v for k, v in raw.items() if k != "symbol"}
    assert normalize(raw) == Quote(raw["symbol"], **fields)


BAD = {
    "crossed": {"symbol": "AAPL", "bid": "10.02", "ask": "10.01"},
    "negative bid": {"symbol": "AAPL", "bid": "-1", "ask": "10"},
    "zero last": {"symbol": "AAPL", "last": 0},
    "nan last": {"symbol": "AAPL", "last": math.nan},
    "inf ask": {"symbol": "AAPL", "bid": 1, "ask": math.inf},
    "nan string": {"symbol": "AAPL", "last": "NaN"},
    "no prices": {"symbol": "AAPL", "bid": "10"},
    "missing symbol": {"last": "10"},
    "bad symbol": {"symbol": "AA PL", "last": "10"},
    "symbol not text": {"symbol": 42, "last": "10"},
    "absurd price": {"symbol": "AAPL", "last": "1e30"},
    "seconds as ns": {"symbol": "AAPL", "last": "10", "ts": 1_732_550_400},
    "float ts": {"symbol": "AAPL", "last": "10", "ts": 1.7e18},
    "bool seq": {"symbol": "AAPL", "last": "10", "seq": True},
    "fractional size": {"symbol": "AAPL", "last": "10", "bid_size": 1.5},
    "negative size": {"symbol": "AAPL", "last": "10", "ask_size": -100},
    "bool price": {"symbol": "AAPL", "last": True},
    "list price": {"symbol": "AAPL", "last": [1]},
    "1 MB symbol": {"symbol": "A" * 1_000_000, "last": "10"},
    "1 MB price": {"symbol": "AAPL", "last": "9" * 1_000_000},
    "1 MB src": {"symbol": "AAPL", "last": "10", "src": "x" * 1_000_000},
    "nan change": {"symbol": "AAPL", "last": "10", "change_pct": "NaN"},
    "huge change": {"symbol": "AAPL", "last": "10", "change_pct": "1e9"},
}


@pytest.mark.parametrize("raw", BAD.values(), ids=BAD.keys())
def test_normalize_bad_dict_raises_badquote(raw: dict) -> None:
    with pytest.raises(BadQuote):
        normalize(raw)


def test_encode_writes_decimal_strings_ns_ts_and_nulls() -> None:
    q = Quote("AAPL", bid="189.49", ask="189.5", last="189.4975", ts=TS, bid_size=300, change_pct="1.25")
    assert json.loads(encode(q, src="sim", epoch=5, seq=9)) == {
        "symbol": "AAPL", "bid": "189.49", "ask": "189.50", "last": "189.4975", "change_pct": "1.25",
        "bid_size": 300, "ask_size": None, "ts": TS, "src": "sim", "epoch": 5, "seq": 9}


def test_encode_then_decode_gives_back_an_equal_quote_and_its_epoch() -> None:
    q = Quote("/ZB", bid="111.5", ask="111.5313", last="0.0001", ts=TS, ask_size=7, change_pct="-0.031")
    pairs, dropped = decode(encode(q, src="excel", epoch=123, seq=4).encode())
    assert dropped == 0
    assert pairs == [(123, Quote("/ZB", bid="111.5", ask="111.5313", last="0.0001", ts=TS, ask_size=7,
                                 change_pct="-0.031", src="excel", seq=4))]


def test_decode_batch_keeps_good_quotes_and_counts_each_bad_one() -> None:
    good = encode(Quote("AAPL", last="1", ts=TS), src="s", epoch=1, seq=1)
    msg = f'[{good}, 5, "x", {{"symbol": "MSFT", "bid": "2", "ask": "1"}}, {{"symbol": "X", "last": "1", "epoch": -1}}]'
    pairs, dropped = decode(msg)
    assert [q.symbol for _, q in pairs] == ["AAPL"]
    assert dropped == 4


@pytest.mark.parametrize("payload", [b"", b"\xff\xfe", b"not json", b"[" * 100_000, b"null", b"42",
                                     b'{"symbol": "AAPL", "last": NaN}', b'{"symbol": "AAPL", "last": Infinity}'])
def test_decode_garbage_is_one_dropped_message(payload: bytes) -> None:
    assert decode(payload) == ([], 1)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(
    st.sampled_from(["symbol", "bid", "ask", "last", "change_pct", "bid_size", "ask_size", "ts", "src", "seq"]),
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
              st.decimals(allow_nan=True), st.lists(st.integers(), max_size=2)),
))
def test_normalize_any_dict_gives_a_valid_quote_or_badquote(raw: dict) -> None:
    try:
        q = normalize(raw)
    except BadQuote:
        return
    assert q.last is not None or (q.bid is not None and q.ask is not None)
    for p in (q.bid, q.ask, q.last):
        assert p is None or p > 0
    if q.bid is not None and q.ask is not None:
        assert q.bid <= q.ask


_Q4 = Decimal("0.0001")


def _read_decimal_units(text: str) -> int | None:
    """What papernb's one number reader makes of a price: int units (half-even), None if refused."""
    try:
        d = read_decimal(text, "price")
    except InvalidInput:
        return None
    if abs(d) > MAX_UNITS / 10_000:
        return None
    return int(d.quantize(_Q4, rounding=ROUND_HALF_EVEN).scaleb(4))


# digits ASCII and not, the separators people type, signs, exponents, and what is never a number
PRICE_TEXT = (st.text(alphabet="0123456789.,-+eE$_ %١٢\u0966²", max_size=22)
              | st.decimals(places=4, min_value=0, allow_nan=False).map(str)
              | st.sampled_from(["189,50", "1,234.50", "1_0", "١٢", "$5", "1e999999", "12,34", "1,234,567.5"]))


@settings(max_examples=2000, deadline=None)
@given(PRICE_TEXT)
def test_wire_prices_are_judged_exactly_as_read_decimal_judges_them(text: str) -> None:
    want = _read_decimal_units(text)
    fast = wire._plain_units(text)
    assert fast is None or fast == want  # the fast path reads a subset, to the same value
    if not text.strip():
        assert wire.price_units(text, "last") is None
    elif want is None:
        with pytest.raises(BadQuote):
            wire.price_units(text, "last")
    else:
        assert wire.price_units(text, "last") == want
    # the whole subscriber path, fast path first then normalize: a quote iff the price is a positive price
    wire._units_of.pop(text, None)  # judge it afresh, not from the cache
    msg = json.dumps({"symbol": "AAPL", "bid": None, "ask": None, "last": text, "change_pct": None,
                      "bid_size": None, "ask_size": None, "ts": TS, "src": "s", "epoch": 1, "seq": 1})
    pairs, dropped = decode(msg)
    if want is not None and 0 < want <= MAX_UNITS:
        assert (dropped, [q._last for _, q in pairs]) == (0, [want])
    else:
        assert (pairs, dropped) == ([], 1)


@settings(max_examples=500, deadline=None)
@given(PRICE_TEXT)
def test_percent_and_size_text_follow_read_decimal_too(text: str) -> None:
    wire._pct_of.pop(text, None)
    body = text.strip()[:-1] if text.strip().endswith("%") else text
    try:
        want_pct: Decimal | None = read_decimal(body, "change_pct")
    except InvalidInput:
        want_pct = None
    if want_pct is not None and abs(want_pct) > 100_000:
        want_pct = None
    msg = json.dumps({"symbol": "AAPL", "bid": None, "ask": None, "last": "1", "change_pct": text,
                      "bid_size": None, "ask_size": None, "ts": TS, "src": "s", "epoch": 1, "seq": 1})
    pairs, _ = decode(msg)
    if not text.strip():
        assert [q.change_pct for _, q in pairs] == [None]
    else:
        assert [q.change_pct for _, q in pairs] == ([] if want_pct is None else [want_pct])
    try:
        d = read_decimal(text, "size")
        want_size = int(d) if d == d.to_integral_value() and 0 <= d <= 10**12 else None
    except InvalidInput:
        want_size = None
    try:
        got = wire._size(text, "bid_size")
    except BadQuote:
        got = None
    assert got == (None if not text.strip() else want_size)


def test_build_refuses_what_a_subscriber_would_drop() -> None:
    """One validation for every source: the builder applies the subscriber's bounds."""
    for kw in ({"change_pct": Decimal("1234500")}, {"change_pct": Decimal("NaN")}, {"bid_size": -1},
               {"ask_size": 10**13}, {"bid_size": True}, {"change_pct": 1.5}):
        with pytest.raises(BadQuote):
            wire.build("AAPL", None, None, 1_000_000, TS, **kw)
    q = wire.build("AAPL", None, None, 1_000_000, TS, change_pct=Decimal("-99999.99"), bid_size=0, ask_size=10**12)
    assert decode(encode(q, src="s", epoch=1, seq=1)) == ([(1, Quote("AAPL", last=100, ts=TS, change_pct="-99999.99",
                                                                      bid_size=0, ask_size=10**12, src="s",
                                                                      seq=1))], 0)


def test_prices_go_out_with_two_decimals_when_cents_are_enough() -> None:
    texts = [encode(Quote("AAPL", bid=b, ask="999", ts=TS)) for b in ("189.5", "189.51", "189.5012", "0.0001")]
    assert [json.loads(t)["bid"] for t in texts] == ["189.50", "189.51", "189.5012", "0.0001"]
