"""Market hours: DAY expiry at the real close, orders waiting for the open, the market state.

Scenarios at exact times around a weekend, Thanksgiving 2024 (Thursday 11-28, then the early
close at 13:00 on Friday 11-29), Christmas Eve 2024 (early close) and the two DST changes of
2024 (Sunday 03-10 and Sunday 11-03), on a bare Engine and in backtests (engine time = quote
time).  Expected instants are written here from New York wall times with zoneinfo, not with
papernb's calendar; the calendar's holiday data is exchange_calendars' (pinned).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import papernb as pn
from papernb.config import EngineConfig
from papernb.engine.calendar import ExchangeCalendar, WeekdayCalendar, default_calendar, library_version

NY = ZoneInfo("America/New_York")
SEC = 1_000_000_000
S = pn.OrderStatus


def ny(text: str) -> int:
    """'2024-11-29 13:00' New York wall time -> int ns UTC."""
    return int(datetime.fromisoformat(text).replace(tzinfo=NY).timestamp()) * SEC


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text + "+00:00").timestamp()) * SEC


def quote(book: pn.Engine, when: int, symbol: str = "AAPL", bid: str = "189.90", ask: str = "190.10",
          last: str = "190.00") -> pn.Quote:
    q = pn.Quote(symbol, bid=bid, ask=ask, last=last, ts=when)
    book.on_quote(q)
    return q


def test_the_instants_written_here_are_what_they_say() -> None:
    assert ny("2024-03-11 16:00") == utc("2024-03-11 20:00")  # EDT from Sunday 03-10
    assert ny("2024-03-08 16:00") == utc("2024-03-08 21:00")  # EST before it
    assert ny("2024-11-04 09:30") == utc("2024-11-04 14:30")  # EST from Sunday 11-03
    assert ny("2024-11-01 09:30") == utc("2024-11-01 13:30")  # EDT before it


# ---------------------------------------------------------------------------------- DAY expiry
@pytest.mark.parametrize(("placed", "expires"), [
    ("2024-11-26 10:00", "2024-11-26 16:00"),  # an ordinary Tuesday
    ("2024-11-27 15:59", "2024-11-27 16:00"),  # the day before Thanksgiving
    ("2024-11-27 16:00", "2024-11-29 13:00"),  # at the close: the next session's, Thanksgiving skipped
    ("2024-11-27 17:00", "2024-11-29 13:00"),  # after hours
    ("2024-11-28 11:00", "2024-11-29 13:00"),  # on the holiday itself
    ("2024-11-29 08:00", "2024-11-29 13:00"),  # early close: 13:00, not 16:00
    ("2024-11-29 12:59", "2024-11-29 13:00"),
    ("2024-11-29 13:00", "2024-12-02 16:00"),  # after the early close: Monday
    ("2024-11-29 14:30", "2024-12-02 16:00"),
    ("2024-11-30 10:00", "2024-12-02 16:00"),  # Saturday
    ("2024-12-01 23:59", "2024-12-02 16:00"),  # Sunday night
    ("2024-12-24 10:00", "2024-12-24 13:00"),  # Christmas Eve closes early
    ("2024-12-24 13:30", "2024-12-26 16:00"),  # ... and Christmas is a holiday
    ("2024-03-08 17:00", "2024-03-11 16:00"),  # over the DST weekend (EST -> EDT)
    ("2024-03-10 12:00", "2024-03-11 16:00"),  # on the Sunday the clocks change
    ("2024-11-01 17:00", "2024-11-04 16:00"),  # over the other DST weekend (EDT -> EST)
    ("2024-11-03 01:30", "2024-11-04 16:00"),  # in the hour that happens twice
])
def test_day_order_expires_at_the_next_session_close(placed: str, expires: str) -> None:
    book = pn.Engine(":memory:")
    quote(book, ny(placed))
    o = book.account("alice").buy("AAPL", 10, limit=150)
    assert o.status is S.PENDING and o.expires_at == ny(expires)
    book.advance(ny(expires) - 1)
    assert o.status is S.PENDING
    book.advance(ny(expires))
    assert o.status is S.EXPIRED and o.expired_at == ny(expires)
    assert o.reason == "expired at the session close"


def test_dst_closes_are_exact_utc_instants() -> None:
    book = pn.Engine(":memory:")
    quote(book, ny("2024-03-08 17:00"))
    spring = book.account("alice").buy("AAPL", 1, limit=150)
    assert spring.expires_at == utc("2024-03-11 20:00")  # 16:00 EDT, an hour earlier in UTC than Friday's
    quote(book, ny("2024-11-01 17:00"))
    fall = book.account("alice").buy("AAPL", 1, limit=150)
    assert fall.expires_at == utc("2024-11-04 21:00")  # 16:00 EST


def test_expiry_noticed_after_the_holiday_is_dated_at_the_close() -> None:
    book = pn.Engine(":memory:")
    quote(book, ny("2024-11-27 10:00"))
    o = book.account("alice").buy("AAPL", 10, limit=150)
    q = quote(book, ny("2024-11-29 09:45"), bid="149.00", ask="149.10", last="149.05")  # would fill it
    assert o.status is S.EXPIRED and o.expired_at == ny("2024-11-27 16:00") and o.filled_qty == 0
    assert q.ts > o.expired_at  # expiry ran before matching on the first quote after the close


def test_gtc_and_a_replace_to_day_follow_the_calendar() -> None:
    book = pn.Engine(":memory:")
    a = book.account("alice")
    quote(book, ny("2024-11-28 10:00"))  # Thanksgiving
    o = a.buy("AAPL", 10, limit=150, tif="gtc")
    assert o.expires_at is None
    a.replace(o.id, tif="day")
    assert o.expires_at == ny("2024-11-29 13:00")
    book.advance(ny("2024-12-02 10:00"))
    assert o.status is S.EXPIRED and o.expired_at == ny("2024-11-29 13:00")


def test_day_pl_counts_from_the_previous_session_close() -> None:
    book = pn.Engine(":memory:")
    quote(book, ny("2024-11-27 10:00"))
    assert book.last_close() == ny("2024-11-26 16:00")
    book.advance(ny("2024-11-29 10:00"))
    assert book.last_close() == ny("2024-11-27 16:00")  # Wednesday's: Thanksgiving had none
    book.advance(ny("2024-11-29 14:00"))
    assert book.last_close() == ny("2024-11-29 13:00")  # the early close
    book.advance(ny("2024-12-02 10:00"))
    assert book.last_close() == ny("2024-11-29 13:00")  # Monday counts from Friday's early close


def test_day_pl_over_the_holiday_counts_from_wednesdays_close() -> None:
    book = pn.Engine(":memory:")
    a = book.account("alice")
    quote(book, ny("2024-11-27 15:00"), bid="99.90", ask="100.00", last="99.95")
    a.buy("AAPL", 10)  # cost $1,000.00
    quote(book, ny("2024-11-27 15:59:59"), bid="104.90", ask="105.00", last="104.95")
    book.advance(ny("2024-11-27 17:00"))  # the close is recorded with the position at 104.95
    quote(book, ny("2024-11-29 10:00"), bid="106.90", ask="107.00", last="106.95")
    assert a.snapshot().day_pl == D("20.00")  # (106.95 - 104.95) x 10, not from the fill


def test_session_close_setting_overrides_the_calendar_close() -> None:
    book = pn.Engine(":memory:", session_close="15:00")
    quote(book, ny("2024-11-26 10:00"))
    o = book.account("alice").buy("AAPL", 1, limit=150)
    assert o.expires_at == ny("2024-11-26 15:00")
    quote(book, ny("2024-11-27 16:00"))
    o = book.account("alice").buy("AAPL", 1, limit=150)
    assert o.expires_at == ny("2024-11-29 15:00")  # holidays still come from the calendar
    assert EngineConfig().session_close is None
    assert EngineConfig(session_close="calendar").session_close is None
    assert EngineConfig.from_env({"PAPERNB_SESSION_CLOSE": "none"}).session_close is None


def test_an_engine_is_given_its_calendar_as_it_is_given_a_clock() -> None:
    book = pn.Engine(":memory:", calendar=WeekdayCalendar())  # no holidays: the old behaviour on purpose
    quote(book, ny("2024-11-27 17:00"))
    o = book.account("alice").buy("AAPL", 1, limit=150)
    assert o.expires_at == ny("2024-11-28 16:00")
    assert book.calendar.source.startswith("papernb weekdays")
    with pytest.raises(pn.ConfigError, match="MarketCalendar"):
        pn.Engine(":memory:", calendar="XNYS")


# ---------------------------------------------------------------------------------- trading hours
def test_regular_hours_market_order_on_saturday_waits_for_mondays_open() -> None:
    book = pn.Engine(":memory:", trading_hours="regular")
    a = book.account("alice")
    quote(book, ny("2024-11-30 10:00"))
    o = a.buy("AAPL", 10)
    assert (o.status, o.reason) == (S.PENDING, "market closed: waits for the open Mon 09:30")
    assert o.expires_at == ny("2024-12-02 16:00")
    for t in ("2024-11-30 15:00", "2024-12-01 12:00", "2024-12-02 04:00", "2024-12-02 09:29:59"):
        quote(book, ny(t))
        assert o.status is S.PENDING and o.filled_qty == 0, t
    quote(book, ny("2024-12-02 09:30"), bid="191.00", ask="191.20", last="191.10")
    assert (o.status, o.avg_fill_price) == (S.FILLED, D("191.20"))
    (f,) = a.fills()
    assert f.ts == ny("2024-12-02 09:30")


def test_regular_hours_over_thanksgiving_and_the_early_close() -> None:
    book = pn.Engine(":memory:", trading_hours="regular")
    a = book.account("alice")
    quote(book, ny("2024-11-27 17:00"))  # Wednesday after hours
    wed = a.buy("AAPL", 10)
    assert wed.reason == "market closed: waits for the open Fri 09:30"
    quote(book, ny("2024-11-28 11:00"))  # Thanksgiving: closed all day
    thu = a.buy("AAPL", 5)
    assert thu.status is S.PENDING and thu.reason == "market closed: waits for the open Fri 09:30"
    quote(book, ny("2024-11-29 09:30"), ask="190.50")
    assert wed.status is S.FILLED and thu.status is S.FILLED
    quote(book, ny("2024-11-29 12:59:59"))
    late = a.buy("AAPL", 1)
    assert late.status is S.FILLED  # still open at 12:59:59
    quote(book, ny("2024-11-29 13:00"))
    after = a.buy("AAPL", 1)
    assert (after.status, after.reason) == (S.PENDING, "market closed: waits for the open Mon 09:30")
    assert after.expires_at == ny("2024-12-02 16:00")
    quote(book, ny("2024-11-29 15:30"))
    assert after.status is S.PENDING
    quote(book, ny("2024-12-02 09:30:01"))
    assert after.status is S.FILLED


def test_day_order_that_waited_all_session_expires_at_the_close() -> None:
    book = pn.Engine(":memory:", trading_hours="regular")
    a = book.account("alice")
    quote(book, ny("2024-12-24 12:00"))
    o = a.buy("AAPL", 10, limit=150)  # rests through the early close
    book.advance(ny("2024-12-24 13:00"))
    assert o.status is S.EXPIRED and o.expired_at == ny("2024-12-24 13:00")
    quote(book, ny("2024-12-24 14:00"))
    o = a.buy("AAPL", 10)  # after the early close: waits over Christmas, never fills, expires Thursday
    assert o.reason == "market closed: waits for the open Thu 09:30"
    book.advance(ny("2024-12-26 16:00"))
    assert o.status is S.EXPIRED and o.expired_at == ny("2024-12-26 16:00") and o.filled_qty == 0


@pytest.mark.parametrize(("before", "at"), [
    ("2024-03-11 13:29:59", "2024-03-11 13:30:00"),  # 09:30 EDT, the Monday after the spring change
    ("2024-11-04 14:29:59", "2024-11-04 14:30:00"),  # 09:30 EST, the Monday after the fall change
])
def test_the_open_after_a_dst_change_is_exact(before: str, at: str) -> None:
    book = pn.Engine(":memory:", trading_hours="regular")
    a = book.account("alice")
    quote(book, utc(before) - 3600 * SEC)
    o = a.buy("AAPL", 1)
    assert o.reason == "market closed: waits for the open Mon 09:30"
    quote(book, utc(before))
    assert o.status is S.PENDING
    quote(book, utc(at))
    assert o.status is S.FILLED and a.fills()[0].ts == utc(at)


def test_the_close_stops_fills_exactly_at_1600_and_gtc_orders_wait() -> None:
    book = pn.Engine(":memory:", trading_hours="regular")
    a = book.account("alice")
    quote(book, ny("2024-11-26 15:59"))
    o = a.buy("AAPL", 10, limit="189.00", tif="gtc")
    assert o.status is S.PENDING and o.reason is None  # rests: not marketable
    quote(book, ny("2024-11-26 16:00"), bid="188.00", ask="188.50", last="188.20")  # would fill it
    assert (o.status, o.reason) == (S.PENDING, "market closed: waits for the open Wed 09:30")
    quote(book, ny("2024-11-27 09:30"), bid="188.40", ask="188.60", last="188.50")
    assert (o.status, o.avg_fill_price) == (S.FILLED, D("189.00"))  # a resting limit fills at its limit


def test_limit_orders_rest_while_closed_and_get_their_first_look_at_the_open() -> None:
    book = pn.Engine(":memory:", trading_hours="regular")
    a = book.account("alice")
    quote(book, ny("2024-11-30 10:00"))
    marketable = a.buy("AAPL", 10, limit="191.00")  # the ask is 190.10: it would fill at once if open
    resting = a.buy("AAPL", 10, limit="180.00")
    for o in (marketable, resting):
        assert (o.status, o.filled_qty, o.reason) == (S.PENDING, 0, "market closed: waits for the open Mon 09:30")
    assert a.snapshot().reserved == D("1910.00") + D("1800.00")  # accepted: they hold their cash
    quote(book, ny("2024-12-02 09:30"), bid="189.40", ask="189.60", last="189.50")
    assert (marketable.status, marketable.avg_fill_price) == (S.FILLED, D("189.60"))  # at the open's ask
    assert (resting.status, resting.reason) == (S.PENDING, None)  # rests as any limit does


def test_stops_wait_for_the_open_before_they_trigger() -> None:
    book = pn.Engine(":memory:", trading_hours="regular")
    a = book.account("alice")
    quote(book, ny("2024-11-30 10:00"))
    o = a.buy("AAPL", 10, stop="185.00")  # already through: it would trigger at once if open
    assert (o.status, o.triggered, o.reason) == (S.PENDING, False, "market closed: waits for the open Mon 09:30")
    quote(book, ny("2024-12-02 09:30"), bid="190.40", ask="190.60", last="190.50")
    assert o.triggered and (o.status, o.avg_fill_price) == (S.FILLED, D("190.60"))


def test_extended_hours_are_0400_to_2000_and_1700_on_an_early_close() -> None:
    book = pn.Engine(":memory:", trading_hours="extended")
    a = book.account("alice")
    quote(book, ny("2024-12-02 03:59:59"))
    early = a.buy("AAPL", 1)
    assert early.reason == "market closed: waits for pre-market Mon 04:00"
    quote(book, ny("2024-12-02 04:00"))
    assert early.status is S.FILLED
    for t, fills in (("2024-12-02 08:00", True), ("2024-12-02 17:00", True), ("2024-12-02 19:59:59", True),
                     ("2024-12-02 20:00", False)):
        quote(book, ny(t))
        assert (a.buy("AAPL", 1).status is S.FILLED) is fills, t
    fri = pn.Engine(":memory:", trading_hours="extended")
    b = fri.account("bob")
    quote(fri, ny("2024-11-28 12:00"))  # Thanksgiving: no extended hours either
    assert b.buy("AAPL", 1).reason == "market closed: waits for pre-market Fri 04:00"
    quote(fri, ny("2024-11-29 16:59:59"))  # after an early close, extended hours end at 17:00
    assert b.buy("AAPL", 1).status is S.FILLED
    quote(fri, ny("2024-11-29 17:00"))
    assert b.buy("AAPL", 1).reason == "market closed: waits for pre-market Mon 04:00"


def test_always_fills_whenever_quotes_arrive() -> None:
    book = pn.Engine(":memory:")
    assert book.config.trading_hours == "always"
    quote(book, ny("2024-11-28 03:00"))  # Thanksgiving, in the night
    assert book.account("alice").buy("AAPL", 1).status is S.FILLED


def test_futures_are_exempt_from_the_exchange_hours() -> None:
    book = pn.Engine(":memory:", trading_hours="regular")
    a = book.account("alice")
    quote(book, ny("2024-11-30 10:00"))
    quote(book, ny("2024-11-30 10:00"), symbol="/ES", bid="5950.25", ask="5950.50", last="5950.25")
    stock, future = a.buy("AAPL", 1), a.buy("/ES", 1)
    assert stock.status is S.PENDING and future.status is S.FILLED
    assert book.market_state("/ES").state == "open" and book.market_state("/ES").trading
    assert book.market_state("AAPL").state == "closed" and not book.market_state().trading
    book.pause_fills("feed disconnected")  # a dead feed stops futures too
    quote(book, ny("2024-11-30 10:01"), symbol="/ES", bid="5950.25", ask="5950.50", last="5950.25")
    assert a.buy("/ES", 1).reason == "feed disconnected"
    assert stock.reason == "market closed: waits for the open Mon 09:30"  # not re-looked at: no AAPL quote
    book.pause_fills(None)
    quote(book, ny("2024-11-30 10:02"))
    assert stock.reason == "market closed: waits for the open Mon 09:30"


def test_a_waiting_order_survives_a_reopen_and_fills_at_the_open(tmp_path: Path) -> None:
    path = str(tmp_path / "b.duckdb")
    book = pn.Engine(path, trading_hours="regular")
    quote(book, ny("2024-11-30 10:00"))
    oid = book.account("alice").buy("AAPL", 10).id
    book.close()
    book = pn.Engine(path, trading_hours="regular")
    a = book.account("alice")
    quote(book, ny("2024-12-01 10:00"))
    assert a.order(oid).reason == "market closed: waits for the open Mon 09:30"
    quote(book, ny("2024-12-02 09:30"))
    assert a.order(oid).status is S.FILLED
    book.close()


def test_trading_hours_setting_is_checked_and_read_from_the_environment() -> None:
    assert EngineConfig(trading_hours=" Regular ").trading_hours == "regular"
    assert EngineConfig.from_env({"PAPERNB_TRADING_HOURS": "extended"}).trading_hours == "extended"
    with pytest.raises(pn.ConfigError, match="PAPERNB_TRADING_HOURS='night'.*regular, extended, always"):
        EngineConfig.from_env({"PAPERNB_TRADING_HOURS": "night"})


# ---------------------------------------------------------------------------------- market state
@pytest.mark.parametrize(("when", "state", "text"), [
    ("2024-12-02 10:00", "open", "Market open"),
    ("2024-12-02 09:30", "open", "Market open"),
    ("2024-12-02 08:00", "pre-market", "Pre-market"),
    ("2024-12-02 16:00", "after hours", "After hours"),
    ("2024-12-02 20:00", "closed", "Market closed until Tue 09:30"),
    ("2024-12-02 03:00", "closed", "Market closed until Mon 09:30"),
    ("2024-11-30 10:00", "closed", "Market closed until Mon 09:30"),
    ("2024-11-29 20:30", "closed", "Market closed until Mon 09:30"),
    ("2024-11-28 10:00", "holiday", "Holiday: Thanksgiving Day"),
    ("2024-12-25 10:00", "holiday", "Holiday: Christmas Day"),
    ("2024-11-29 10:00", "early close", "Early close 13:00"),
    ("2024-11-29 13:30", "after hours", "After hours"),
    ("2024-11-29 17:00", "closed", "Market closed until Mon 09:30"),
    ("2024-12-24 12:59", "early close", "Early close 13:00"),
    ("2024-03-10 12:00", "closed", "Market closed until Mon 09:30"),
])
def test_market_state_sentences(when: str, state: str, text: str) -> None:
    book = pn.Engine(":memory:")
    book.advance(ny(when))
    ms = book.market_state()
    assert (ms.state, ms.text, ms.ts) == (state, text, ny(when))
    assert ms.trading_hours == "always" and ms.trading


def test_market_state_says_whether_orders_fill_under_the_setting() -> None:
    cases = {"regular": ("open", "early close"), "extended": ("open", "early close", "pre-market", "after hours"),
             "always": ("open", "early close", "pre-market", "after hours", "closed", "holiday")}
    for hours, trading_states in cases.items():
        book = pn.Engine(":memory:", trading_hours=hours)
        for when in ("2024-11-28 10:00", "2024-11-29 10:00", "2024-12-02 05:00", "2024-12-02 10:00",
                     "2024-12-02 17:00", "2024-12-02 21:00"):
            book.advance(ny(when))
            ms = book.market_state()
            assert ms.trading_hours == hours
            assert ms.trading is (ms.state in trading_states), (hours, when, ms)
    book = pn.Engine(":memory:")
    book.advance(ny("2024-11-27 17:00"))
    ms = book.market_state()
    assert (ms.next_open, ms.next_close) == (ny("2024-11-29 09:30"), ny("2024-11-29 13:00"))
    assert pn.Engine(":memory:").market_state().text == "No engine time yet (no quotes)"


# ---------------------------------------------------------------------------------- backtests
def _thanksgiving_tape() -> list[pn.Quote]:
    times = ["2024-11-27 15:00", "2024-11-27 17:00", "2024-11-28 12:00", "2024-11-29 09:29:59",
             "2024-11-29 09:30", "2024-11-29 12:59:59", "2024-11-29 13:00", "2024-11-29 16:00",
             "2024-11-30 11:00", "2024-12-02 09:30", "2024-12-02 16:00"]
    return [pn.Quote("AAPL", bid=f"{100 + i}.00", ask=f"{100 + i}.10", last=f"{100 + i}.05", ts=ny(t))
            for i, t in enumerate(times)]


class AfterHoursBuyer:
    """Buys 1 at market on every quote after the Wednesday close, and parks a DAY limit that never fills."""

    def __init__(self) -> None:
        self.placed: list[tuple[int, pn.Order]] = []

    def on_quote(self, ctx: pn.Account, q: pn.Quote) -> None:
        if q.ts == ny("2024-11-27 15:00"):
            self.placed.append((q.ts, ctx.buy("AAPL", 1, limit="50.00")))
        elif q.ts in (ny("2024-11-27 17:00"), ny("2024-11-29 13:00")):
            self.placed.append((q.ts, ctx.buy("AAPL", 1)))


def test_backtest_with_regular_hours_waits_for_the_open_exactly() -> None:
    strat = AfterHoursBuyer()
    res = pn.backtest(_thanksgiving_tape(), strat, trading_hours="regular", progress=False)
    (t0, limit), (t1, wed), (t2, fri) = strat.placed
    assert limit.status is S.EXPIRED and limit.expired_at == ny("2024-11-27 16:00")
    assert wed.status is S.FILLED and fri.status is S.FILLED
    fills = {f.order_id: f for f in res.account.fills()}
    assert fills[wed.id].ts == ny("2024-11-29 09:30") and fills[wed.id].price == D("104.10")
    assert fills[fri.id].ts == ny("2024-12-02 09:30") and fills[fri.id].price == D("109.10")
    st = res.stats()
    assert st["trading_hours"] == "regular" and st["expired"] == 1 and st["filled"] == 2
    assert res.calendar == st["calendar"] == f"XNYS (exchange_calendars {library_version()})"
    assert library_version() == "4.13.2"  # pinned in pyproject.toml: holiday data changes between releases


def test_backtest_with_always_fills_after_hours_and_is_deterministic() -> None:
    a = pn.backtest(_thanksgiving_tape(), AfterHoursBuyer, progress=False)
    fills = a.account.fills()
    assert [f.ts for f in fills] == [ny("2024-11-27 17:00"), ny("2024-11-29 13:00")]
    b = pn.backtest(_thanksgiving_tape(), AfterHoursBuyer, progress=False)
    assert a.journal_hash == b.journal_hash
    r1 = pn.backtest(_thanksgiving_tape(), AfterHoursBuyer, trading_hours="regular", progress=False)
    r2 = pn.backtest(_thanksgiving_tape(), AfterHoursBuyer, trading_hours="regular", progress=False)
    assert r1.journal_hash == r2.journal_hash != a.journal_hash


def test_backtest_over_the_spring_dst_weekend_opens_at_1330_utc() -> None:
    times = ["2024-03-08 15:00", "2024-03-08 16:30", "2024-03-10 12:00", "2024-03-11 13:29:59",
             "2024-03-11 13:30:00", "2024-03-11 19:59:59", "2024-03-11 20:00:00"]
    quotes = [pn.Quote("SPY", bid="510.00", ask="510.10", last="510.05", ts=utc(t)) for t in times]
    placed: list[pn.Order] = []

    def strategy(ctx: pn.Account, q: pn.Quote) -> None:
        if q.ts == utc("2024-03-08 16:30"):  # Friday 11:30 EST
            placed.append(ctx.buy("SPY", 1, limit="500.00"))  # DAY: expires Friday 21:00 UTC
        if q.ts == utc("2024-03-10 12:00"):  # Sunday
            placed.append(ctx.buy("SPY", 1))  # waits for Monday 09:30 EDT = 13:30 UTC
            placed.append(ctx.buy("SPY", 1, limit="500.00"))  # DAY: expires Monday 16:00 EDT = 20:00 UTC

    res = pn.backtest(quotes, strategy, trading_hours="regular", progress=False)
    fri, market, mon = placed
    assert fri.expired_at == utc("2024-03-08 21:00")
    assert market.status is S.FILLED and res.account.fills()[0].ts == utc("2024-03-11 13:30:00")
    assert mon.status is S.EXPIRED and mon.expired_at == utc("2024-03-11 20:00")


# ---------------------------------------------------------------------------------- the calendar
def test_the_nyse_calendar_from_the_library() -> None:
    cal = default_calendar()
    assert cal.holiday(date(2024, 11, 28)) == "Thanksgiving Day"
    assert cal.holiday(date(2024, 11, 30)) is None and cal.session(date(2024, 11, 30)) is None  # a weekend
    assert cal.session(date(2024, 11, 29)) == (ny("2024-11-29 09:30"), ny("2024-11-29 13:00"))
    assert cal.early_close(date(2024, 11, 29)) == ny("2024-11-29 13:00")
    assert cal.early_close(date(2024, 12, 24)) == ny("2024-12-24 13:00")
    assert cal.early_close(date(2024, 11, 27)) is None
    assert cal.next_open(ny("2024-11-27 16:00")) == ny("2024-11-29 09:30")
    assert cal.previous_close(ny("2024-12-02 09:00")) == ny("2024-11-29 13:00")
    assert cal.holiday(date(2025, 1, 9)) == "special closure"  # the library's ad hoc closures have no name
    assert cal.describe() == f"XNYS (exchange_calendars {library_version()})"


def test_a_calendar_built_for_a_range_refuses_questions_outside_it() -> None:
    cal = ExchangeCalendar("XNYS", start="2024-01-01", end="2024-12-31")
    assert cal.next_close(ny("2024-12-30 17:00")) == ny("2024-12-31 16:00")
    with pytest.raises(pn.ConfigError, match="built for 2024-01-01 to 2024-12-31"):
        cal.next_close(ny("2024-12-31 17:00"))
    with pytest.raises(pn.ConfigError, match="covers 1990 to 2109"):
        default_calendar().day(date(1985, 1, 2))
