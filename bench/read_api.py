#!/usr/bin/env python3
"""What the account's read calls cost, by number of positions and by length of order history.

For 1, 20 and 200 open positions x 0, 10k and 100k closed orders of history (half
cancelled limit buys, half filled market orders on a symbol that ends flat), plus 5 open
resting buys, prints the microseconds per call of ``positions()``, ``position(sym)``,
``snapshot()``, ``orders(status="open")``, ``orders()`` and ``fills()``.  Between two
timed calls every position gets a new quote (its mark moves), as in a live strategy, so
nothing computed for one call can be reused by the next; only the read calls are timed.

Every book is built first (``:memory:``, GTC orders, no stale guard, engine time from the
quotes), then all cells are measured round-robin, several rounds, with the garbage
collector off while timing; the medians of the rounds are printed, with the targets.

    python bench/read_api.py [--quick] [--rounds 5] [--budget-ms 20]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import papernb as pn  # noqa: E402

T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC = 09:30 New York
STEP = 1_000_000  # 1 ms of engine time per quote batch / history order
N_OPEN = 5
POSITIONS = (1, 20, 200)
HISTORY = (0, 10_000, 100_000)
CALLS = ("positions()", "position(sym)", "snapshot()", 'orders("open")', "orders()", "fills()")


class Cell:
    """One book: ``n_pos`` long positions, ``n_hist`` closed orders, ``N_OPEN`` resting buys."""

    def __init__(self, n_pos: int, n_hist: int) -> None:
        self.n_pos, self.n_hist = n_pos, n_hist
        self.book = pn.Engine(":memory:", starting_cash=100_000_000, stale_after=None, default_tif="gtc")
        self.acct = self.book.account("bench")
        self.syms = [f"P{i:03d}" for i in range(n_pos)]
        self.t = T0
        self.k = 0  # quote generation: marks alternate between two prices
        t0 = time.perf_counter()
        self.feed()
        for s in self.syms:
            assert self.acct.buy(s, 10).status == "FILLED"
        self.build_history()
        for i in range(N_OPEN):
            o = self.acct.buy(self.syms[i % n_pos], 1, limit=50)
            assert o.status == "PENDING", o
        self.build_s = time.perf_counter() - t0
        assert len(self.acct.positions()) == n_pos
        assert len(self.acct.orders(status="open")) == N_OPEN
        assert len(self.acct.orders()) == n_pos + n_hist + N_OPEN
        self.sym = self.syms[n_pos // 2]

    def feed(self) -> None:
        """A new quote for every position, one batch, engine time 1 ms later."""
        self.t += STEP
        self.k += 1
        mid = 100.00 + (self.k % 2) * 0.01
        t = self.t
        self.book.on_quotes([pn.Quote(s, bid=mid - 0.01, ask=mid + 0.01, last=mid, ts=t) for s in self.syms])

    def build_history(self) -> None:
        acct, book = self.acct, self.book
        for i in range(self.n_hist):
            self.t += STEP
            book.on_quote(pn.Quote("HIST", bid=99.99, ask=100.01, last=100.00, ts=self.t))
            if i % 2 == 0:  # a resting buy, cancelled
                acct.cancel(acct.buy("HIST", 1, limit=50))
            elif (i // 2) % 2 == 0:  # filled market orders, alternately buy and sell: HIST ends flat
                acct.buy("HIST", 1)
            else:
                acct.sell("HIST", 1)
        assert acct.position("HIST") is None

    def calls(self) -> dict[str, Callable[[], object]]:
        a, sym = self.acct, self.sym
        return {"positions()": a.positions, "position(sym)": lambda: a.position(sym),
                "snapshot()": a.snapshot, 'orders("open")': lambda: a.orders(status="open"),
                "orders()": a.orders, "fills()": a.fills}


def timed(cell: Cell, fn: Callable[[], object], n: int) -> float:
    """Seconds spent in ``n`` calls of ``fn``, each after a new quote for every position."""
    pc = time.perf_counter
    feed = cell.feed
    spent = 0.0
    for _ in range(n):
        feed()
        t0 = pc()
        fn()
        spent += pc() - t0
    return spent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="history up to 10k orders only")
    ap.add_argument("--rounds", type=int, default=5,
                    help="round-robin rounds over every cell; medians printed")
    ap.add_argument("--budget-ms", type=float, default=20.0,
                    help="wall time per call and cell in each round, quote feeding included")
    args = ap.parse_args()
    hist = tuple(h for h in HISTORY if not args.quick or h <= 10_000)
    print(f"config: {pn.EngineConfig(starting_cash=100_000_000, stale_after=None, default_tif='gtc')}")
    cells = []
    for h in hist:
        for p in POSITIONS:
            c = Cell(p, h)
            cells.append(c)
            print(f"built {p:>3} positions + {h:>7,} closed orders + {N_OPEN} open: {c.build_s:6.2f} s",
                  flush=True)
    gc.collect()
    # calibration: how many calls fit the budget (quote feeding included)
    reps: dict[tuple[int, int, str], int] = {}
    for c in cells:
        for name, fn in c.calls().items():
            t0 = time.perf_counter()
            timed(c, fn, 3)
            per = (time.perf_counter() - t0) / 3
            reps[(c.n_pos, c.n_hist, name)] = max(3, min(2000, int(args.budget_ms / 1e3 / per)))
    samples: dict[tuple[int, int, str], list[float]] = {k: [] for k in reps}
    for r in range(args.rounds):
        gc.collect()
        gc.disable()
        order = cells[r % len(cells):] + cells[:r % len(cells)]  # rotate, so no cell always goes first
        for c in order:
            for name, fn in c.calls().items():
                n = reps[(c.n_pos, c.n_hist, name)]
                samples[(c.n_pos, c.n_hist, name)].append(timed(c, fn, n) / n * 1e6)
        gc.enable()
    med = {k: statistics.median(v) for k, v in samples.items()}

    print(f"\nus per call (median of {args.rounds} interleaved rounds; new quote for every position "
          f"before each call; {N_OPEN} open orders)")
    cols = [(p, h) for h in hist for p in POSITIONS]
    head = f"{'call':16}" + "".join(f"{f'{p}p/{h // 1000}k':>12}" for p, h in cols)
    print(head)
    print("-" * len(head))
    for name in CALLS:
        print(f"{name:16}" + "".join(f"{med[(p, h, name)]:>12,.1f}" for p, h in cols))
    print("(columns: open positions / closed orders of history; orders() also returns the orders that opened "
          "the positions)")

    top = hist[-1]
    print(f"\nratio {top // 1000}k history / 0 history (target for the first two: <= 1.20)")
    for name in CALLS:
        print(f"{name:16}"
              + "".join(f"{f'{p}p':>6} {med[(p, top, name)] / med[(p, 0, name)]:8.2f}x" for p in POSITIONS))
    flat = all(med[(p, top, name)] <= 1.2 * med[(p, 0, name)]
               for name in ('orders("open")', "positions()") for p in POSITIONS)
    print(f'target 1: orders("open") and positions() flat in history ({top // 1000}k within 20% of 0): '
          f"{'MET' if flat else 'NOT MET'}")
    ok = True
    for name in ("positions()", "snapshot()"):
        for h in hist:
            for p in POSITIONS:
                limit = 2 * p + 10
                if med[(p, h, name)] > limit:
                    ok = False
        worst = max(med[(p, h, name)] / (2 * p + 10) for h in hist for p in POSITIONS)
        print(f"  {name:12} worst cell at {worst:.1f}x its budget of 2 us/position + 10 us")
    print(f"target 2: positions() and snapshot() <= 2 us per position + 10 us: {'MET' if ok else 'NOT MET'}")


if __name__ == "__main__":
    main()
