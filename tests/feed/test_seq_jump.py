"""A seq that cannot be real (injected, or a broken publisher) is suspicious, not a gap, and freezes nothing.

Against a real redis-server: one message with the publisher's own src and epoch and
seq = 10^18 used to freeze its symbol until the publisher restarted, and to add ~10^18 to
the gap counter.
"""

from __future__ import annotations

import asyncio
import json

import redis.asyncio as aredis

from papernb.feed import Hub, RedisPublisher, RedisSubscriber
from papernb.feed.redis_bus import FOLLOW_JUMP_AFTER, MAX_SEQ_JUMP
from papernb.quote import Quote

from .test_redis import until

TS = 1_732_550_400_000_000_000


def _q(sym: str, last: str) -> Quote:
    return Quote(sym, last=last, ts=TS)


def _forged(pub: RedisPublisher, sym: str, last: str, seq: int) -> str:
    return json.dumps({"symbol": sym, "bid": None, "ask": None, "last": last, "change_pct": None, "bid_size": None,
                       "ask_size": None, "ts": TS, "src": pub.src, "epoch": pub.epoch, "seq": seq})


def test_an_injected_seq_of_ten_to_the_18_is_suspicious_and_freezes_nothing(redis_url: str) -> None:
    async def main() -> None:
        hub = Hub()
        sub = RedisSubscriber(hub, redis_url)
        sub.start()
        assert await sub.wait_ready(10)
        pub = RedisPublisher(redis_url, src="excel")
        await pub.publish([_q("AAPL", "100"), _q("MSFT", "200")])
        await until(lambda: hub.quotes == 2, "the first batch")
        raw = aredis.Redis.from_url(redis_url)
        await raw.publish("papernb:batch", "[" + _forged(pub, "AAPL", "1.00", 10**18) + "]")
        # within the time bound, but far past the stream: suspicious too
        await raw.publish("papernb:batch", "[" + _forged(pub, "MSFT", "1.00", pub.seq + MAX_SEQ_JUMP + 2) + "]")
        await raw.aclose()
        await until(lambda: hub.suspicious == 2, "both forged quotes counted")
        await pub.publish([_q("AAPL", "101"), _q("MSFT", "201")])
        await until(lambda: hub.quotes == 4, "the next batch")
        assert (hub.latest["AAPL"].last, hub.latest["MSFT"].last) == (101, 201)  # nothing frozen
        h = hub.health()
        assert (h.gaps, h.suspicious, h.dropped) == (0, 2, 0)
        await sub.stop()
        await pub.aclose()

    asyncio.run(main())


def test_a_publisher_that_really_jumps_is_followed_after_a_run_of_quotes(redis_url: str) -> None:
    async def main() -> None:
        hub = Hub()
        sub = RedisSubscriber(hub, redis_url)
        sub.start()
        assert await sub.wait_ready(10)
        pub = RedisPublisher(redis_url, src="odd")
        await pub.publish([_q("AAPL", "100")])
        await until(lambda: hub.quotes == 1, "the first quote")
        pub.seq += 5 * MAX_SEQ_JUMP  # a publisher that skips numbers (papernb's never do)
        for i in range(FOLLOW_JUMP_AFTER + 10):
            await pub.publish([_q("AAPL", f"{101 + i}")])
        await until(lambda: hub.latest["AAPL"].last == 101 + FOLLOW_JUMP_AFTER + 9, "the jumped stream followed")
        assert (hub.suspicious, hub.gaps) == (FOLLOW_JUMP_AFTER - 1, 0)
        await sub.stop()
        await pub.aclose()

    asyncio.run(main())


def test_an_absurd_seq_in_the_latest_quote_hash_is_not_loaded(redis_url: str) -> None:
    async def main() -> None:
        pub = RedisPublisher(redis_url, src="excel")
        await pub.publish([_q("AAPL", "100")])
        raw = aredis.Redis.from_url(redis_url)
        await raw.hset("papernb:quotes", "MSFT", _forged(pub, "MSFT", "1.00", 10**18))
        await raw.aclose()
        hub = Hub()
        sub = RedisSubscriber(hub, redis_url)
        sub.start()
        assert await sub.wait_ready(10)
        assert sorted(hub.latest) == ["AAPL"] and hub.suspicious == 1
        await pub.publish([_q("MSFT", "200")])
        await until(lambda: "MSFT" in hub.latest, "MSFT from the publisher")
        assert hub.latest["MSFT"].last == 200
        await sub.stop()
        await pub.aclose()

    asyncio.run(main())
