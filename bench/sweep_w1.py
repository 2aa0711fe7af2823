#!/usr/bin/env python3
"""pn.sweep on W1: 8 combinations of a W1-like strategy over the 1M-quote file, serial vs the local
process pool vs a Dask LocalCluster (2 workers), beside this machine's own ceiling: the same
pure-Python loop in 1 and in 2 processes at once.

    python bench/sweep_w1.py [--limit N] [--no-dask]

Prints each executor's wall time, its speed-up over serial (target >= 1.8x on 2 cores), the
ceiling, and the per-combination overhead (wall time per combination beyond a backtest's own).
Every executor must give the same table (checked).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import pyarrow.parquet as pq  # noqa: E402

import papernb as pn  # noqa: E402


class W1Like:
    """W1 (../shared/bench/W1.md) with its knobs as parameters: every ``every``-th quote of a symbol,
    cancel what is ``max_age`` quotes old, buy 10 at bid - ``dip``, sell at avg + ``take``."""

    def __init__(self, dip: float = 0.05, take: float = 0.10, every: int = 100, max_age: int = 500) -> None:
        self.dip, self.take, self.every, self.max_age = dip, take, every, max_age
        self.n: dict[str, int] = {}
        self.open: dict[str, list] = {}

    def on_quote(self, acct: pn.Account, q: pn.Quote) -> None:
        s = q.symbol
        n = self.n.get(s, 0) + 1
        self.n[s] = n
        if n % self.every:
            return
        mine = [(o, k) for o, k in self.open.get(s, ()) if o.is_open]
        for o, k in mine:
            if n - k >= self.max_age:
                acct.cancel(o)
        mine = [(o, k) for o, k in mine if o.is_open]
        if not mine:
            o = acct.buy(s, 10, limit=pn.to_tick(q.bid - self.dip, "buy"))
            if o.is_open:
                mine.append((o, n))
        pos = acct.position(s)
        if pos is not None and pos.qty > 0 and not any(o.side is pn.Side.SELL for o, _ in mine):
            o = acct.sell(s, pos.qty, limit=pn.to_tick(pos.avg_price + self.take, "sell"))
            if o.is_open:
                mine.append((o, n))
        self.open[s] = mine


GRID = {"dip": [0.03, 0.05], "take": [0.10, 0.20], "every": [100, 200]}  # 8 combinations


def spin(n: int) -> float:
    """The ceiling's work: a plain Python loop (dict updates, arithmetic), as a backtest's is."""
    t0 = time.perf_counter()
    d: dict[int, int] = {}
    x = 0
    for i in range(n):
        k = i % 20
        d[k] = d.get(k, 0) + 1
        x += (i * 7) % 13
    return time.perf_counter() - t0


def ceiling(n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    spin(n)
    spin(n)
    one = time.perf_counter() - t0
    with ProcessPoolExecutor(2) as pool:
        pool.submit(spin, 1000).result()  # start the workers first
        t0 = time.perf_counter()
        list(pool.map(spin, [n, n]))
        two = time.perf_counter() - t0
    return one, two


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(HERE / "data" / "w1_ticks.parquet"))
    ap.add_argument("--limit", type=int, default=0, help="use the first N quotes only")
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args()
    data = args.data
    if args.limit:
        tmp = Path(tempfile.mkdtemp()) / "w1_prefix.parquet"
        pq.write_table(pq.read_table(data).slice(0, args.limit), tmp)
        data = str(tmp)
    n_quotes = pq.read_metadata(data).num_rows
    print(f"data: {data} ({n_quotes:,} quotes); grid {GRID} = 8 combinations")
    one, two = ceiling(20_000_000)
    print(f"ceiling: the same pure-Python loop twice in 1 process {one:.2f} s, in 2 processes {two:.2f} s: "
          f"{one / two:.2f}x")
    t0 = time.perf_counter()
    alone = pn.backtest(data, W1Like(), progress=False)
    single = time.perf_counter() - t0
    print(f"one backtest alone: {single:.2f} s (its run phase {alone.seconds:.2f} s)")
    tables = {}
    times = {}
    for name, executor in (("serial", "serial"), ("process pool", None)):
        t0 = time.perf_counter()
        tables[name] = pn.sweep(data, W1Like, GRID, executor=executor, progress=False)
        times[name] = time.perf_counter() - t0
    if not args.no_dask:
        try:
            import distributed
        except ImportError:
            print("dask: not installed (pip install \"papernb[dask]\")")
        else:
            with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                          dashboard_address=None) as cluster, distributed.Client(cluster) as client:
                t0 = time.perf_counter()
                tables["dask"] = pn.sweep(data, W1Like, GRID, executor=client, progress=False)
                times["dask"] = time.perf_counter() - t0
    base = tables["serial"]
    for name, t in times.items():
        same = tables[name].equals(base)
        per = t / 8 - (single if name == "serial" else single / 2)
        print(f"{name:13s} {t:7.2f} s  {times['serial'] / t:5.2f}x serial (ceiling {one / two:.2f}x)  "
              f"overhead per combination {per:+.2f} s  same table: {same}")
    print(base[["dip", "take", "every", "trades", "equity", "sharpe", "journal_hash"]].to_string())


if __name__ == "__main__":
    main()
