"""Writes tests/data/book_v1.duckdb and book_v1.json with papernb at commit 8a987e8.

Kept for the record: the journal format of schema 1 (string event kinds, untyped dict
payloads) changed with Engine 2, and tests/engine/test_migration.py checks that a book
written by that code still opens and gives the same state.  It only runs against the
old code:  git worktree add /tmp/v1 8a987e8 && PYTHONPATH=/tmp/v1 python tests/data/make_book_v1.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import papernb as pn

HERE = Path(__file__).resolve().parent
T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC, a Tuesday
SEC = 1_000_000_000


class Clock:
    def __init__(self, book: pn.Engine, t: int) -> None:
        self.book, self.t = book, t

    def q(self, sym: str, bid=None, ask=None, last=None, dt: float = 1.0, **kw) -> None:
        self.t += int(dt * SEC)
        self.book.on_quote(pn.Quote(sym, bid=bid, ask=ask, last=last, ts=self.t, **kw))


def main() -> None:
    path = HERE / "book_v1.duckdb"
    if path.exists():
        os.remove(path)
    # session 1: touch model, commissions, a review window
    b = pn.Engine(str(path), commission={"per_share": "0.005", "minimum": "1"}, review_seconds=2)
    c = Clock(b, T0)
    alice, bob = b.account("alice"), b.account("bob")
    c.q("AAPL", 189.90, 190.10, 190.00)
    c.q("MSFT", 374.50, 374.70, 374.60)
    c.q("PENNY", 0.0101, 0.0103, 0.0102)
    alice.buy("AAPL", 10)                      # waits for the review window
    c.q("AAPL", 189.90, 190.10, 190.00, dt=3)      # fills at the ask
    lim = alice.buy("AAPL", 5, limit=189)
    alice.replace(lim, limit=189.50)
    alice.sell("AAPL", 4, limit=195, tif="gtc")
    bob.buy("MSFT", 3, limit=374.00, tif="gtc")
    stp = bob.buy("MSFT", 2, stop=380)
    stl = alice.sell("AAPL", 3, stop=185, limit=184.50)
    c.q("AAPL", 189.00, 189.40, 189.20, dt=3)      # alice's 189.50 buy fills
    c.q("MSFT", 380.00, 380.20, 380.10, dt=3)      # bob's stop triggers and fills
    alice.buy("PENNY", 1000, limit="0.0102")
    c.q("PENNY", 0.0100, 0.0101, 0.0101, dt=3)
    try:
        alice.replace(lim.id, qty=6)
    except pn.PaperError:
        pass
    try:
        bob.replace(stp.id, qty=1_000_000)
    except pn.PaperError:
        pass
    big = bob.buy("MSFT", 10, limit=370)
    try:
        bob.replace(big, qty=100_000)               # ReplaceRefused: journalled
    except pn.ReplaceRefused:
        pass
    bob.cancel(big)
    alice.buy("ZZZ", 1)                             # rejected: never quoted
    bob.buy("MSFT", 10_000)                         # rejected: buying power
    alice.sell("AAPL", 3)                           # market sell
    c.q("AAPL", 189.10, 189.30, 189.20, dt=3)
    alice.cancel(stl)
    bob.buy("MSFT", 1, limit=300)             # expires at the close
    c.q("MSFT", 381.00, 381.20, 381.10, dt=7 * 3600)  # after 16:00 New York
    b.close()
    # session 2: the size model, partial fills
    b = pn.Engine(str(path), fill_model="size")
    c = Clock(b, b.now)
    carol = b.account("carol")
    c.q("AAPL", 190.00, 190.20, 190.10, bid_size=100, ask_size=40)
    part = carol.buy("AAPL", 100, limit=190.20, tif="gtc")
    c.q("AAPL", 190.00, 190.20, 190.10, bid_size=100, ask_size=25)
    carol.replace(part, qty=90)
    c.q("AAPL", 189.90, 190.10, 190.00, bid_size=100, ask_size=10)
    carol.sell("AAPL", 30, limit=190.00)
    c.q("AAPL", 190.00, 190.20, 190.10, bid_size=20, ask_size=10)
    b.close()
    # session 3: shorts on, a reset, a round trip with a verdict
    b = pn.Engine(str(path), short_selling=True)
    c = Clock(b, b.now)
    dave = b.account("dave")
    c.q("TSLA", 250.00, 250.10, 250.05)
    dave.sell("TSLA", 10)                           # short
    c.q("TSLA", 245.00, 245.10, 245.05)
    dave.buy("TSLA", 10)                            # cover: a round trip that worked
    dave.buy("TSLA", 5)
    c.q("TSLA", 246.00, 246.10, 246.05)
    dave.sell("TSLA", 5)
    dave.buy("TSLA", 2, limit=200, tif="gtc")
    dave.reset()
    dave.buy("TSLA", 1)
    c.q("TSLA", 247.00, 247.10, 247.05)
    alice = b.account("alice")
    out = {"state_hash": b.state_hash(), "now": b.now, "accounts": {}}
    for name in b.accounts():
        a = b.account(name)
        s = a.snapshot()
        out["accounts"][name] = {
            "snapshot": {k: str(getattr(s, k)) for k in ("cash", "reserved", "buying_power", "realized_pl", "fees",
                                                           "starting_cash", "epoch")},
            "positions": [[p.symbol, p.qty, str(p.avg_price), str(p.cost), p.reserved_qty] for p in a.positions()],
            "orders": [[o.id, o.symbol, o.side.value, o.type.value, o.qty, o.filled_qty, o.status.value,
                        o.reason, str(o.limit), str(o.stop), o.tif.value, str(o.avg_fill_price), str(o.fees),
                        o.triggered, o.epoch] for o in a.orders(epoch="all")],
            "fills": [[f.id, f.order_id, f.qty, str(f.price), str(f.fee), str(f.realized_pl), f.ts]
                      for f in a.fills(epoch="all")],
            "trades": [[t.symbol, t.direction, t.qty, str(t.net_pl), t.verdict, t.epoch]
                       for t in a.trades(epoch="all")],
        }
    b.close()
    (HERE / "book_v1.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print("wrote", path, out["state_hash"])


if __name__ == "__main__":
    main()
