"""The Redis bus against a real redis-server: end to end, resync, restart, fuzz."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Callable

import redis

from papernb.feed import Hub, RedisPublisher, RedisSubscriber, SimulatedMarket, asnapshot, snapshot
from papernb.feed.wire import encode
from papernb.quote import Quote

from .redis_server import RedisServer, free_port

TS = 1_732_550_400_000_000_000


async def until(pred: Callable[[], bool], what: str, limit: float = 10.0) -> None:
    """Wait for a condition (a liveness bound, not a timing assertion)."""
    for _ in range(int(limit / 0.01)):
        if pred():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"gave up waiting for: {what}")


def _quotes(n: int, symbols: tuple[str, ...] = ("AAPL", "MSFT", "SPY")) -> list[Quote]:
    return SimulatedMarket(symbols, seed=1).step(n, ts=TS)


def test_published_batches_arrive_in_the_hub_with_src_and_seq(redis_url: str) -> None:
    async def main() -> None:
        hub = Hub()
        got: list[Quote] = []
        hub.subscribe(got.extend)
        sub = RedisSubscriber(hub, redis_url)
        sub.start()
        assert await sub.wait_ready(10)
        pub = RedisPublisher(redis_url, src="sim")
        sent = _quotes(30)
        for i in range(0, 30, 10):
            assert await pub.publish(sent[i:i + 10]) == 10
        await until(lambda: len(got) == 30, "30 quotes")
        assert got == [Quote(q.symbol, bid=q.bid, ask=q.ask, last=q.last, ts=TS, change_pct=q.change_pct,
                             bid_size=q.bid_size, ask_size=q.ask_size, src="sim", seq=i + 1)
                       for i, q in enumerate(sent)]
        h = hub.health()
        assert (h.connected, h.quotes, h.dropped, h.gaps, h.reconnects) == (True, 30, 0, 0, 0)
        assert h.link.startswith("redis redis://127.0.0.1:")
        await sub.stop()
        await pub.aclose()

    asyncio.run(main())


def test_publisher_writes_per_symbol_channels_batch_channel_and_latest_hash(redis_url: str) -> None:
    r = redis.Redis.from_url(redis_url)
    ps = r.pubsub(ignore_subscribe_messages=True)
    ps.subscribe("desk:quote:MSFT", "desk:batch")
    sent = _quotes(4)

    async def main() -> None:
        pub = RedisPublisher(redis_url, prefix="desk", src="sim")
        await pub.publish(sent)
        await pub.aclose()

    asyncio.run(main())
    msgs = []
    for _ in range(50):
        m = ps.get_message(timeout=0.2)
        if m:
            msgs.append((m["channel"].decode(), json.loads(m["data"])))
        if len(msgs) == 2:
            break
    assert [(c, d["symbol"], d["seq"]) for c, d in msgs if c == "desk:quote:MSFT"] == [("desk:quote:MSFT", "MSFT", 2)]
    batch = [d for c, d in msgs if c == "desk:batch"][0]
    assert [(d["symbol"], d["seq"]) for d in batch] == [("AAPL", 1), ("MSFT", 2), ("SPY", 3), ("AAPL", 4)]
    latest = {k.decode(): json.loads(v) for k, v in r.hgetall("desk:quotes").items()}
    assert {s: d["seq"] for s, d in latest.items()} == {"AAPL": 4, "MSFT": 2, "SPY": 3}
    assert latest["AAPL"]["epoch"] == batch[0]["epoch"]
    ps.close()
    r.close()


def test_a_batch_goes_out_only_after_the_hash_holds_it(redis_url: str) -> None:
    """What makes "subscribe, then read the hash" complete: a subscriber that joins just after a
    batch went out must find that batch in the hash.  The publisher writes the hash and sends the
    batch in one step and fans out per symbol in another, so it must write the hash first.
    Redis's own keyspace events show the order in which it ran the commands."""
    r = redis.Redis.from_url(redis_url)
    r.config_set("notify-keyspace-events", "Kh")  # an event on every hash write
    ps = r.pubsub(ignore_subscribe_messages=True)
    ps.subscribe("papernb:batch", "__keyspace@0__:papernb:quotes")
    try:
        async def main() -> None:
            pub = RedisPublisher(redis_url, src="sim")
            for k in range(20):
                await pub.publish(SimulatedMarket([f"N{k:02d}{j}" for j in range(5)], seed=k).step(5, ts=TS))
            await pub.aclose()

        asyncio.run(main())
        order = []
        for _ in range(200):  # None for the subscribe confirmations, then the 40 messages
            m = ps.get_message(timeout=0.1)
            if m is not None:
                order.append("batch" if m["channel"] == b"papernb:batch" else m["data"].decode())
            if len(order) == 40:
                break
        assert order == ["hset", "batch"] * 20
    finally:
        r.config_set("notify-keyspace-events", "")
        ps.close()
        r.close()


def test_a_late_subscriber_starts_from_the_hash_snapshot(redis_url: str) -> None:
    async def main() -> None:
        pub = RedisPublisher(redis_url, src="sim")
        sent = _quotes(9)
        await pub.publish(sent)
        hub = Hub()
        kinds: list[tuple[bool, int]] = []
        hub.subscribe(lambda batch: kinds.append((hub.in_snapshot, len(batch))))
        sub = RedisSubscriber(hub, redis_url, symbols=["msft", "SPY"])
        sub.start()
        await until(lambda: len(hub.latest) == 2, "snapshot of MSFT and SPY")
        assert {s: q.seq for s, q in hub.latest.items()} == {"MSFT": 8, "SPY": 9}
        h = hub.health()
        assert (h.quotes, h.ages) == (0, {})  # snapshot quotes may be old: not signs of life
        # then per-symbol channels: AAPL is not wanted
        await pub.publish(_quotes(3, ("AAPL", "SPY", "MSFT")))
        await until(lambda: hub.quotes == 2, "SPY and MSFT updates")
        assert sorted(hub.health().ages) == ["MSFT", "SPY"]
        assert kinds == [(True, 2), (False, 1), (False, 1)]  # one resync batch, then one message per quote
        assert {s: q.seq for s, q in hub.latest.items()} == {"MSFT": 12, "SPY": 11}
        assert await asnapshot(["SPY", "NOPE"], redis_url) == {"SPY": hub.latest["SPY"]}
        await sub.stop()
        await pub.aclose()

    asyncio.run(main())


def test_snapshot_returns_the_latest_quote_per_symbol_and_skips_unknown_ones(redis_url: str) -> None:
    async def publish() -> None:
        pub = RedisPublisher(redis_url, src="sim")
        await pub.publish(_quotes(6))
        await pub.aclose()

    asyncio.run(publish())
    snap = snapshot(["aapl", "ZZZ"], redis_url)
    assert list(snap) == ["AAPL"]
    assert snap["AAPL"].seq == 4 and snap["AAPL"].src == "sim"


def test_seq_gaps_on_the_batch_stream_are_counted(redis_url: str) -> None:
    async def main() -> None:
        hub = Hub()
        sub = RedisSubscriber(hub, redis_url)
        sub.start()
        assert await sub.wait_ready(10)
        r = redis.asyncio.Redis.from_url(redis_url)
        q = Quote("AAPL", last=1, ts=TS)
        for seq in (1, 2, 5, 6, 10):
            await r.publish("papernb:batch", "[" + encode(q, src="x", epoch=1, seq=seq) + "]")
        await until(lambda: hub.quotes == 5, "5 quotes")
        assert hub.gaps == 2 + 3
        await r.aclose()
        await sub.stop()

    asyncio.run(main())


def test_subscriber_survives_a_redis_restart_mid_stream_and_resynchronises(redis_server: RedisServer,
                                                                           redis_url: str) -> None:
    async def main() -> None:
        hub = Hub()
        sub = RedisSubscriber(hub, redis_url, backoff=0.05, max_backoff=0.2)
        sub.start()
        assert await sub.wait_ready(10)
        pub = RedisPublisher(redis_url, src="sim", max_backoff=0.2)
        market = SimulatedMarket(["AAPL", "MSFT", "SPY"], rate=300, seed=5)
        last_sent: dict[str, Quote] = {}

        async def publish(batch: list[Quote]) -> None:
            if await pub.publish(batch):
                for q in batch:
                    last_sent[q.symbol] = q

        feeding = asyncio.create_task(market.run(publish))
        await until(lambda: hub.quotes > 100, "quotes before the restart")
        redis_server.stop()
        await until(lambda: not hub.connected, "the hub to show the outage")
        assert hub.health().last_error is not None
        redis_server.start()  # empty: no persistence, like a crashed server
        await until(lambda: hub.connected and pub.connected, "reconnect")
        await until(lambda: hub.quotes > 0 and pub.published > 200, "quotes after the restart")
        feeding.cancel()  # a cancel redis-py swallowed once kept this feed running forever
        await asyncio.wait_for(asyncio.gather(feeding, return_exceptions=True), 10)
        final = snapshot(list(last_sent), redis_url)  # the feed has stopped: the hash is final
        # the batch in flight when the feed was cancelled may have gone out uncounted
        assert all(final[s].ts >= q.ts for s, q in last_sent.items())
        await until(lambda: all(hub.latest.get(s) == q for s, q in final.items()),
                    "the hub to hold the latest quote of every symbol")
        h = hub.health()
        assert h.connected is True and h.reconnects == 1 and sub.resyncs == 2
        await sub.stop()
        await pub.aclose()

    asyncio.run(main())


def test_a_publisher_restarted_with_an_earlier_clock_wins_once_the_old_epoch_is_silent(redis_url: str) -> None:
    async def main() -> None:
        hub = Hub()
        clock = [100.0]
        sub = RedisSubscriber(hub, redis_url, epoch_silent=10, monotonic=lambda: clock[0])
        sub.start()
        assert await sub.wait_ready(10)
        r = redis.asyncio.Redis.from_url(redis_url)

        async def send(last: str, epoch: int, seq: int) -> None:
            await r.publish("papernb:batch", "[" + encode(Quote("AAPL", last=last, ts=TS), src="pc", epoch=epoch,
                                                          seq=seq) + "]")

        await send("10", epoch=2000, seq=50)
        await until(lambda: hub.quotes == 1, "the first quote")
        await send("11", epoch=1000, seq=1)  # the PC's clock went back, then it restarted
        await send("12", epoch=2000, seq=51)  # the old publisher was still alive: it wins
        await until(lambda: hub.quotes == 2, "the second quote")
        assert hub.latest["AAPL"].last == 12 and sub.stale == 1
        clock[0] += 10.5  # the old epoch falls silent
        await send("13", epoch=1000, seq=2)
        await until(lambda: hub.quotes == 3, "the restarted publisher's quote")
        assert hub.latest["AAPL"].last == 13
        await r.aclose()
        await sub.stop()

    asyncio.run(main())


def test_configured_but_unreachable_redis_shows_disconnected_then_connects_when_it_appears() -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"

    async def main() -> None:
        hub = Hub()
        sub = RedisSubscriber(hub, url, backoff=0.05, max_backoff=0.1)
        sub.start()
        await until(lambda: hub.last_error is not None, "a connection error")
        h = hub.health()
        assert h.connected is False and h.link == f"redis {url}" and "Error" in h.last_error
        server = RedisServer(port).start()
        try:
            assert await sub.wait_ready(10)
            assert hub.connected is True and hub.last_error is None
        finally:
            await sub.stop()
            server.stop()

    asyncio.run(main())


def test_publisher_drops_batches_while_redis_is_away_and_does_not_block() -> None:
    async def main() -> None:
        pub = RedisPublisher(f"redis://127.0.0.1:{free_port()}/0", src="sim")
        assert await pub.publish(_quotes(5)) == 0
        assert await pub.publish(_quotes(5)) == 0
        assert (pub.connected, pub.lost, pub.published) == (False, 10, 0)
        await pub.aclose()

    asyncio.run(main())


def test_a_feed_whose_cancel_was_swallowed_below_it_stops_at_its_next_publish(redis_url: str) -> None:
    async def main() -> None:
        pub = RedisPublisher(redis_url, src="sim")
        market = SimulatedMarket(["AAPL", "MSFT"], rate=200, seed=3)
        sent: list[int] = []

        async def publish(batch: list[Quote]) -> None:
            if len(sent) == 3:  # as redis-py once did mid-command: the cancel arrives, nothing raises
                asyncio.current_task().cancel()  # type: ignore[union-attr]
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.sleep(0)
            sent.append(await pub.publish(batch))

        feeding = asyncio.create_task(market.run(publish))
        done, _ = await asyncio.wait([feeding], timeout=10)
        assert done and feeding.cancelled(), "the feed kept publishing after it was cancelled"
        assert len(sent) == 3 and pub.published == sum(sent) > 0
        await pub.aclose()

    asyncio.run(main())


def test_fuzzed_messages_never_crash_the_subscriber_and_no_bad_quote_gets_through(redis_url: str) -> None:
    rng = random.Random(2024)
    good = Quote("AAPL", bid="10.00", ask="10.02", last="10.01", ts=TS)
    ok = json.loads(encode(good, src="fz", epoch=7, seq=100))
    garbage: list[tuple[bytes | str, int]] = [  # (payload, quotes it should count as dropped)
        *[(b"\xff" + rng.randbytes(rng.randint(0, 300)), 1) for _ in range(200)],  # random bytes
        (b"", 1), (b"{", 1), (b"[1, 2", 1), (b"null", 1), (b'"AAPL"', 1), (b"[[[[]]]]", 1),
        (b"[" * 200_000 + b"]" * 200_000, 1),  # nesting too deep for the parser
        (json.dumps({**ok, "last": "NaN"}), 1),
        ('{"symbol": "AAPL", "bid": NaN, "ask": 1, "epoch": 7, "seq": 101}', 1),
        ('{"symbol": "AAPL", "last": Infinity, "epoch": 7, "seq": 101}', 1),
        (json.dumps({**ok, "bid": "10.03"}), 1),  # crossed
        (json.dumps({**ok, "last": "-1"}), 1),
        (json.dumps({**ok, "symbol": "A" * 1_000_000}), 1),  # 1 MB strings
        (json.dumps({**ok, "src": "s" * 1_000_000}), 1),
        (json.dumps({**ok, "last": "1" * 1_000_000}), 1),
        (json.dumps({**ok, "ts": 1_732_550_400}), 1),  # seconds, not ns
        (json.dumps({**ok, "seq": "101"}), 1),
        (json.dumps({**ok, "epoch": True}), 1),
        (json.dumps([{**ok, "bid": "11"}, 3, None, {**ok, "symbol": ""}]), 4),
    ]

    async def main() -> None:
        hub = Hub()
        got: list[Quote] = []
        hub.subscribe(got.extend)
        sub = RedisSubscriber(hub, redis_url)
        task = sub.start()
        assert await sub.wait_ready(10)
        r = redis.asyncio.Redis.from_url(redis_url)
        await r.publish("papernb:batch", json.dumps([ok]))
        for payload, _ in garbage:
            await r.publish("papernb:batch", payload)
        # stale: an older seq of the same epoch, and an older epoch, are ignored
        await r.publish("papernb:batch", json.dumps([{**ok, "seq": 99, "last": "10.015"}]))
        await r.publish("papernb:batch", json.dumps([{**ok, "epoch": 6, "seq": 500, "last": "10.015"}]))
        # a valid quote last: when it arrives, everything before it has been handled
        await r.publish("papernb:batch", json.dumps([{**ok, "seq": 101, "symbol": "MSFT"}]))
        await until(lambda: len(got) == 2, "the two valid quotes", limit=20)
        assert [(q.symbol, q.seq, q.last) for q in got] == [("AAPL", 100, good.last), ("MSFT", 101, good.last)]
        assert hub.dropped == sum(n for _, n in garbage)
        assert sub.stale == 2
        assert not task.done() and hub.connected
        await r.aclose()
        await sub.stop()

    asyncio.run(main())


def test_malformed_hash_entries_are_dropped_on_resync(redis_url: str) -> None:
    r = redis.Redis.from_url(redis_url)
    r.hset("papernb:quotes", mapping={"AAPL": encode(Quote("AAPL", last=1, ts=TS), src="s", epoch=1, seq=1),
                                      "BAD": b"\x00\xff", "X": '{"symbol": "X", "bid": "2", "ask": "1"}'})
    r.close()

    async def main() -> None:
        hub = Hub()
        sub = RedisSubscriber(hub, redis_url)
        sub.start()
        assert await sub.wait_ready(10)
        assert list(hub.latest) == ["AAPL"] and hub.dropped == 2
        await sub.stop()

    asyncio.run(main())
    assert snapshot(["AAPL", "BAD", "X"], redis_url) == {"AAPL": Quote("AAPL", last=1, ts=TS, src="s", seq=1)}
