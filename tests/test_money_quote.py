"""Exact money at the edge, and the Quote value shared by the feed and the engine."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pandas as pd
import pytest

import papernb as pn
from papernb.money import div_round, fmt_money, from_units, price_units, round_cents, to_units

T0 = 1_704_205_800_000_000_000


@pytest.mark.parametrize("value, units", [
    (0.1, 1000), ("0.1", 1000), (D("0.1"), 1000), (189, 1_890_000), (189.5, 1_895_000), ("1,234.56", 12_345_600),
    ("$12.5", 125_000), (0.0001, 1), (-3.25, -32_500), (0.3, 3000),
])
def test_to_units_reads_floats_through_str_so_point_one_means_point_one(value: object, units: int) -> None:
    assert to_units(value) == units


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "abc", None, True, 1e-05, "1.00001", 1e30])
def test_to_units_refuses_what_is_not_an_exact_amount(value: object) -> None:
    with pytest.raises(pn.InvalidInput):
        to_units(value)


def test_order_prices_must_be_on_the_tick() -> None:
    assert price_units(189.12) == 1_891_200
    assert price_units(0.1234) == 1234
    with pytest.raises(pn.InvalidInput, match="whole cents at or above \\$1"):
        price_units(189.123)
    with pytest.raises(pn.InvalidInput, match="must be positive"):
        price_units(0)


def test_rounding_is_half_even_and_only_for_display() -> None:
    assert [div_round(n, 2) for n in (1, 3, 5, -1, -3)] == [0, 2, 2, 0, -2]
    assert round_cents(1_234_550) == 1_234_600 and round_cents(1_234_450) == 1_234_400
    assert fmt_money(1_234_567_850) == "$123,456.78" and fmt_money(-5000, sign=True) == "-$0.50"
    assert fmt_money(25_000, sign=True) == "+$2.50"
    assert from_units(1_895_000) == D("189.50") and from_units(1) == D("0.0001")


def test_adding_a_tenth_ten_times_is_exactly_one_dollar() -> None:
    assert sum(to_units(0.1) for _ in range(10)) == to_units(1)


def test_quote_normalises_symbol_and_keeps_exact_prices() -> None:
    q = pn.Quote("  brk/b ", bid=0.1, ask="0.12", last=D("0.11"), ts=T0, change_pct=1.5, bid_size="1,200")
    assert (q.symbol, q.bid, q.ask, q.last, q.change_pct, q.bid_size) == (
        "BRK/B", D("0.10"), D("0.12"), D("0.11"), D("1.5"), 1200)
    assert float(q.bid) == 0.1 and q.ts == T0


def test_quote_mark_is_last_or_the_mid() -> None:
    assert pn.Quote("A", bid=10, ask=10.02, ts=T0).mark == D("10.01")
    assert pn.Quote("A", bid=10, ask=10.02, last=10.5, ts=T0).mark == D("10.50")


def test_quote_zero_or_blank_side_means_missing_as_thinkorswim_shows_after_hours() -> None:
    q = pn.Quote("AAPL", bid=0, ask="", last=190, ts=T0)
    assert (q.bid, q.ask, q.last) == (None, None, D("190.00"))


@pytest.mark.parametrize("ts", [
    datetime(2024, 1, 2, 14, 30, tzinfo=UTC), pd.Timestamp("2024-01-02 09:30", tz="America/New_York"), T0,
])
def test_quote_ts_accepts_aware_datetimes_and_int_ns(ts: object) -> None:
    assert pn.Quote("AAPL", last=1, ts=ts).ts == T0


@pytest.mark.parametrize("kwargs, message", [
    ({"bid": 2, "ask": 1, "last": 1}, "above ask"),
    ({"bid": -1, "ask": 1}, "positive"),
    ({"last": float("nan")}, "finite"),
    ({"bid": 1}, "needs a last price or both bid and ask"),
    ({"last": 1, "ts": datetime(2024, 1, 2)}, "timezone-aware"),
    ({"last": 1, "ts": 1.7e18}, "aware datetime or int"),
    ({"last": 1, "ts": 1_704_205_800}, "outside 1990-2100"),
    ({"last": 1, "bid_size": -5}, "whole number"),
])
def test_bad_quotes_raise_bad_quote_with_the_reason(kwargs: dict, message: str) -> None:
    with pytest.raises(pn.BadQuote, match=message):
        pn.Quote("AAPL", **kwargs)


@pytest.mark.parametrize("symbol", ["", "   ", "AAPL; DROP TABLE", "<img src=x>", "A" * 33, None, 42])
def test_bad_symbols_raise(symbol: object) -> None:
    with pytest.raises(pn.BadQuote, match="symbol"):
        pn.Quote(symbol, last=1)  # type: ignore[arg-type]


def test_quotes_are_immutable() -> None:
    q = pn.Quote("AAPL", last=1, ts=T0)
    with pytest.raises(AttributeError):
        q.symbol = "MSFT"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        q.last = 2  # type: ignore[misc]


def test_engine_config_validates_and_reads_environment() -> None:
    cfg = pn.EngineConfig.from_env({"PAPERNB_STALE_AFTER": "none", "PAPERNB_REVIEW_SECONDS": "5",
                                    "PAPERNB_SHORT_SELLING": "yes", "PAPERNB_STARTING_CASH": "25000"})
    assert (cfg.stale_after, cfg.review_seconds, cfg.short_selling, cfg.starting_cash) == (
        None, 5.0, True, D("25000"))
    with pytest.raises(pn.ConfigError, match="fill_model must be one of"):
        pn.EngineConfig(fill_model="magic")
    with pytest.raises(pn.ConfigError, match="unknown setting"):
        pn.Engine(":memory:", starting_cahs=5)
