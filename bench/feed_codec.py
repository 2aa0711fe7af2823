#!/usr/bin/env python3
"""The wire codec alone: encode and decode of 100-quote batches, as the Redis bus sends them.

Prices in a live feed are mostly new to the codec's caches (a random walk over 500 symbols
revisits few of them), so the batches here are fresh: the simulated market runs on between
them, after a warm-up of 30 s of a 10,000 quotes/s feed.  Beside decode, ``json.loads`` of the
same bytes: what parsing alone costs before papernb validates anything.  These are the CPU
parts of the feed's publish -> receive latency (bench/feed_redis.py).  Figures only.

    python bench/feed_codec.py [--batches 500] [--warmup 3000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from papernb.feed import SimulatedMarket  # noqa: E402
from papernb.feed.wire import decode, encode_many  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=3000, help="batches of 100 before timing")
    args = ap.parse_args()
    market = SimulatedMarket([f"S{i:03d}" for i in range(500)], seed=2)
    for _ in range(args.warmup):  # by default, warm the caches as 30 s of a 10k/s feed would
        encode_many(market.step(100), src="lat", epoch=1, seq=0)
    enc, dec, js = [], [], []
    for _ in range(args.batches):
        batch = market.step(100)
        t0 = time.perf_counter_ns()
        payload = ("[" + ",".join(encode_many(batch, src="lat", epoch=1, seq=0)) + "]").encode()
        t1 = time.perf_counter_ns()
        decode(payload)
        t2 = time.perf_counter_ns()
        json.loads(payload)
        t3 = time.perf_counter_ns()
        enc.append(t1 - t0)
        dec.append(t2 - t1)
        js.append(t3 - t2)
    print(f"Python {sys.version.split()[0]}; {args.batches} fresh batches of 100 quotes over 500 symbols")
    for name, xs in (("encode", enc), ("decode", dec), ("json.loads alone", js)):
        xs.sort()
        print(f"  {name:17s} p50 {xs[len(xs) // 2] / 1e3:6.0f} us   p90 {xs[len(xs) * 9 // 10] / 1e3:6.0f} us   per batch")


if __name__ == "__main__":
    main()
