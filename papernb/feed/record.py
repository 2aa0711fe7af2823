"""Record the live tape to Parquet or a DuckDB table, so a day can be replayed later.

Quotes are buffered and written in batches (a row group / one INSERT from Arrow per
flush).  Prices are stored as DECIMAL(18,4) and ``ts`` as exact nanoseconds, with
``src`` and ``seq``, so that :func:`papernb.feed.replay.load_quotes` gives back quotes
equal to the ones recorded, in the same order.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError, InvalidInput
from ..quote import Quote

__all__ = ["Recorder"]

_PRICE = pa.decimal128(18, 4)


def _schema(ts_type: pa.DataType) -> pa.Schema:
    return pa.schema([("symbol", pa.string()), ("bid", _PRICE), ("ask", _PRICE), ("last", _PRICE),
                      ("change_pct", pa.float64()), ("bid_size", pa.int64()), ("ask_size", pa.int64()),
                      ("ts", ts_type), ("src", pa.string()), ("seq", pa.int64())])


def _prices(units: list[int | None]) -> pa.Array:
    a = pa.array(units, pa.int64()).cast(pa.decimal128(19, 0))
    unit = pa.array([Decimal("0.0001")], pa.decimal128(5, 4))[0]  # pa.scalar(Decimal) would import pandas
    return pc.multiply(a, unit).cast(_PRICE)


class Recorder:
    """``write(quotes)`` as they come; ``close()`` (or ``with``) flushes the rest.

    The format follows the file name: ``.parquet``/``.pq`` or ``.duckdb``/``.db`` (table
    ``table``, created if missing, appended to if present).  Parquet files are written
    anew, under ``NAME.partial`` until ``close()`` renames them: a Parquet file is only
    readable once its footer is written, so a crash leaves ``NAME.partial`` behind, never
    half a ``NAME``.  That is also why DuckDB (which keeps every flush) is the choice for a
    whole trading day.  A file that cannot be written (no such folder, not a DuckDB file,
    open in another process) raises ``InvalidInput`` naming it.
    """

    def __init__(self, path: str | Path, *, table: str = "quotes", flush_rows: int = 50_000,
                 flush_seconds: float = 1.0) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix in (".parquet", ".pq"):
            self.kind = "parquet"
        elif suffix in (".duckdb", ".db", ".ddb"):
            self.kind = "duckdb"
        else:
            raise ConfigError(f"{self.path.name}: record to a .parquet or .duckdb file")
        self.table = table.replace('"', "")
        self.flush_rows, self.flush_seconds = flush_rows, flush_seconds
        self.rows = 0
        self._buf: list[Quote] = []
        self._last_flush = time.monotonic()
        self._writer = None
        self._con = None
        folder = self.path.parent
        if not folder.is_dir():
            raise InvalidInput(f"cannot record to {self.path}: the folder {folder} does not exist")
        if self.path.is_dir():
            raise InvalidInput(f"cannot record to {self.path}: it is a folder")
        self._partial = self.path.with_name(self.path.name + ".partial")
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            self.schema = _schema(pa.timestamp("ns", tz="UTC"))
            try:
                self._writer = pq.ParquetWriter(self._partial, self.schema)
            except (OSError, pa.ArrowException) as e:
                raise InvalidInput(f"cannot record to {self.path}: {' '.join(str(e).split())[:160]}") from None
        else:
            import duckdb

            self.schema = _schema(pa.int64())  # DuckDB TIMESTAMPTZ keeps only microseconds
            existed = self.path.exists()
            try:
                self._con = duckdb.connect(str(self.path))
                self._con.execute(
                    f'CREATE TABLE IF NOT EXISTS "{self.table}" (symbol VARCHAR, bid DECIMAL(18,4), '
                    "ask DECIMAL(18,4), last DECIMAL(18,4), change_pct DOUBLE, bid_size BIGINT, "
                    "ask_size BIGINT, ts BIGINT, src VARCHAR, seq BIGINT)")
            except duckdb.Error as e:
                if self._con is not None:
                    self._con.close()
                    self._con = None
                if not existed:  # nothing half-made left behind
                    for leftover in (self.path, self.path.with_name(self.path.name + ".wal")):
                        leftover.unlink(missing_ok=True)
                msg = " ".join(str(e).split())
                why = ("it is open in another process" if "lock" in msg.lower() else
                       "it is not a DuckDB file" if "not a valid DuckDB" in msg else msg[:160])
                raise InvalidInput(f"cannot record to {self.path}: {why}") from None

    def write(self, quotes: Iterable[Quote]) -> None:
        """Buffer quotes (a hub callback); flushes by size or age."""
        self._buf.extend(quotes)
        if len(self._buf) >= self.flush_rows or time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    __call__ = write

    def flush(self) -> None:
        """Write the buffer now (one Parquet row group / one DuckDB insert from Arrow)."""
        self._last_flush = time.monotonic()
        buf, self._buf = self._buf, []
        if not buf:
            return
        tbl = pa.table([
            pa.array([q._sym for q in buf], pa.string()),
            _prices([q._bid for q in buf]),
            _prices([q._ask for q in buf]),
            _prices([q._last for q in buf]),
            pa.array([None if q._chg is None else float(q._chg) for q in buf], pa.float64()),
            pa.array([q._bsz for q in buf], pa.int64()),
            pa.array([q._asz for q in buf], pa.int64()),
            pa.array([q._ts for q in buf], pa.int64()).cast(self.schema.field("ts").type),
            pa.array([q._src for q in buf], pa.string()),
            pa.array([q._seq for q in buf], pa.int64()),
        ], schema=self.schema)
        if self._writer is not None:
            self._writer.write_table(tbl)
        else:
            assert self._con is not None
            self._con.register("_papernb_batch", tbl)
            try:
                self._con.execute(f'INSERT INTO "{self.table}" SELECT * FROM _papernb_batch')
            finally:
                self._con.unregister("_papernb_batch")
        self.rows += len(buf)

    def close(self) -> None:
        """Flush and close; a Parquet file is only readable after this."""
        try:
            self.flush()
        finally:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
                os.replace(self._partial, self.path)  # complete: readable under its own name
            if self._con is not None:
                self._con.close()
                self._con = None

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
