#!/usr/bin/env python3
"""Feed over a real Redis: sustained quotes/s into the subscriber's hub, and latency at 10k/s.

Prints, in one run:
- papernb: RedisPublisher (per-symbol PUBLISH + batch array + latest-quote HSET, one
  pipeline per batch) in a separate process, at full speed -> RedisSubscriber -> Hub;
  quotes/s from the first to the last quote received, all quotes validated into Quotes.
- bare loop: redis-py + hiredis, one PUBLISH per quote (pipelined), the subscriber reading
  each message with ``get_message`` -- the naive way, measured on the same machine.
- bare batched: the same batch arrays, received and ``json.loads``-ed but not validated.
- latency: publish -> hub delivery at 10,000 quotes/s over 500 symbols (100-quote batches
  every 10 ms), p50/p99/max; beside it the transport floor, the same arrays published and
  received with nothing done to them (what a quote costs before papernb touches it).

Targets (issue 3): >= 60,000 quotes/s sustained, p99 < 5 ms at 10k/s, >= 70% of the bare
loop.  Figures only; nothing is asserted.

    python bench/feed_redis.py [--redis URL] [--quotes 300000] [--batch 500] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import redis.asyncio as aredis  # noqa: E402

from papernb.feed import Hub, RedisPublisher, RedisSubscriber, SimulatedMarket  # noqa: E402
from papernb.feed.wire import encode  # noqa: E402
from papernb.quote import Quote  # noqa: E402

SYMBOLS = [f"S{i:03d}" for i in range(500)]
SERVER_PID: int | None = None  # our own redis-server, for its CPU time


def _proc_cpu(pid: int | None) -> float:
    """CPU seconds used so far by a process (Linux /proc); 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class Cpu:
    """CPU seconds spent by this process, its finished children and the redis-server."""

    def __init__(self) -> None:
        self.t = self._now()

    @staticmethod
    def _now() -> tuple[float, float, float]:
        ch = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time(), ch.ru_utime + ch.ru_stime, _proc_cpu(SERVER_PID)

    def per_quote(self, n: int) -> str:
        a, b = self.t, self._now()
        sub, pub, srv = ((y - x) / n * 1e6 for x, y in zip(a, b, strict=True))
        server = f", redis-server {srv:.1f}" if SERVER_PID else ""
        return f"CPU per quote (us): publisher {pub:.1f}{server}, subscriber {sub:.1f}"


def _tape(n: int) -> list:
    market = SimulatedMarket(SYMBOLS, seed=1)
    return market.step(n, ts=time.time_ns())


# ---------------------------------------------------------------- publisher processes

async def _pub_papernb(url: str, n: int, batch: int, prefix: str) -> None:
    quotes = _tape(n)
    pub = RedisPublisher(url, prefix=prefix, src="bench")
    for i in range(0, n, batch):
        await pub.publish(quotes[i:i + batch])
    await pub.aclose()


async def _pub_bare(url: str, n: int, batch: int, channel: str, batched: bool) -> None:
    payloads = [encode(q, src="bench", epoch=1, seq=i + 1) for i, q in enumerate(_tape(n))]
    r = aredis.Redis.from_url(url)
    for i in range(0, n, batch):
        pipe = r.pipeline(transaction=False)
        chunk = payloads[i:i + batch]
        if batched:
            pipe.publish(channel, "[" + ",".join(chunk) + "]")
        else:
            for p in chunk:
                pipe.publish(channel, p)
        await pipe.execute()
    await r.aclose()


async def _pub_paced(url: str, seconds: float, rate: int, batch: int, prefix: str) -> None:
    market = SimulatedMarket(SYMBOLS, seed=2)
    pub = RedisPublisher(url, prefix=prefix, src="lat")
    interval = batch / rate
    loop = asyncio.get_running_loop()
    start = loop.time()
    ticks = int(seconds / interval)
    trusted = Quote._trusted
    for k in range(ticks):
        made = market.step(batch)
        now = time.time_ns()  # stamped when handed to the publisher, as a source would
        await pub.publish([trusted(q._sym, q._bid, q._ask, q._last, now, q._bsz, q._asz, q._chg) for q in made])
        await asyncio.sleep(max(0.0, start + (k + 1) * interval - loop.time()))
    await pub.aclose()


async def _pub_paced_bare(url: str, seconds: float, rate: int, batch: int, channel: str) -> None:
    """The transport alone: the same 100-quote arrays, pre-encoded, one PUBLISH each, send time in front."""
    market = SimulatedMarket(SYMBOLS, seed=2)
    interval = batch / rate
    ticks = int(seconds / interval)
    payloads = ["[" + ",".join(encode(q, src="lat", epoch=1, seq=i + 1) for i, q in enumerate(market.step(batch)))
                + "]" for _ in range(ticks)]
    r = aredis.Redis.from_url(url)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for k, payload in enumerate(payloads):
        await r.publish(channel, f"{time.time_ns()} {payload}")
        await asyncio.sleep(max(0.0, start + (k + 1) * interval - loop.time()))
    await r.aclose()


def publisher_main(argv: list[str]) -> None:
    kind, url, *rest = argv
    if kind == "papernb":
        asyncio.run(_pub_papernb(url, int(rest[0]), int(rest[1]), rest[2]))
    elif kind in ("bare", "bare-batched"):
        asyncio.run(_pub_bare(url, int(rest[0]), int(rest[1]), rest[2], kind == "bare-batched"))
    elif kind == "paced-bare":
        asyncio.run(_pub_paced_bare(url, float(rest[0]), int(rest[1]), int(rest[2]), rest[3]))
    else:
        asyncio.run(_pub_paced(url, float(rest[0]), int(rest[1]), int(rest[2]), rest[3]))


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--publisher", *args])


# ---------------------------------------------------------------- receivers (this process)

async def run_papernb(url: str, n: int, batch: int) -> tuple[float, int, int]:
    prefix = f"bench{time.time_ns()}"
    hub = Hub()
    times: list[float] = []
    count = [0]

    def on(b: list) -> None:
        count[0] += len(b)
        times.append(time.perf_counter())

    hub.subscribe(on)
    sub = RedisSubscriber(hub, url, prefix=prefix)
    sub.start()
    await sub.wait_ready(10)
    proc = _spawn("papernb", url, str(n), str(batch), prefix)
    while count[0] < n and proc.poll() is None or (count[0] < n and await _drain(0.5, count)):
        await asyncio.sleep(0.005)
    await _drain(0.5, count)
    proc.wait()
    await sub.stop()
    return (times[-1] - times[0]) if len(times) > 1 else float("nan"), count[0], hub.dropped + hub.gaps


async def _drain(wait: float, count: list[int]) -> bool:
    """Give in-flight messages time to arrive; True while the count still grows."""
    before = count[0]
    await asyncio.sleep(wait)
    return count[0] > before


async def run_bare(url: str, n: int, batch: int, batched: bool) -> tuple[float, int]:
    channel = f"bare{time.time_ns()}"
    r = aredis.Redis.from_url(url)
    ps = r.pubsub(ignore_subscribe_messages=True)
    await ps.subscribe(channel)
    proc = _spawn("bare-batched" if batched else "bare", url, str(n), str(batch), channel)
    count = 0
    first = last = 0.0
    idle = 0
    while count < n and idle < 20:
        m = await ps.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if m is None:
            idle += proc.poll() is not None
            continue
        if batched:
            count += len(json.loads(m["data"]))
        else:
            count += 1
        last = time.perf_counter()
        if not first:
            first = last
    proc.wait()
    await ps.aclose()
    await r.aclose()
    return last - first, count


async def run_latency(url: str, seconds: float, rate: int, batch: int) -> list[float]:
    prefix = f"lat{time.time_ns()}"
    hub = Hub()
    lat: list[float] = []

    def on(b: list) -> None:
        now = time.time_ns()
        lat.extend((now - q._ts) / 1e6 for q in b)

    hub.subscribe(on)
    sub = RedisSubscriber(hub, url, prefix=prefix)
    sub.start()
    await sub.wait_ready(10)
    proc = _spawn("paced", url, str(seconds), str(rate), str(batch), prefix)
    while proc.poll() is None:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    await sub.stop()
    return lat


async def run_bare_latency(url: str, seconds: float, rate: int, batch: int) -> list[float]:
    """Publish -> get_message latency of the same payloads with nothing done to them: the floor."""
    channel = f"barelat{time.time_ns()}"
    r = aredis.Redis.from_url(url)
    ps = r.pubsub(ignore_subscribe_messages=True)
    await ps.subscribe(channel)
    proc = _spawn("paced-bare", url, str(seconds), str(rate), str(batch), channel)
    lat: list[float] = []
    idle = 0
    while idle < 3:  # until the publisher is gone and nothing came for 0.3 s
        m = await ps.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if m is None:
            idle += proc.poll() is not None
            continue
        lat.append((time.time_ns() - int(m["data"].split(b" ", 1)[0])) / 1e6)
    proc.wait()
    await ps.aclose()
    await r.aclose()
    return lat


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--redis", help="use this server (default: start redis-server on a free port)")
    ap.add_argument("--quotes", type=int, default=300_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    server = None
    url = args.redis
    if url is None:
        from tests.feed.redis_server import RedisServer

        global SERVER_PID
        server = RedisServer().start()
        url = server.url
        SERVER_PID = server.proc.pid if server.proc else None
        # measure throughput, not redis' slow-subscriber guard (32 MB): on our own server only
        redis.Redis.from_url(url).config_set("client-output-buffer-limit", "pubsub 0 0 0")
    try:
        run(url, args)
    finally:
        if server is not None:
            server.stop()


def run(url: str, args: argparse.Namespace) -> None:
    try:
        import hiredis  # noqa: F401

        parser = "hiredis " + hiredis.__version__
    except ImportError:
        parser = "pure-Python parser (pip install hiredis!)"
    load = os.getloadavg()[0]
    print(f"redis-py {redis.__version__}, {parser}, Python {sys.version.split()[0]}, {url}, "
          f"{os.cpu_count()} CPUs, load average {load:.1f} at start")
    print(f"throughput: {args.quotes:,} quotes over {len(SYMBOLS)} symbols, batches of {args.batch}, "
          f"publisher in its own process")
    cpu = Cpu()
    secs, got, bad = asyncio.run(run_papernb(url, args.quotes, args.batch))
    pn_rate = got / secs
    print(f"  papernb  publisher -> Redis -> RedisSubscriber -> Hub : {pn_rate:>10,.0f} quotes/s "
          f"({got:,} received, {bad} dropped+gaps, {secs:.2f} s)")
    print(f"           {cpu.per_quote(got)}")
    cpu = Cpu()
    secs, got = asyncio.run(run_bare(url, args.quotes, args.batch, batched=False))
    bare_rate = got / secs
    print(f"  bare     redis-py PUBLISH per quote, get_message       : {bare_rate:>10,.0f} quotes/s "
          f"({got:,} received, {secs:.2f} s)")
    print(f"           {cpu.per_quote(got)}")
    cpu = Cpu()
    secs, got = asyncio.run(run_bare(url, args.quotes, args.batch, batched=True))
    bb_rate = got / secs
    print(f"  bare     batched arrays, json.loads, no validation     : {bb_rate:>10,.0f} quotes/s "
          f"({got:,} received, {secs:.2f} s)")
    print(f"           {cpu.per_quote(got)}")
    print(f"  ratio papernb / bare per-quote loop: {pn_rate / bare_rate:.0%}   "
          f"papernb / bare batched: {pn_rate / bb_rate:.0%}   (target >= 70%; >= 60,000 quotes/s)")
    lat = asyncio.run(run_latency(url, args.seconds, 10_000, 100))
    print(f"latency at 10,000 quotes/s over 500 symbols ({len(lat):,} quotes, 100-quote batches every 10 ms): "
          f"p50 {statistics.median(lat):.2f} ms  p99 {pct(lat, 99):.2f} ms  max {max(lat):.2f} ms  "
          f"(target p99 < 5 ms)")
    bare = asyncio.run(run_bare_latency(url, args.seconds, 10_000, 100))
    print(f"  transport floor: the same batch arrays, PUBLISH -> get_message, not decoded ({len(bare):,} messages): "
          f"p50 {statistics.median(bare):.2f} ms  p99 {pct(bare, 99):.2f} ms  max {max(bare):.2f} ms")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--publisher":
        publisher_main(sys.argv[2:])
    else:
        main()
