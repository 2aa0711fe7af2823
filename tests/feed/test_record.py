"""Recording the tape from Redis, then replaying it: the same quotes, in the same order."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from papernb.errors import ConfigError
from papernb.feed import Hub, Recorder, RedisPublisher, RedisSubscriber, Replay, SimulatedMarket
from papernb.quote import Quote

from .test_redis import until


def _record_live(redis_url: str, path: Path) -> list[Quote]:
    """Publish a sim tape through Redis into a recorder; returns what the subscriber delivered."""

    async def main() -> list[Quote]:
        hub = Hub()
        seen: list[Quote] = []
        hub.subscribe(seen.extend)
        recorder = Recorder(path, flush_rows=100)  # several row groups / inserts
        hub.subscribe(recorder.write)
        sub = RedisSubscriber(hub, redis_url)
        sub.start()
        assert await sub.wait_ready(10)
        pub = RedisPublisher(redis_url, src="sim")
        market = SimulatedMarket(["AAPL", "MSFT", "/ES", "BRK/B"], seed=9)
        for i in range(25):
            await pub.publish(market.step(20, ts=1_732_550_400_000_000_000 + i * 1_000_000))
        await until(lambda: len(seen) == 500, "500 quotes")
        await sub.stop()
        await pub.aclose()
        recorder.close()
        assert recorder.rows == 500
        return seen

    return asyncio.run(main())


@pytest.mark.parametrize("name", ["tape.parquet", "tape.duckdb"])
def test_recording_then_replaying_gives_the_same_quote_sequence(redis_url: str, tmp_path: Path, name: str) -> None:
    seen = _record_live(redis_url, tmp_path / name)
    replayed = Replay(tmp_path / name, speed=None)
    assert replayed.dropped == 0
    assert replayed.quotes == seen
    assert [q.seq for q in replayed.quotes] == list(range(1, 501))


def test_recording_appends_to_an_existing_duckdb_table(tmp_path: Path) -> None:
    f = tmp_path / "day.duckdb"
    a = [Quote("AAPL", last="1.5", ts=1_732_550_400_000_000_000, src="x", seq=1)]
    b = [Quote("AAPL", bid="1.49", ask="1.51", ts=1_732_550_401_000_000_000, src="x", seq=2, change_pct="0.5")]
    with Recorder(f) as rec:
        rec.write(a)
    with Recorder(f) as rec:
        rec.write(b)
    assert Replay(f).quotes == a + b


def test_recording_to_an_unknown_file_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="parquet or .duckdb"):
        Recorder(tmp_path / "tape.csv")
