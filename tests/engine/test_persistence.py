"""The DuckDB book: reopen, SIGKILL, one owner per file, the journal and its projections."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from decimal import Decimal as D
from pathlib import Path

import duckdb
import pytest

import papernb as pn
from papernb.engine.store import SCHEMA_VERSION

from .conftest import SEC, T0, Market


def _trade_a_little(path: str) -> str:
    b = pn.Engine(path, review_seconds=0)
    m = Market(b)
    alice, bob = b.account("alice"), b.account("bob")
    m.quote("AAPL", 189.90, 190.10, 190.00)
    m.quote("MSFT", 374.50, 374.70, 374.60)
    alice.buy("AAPL", 10)
    o = alice.buy("AAPL", 5, limit=189)
    alice.replace(o, limit=189.50)
    bob.buy("MSFT", 3, limit=374.00, tif="gtc")
    alice.sell("AAPL", 4, limit=195)
    m.quote("AAPL", 189.00, 189.40, 189.20)  # fills alice's 189.50 buy
    alice.sell("AAPL", 6)
    bob.cancel(bob.buy("MSFT", 1, limit=300).id)
    h = b.state_hash()
    b.close()
    return h


def test_reopening_a_book_rebuilds_exactly_the_same_state(tmp_path: Path) -> None:
    path = str(tmp_path / "book.duckdb")
    h = _trade_a_little(path)
    b = pn.Engine(path)
    assert b.state_hash() == h
    alice = b.account("alice")
    assert [o.status.value for o in alice.orders()] == ["FILLED", "FILLED", "PENDING", "FILLED"]
    assert alice.position("AAPL").qty == 9  # 10 + 5 - 6
    assert alice.snapshot().reserved == 0 and alice.position("AAPL").reserved_qty == 4
    assert len(alice.trades()) == 0 and len(alice.fills()) == 3
    b.close()


def test_a_reopened_book_keeps_trading_where_it_left_off(tmp_path: Path) -> None:
    path = str(tmp_path / "book.duckdb")
    _trade_a_little(path)
    b = pn.Engine(path)
    m = Market(b, t=b.now)
    m.quote("AAPL", 195.00, 195.10, 195.05)  # alice's resting sell of 4 at 195
    alice = b.account("alice")
    assert alice.orders(status="open") == []
    assert alice.position("AAPL").qty == 5
    o = alice.buy("MSFT", 1)
    assert o.status is pn.OrderStatus.REJECTED and o.reason == "no quote for MSFT yet"  # quotes are not state
    assert o.id == 7
    b.close()


def test_orders_and_fills_are_queryable_in_the_book_file(tmp_path: Path) -> None:
    path = str(tmp_path / "book.duckdb")
    _trade_a_little(path)
    con = duckdb.connect(path, read_only=True)
    rows = con.execute("SELECT id, account, status, qty, filled_qty FROM orders ORDER BY id").fetchall()
    assert rows[0] == (1, "alice", "FILLED", 10, 10)
    assert rows[2] == (3, "bob", "PENDING", 3, 0)
    assert con.execute("SELECT count(*), sum(qty) FROM fills").fetchone() == (3, 21)
    accounts = dict(con.execute("SELECT account, cash FROM accounts").fetchall())
    assert accounts["bob"] == D("100000")
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    # money in the views is exact DECIMAL, never a float sum like 0.30000000000000004
    (total,) = con.execute("SELECT sum(price * qty) FROM fills").fetchone()
    assert isinstance(total, D)
    con.close()


_WORKER = textwrap.dedent("""
    import sys
    import papernb as pn
    path, t0 = sys.argv[1], int(sys.argv[2])
    b = pn.Engine(path)
    a = b.account("alice")
    i = 0
    while True:
        t = t0 + i * 1_000_000_000
        b.on_quote(pn.Quote("AAPL", bid=100 + (i % 7) / 100, ask=100.05 + (i % 7) / 100, last=100.02, ts=t))
        o = a.buy("AAPL", 1, limit=100.03, tif="gtc")
        if i % 3 == 0 and o.is_open:
            a.cancel(o)
        print(o.id, o.status.value, flush=True)   # acknowledged: durable before this line
        i += 1
""")


def test_sigkill_mid_stream_loses_no_acknowledged_order(tmp_path: Path) -> None:
    path = str(tmp_path / "book.duckdb")
    proc = subprocess.Popen([sys.executable, "-c", _WORKER, path, str(T0)], stdout=subprocess.PIPE, text=True)
    acked: dict[int, str] = {}
    try:
        assert proc.stdout is not None
        while len(acked) < 150:
            line = proc.stdout.readline()
            assert line, "worker died"
            oid, status = line.split()
            acked[int(oid)] = status
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    b = pn.Engine(path)
    a = b.account("alice")
    by_id = {o.id: o for o in a.orders()}
    for oid, status in acked.items():
        assert oid in by_id, f"acknowledged order {oid} was lost"
        o = by_id[oid]
        # what was acknowledged is there; an open order may have filled after its ack
        assert o.status.value == status or (status == "PENDING" and o.status is not pn.OrderStatus.PENDING)
    b.check_invariants()
    b.close()


def test_a_second_process_gets_book_locked_naming_the_file_and_owner(tmp_path: Path) -> None:
    path = str(tmp_path / "book.duckdb")
    b = pn.Engine(path)
    b.account("alice")
    code = textwrap.dedent(f"""
        import papernb as pn
        try:
            pn.Engine({path!r})
        except pn.BookLocked as e:
            print("LOCKED", e.path, e.owner)
            print(str(e))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    first, message = out.stdout.strip().splitlines()
    assert first == f"LOCKED {path} PID {os.getpid()}"
    assert message == f"the book {path} is open in another process (PID {os.getpid()}); close it there first"
    b.close()
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert again.stdout == ""  # free once the owner closed it


def test_memory_book_journals_in_bulk_and_flushes_on_demand() -> None:
    b = pn.Engine(":memory:")
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 189.90, 190.10, 190.00)
    for _ in range(5):
        a.buy("AAPL", 1)
    b.flush()
    (n,) = b._store.con.execute("SELECT count(*) FROM fills").fetchone()
    assert n == 5
    b.close()


def test_a_book_from_a_newer_papernb_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = str(tmp_path / "book.duckdb")
    pn.Engine(path).close()
    con = duckdb.connect(path)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(pn.PaperError, match="written by a newer papernb"):
        pn.Engine(path)


def test_equity_history_and_open_trade_marks_survive_a_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "book.duckdb")
    b = pn.Engine(path)
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 99.90, 100.00, 99.95)
    a.buy("AAPL", 10)
    m.quote("AAPL", 104.90, 105.00, 104.95)
    m.quote("AAPL", 97.90, 98.00, 97.95)
    n_points = len(a.equity_history())
    b.close()
    b = pn.Engine(path)
    a = b.account("alice")
    assert len(a.equity_history()) == n_points
    m = Market(b, t=b.now)
    m.quote("AAPL", 99.90, 100.00, 99.95)
    a.sell("AAPL", 10)
    (t,) = a.trades()
    assert (t.mfe, t.mae) == (D("49.50"), D("-20.50"))  # 10 x (104.95 - 100.00), 10 x (97.95 - 100.00)
    b.close()


def test_engine_time_never_goes_backwards_on_a_late_quote() -> None:
    b = pn.Engine(":memory:")
    b.on_quote(pn.Quote("AAPL", bid=1, ask=1.01, last=1, ts=T0 + 10 * SEC))
    b.on_quote(pn.Quote("AAPL", bid=1, ask=1.01, last=1, ts=T0))  # a late quote
    assert b.now == T0 + 10 * SEC


def test_after_a_reopen_a_known_symbol_takes_limit_orders_that_wait_for_the_next_quote(tmp_path: Path) -> None:
    path = str(tmp_path / "book.duckdb")
    b = pn.Engine(path)
    m, a = Market(b), b.account("alice")
    m.quote("AAPL", 189.90, 190.10, 190.00)
    a.buy("AAPL", 10)
    b.close()
    b = pn.Engine(path)
    a = b.account("alice")
    waiting = a.buy("AAPL", 5, limit=189.00)
    assert waiting.status is pn.OrderStatus.PENDING and a.snapshot().reserved == D("945.00")
    market = a.buy("AAPL", 5)  # a market buy cannot be priced without a quote
    assert market.status is pn.OrderStatus.REJECTED and market.reason == "no quote for AAPL yet"
    assert a.buy("MSFT", 1, limit=300).reason == "no quote for MSFT"  # never quoted in this book
    Market(b, t=b.now).quote("AAPL", 188.90, 189.00, 188.95)
    assert waiting.status is pn.OrderStatus.FILLED
    b.close()
