#!/usr/bin/env python3
"""Submit -> durable acknowledgement latency on a DuckDB file book.

Each call below returns only after its journal row is committed (fsync'd WAL), so the
time of the call is the acknowledgement latency a trader or strategy sees.  Prints
p50/p99 for limit submits (rest), market submits (fill), replaces and cancels.

    python bench/engine_ack.py [--n 2000] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import papernb as pn  # noqa: E402

T0 = 1_704_205_800_000_000_000


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] * 1e3


def bare_commit(path: Path, n: int) -> list[float]:
    """One single-row INSERT per call, autocommitted: what any durable ack costs here at least."""
    import duckdb

    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE j (seq BIGINT, ts BIGINT, account VARCHAR, kind VARCHAR, order_id BIGINT, "
                "symbol VARCHAR, status VARCHAR, data VARCHAR)")
    data = '{"e":{"id":1,"symbol":"AAPL","side":"BUY","type":"LIMIT","qty":10,"limit":1800000}}'
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        con.execute("INSERT INTO j VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [i, i, "bench", "OrderAccepted", i, "AAPL",
                                                                       "PENDING", data])
        out.append(time.perf_counter() - t0)
    con.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--dir", default=None, help="where the book file goes (default: a temp dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        path = str(Path(d) / "ack.duckdb")
        book = pn.Engine(path, starting_cash=10_000_000)
        acct = book.account("bench")
        t = T0
        book.on_quote(pn.Quote("AAPL", bid=189.90, ask=190.10, last=190.00, ts=t))
        lat: dict[str, list[float]] = {"submit limit (rests)": [], "replace": [], "cancel": [],
                                       "submit market (fills)": []}
        for i in range(args.n):
            t += 10_000_000
            book.on_quote(pn.Quote("AAPL", bid=189.90, ask=190.10, last=190.00, ts=t))
            t0 = time.perf_counter()
            o = acct.buy("AAPL", 10, limit=180 + (i % 50) / 100)
            t1 = time.perf_counter()
            acct.replace(o, limit=181)
            t2 = time.perf_counter()
            acct.cancel(o)
            t3 = time.perf_counter()
            acct.buy("AAPL", 1) if i % 2 == 0 else acct.sell("AAPL", 1)
            t4 = time.perf_counter()
            lat["submit limit (rests)"].append(t1 - t0)
            lat["replace"].append(t2 - t1)
            lat["cancel"].append(t3 - t2)
            lat["submit market (fills)"].append(t4 - t3)
        book.close()
        bare = bare_commit(Path(d) / "bare.duckdb", args.n)
    print(f"file book, {args.n} of each call; duckdb {__import__('duckdb').__version__}")
    print(f"{'bare DuckDB 1-row commit':24} p50 {pct(bare, 0.5):6.2f} ms   p99 {pct(bare, 0.99):6.2f} ms   "
          f"(the floor: one autocommitted INSERT of a journal-sized row, same disk, same run)")
    for name, xs in lat.items():
        print(f"{name:24} p50 {pct(xs, 0.5):6.2f} ms   p99 {pct(xs, 0.99):6.2f} ms   "
              f"mean {statistics.fmean(xs) * 1e3:6.2f} ms")
    print("target: submit p50 < 2 ms, p99 < 10 ms")


if __name__ == "__main__":
    main()
