"""Workload W1's quotes, generated exactly as ../shared/bench/W1.md specifies (seed 42).

20 symbols x 50,000 quotes, one millisecond apart from 2024-01-02 14:30 UTC; each mid a
seeded geometric random walk from 100.00 rounded to the cent; bid/ask one cent either
side.  Rebuilt here so that the golden test runs on a fresh clone.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

import papernb as pn

T0_NS = 1_704_205_800_000_000_000


def w1_table(n_symbols: int = 20, per_symbol: int = 50_000, seed: int = 42) -> pa.Table:
    rng = np.random.default_rng(seed)
    n = n_symbols * per_symbol
    order = rng.permutation(np.repeat(np.arange(n_symbols, dtype=np.int32), per_symbol))
    steps = rng.normal(0.0, 1e-4, size=(n_symbols, per_symbol))
    steps[:, 0] = 0.0
    walks = np.round(100.0 * np.exp(np.cumsum(steps, axis=1)), 2)
    mid = np.empty(n)
    for s in range(n_symbols):
        mid[order == s] = walks[s]
    names = np.array([f"S{s:02d}" for s in range(n_symbols)])
    return pa.table({
        "ts": pa.array(T0_NS + np.arange(n, dtype=np.int64) * 1_000_000, type=pa.int64()),
        "symbol": pa.array(names[order]),
        "bid": pa.array(np.round(mid - 0.01, 2)),
        "ask": pa.array(np.round(mid + 0.01, 2)),
        "last": pa.array(mid),
    })


class W1:
    """Every 100th quote of a symbol: cancel aged orders, buy 10 at bid - 0.05, sell the position at avg + 0.10."""

    def __init__(self) -> None:
        self.n: dict[str, int] = {}
        self.open: dict[str, list[tuple[pn.Order, int]]] = {}
        self.submitted = self.denied = self.cancels = 0

    def on_quote(self, acct: pn.Account, q: pn.Quote) -> None:
        s = q.symbol
        n = self.n.get(s, 0) + 1
        self.n[s] = n
        if n % 100:
            return
        mine = [(o, k) for o, k in self.open.get(s, ()) if o.is_open]
        for o, k in mine:
            if n - k >= 500:
                acct.cancel(o)
                self.cancels += 1
        mine = [(o, k) for o, k in mine if o.is_open]
        if not mine:
            o = acct.buy(s, 10, limit=round(float(q.bid) - 0.05, 2))
            self.submitted += 1
            if o.status is pn.OrderStatus.REJECTED:
                self.denied += 1
            elif o.is_open:
                mine.append((o, n))
        pos = acct.position(s)
        if pos is not None and pos.qty > 0 and not any(o.side is pn.Side.SELL for o, _ in mine):
            o = acct.sell(s, pos.qty, limit=round(float(pos.avg_price) + 0.10, 2))
            self.submitted += 1
            if o.is_open:
                mine.append((o, n))
        self.open[s] = mine

    def counts(self, acct: pn.Account) -> dict:
        orders = acct.orders(epoch="all")
        snap = acct.snapshot()
        return {"submitted": self.submitted, "filled": sum(o.status is pn.OrderStatus.FILLED for o in orders),
                "cancelled": self.cancels, "denied": self.denied, "open": sum(o.is_open for o in orders),
                "cash": str(snap.cash), "equity": str(snap.equity),
                "position_qty": sum(p.qty for p in snap.positions)}
