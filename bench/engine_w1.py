#!/usr/bin/env python3
"""Workload W1 (../shared/bench/W1.md) through the papernb engine, beside the plain-Python floor.

Prints the run-phase ticks/s of the engine on a ``:memory:`` book (quotes already built
as ``pn.Quote`` objects, default EngineConfig: stale guard, stops, DAY expiry, review
windows and MFE/MAE all on), the floor's run phase measured in the same process, their
ratio, and the W1 counts.  ``--file-book`` also runs it on a DuckDB file book (every
order event committed before the call returns), usually on a prefix of the data.
``--strategy`` picks the bench's W1 (``position(sym)``, ``o.is_open``), the generic W1 as
users write it (``positions()``, ``orders(status="open")``, status strings), or both
(default), each timed in the same runs as the floor.

    python bench/w1_data.py            # once: writes bench/data/w1_ticks.parquet
    python bench/engine_w1.py [--cash 10000000] [--limit N] [--file-book 100000] [--strategy w1|generic|both]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import resource
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from w1_strategy import STRATEGIES  # noqa: E402

import papernb as pn  # noqa: E402

SHARED = Path(os.environ.get("PAPERNB_SHARED_BENCH", HERE.parent.parent / "shared" / "bench"))


def load_quotes(path: Path, limit: int) -> list[pn.Quote]:
    t = pq.read_table(path)
    if limit:
        t = t.slice(0, limit)
    ts = t.column("ts").to_pylist()
    sym = t.column("symbol").to_pylist()
    bid = t.column("bid").to_pylist()
    ask = t.column("ask").to_pylist()
    last = t.column("last").to_pylist()
    Q = pn.Quote
    return [Q(s, bid=b, ask=a, last=la, ts=x) for x, s, b, a, la in zip(ts, sym, bid, ask, last, strict=True)]


def run_engine(quotes: list[pn.Quote], path: str, cash: float, strategy: str = "w1") -> dict:
    book = pn.Engine(path, starting_cash=cash)
    acct = book.account("w1")
    strat = STRATEGIES[strategy]()
    gc.collect()
    gc.disable()
    t0 = time.perf_counter()
    # the engine's one quote loop, the strategy called after each quote: what pn.backtest and a
    # live session with a strategy run
    book.on_quotes(quotes, partial(strat.on_quote, acct))
    t1 = time.perf_counter()
    gc.enable()
    out = {"run_s": round(t1 - t0, 3), "run_ticks_per_s": round(len(quotes) / (t1 - t0)), **strat.counts(acct)}
    book.close()
    return out


def run_floor(data: Path, limit: int, cash: float) -> dict | None:
    spec_path = SHARED / "w1_floor.py"
    if not spec_path.exists():
        return None
    spec = importlib.util.spec_from_file_location("w1_floor", spec_path)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    ticks = mod.load(str(data), limit)
    gc.collect()
    t0 = time.perf_counter()
    res = mod.run(ticks, w1=True, cash=cash)
    t1 = time.perf_counter()
    res["run_s"] = round(t1 - t0, 3)
    res["run_ticks_per_s"] = round(len(ticks) / (t1 - t0))
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(HERE / "data" / "w1_ticks.parquet"))
    ap.add_argument("--cash", type=float, default=100_000.0)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="interleaved runs; medians are printed")
    ap.add_argument("--file-book", type=int, default=0, metavar="N",
                    help="also run the first N quotes on a DuckDB file book")
    ap.add_argument("--strategy", choices=("w1", "generic", "both"), default="both",
                    help="the bench's W1, the generic W1 as users write it, or both (default)")
    args = ap.parse_args()
    strategies = ("w1", "generic") if args.strategy == "both" else (args.strategy,)
    label = {"w1": "engine", "generic": "engine generic"}
    key = {"w1": "engine", "generic": "engine-generic"}
    data = Path(args.data)
    if not data.exists():
        sys.exit(f"{data} is missing: run python bench/w1_data.py first")
    print("config:", pn.EngineConfig(starting_cash=args.cash))
    t0 = time.perf_counter()
    quotes = load_quotes(data, args.limit)
    t1 = time.perf_counter()
    print(f"load: {len(quotes):,} quotes as pn.Quote in {t1 - t0:.2f} s ({len(quotes) / (t1 - t0):,.0f}/s)")
    eng_runs: dict[str, list[dict]] = {s: [] for s in strategies}
    floor_runs = []
    for i in range(args.repeat):
        es = {s: run_engine(quotes, ":memory:", args.cash, s) for s in strategies}
        f = run_floor(data, args.limit, args.cash)
        for s, e in es.items():
            eng_runs[s].append(e)
        if f:
            floor_runs.append(f)
        print(f"run {i + 1}: "
              + ", ".join(f"{label[s]} {e['run_ticks_per_s']:,} ticks/s" for s, e in es.items())
              + (f", floor {f['run_ticks_per_s']:,} ticks/s" if f else ""))
    med = {s: sorted(v, key=lambda r: r["run_ticks_per_s"])[len(v) // 2] for s, v in eng_runs.items()}
    for s in strategies:
        print(f"RESULT {key[s]}", json.dumps(med[s]))
    if floor_runs:
        fmed = sorted(floor_runs, key=lambda r: r["run_ticks_per_s"])[len(floor_runs) // 2]
        print("RESULT floor", json.dumps(fmed))
        for s in strategies:
            print(f"{label[s]} / floor run phase: {med[s]['run_ticks_per_s'] / fmed['run_ticks_per_s']:.1%} "
                  f"(target >= 70% and >= 1,500,000 ticks/s)")
    else:
        print(f"floor not found at {SHARED} (set PAPERNB_SHARED_BENCH)")
    if len(strategies) == 2:
        w, g = med["w1"], med["generic"]
        same = ({k: v for k, v in w.items() if "run" not in k}
                == {k: v for k, v in g.items() if "run" not in k})
        print(f"engine generic / engine run phase: {g['run_ticks_per_s'] / w['run_ticks_per_s']:.2f}x; "
              f"same counts and money: {same}")
    # the ratios within each run, where both sides met the same machine noise
    pairs = [(f"{label[s]} / floor", eng_runs[s], floor_runs) for s in strategies if floor_runs]
    if len(strategies) == 2:
        pairs.append(("engine generic / engine", eng_runs["generic"], eng_runs["w1"]))
    for name, num, den in pairs:
        rs = sorted(x["run_ticks_per_s"] / y["run_ticks_per_s"] for x, y in zip(num, den, strict=True))
        print(f"per-run ratio {name}: median {rs[len(rs) // 2]:.3f} (min {rs[0]:.3f}, max {rs[-1]:.3f})")
    if args.file_book:
        for s in strategies:
            with tempfile.TemporaryDirectory() as d:
                fb = run_engine(quotes[:args.file_book], str(Path(d) / "w1.duckdb"), args.cash, s)
            name = "file-book" if s == "w1" else "file-book-generic"
            print(f"RESULT {name}", json.dumps({"quotes": min(args.file_book, len(quotes)), **fb}))
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
