#!/usr/bin/env python3
"""Excel/ThinkOrSwim parsing cost per poll, for a 500-row RTD sheet (target < 5 ms a poll).

Prints the time to parse a whole 500-row block as xlwings hands it over (floats, text,
None for #N/A), the steady-state poll of ExcelSource (nothing / 10% / everything
changed), and reading the same sheet from a saved .xlsx with python-calamine.
Figures only; nothing is asserted.

    python bench/feed_excel.py [--rows 500]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from papernb.feed import ExcelSource, parse_block, read_saved  # noqa: E402

HEADER = ["SYMBOL", "LAST", "BID", "ASK", "BID_SIZE", "ASK_SIZE", "NET_CHANGE", "PERCENT_CHANGE", "VOLUME"]


def block(rows: int, rng: random.Random) -> list[list]:
    out: list[list] = [HEADER]
    for i in range(rows):
        mid = round(rng.uniform(5, 900), 2)
        if i % 50 == 7:
            out.append([f"SYM{i}", None, None, None, None, None, None, None, None])  # #N/A while loading
            continue
        out.append([f"SYM{i}", mid, round(mid - 0.01, 2), round(mid + 0.01, 2), float(rng.randint(1, 50) * 100),
                    float(rng.randint(1, 50) * 100), round(rng.uniform(-5, 5), 2), round(rng.uniform(-0.03, 0.03), 4),
                    float(rng.randint(10_000, 90_000_000))])
    return out


def per_call(fn, n: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=500)
    args = ap.parse_args()
    rng = random.Random(1)
    base = block(args.rows, rng)
    print(f"{args.rows}-row ThinkOrSwim block, {len(HEADER)} columns (target < 5 ms per poll)")
    print(f"  parse_block, whole block                : {per_call(lambda: parse_block(base, ts=time.time_ns()), 50):6.2f} ms")

    now = [0.0]
    src = ExcelSource(lambda: base, clock=time.time_ns, monotonic=lambda: now[0])
    src.poll_block(base)
    print(f"  ExcelSource poll, nothing changed       : {per_call(lambda: src.poll_block(base), 200):6.2f} ms")

    variants = []
    for k in range(20):
        b = [list(r) for r in base]
        for r in rng.sample(range(1, len(b)), len(b) // 10):
            if b[r][1] is not None:
                b[r][1] = round(b[r][1] + 0.01 * (k + 1), 2)
        variants.append(b)
    it = iter(range(10**9))
    print(f"  ExcelSource poll, 10% of rows changed   : "
          f"{per_call(lambda: src.poll_block(variants[next(it) % 20]), 200):6.2f} ms")

    def all_due() -> None:
        now[0] += 10.0  # every row due for its stale_after/2 re-emit
        src.poll_block(base)

    print(f"  ExcelSource poll, every row re-emitted  : {per_call(all_due, 50):6.2f} ms")

    from openpyxl import Workbook

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "tos.xlsx"
        wb = Workbook()
        ws = wb.active
        ws.title = "Quotes"
        for row in base:
            ws.append(row)
        wb.save(path)
        print(f"  read_saved (calamine) + parse_block     : "
              f"{per_call(lambda: parse_block(read_saved(path), ts=time.time_ns()), 20):6.2f} ms")


if __name__ == "__main__":
    main()
