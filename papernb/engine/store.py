"""The DuckDB book: an append-only event journal plus projections.

Durability is one INSERT per engine call: every event the call produced goes into the
``journal`` in a single statement (one transaction), and the call returns only after it
committed.  Measured on these machines, one autocommitted statement costs ~1 ms while
every extra statement in the same transaction costs ~0.5-1 ms more and a primary-key
upsert ~2-6 ms, so the projections are built so that they cost nothing per call:

- ``orders`` and ``fills`` are views over the journal (each journal row carries the
  order's state after the event), exact by construction;
- ``accounts``, ``positions``, ``round_trips``, ``equity`` and ``marks`` are checkpoint
  tables, rewritten at most once a second of engine time and on close.

Re-opening a book replays the journal; the checkpoint tables are for people and other
tools reading the file, never the source of truth (except open-position MFE/MAE marks,
which are not state).  A ``:memory:`` book buffers journal rows and writes them in bulk.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from ..errors import BookLocked, PaperError

SCHEMA_VERSION = 1

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS journal (
        seq BIGINT NOT NULL, ts BIGINT NOT NULL, account VARCHAR, kind VARCHAR NOT NULL,
        order_id BIGINT, symbol VARCHAR, status VARCHAR, data VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS accounts (
        account VARCHAR, epoch INTEGER, starting_cash DECIMAL(18,4), cash DECIMAL(18,4),
        reserved DECIMAL(18,4), realized_pl DECIMAL(18,4), fees DECIMAL(18,4), as_of_seq BIGINT)""",
    """CREATE TABLE IF NOT EXISTS positions (
        account VARCHAR, symbol VARCHAR, qty BIGINT, cost DECIMAL(18,4), reserved_qty BIGINT,
        opened_at BIGINT, as_of_seq BIGINT)""",
    """CREATE TABLE IF NOT EXISTS round_trips (
        account VARCHAR, epoch INTEGER, symbol VARCHAR, direction VARCHAR, qty BIGINT, entries INTEGER,
        exits INTEGER, avg_entry DECIMAL(18,4), avg_exit DECIMAL(18,4), realized_pl DECIMAL(18,4),
        fees DECIMAL(18,4), net_pl DECIMAL(18,4), return_pct DOUBLE, opened_at BIGINT, closed_at BIGINT,
        mfe DECIMAL(18,4), mae DECIMAL(18,4), verdict VARCHAR)""",
    "CREATE TABLE IF NOT EXISTS equity (account VARCHAR, epoch INTEGER, ts BIGINT, equity DECIMAL(18,4))",
    "CREATE TABLE IF NOT EXISTS marks (account VARCHAR, symbol VARCHAR, mfe BIGINT, mae BIGINT, ts BIGINT)",
    """CREATE OR REPLACE VIEW orders AS
        SELECT order_id AS id, account, symbol, status,
               CAST(json_extract_string(data, '$.o.side') AS VARCHAR) AS side,
               CAST(json_extract_string(data, '$.o.type') AS VARCHAR) AS type,
               CAST(json_extract(data, '$.o.qty') AS BIGINT) AS qty,
               CAST(json_extract(data, '$.o.filled') AS BIGINT) AS filled_qty,
               CAST(json_extract(data, '$.o.limit') AS BIGINT) / 10000.0 AS limit_price,
               CAST(json_extract(data, '$.o.stop') AS BIGINT) / 10000.0 AS stop_price,
               CAST(json_extract_string(data, '$.o.tif') AS VARCHAR) AS tif,
               CAST(json_extract_string(data, '$.o.reason') AS VARCHAR) AS reason,
               ts AS updated_at, seq AS last_seq
        FROM (SELECT *, row_number() OVER (PARTITION BY order_id ORDER BY seq DESC) AS rn
              FROM journal WHERE order_id IS NOT NULL AND json_extract(data, '$.o') IS NOT NULL)
        WHERE rn = 1""",
    """CREATE OR REPLACE VIEW fills AS
        SELECT seq, ts, account, order_id, symbol,
               CAST(json_extract(data, '$.e.qty') AS BIGINT) AS qty,
               CAST(json_extract(data, '$.e.price') AS BIGINT) / 10000.0 AS price,
               CAST(json_extract(data, '$.e.fee') AS BIGINT) / 10000.0 AS fee
        FROM journal WHERE kind IN ('OrderFilled', 'OrderPartiallyFilled')""",
]

_LOCK_RE = re.compile(r"(?:held in|by)\s+(.*?\(PID\s*(\d+)\))", re.IGNORECASE)


_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _encode(payload: dict[str, Any], order_state: tuple | None) -> str:
    data: dict[str, Any] = {"e": payload}
    if order_state is not None:
        side, type_, qty, filled, limit, stop, tif, reason = order_state
        data["o"] = {"side": side, "type": type_, "qty": qty, "filled": filled, "limit": limit, "stop": stop,
                     "tif": tif, "reason": reason}
    return _dumps(data)


def default_book_path(simulated: bool = False) -> str:
    """``PAPERNB_DB``, else ``~/.papernb/sim.duckdb`` (simulated feed) or ``paper.duckdb``."""
    env = os.environ.get("PAPERNB_DB")
    if env:
        return env
    name = "sim.duckdb" if simulated else "paper.duckdb"
    return str(Path.home() / ".papernb" / name)


def _connect(path: str) -> duckdb.DuckDBPyConnection:
    if path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        path = str(Path(path).expanduser())
    try:
        return duckdb.connect(path)
    except duckdb.IOException as e:
        text = str(e)
        if "lock" in text.lower():
            m = _LOCK_RE.search(text)
            owner = f"PID {m.group(2)}" if m else "another process"
            raise BookLocked(path, owner) from None
        raise PaperError(f"cannot open the book {path}: {text}") from None
    except duckdb.Error as e:
        raise PaperError(f"cannot open the book {path}: {e}") from None


class Store:
    """One book file (or ``:memory:``): journal writes, replay, checkpoints."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.memory = path == ":memory:"
        self.con = _connect(path)
        self._buffer: list[tuple] = []
        self._sql_cache: dict[int, str] = {}
        for stmt in _SCHEMA:
            self.con.execute(stmt)
        row = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            self.con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        elif int(row[0]) > SCHEMA_VERSION:
            self.con.close()
            raise PaperError(f"the book {path} was written by a newer papernb (schema {row[0]}); upgrade papernb")
        # forward migrations go here: if int(row[0]) < N: ...; UPDATE meta

    # -- journal -------------------------------------------------------------------------
    def _insert_sql(self, n: int) -> str:
        sql = self._sql_cache.get(n)
        if sql is None:
            sql = "INSERT INTO journal VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * n)
            self._sql_cache[n] = sql
        return sql

    def append(self, rows: Sequence[tuple]) -> None:
        """Make ``rows`` durable (file book: one committed statement) or buffer them.

        A row is (seq, ts, account, kind, order_id, symbol, status, payload, order_state).
        """
        if not rows:
            return
        if self.memory:
            self._buffer.extend(rows)
            if len(self._buffer) >= 500_000:
                self.flush()
            return
        for start in range(0, len(rows), 500):
            chunk = rows[start:start + 500]
            params: list[Any] = []
            for r in chunk:
                params.extend(r[:7])
                params.append(_encode(r[7], r[8]))
            self.con.execute(self._insert_sql(len(chunk)), params)

    def flush(self) -> None:
        """Write buffered journal rows of a ``:memory:`` book in bulk."""
        if not self._buffer:
            return
        import pandas as pd

        rows, self._buffer = self._buffer, []
        df = pd.DataFrame([(*r[:7], _encode(r[7], r[8])) for r in rows],
                          columns=["seq", "ts", "account", "kind", "order_id", "symbol", "status", "data"])
        df["order_id"] = df["order_id"].astype("Int64")
        self.con.register("_papernb_rows", df)
        try:
            self.con.execute("INSERT INTO journal SELECT * FROM _papernb_rows")
        finally:
            self.con.unregister("_papernb_rows")

    def events(self) -> Iterable[tuple[int, int, str | None, str, int | None, dict[str, Any]]]:
        """Every journalled event in order: (seq, ts, account, kind, order_id, data)."""
        self.flush()
        cur = self.con.cursor()
        cur.execute("SELECT seq, ts, account, kind, order_id, data FROM journal ORDER BY seq")
        while True:
            batch = cur.fetchmany(10_000)
            if not batch:
                break
            for seq, ts, account, kind, oid, data in batch:
                yield seq, ts, account, kind, oid, json.loads(data)
        cur.close()

    # -- checkpoints ---------------------------------------------------------------------
    def checkpoint(self, tables: dict[str, list[tuple]], append: dict[str, list[tuple]], now: int = 0) -> None:
        """Rewrite the projection tables in ``tables``; append rows to those in ``append``.

        ``now`` (engine time) is kept too, so that a reopened book's clock does not go back
        to its last event when quotes came after it.
        """
        if self.memory:
            self.flush()
        con = self.con
        con.execute("BEGIN")
        try:
            for name, rows in tables.items():
                con.execute(f"DELETE FROM {name}")  # names are ours, never user input
                if rows:
                    marks = ", ".join(["?"] * len(rows[0]))
                    con.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
            for name, rows in append.items():
                if rows:
                    marks = ", ".join(["?"] * len(rows[0]))
                    con.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
            con.execute("INSERT OR REPLACE INTO meta VALUES ('now', ?)", [str(now)])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def load_now(self) -> int:
        row = self.con.execute("SELECT value FROM meta WHERE key = 'now'").fetchone()
        return int(row[0]) if row else 0

    def load_marks(self) -> dict[tuple[str, str], tuple[int, int]]:
        rows = self.con.execute(
            "SELECT account, symbol, arg_max(mfe, ts), arg_max(mae, ts) FROM marks GROUP BY account, symbol"
        ).fetchall()
        return {(a, s): (int(f), int(m)) for a, s, f, m in rows}

    def load_equity(self) -> list[tuple[str, int, int, Any]]:
        return self.con.execute("SELECT account, epoch, ts, equity FROM equity ORDER BY rowid").fetchall()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.con.close()
