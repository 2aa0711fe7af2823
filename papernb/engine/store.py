"""The DuckDB book: an append-only event journal plus projections.

Durability is one transaction per engine call: every journal row the call produced is
inserted and committed together before the call returns (a failure rolls all of them back
and raises ``BookWriteFailed``).  Measured on these machines, one autocommitted statement
costs ~1 ms while every extra statement in a transaction costs ~0.5-1 ms more and a
primary-key upsert ~2-6 ms, so the projections are built to cost nothing per call:

- ``orders`` and ``fills`` are views over the journal (each journal row carries the
  order's state after the event), exact by construction (DECIMAL, never DOUBLE);
- ``accounts``, ``positions``, ``round_trips``, ``equity`` and ``marks`` are checkpoint
  tables, rewritten at most once a second of engine time and on close.

Re-opening a book replays the journal; the checkpoint tables are for people and other
tools reading the file, never the source of truth (except open-position MFE/MAE marks and
the equity curve, which are not state).  A ``:memory:`` book buffers journal rows and
writes them in bulk.

One writer per file: DuckDB refuses a second process, and within one process this module
refuses a second ``Store`` on a file that is open (DuckDB itself would share it silently).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import weakref
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ..errors import BookError, BookLocked, BookUnreadable, BookWriteFailed
from . import events as ev

SCHEMA_VERSION = 3  # 3: the quant's order events (trailing stops, OCO, brackets); 2: typed events
_MONEY = "DECIMAL(38,4)"
_UNITS = "CAST(json_extract(data, '{}') AS HUGEINT)::DECIMAL(38,0) * 0.0001::DECIMAL(5,4)"

_TABLES = [
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS journal (
        seq BIGINT NOT NULL, ts BIGINT NOT NULL, account VARCHAR, kind VARCHAR NOT NULL,
        order_id BIGINT, symbol VARCHAR, status VARCHAR, data VARCHAR NOT NULL)""",
    f"""CREATE TABLE IF NOT EXISTS accounts (
        account VARCHAR, epoch INTEGER, starting_cash {_MONEY}, cash {_MONEY},
        reserved {_MONEY}, realized_pl {_MONEY}, fees {_MONEY}, as_of_seq BIGINT)""",
    f"""CREATE TABLE IF NOT EXISTS positions (
        account VARCHAR, symbol VARCHAR, qty BIGINT, cost {_MONEY}, reserved_qty BIGINT,
        opened_at BIGINT, as_of_seq BIGINT)""",
    f"""CREATE TABLE IF NOT EXISTS round_trips (
        account VARCHAR, epoch INTEGER, symbol VARCHAR, direction VARCHAR, qty BIGINT, entries INTEGER,
        exits INTEGER, avg_entry DECIMAL(38,10), avg_exit DECIMAL(38,10), realized_pl {_MONEY},
        fees {_MONEY}, net_pl {_MONEY}, return_pct DECIMAL(38,4), opened_at BIGINT, closed_at BIGINT,
        mfe {_MONEY}, mae {_MONEY}, verdict VARCHAR, id BIGINT)""",
    f"CREATE TABLE IF NOT EXISTS equity (account VARCHAR, epoch INTEGER, ts BIGINT, equity {_MONEY})",
    "CREATE TABLE IF NOT EXISTS marks (account VARCHAR, symbol VARCHAR, mfe BIGINT, mae BIGINT, ts BIGINT)",
]
_VIEWS = [
    f"""CREATE OR REPLACE VIEW orders AS
        SELECT order_id AS id, account, symbol, status,
               CAST(json_extract_string(data, '$.o.side') AS VARCHAR) AS side,
               CAST(json_extract_string(data, '$.o.type') AS VARCHAR) AS type,
               CAST(json_extract(data, '$.o.qty') AS BIGINT) AS qty,
               CAST(json_extract(data, '$.o.filled') AS BIGINT) AS filled_qty,
               {_UNITS.format('$.o.limit')} AS limit_price,
               {_UNITS.format('$.o.stop')} AS stop_price,
               CAST(json_extract_string(data, '$.o.tif') AS VARCHAR) AS tif,
               CAST(json_extract_string(data, '$.o.reason') AS VARCHAR) AS reason,
               ts AS updated_at, seq AS last_seq
        FROM (SELECT *, row_number() OVER (PARTITION BY order_id ORDER BY seq DESC) AS rn
              FROM journal WHERE order_id IS NOT NULL AND json_extract(data, '$.o') IS NOT NULL)
        WHERE rn = 1""",
    f"""CREATE OR REPLACE VIEW fills AS
        SELECT seq, ts, account, order_id, symbol,
               CAST(json_extract(data, '$.e.qty') AS BIGINT) AS qty,
               {_UNITS.format('$.e.price')} AS price,
               {_UNITS.format('$.e.fee')} AS fee
        FROM journal WHERE kind IN ('OrderFilled', 'OrderPartiallyFilled')""",
]
_MONEY_COLUMNS = {  # schema 1 had DECIMAL(18,4), which cannot hold amounts over ~1e14 dollars
    "accounts": ("starting_cash", "cash", "reserved", "realized_pl", "fees"),
    "positions": ("cost",),
    "round_trips": ("realized_pl", "fees", "net_pl", "mfe", "mae"),
    "equity": ("equity",),
}

_LOCK_RE = re.compile(r"(?:held in|by)\s+(.*?\(PID\s*(\d+)\))", re.IGNORECASE)
_OPEN: dict[str, str] = {}  # real path -> who holds it in this process


def default_book_path(simulated: bool = False) -> str:
    """``PAPERNB_DB``, else ``~/.papernb/sim.duckdb`` (simulated feed) or ``paper.duckdb``."""
    env = os.environ.get("PAPERNB_DB")
    if env:
        return env
    name = "sim.duckdb" if simulated else "paper.duckdb"
    return str(Path.home() / ".papernb" / name)


def _cause(exc: BaseException) -> str:
    """The useful tail of a DuckDB or OS error ("No space left on device")."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.rsplit(": ", 1)[-1] if ": " in text else text


def _release(key: str) -> None:
    _OPEN.pop(key, None)


class Store:
    """One book file (or ``:memory:``): journal writes, replay, checkpoints."""

    def __init__(self, path: str, owner: object = None) -> None:
        self.memory = path == ":memory:"
        self.path = path if self.memory else str(Path(path).expanduser())
        self._buffer: list[tuple] = []
        self._sql_cache: dict[int, str] = {}
        self._key = "" if self.memory else os.path.realpath(self.path)
        if not self.memory:
            holder = _OPEN.get(self._key)
            if holder is not None:
                raise BookLocked(self.path, f"this process, {holder}")
            self._prepare_dir()
        existed = self.memory or Path(self.path).exists()
        try:
            self.con = self._connect()
            try:
                self._schema()
            except BaseException:
                self.con.close()
                raise
        except BaseException:
            if not existed:  # a book this call began to create must not stand in the way of the next try
                for leftover in (self.path, self.path + ".wal"):
                    with contextlib.suppress(OSError):
                        os.remove(leftover)
            raise
        if not self.memory:
            opened = datetime.now(UTC).strftime("%H:%M:%S UTC")
            _OPEN[self._key] = f"by an Engine opened at {opened}"
            self._finalizer = weakref.finalize(self, _release, self._key)

    # -- opening -------------------------------------------------------------------------
    def _prepare_dir(self) -> None:
        parent = Path(self.path).parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise BookError(f"cannot create the book {self.path}: a part of {parent} is a file, not a folder; "
                            f"choose another path (PAPERNB_DB or --book)", self.path) from None
        except OSError as e:
            raise BookError(f"cannot create the folder for the book {self.path}: {_cause(e)}; choose another "
                            f"path (PAPERNB_DB or --book)", self.path) from None
        if Path(self.path).is_dir():
            raise BookError(f"the book {self.path} is a folder; give a file path such as "
                            f"{Path(self.path) / 'paper.duckdb'}", self.path)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(self.path)
        except duckdb.IOException as e:
            text = str(e)
            if "lock" in text.lower():
                m = _LOCK_RE.search(text)
                raise BookLocked(self.path, f"PID {m.group(2)}" if m else "another process") from None
            raise self._unreadable(e) from None
        except duckdb.Error as e:
            raise self._unreadable(e) from None
        except OSError as e:
            raise BookError(f"cannot open the book {self.path}: {_cause(e)}", self.path) from None

    def _unreadable(self, e: BaseException) -> BookError:
        text = str(e)
        low = text.lower()
        if any(w in low for w in ("no space", "read-only", "permission denied")):
            return BookError(f"cannot open the book {self.path}: {_cause(e)}; free some space or choose another "
                             f"path (PAPERNB_DB or --book)", self.path)
        return BookUnreadable(f"the file {self.path} is not a papernb book that can be opened (damaged, or not a "
                              f"DuckDB file: {_cause(e)}); move it away or choose another path", self.path)

    def _schema(self) -> None:
        con = self.con
        try:
            tables = {r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
            if tables and not {"meta", "journal"} <= tables:
                raise BookUnreadable(f"the file {self.path} is a DuckDB database but not a papernb book (it has "
                                     f"{', '.join(sorted(tables)[:5])}); choose another path", self.path)
            version = None
            if tables:
                row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                version = int(row[0]) if row else None
            if version is not None and version > SCHEMA_VERSION:
                raise BookUnreadable(f"the book {self.path} was written by a newer papernb (schema {version}, this "
                                     f"one reads up to {SCHEMA_VERSION}); upgrade papernb", self.path)
            if version == SCHEMA_VERSION:
                return
            con.execute("BEGIN")
            try:
                for stmt in _TABLES:
                    con.execute(stmt)
                if version is not None and version < 2:
                    self._migrate_v1()
                for stmt in _VIEWS:
                    con.execute(stmt)
                con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):  # a failed COMMIT has already rolled back
                    con.execute("ROLLBACK")
                raise
        except duckdb.Error as e:
            if self.memory:
                raise
            text = str(e).lower()
            if "no space" in text or "read-only" in text or "permission" in text:
                raise BookError(f"cannot write the book {self.path}: {_cause(e)}; free some space or choose "
                                f"another path", self.path) from None
            raise self._unreadable(e) from None

    def _migrate_v1(self) -> None:
        """Schema 1 -> 2: typed events in the journal (:func:`events.upgrade_v1`), wider money columns,
        round-trip ids.  Runs inside the opening transaction: all of it, or nothing."""
        con = self.con
        rows = con.execute("SELECT seq, kind, order_id, data FROM journal ORDER BY seq").fetchall()
        known: set[int] = set()
        updates = []
        for seq, kind, oid, data in rows:
            d = json.loads(data)
            new_kind, e = ev.upgrade_v1(kind, oid, d["e"], known)
            d["e"] = e
            updates.append((new_kind, json.dumps(d, separators=(",", ":")), seq))
        if updates:
            con.executemany("UPDATE journal SET kind = ?, data = ? WHERE seq = ?", updates)
        for table, cols in _MONEY_COLUMNS.items():
            for col in cols:
                con.execute(f"ALTER TABLE {table} ALTER COLUMN {col} TYPE {_MONEY}")
        cols = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'round_trips'").fetchall()}
        if "id" not in cols:
            con.execute("ALTER TABLE round_trips ADD COLUMN id BIGINT")
            con.execute("ALTER TABLE round_trips ALTER COLUMN avg_entry TYPE DECIMAL(38,10)")
            con.execute("ALTER TABLE round_trips ALTER COLUMN avg_exit TYPE DECIMAL(38,10)")
            con.execute("ALTER TABLE round_trips ALTER COLUMN return_pct TYPE DECIMAL(38,4)")
            con.execute("UPDATE round_trips SET id = r.n FROM (SELECT rowid AS rid, row_number() OVER "
                        "(ORDER BY closed_at, rowid) AS n FROM round_trips) r WHERE round_trips.rowid = r.rid")

    # -- journal -------------------------------------------------------------------------
    def _insert_sql(self, n: int) -> str:
        sql = self._sql_cache.get(n)
        if sql is None:
            sql = "INSERT INTO journal VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * n)
            self._sql_cache[n] = sql
        return sql

    def writer(self) -> duckdb.DuckDBPyConnection:
        """A cursor for one other thread to write with (DuckDB: one cursor per thread)."""
        return self.con.cursor()

    def append(self, rows: Sequence[tuple], con: duckdb.DuckDBPyConnection | None = None) -> None:
        """Make ``rows`` durable in one transaction (file book) or buffer them (``:memory:``).

        A row is (seq, ts, account, kind, order_id, symbol, status, event, order_state).
        Raises ``BookWriteFailed`` with nothing written when the commit fails.  ``con``: a
        :meth:`writer` cursor when called from another thread.
        """
        if not rows:
            return
        if self.memory:
            self._buffer.extend(rows)
            if len(self._buffer) >= 500_000:
                self.flush()
            return
        con = con or self.con
        try:
            if len(rows) <= 500:
                con.execute(self._insert_sql(len(rows)), self._params(rows))
                return
            con.execute("BEGIN")
            try:
                for start in range(0, len(rows), 500):
                    chunk = rows[start:start + 500]
                    con.execute(self._insert_sql(len(chunk)), self._params(chunk))
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):  # a failed COMMIT has already rolled back
                    con.execute("ROLLBACK")
                raise
        except (duckdb.Error, OSError) as e:
            raise self.write_failed(e) from None

    def _params(self, rows: Sequence[tuple]) -> list[Any]:
        params: list[Any] = []
        encode = ev.encode
        for r in rows:
            params.extend(r[:7])
            params.append(encode(r[7], r[8]))
        return params

    def write_failed(self, e: BaseException) -> BookWriteFailed:
        """The error a failed write becomes: the file, the cause, and that nothing changed."""
        cause = _cause(e)
        if isinstance(e, OSError) and e.errno == errno.ENOSPC:
            cause = "no space left on device"
        return BookWriteFailed(f"could not write to {self.path}: {cause}; nothing was changed (free the space or "
                               f"fix the cause, then try again)", self.path)

    def flush(self) -> None:
        """Write buffered journal rows of a ``:memory:`` book in bulk."""
        if not self._buffer:
            return
        import pandas as pd

        rows, self._buffer = self._buffer, []
        df = pd.DataFrame([(*r[:7], ev.encode(r[7], r[8])) for r in rows],
                          columns=["seq", "ts", "account", "kind", "order_id", "symbol", "status", "data"])
        df["order_id"] = df["order_id"].astype("Int64")
        self.con.register("_papernb_rows", df)
        try:
            self.con.execute("INSERT INTO journal SELECT * FROM _papernb_rows")
        finally:
            self.con.unregister("_papernb_rows")

    def events(self) -> Iterator[ev.Event]:
        """Every journalled event in order, decoded."""
        self.flush()
        cur = self.con.cursor()
        try:
            cur.execute("SELECT seq, ts, account, kind, order_id, data FROM journal ORDER BY seq")
            decode, loads = ev.decode, json.loads
            while True:
                batch = cur.fetchmany(10_000)
                if not batch:
                    break
                for seq, ts, account, kind, oid, data in batch:
                    if kind not in ev.EVENT_TYPES:  # a newer papernb's event: never replay half a book
                        raise BookUnreadable(f"the book {self.path} holds {kind} events, written by a newer "
                                             f"papernb; upgrade papernb to open it", self.path)
                    yield decode(kind, seq, ts, account, oid, loads(data)["e"])
        finally:
            cur.close()

    # -- checkpoints ---------------------------------------------------------------------
    def checkpoint(self, tables: dict[str, list[tuple]], append: dict[str, list[tuple]], now: int = 0,
                   con: duckdb.DuckDBPyConnection | None = None) -> None:
        """Rewrite the projection tables in ``tables``; append rows to those in ``append``.

        ``now`` (engine time) is kept too, so that a reopened book's clock does not go back
        to its last event when quotes came after it.
        """
        if self.memory:
            self.flush()
        con = con or self.con
        try:
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
                with contextlib.suppress(duckdb.Error):  # a failed COMMIT has already rolled back
                    con.execute("ROLLBACK")
                raise
        except (duckdb.Error, OSError) as e:
            raise self.write_failed(e) from None

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

    def copy_to(self, out: str) -> None:
        """Write the whole book (journal and checkpoints) into the new book file ``out``."""
        self.flush()
        con = self.con
        con.execute("ATTACH ? AS papernb_out", [out])
        try:
            for name in ("journal", "accounts", "positions", "round_trips", "equity", "marks"):
                con.execute(f"INSERT INTO papernb_out.{name} SELECT * FROM {name}")
        finally:
            con.execute("DETACH papernb_out")

    def close(self) -> None:
        try:
            self.flush()
        finally:
            try:
                self.con.close()
            finally:
                if not self.memory:
                    self._finalizer()
