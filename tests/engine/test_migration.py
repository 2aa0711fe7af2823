"""A book written by papernb before Engine 2 (schema 1 journal) opens and gives the same state."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

import papernb as pn
from papernb.engine.store import SCHEMA_VERSION

DATA = Path(__file__).resolve().parent.parent / "data"


def _copy(tmp_path: Path) -> str:
    path = tmp_path / "old.duckdb"
    shutil.copy(DATA / "book_v1.duckdb", path)
    return str(path)


def test_schema_1_book_opens_with_the_same_state_hash_and_every_order(tmp_path: Path) -> None:
    want = json.loads((DATA / "book_v1.json").read_text())
    path = _copy(tmp_path)
    book = pn.Engine(path)
    assert book.state_hash() == want["state_hash"]
    assert book.now == want["now"]
    for name, acct_want in want["accounts"].items():
        a = book.account(name)
        s = a.snapshot()
        assert {k: str(getattr(s, k)) for k in acct_want["snapshot"]} == acct_want["snapshot"]
        assert [[p.symbol, p.qty, str(p.avg_price), str(p.cost), p.reserved_qty] for p in a.positions()] \
            == acct_want["positions"]
        assert [[o.id, o.symbol, o.side.value, o.type.value, o.qty, o.filled_qty, o.status.value, o.reason,
                 str(o.limit), str(o.stop), o.tif.value, str(o.avg_fill_price), str(o.fees), o.triggered, o.epoch]
                for o in a.orders(epoch="all")] == acct_want["orders"]
        assert [[f.id, f.order_id, f.qty, str(f.price), str(f.fee), str(f.realized_pl), f.ts]
                for f in a.fills(epoch="all")] == acct_want["fills"]
        assert [[t.symbol, t.direction, t.qty, str(t.net_pl), t.verdict, t.epoch] for t in a.trades(epoch="all")] \
            == acct_want["trades"]
    book.check_invariants()
    book.close()


def test_migrated_book_is_schema_2_with_typed_events_and_reopens_identically(tmp_path: Path) -> None:
    path = _copy(tmp_path)
    book = pn.Engine(path)
    h = book.state_hash()
    book.close()
    con = duckdb.connect(path)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    kinds = {k for (k,) in con.execute("SELECT DISTINCT kind FROM journal").fetchall()}
    assert "OrderDenied" in kinds  # schema 1's ambiguous OrderRejected at submission
    (data,) = con.execute("SELECT data FROM journal WHERE kind = 'OrderReplaced' LIMIT 1").fetchone()
    assert "old_limit" in json.loads(data)["e"]
    con.close()
    again = pn.Engine(path)
    assert again.state_hash() == h
    alice = again.account("alice")
    o = alice.buy("AAPL", 1, limit=100)  # and it keeps trading
    assert o.status == "PENDING"
    again.close()
