"""The in-process hub and the simulated market."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from papernb.feed import Hub, SimulatedMarket
from papernb.quote import Quote

TS = 1_732_550_400_000_000_000


def test_hub_hands_each_batch_to_every_subscriber_in_order() -> None:
    hub = Hub()
    a: list[list[Quote]] = []
    b: list[str] = []
    hub.subscribe(a.append)
    hub.subscribe(lambda batch: b.extend(q.symbol for q in batch))
    q1, q2, q3 = Quote("AAPL", last=1, ts=TS), Quote("MSFT", last=2, ts=TS), Quote("AAPL", last=3, ts=TS)
    hub.publish([q1, q2])
    hub.publish([q3])
    assert a == [[q1, q2], [q3]]
    assert b == ["AAPL", "MSFT", "AAPL"]
    assert hub.latest == {"AAPL": q3, "MSFT": q2}
    h = hub.health()
    assert (h.connected, h.link, h.quotes, h.dropped, h.gaps) == (True, "in-process", 3, 0, 0)
    assert sorted(h.ages) == ["AAPL", "MSFT"]


def test_hub_failing_subscriber_is_logged_and_the_others_still_get_quotes() -> None:
    hub = Hub()
    got: list[Quote] = []

    def broken(batch: list[Quote]) -> None:
        raise RuntimeError("boom")

    hub.subscribe(broken)
    hub.subscribe(got.extend)
    hub.publish([Quote("AAPL", last=1)])
    assert [q.symbol for q in got] == ["AAPL"]
    assert hub.errors == 1 and hub.health().subscriber_errors == 1


def test_hub_unsubscribe_stops_delivery() -> None:
    hub = Hub()
    got: list[Quote] = []
    unsubscribe = hub.subscribe(got.extend)
    hub.publish([Quote("AAPL", last=1)])
    unsubscribe()
    hub.publish([Quote("AAPL", last=2)])
    assert len(got) == 1


def test_sim_same_seed_gives_the_same_prices() -> None:
    a = SimulatedMarket(["AAPL", "MSFT"], seed=42).step(200, ts=TS)
    b = SimulatedMarket(["aapl", "msft"], seed=42).step(200, ts=TS)
    c = SimulatedMarket(["AAPL", "MSFT"], seed=43).step(200, ts=TS)
    assert a == b
    assert a != c


def test_sim_quotes_are_on_the_cent_tick_uncrossed_with_round_lot_sizes() -> None:
    quotes = SimulatedMarket(seed=7).step(5000, ts=TS)
    for q in quotes:
        assert q._bid % 100 == 0 and q._ask % 100 == 0 and q._last % 100 == 0
        assert 0 < q._bid < q._ask
        assert q._last in (q._bid, q._ask)
        assert q.bid_size % 100 == 0 and q.ask_size % 100 == 0
        assert q.src == "sim" and q.ts == TS
    assert {q.symbol for q in quotes} == {"AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "SPY", "QQQ",
                                          "IWM"}


def test_sim_first_aapl_quote_starts_near_190_with_a_two_cent_spread() -> None:
    q = SimulatedMarket(["AAPL"], seed=0).step(1, ts=TS)[0]
    assert abs(q.last - 190) < 1
    assert q.ask - q.bid == Decimal("0.02")


def test_sim_rate_20_per_second_publishes_2_quotes_per_tenth_of_a_second() -> None:
    market = SimulatedMarket(["AAPL", "MSFT"], rate=20, seed=1, clock=lambda: TS)
    assert [len(market.step()) for _ in range(5)] == [2, 2, 2, 2, 2]
    market = SimulatedMarket(["AAPL"], rate=5, seed=1, clock=lambda: TS)
    assert [len(market.step()) for _ in range(4)] == [0, 1, 0, 1]


def test_sim_run_into_hub_for_a_duration_publishes_batches() -> None:
    hub = Hub()
    batches: list[list[Quote]] = []
    hub.subscribe(batches.append)
    market = SimulatedMarket(["AAPL", "MSFT"], rate=100, seed=1)
    count = asyncio.run(market.run(hub.publish, duration=0.35))
    assert count == hub.quotes == sum(len(b) for b in batches)
    assert all(len(b) == 10 for b in batches)
    assert set(hub.latest) == {"AAPL", "MSFT"}
