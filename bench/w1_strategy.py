"""The W1 strategies for the benches.

``W1`` is the class the golden test pins (tests/golden/w1.py): it keeps its own order
handles and reads ``acct.position(sym)`` and ``o.is_open``.  ``W1Generic`` follows the
same rules (../shared/bench/W1.md) written the way a quant writes a first strategy: at
every decision it finds its position by scanning ``acct.positions()``, lists its open
orders with ``acct.orders(status="open")`` and compares ``o.status`` to strings.  Both
must reach exactly the same counts; tests/golden/test_w1_generic.py checks it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import papernb as pn  # noqa: E402
from tests.golden.w1 import W1, w1_table  # noqa: E402

__all__ = ["W1", "W1Generic", "STRATEGIES", "w1_table"]


class W1Generic:
    """W1 through the account's generic reads: positions(), orders(status="open"), status strings."""

    def __init__(self) -> None:
        self.n: dict[str, int] = {}  # quotes seen per symbol
        self.placed_at: dict[int, int] = {}  # order id -> n of its symbol when it was placed
        self.submitted = self.denied = self.cancels = 0

    def on_quote(self, ctx: pn.Account, q: pn.Quote) -> None:
        s = q.symbol
        n = self.n.get(s, 0) + 1
        self.n[s] = n
        if n % 100:
            return
        # a: cancel what has been waiting 500 quotes of s or more
        mine = [o for o in ctx.orders(status="open") if o.symbol == s]
        for o in mine:
            if n - self.placed_at[o.id] >= 500:
                ctx.cancel(o.id)
                self.cancels += 1
        mine = [o for o in mine if o.status in ("PENDING", "PARTIALLY_FILLED")]
        # b: no open order of s -> buy 10 at bid - 0.05
        if not mine:
            o = ctx.buy(s, 10, limit=round(float(q.bid) - 0.05, 2))
            self.submitted += 1
            if o.status == "REJECTED":
                self.denied += 1
            elif o.status in ("PENDING", "PARTIALLY_FILLED"):
                self.placed_at[o.id] = n
                mine.append(o)
        # c: a long position and no open sell -> sell it all at avg + 0.10
        pos = None
        for p in ctx.positions():
            if p.symbol == s:
                pos = p
                break
        if pos is not None and pos.qty > 0 and not any(o.side == "SELL" for o in mine):
            o = ctx.sell(s, pos.qty, limit=round(float(pos.avg_price) + 0.10, 2))
            self.submitted += 1
            if o.status in ("PENDING", "PARTIALLY_FILLED"):
                self.placed_at[o.id] = n

    counts = W1.counts


#: the strategies the W1 benches can run, by their --strategy name
STRATEGIES = {"w1": W1, "generic": W1Generic}
