"""The strategy API (papernb/strategy.py): on_order, timers, Decimal ergonomics, numpy scalars; one runner
for pn.backtest and a live session.run."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import papernb as pn
from papernb.feed.hub import Hub

T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC = 09:30 New York, a Tuesday
SEC = 1_000_000_000
MIN = 60 * SEC


def tape(n: int, step_s: int = 20, start: int = T0, drift: str = "0.01", dip: bool = False) -> list[pn.Quote]:
    """``n`` quotes of AAPL ``step_s`` apart, the mid rising by ``drift`` from 100.00 (after a dip of 2 cents
    on the second quote when ``dip``)."""
    out = []
    for i in range(n):
        mid = D("100.00") + D(drift) * i - (D("0.02") if dip and i == 1 else 0)
        out.append(pn.Quote("AAPL", bid=mid - D("0.01"), ask=mid + D("0.01"), last=mid, ts=start + i * step_s * SEC))
    return out


class Recorder:
    """Buys a bracket on the first quote, records every on_order and on_fill with what it saw."""

    def __init__(self) -> None:
        self.log: list[tuple] = []
        self.inside_buy = self.placed = False

    def on_quote(self, ctx: pn.Account, q: pn.Quote) -> None:
        if not self.placed:
            self.placed = self.inside_buy = True
            ctx.buy("AAPL", 10, limit=q.ask - 0.01, take_profit=q.ask + 0.20, stop_loss=q.bid - 1)
            self.inside_buy = False

    def on_order(self, ctx: pn.Account, order: Any) -> None:
        assert not self.inside_buy, "on_order was called from inside buy()"
        self.log.append(("order", order.event, order.id, order.status.value, order.filled_qty))

    def on_fill(self, ctx: pn.Account, fill: pn.Fill) -> None:
        self.log.append(("fill", fill.order_id, fill.qty))


# ---------------------------------------------------------------------------------------- on_order
def test_on_order_hears_every_change_of_its_own_orders_after_the_commit_in_order() -> None:
    s = Recorder()
    pn.backtest(tape(30, dip=True), s, progress=False)
    assert s.log == [
        ("order", "accepted", 1, "PENDING", 0),  # the order as it stood right after each change
        ("order", "filled", 1, "FILLED", 10),  # the ask dipped to the limit on the next quote
        ("order", "accepted", 2, "PENDING", 0), ("order", "accepted", 3, "PENDING", 0),  # its children
        ("order", "linked", 2, "PENDING", 0),
        ("fill", 1, 10),
        ("order", "filled", 2, "FILLED", 10), ("order", "cancelled", 3, "CANCELLED", 0),
        ("fill", 2, 10)]


def test_on_order_is_the_same_live_as_in_a_backtest(tmp_path: Path) -> None:
    quotes = tape(30, dip=True)
    backtested = Recorder()
    pn.backtest(quotes, backtested, progress=False)

    async def scenario() -> list[tuple]:
        hub = Hub()
        session = pn.connect("alice", db=str(tmp_path / "b.duckdb"), feed=hub, start=False)
        live = Recorder()
        session.run(live)
        for q in quotes:
            hub.publish(q)
        session.refresh(force=True)
        await session.aclose()
        return live.log

    assert asyncio.run(scenario()) == backtested.log


def test_orders_placed_by_hand_in_a_live_account_are_not_the_strategys(tmp_path: Path) -> None:
    async def scenario() -> None:
        hub = Hub()
        session = pn.connect("alice", db=str(tmp_path / "b.duckdb"), feed=hub, start=False)
        heard: list[int] = []

        class Quiet:
            def on_quote(self, ctx: pn.Account, q: pn.Quote) -> None:
                pass

            def on_order(self, ctx: pn.Account, order: Any) -> None:
                heard.append(order.id)

        session.run(Quiet)
        hub.publish(pn.Quote("AAPL", bid="189.90", ask="190.10", last="190.00"))
        session.account.buy("AAPL", 1)  # the trader's ticket, not the strategy
        hub.publish(pn.Quote("AAPL", bid="189.90", ask="190.10", last="190.00"))
        session.refresh(force=True)
        assert heard == []
        await session.aclose()

    asyncio.run(scenario())


# ---------------------------------------------------------------------------------------- timers
class Timed:
    def __init__(self, **schedule: Any) -> None:
        self.schedule, self.fired = schedule, []

    def on_start(self, ctx: pn.Account) -> None:
        ctx.schedule(**self.schedule, fn=lambda c: self.fired.append((c.now - T0) // SEC))

    def on_quote(self, ctx: pn.Account, q: pn.Quote) -> None:
        pass


def test_every_timer_fires_on_each_boundary_of_engine_time_before_on_quote() -> None:
    s = Timed(every="1min")
    pn.backtest(tape(10, step_s=25), s, progress=False)  # quotes at 0, 25, 50, 75 ... 225 s
    assert s.fired == [75, 125, 200]  # the first quotes at or after 60, 120 and 180 s


def test_a_gap_in_the_quotes_is_not_caught_up() -> None:
    quotes = tape(3, step_s=30) + tape(2, step_s=30, start=T0 + 10 * MIN + 5 * SEC)  # nothing 60 s .. 10 min
    s = Timed(every=timedelta(minutes=1))
    pn.backtest(quotes, s, progress=False)
    assert s.fired == [60, 605]  # once after the gap, not ten times


def test_an_at_timer_fires_once_a_session_day_in_new_york_time() -> None:
    day2 = T0 + 24 * 3600 * SEC
    quotes = tape(20, step_s=30) + tape(20, step_s=30, start=day2)  # 09:30-09:39:30 on two days
    s = Timed(at="09:35")
    pn.backtest(quotes, s, progress=False)
    assert s.fired == [300, 24 * 3600 + 300]


def test_an_at_time_whose_day_passed_in_a_gap_does_not_fire_the_next_morning() -> None:
    evening = T0 + (6 * 3600 + 15 * 60) * SEC  # 15:45 New York
    quotes = tape(2, start=evening) + tape(2, start=T0 + 24 * 3600 * SEC)  # then nothing until 09:30 next day
    s = Timed(at="15:55")
    pn.backtest(quotes, s, progress=False)
    assert s.fired == []


def test_timers_are_set_in_on_start_and_only_in_a_running_strategy() -> None:
    book = pn.Engine(":memory:")
    with pytest.raises(pn.InvalidInput, match="from on_start"):
        book.account("alice").schedule(every="1min", fn=print)

    def late(ctx: pn.Account, q: pn.Quote) -> None:
        ctx.schedule(every="1min", fn=print)

    with pytest.raises(pn.InvalidInput, match="set timers in on_start"):
        pn.backtest(tape(2), late, progress=False)
    for bad, message in (({"every": "fortnightly"}, "every must be a period"), ({"at": "25:00"}, "New York time"),
                         ({"every": "1min", "at": "15:55"}, "one of them")):
        with pytest.raises(pn.InvalidInput, match=message):
            pn.backtest(tape(2), Timed(**bad), progress=False)


def test_live_timers_run_on_the_wall_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import papernb.session as session_module

    clock = [T0 + (6 * 3600 + 24 * 60) * SEC]  # 15:54 New York
    monkeypatch.setattr(session_module, "wall_ns", lambda: clock[0])

    async def scenario() -> list[int]:
        session = pn.connect("alice", db=str(tmp_path / "b.duckdb"), feed=Hub(), start=False)
        fired: list[int] = []

        class Close:
            def on_start(self, ctx: pn.Account) -> None:
                ctx.schedule(at="15:55", fn=lambda c: fired.append(c.now))

            def on_quote(self, ctx: pn.Account, q: pn.Quote) -> None:
                pass

        session.run(Close)
        for dt in (30, 31, 60, 3600):  # 15:54:30, 15:55:01, 15:56:01, 16:56:01
            clock[0] += dt * SEC
            session.refresh()
        await session.aclose()
        return fired

    assert asyncio.run(scenario()) == [T0 + (6 * 3600 + 25 * 60 + 1) * SEC]


# ---------------------------------------------------------------------------------------- prices and numbers
def test_quote_prices_take_float_arithmetic_and_off_tick_prices_name_to_tick() -> None:
    q = pn.Quote("AAPL", bid="189.90", ask="190.10", last="190.00", ts=T0)
    assert (q.bid - 0.05, 0.05 + q.bid, q.ask * 2, q.bid >= 189.9, q.bid == 189.9) == (
        D("189.85"), D("189.95"), D("380.20"), True, True)
    assert isinstance(q.bid - 0.05, pn.Price) and isinstance(q.bid - 0.05, D)
    book = pn.Engine(":memory:")
    acct = book.account("alice")
    book.on_quote(q)
    o = acct.buy("AAPL", 10, limit=q.bid - 0.05)
    assert o.limit == D("189.85")
    with pytest.raises(pn.InvalidOrder, match=r"whole cents .*pn\.to_tick\(price, 'buy' or 'sell'\)"):
        acct.buy("AAPL", 10, limit=q.bid * 0.999)
    assert pn.to_tick(q.bid * 0.999, "buy") == D("189.71") and pn.to_tick(q.bid * 0.999, "sell") == D("189.72")
    acct.buy("AAPL", 10)
    pos = acct.position("AAPL")
    target = pos.avg_price * 1.02
    assert target == D("193.9020") and pn.to_tick(target, "sell") == D("193.91")
    assert acct.sell("AAPL", 10, limit=pn.to_tick(target, "sell")).limit == D("193.91")
    assert pn.to_tick("0.12345", "buy") == D("0.1234") and pn.to_tick(0.99995, "sell") == D("1.00")


def test_numpy_and_pandas_scalars_are_accepted_for_quantities_prices_and_ids() -> None:
    book = pn.Engine(":memory:")
    acct = book.account("alice")
    book.on_quote(pn.Quote("AAPL", bid=np.float64(189.9), ask=np.float32(190.1), last=pd.Series([190.0])[0],
                           ts=T0))
    o = acct.buy("AAPL", np.int64(10), limit=np.float64(189.5))
    assert (o.qty, o.limit) == (10, D("189.50"))
    acct.replace(np.int64(o.id), qty=np.int32(5), limit=pd.Series([189.6])[0])
    assert acct.order(pd.Series([o.id])[0]).qty == 5
    assert acct.position("AAPL") is None and acct.cancel(np.int64(o.id)).status is pn.OrderStatus.CANCELLED
    assert (pn.Quote("AAPL", last=190, ts=T0).last - np.float64(0.5)) == D("189.50")
