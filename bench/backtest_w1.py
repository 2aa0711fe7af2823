#!/usr/bin/env python3
"""Workload W1 end to end through ``pn.backtest`` (reading the Parquet file included).

Prints ticks/s end to end and of the run phase, peak memory, and, in the same run, the
plain-Python floor (../shared/bench/w1_floor.py) and, when they are installed in this
environment, nautilus_trader and backtrader via the reference scripts in ../shared/bench/,
each in its own process, with the ratios.  ``--strategy`` runs the bench's W1, the generic
W1 as users write it (``positions()``, ``orders(status="open")``, status strings; reported
as ``papernb-generic``), or both (default) in the same interleaved runs.

    python bench/w1_data.py      # once
    python bench/backtest_w1.py [--cash 10000000] [--repeat 3] [--strategy w1|generic|both]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("PAPERNB_SHARED_BENCH", HERE.parent.parent / "shared" / "bench"))


def papernb_once(data: str, cash: float, strategy: str = "w1") -> dict:
    """One end-to-end run in a fresh process, so that peak RSS is this run's alone."""
    label = "papernb" if strategy == "w1" else f"papernb-{strategy}"
    code = f"""
import json, resource, sys, time
sys.path.insert(0, {str(HERE)!r}); sys.path.insert(0, {str(HERE.parent)!r})
t_start = time.perf_counter()
import papernb as pn
from w1_strategy import STRATEGIES
strat = STRATEGIES[{strategy!r}]()
t0 = time.perf_counter()  # like w1_floor.py: imports are reported apart, not in ticks/s
res = pn.backtest({data!r}, strat, cash={cash!r}, progress=False)
t1 = time.perf_counter()
out = {{"engine": {label!r}, "import_s": round(t0 - t_start, 3), "total_s": round(t1 - t0, 3),
        "load_s": round(res.load_seconds, 3),
        "run_s": round(res.seconds, 3), "ticks_per_s": round(res.quotes / (t1 - t0)),
        "run_ticks_per_s": round(res.quotes / res.seconds), "journal_hash": res.journal_hash[:16],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        **strat.counts(res.account)}}
print("RESULT " + json.dumps(out))
"""
    return _result([sys.executable, "-c", code])


def _result(cmd: list[str]) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=SHARED if SHARED.exists() else HERE)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{cmd[:3]} printed no RESULT:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")


def other(script: str, data: str, cash: float, python: str | None = None) -> dict | None:
    """A reference engine's script from ../shared/bench, with this Python or ``python`` (a scratch venv)."""
    path = SHARED / script
    if not path.exists():
        return None
    exe = python or sys.executable
    if script != "w1_floor.py":
        mod = "nautilus_trader" if "nautilus" in script else "backtrader"
        if python is None and importlib.util.find_spec(mod) is None:
            return None
        if python is not None and subprocess.call([exe, "-c", f"import {mod}"], stderr=subprocess.DEVNULL):
            return None
    return _result([exe, str(path), "--data", data, "--mode", "w1", "--cash", str(cash)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(HERE / "data" / "w1_ticks.parquet"))
    ap.add_argument("--cash", type=float, default=100_000.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--engines", default="papernb,floor,nautilus,backtrader",
                    help="which to run (backtrader needs ~10 min a run here)")
    ap.add_argument("--anchors-python", help="a Python (e.g. a scratch venv) that has nautilus_trader and "
                                             "backtrader installed, for the reference engines")
    ap.add_argument("--strategy", choices=("w1", "generic", "both"), default="both",
                    help="papernb with the bench's W1, the generic W1 as users write it, or both (default)")
    args = ap.parse_args()
    mine = {"w1": ["papernb"], "generic": ["papernb-generic"],
            "both": ["papernb", "papernb-generic"]}[args.strategy]
    if not Path(args.data).exists():
        sys.exit(f"{args.data} is missing: run python bench/w1_data.py first")
    engines = set(args.engines.split(","))
    runs: dict[str, list[dict]] = {}
    for i in range(args.repeat):  # interleaved, so that machine noise hits every engine alike
        for name, fn in (("papernb", lambda: papernb_once(args.data, args.cash)),
                         ("papernb-generic", lambda: papernb_once(args.data, args.cash, "generic")),
                         ("floor", lambda: other("w1_floor.py", args.data, args.cash)),
                         ("nautilus", lambda: other("w1_nautilus.py", args.data, args.cash, args.anchors_python)),
                         ("backtrader", lambda: other("w1_backtrader.py", args.data, args.cash,
                                                     args.anchors_python))):
            if name.startswith("papernb"):
                selected = name in mine and "papernb" in engines
            else:
                selected = name in engines
            r = fn() if selected else None
            if r is not None:
                runs.setdefault(name, []).append(r)
                print(f"run {i + 1} {name:15} {r['ticks_per_s']:>10,} ticks/s end to end", flush=True)
    med = {k: sorted(v, key=lambda r: r["ticks_per_s"])[len(v) // 2] for k, v in runs.items()}
    for k, r in med.items():
        print(f"RESULT {k} " + json.dumps(r))
    for name in mine:
        if name not in med:
            continue
        p = med[name]
        hashes = {r["journal_hash"] for r in runs[name]}
        print(f"{name} deterministic across runs: {len(hashes) == 1} ({', '.join(sorted(hashes))})")
        print(f"{name} peak RSS {p['peak_rss_mb']} MiB (target < 1024)")
        for k, target in (("floor", 0.70), ("nautilus", 5.0), ("backtrader", 100.0)):
            if k in med:
                ratio = p["ticks_per_s"] / med[k]["ticks_per_s"]
                print(f"{name} / {k}: {ratio:.2f}x end to end (target >= {target}x)")
    for k in ("floor", "nautilus", "backtrader"):
        if k not in med:
            print(f"{k}: not installed here (pip install it in this environment to compare)")
    if "papernb" in med and "papernb-generic" in med:
        w, g = med["papernb"], med["papernb-generic"]
        skip = {"engine", "import_s", "total_s", "load_s", "run_s", "ticks_per_s", "run_ticks_per_s",
                "peak_rss_mb"}
        same = {k: v for k, v in w.items() if k not in skip} == {k: v for k, v in g.items() if k not in skip}
        print(f"papernb-generic / papernb: {g['ticks_per_s'] / w['ticks_per_s']:.2f}x end to end, "
              f"{g['run_ticks_per_s'] / w['run_ticks_per_s']:.2f}x run phase; "
              f"same counts, money and journal: {same}")
    # the ratios within each run, where both sides met the same machine noise
    pairs = [(f"{n} / floor", n, "floor") for n in mine if n in runs and "floor" in runs]
    if "papernb" in runs and "papernb-generic" in runs:
        pairs.append(("papernb-generic / papernb", "papernb-generic", "papernb"))
    for name, num, den in pairs:
        rs = sorted(x["ticks_per_s"] / y["ticks_per_s"] for x, y in zip(runs[num], runs[den], strict=True))
        print(f"per-run ratio {name}: median {rs[len(rs) // 2]:.3f} end to end (min {rs[0]:.3f}, max {rs[-1]:.3f})")


if __name__ == "__main__":
    main()
