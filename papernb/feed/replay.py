"""Replay quotes from a CSV, Parquet or DuckDB file, in time order, at any speed.

Files are converted a column at a time with pyarrow (prices to int units, timestamps to
int ns) and validated the same way, so a million rows load in a second or two; only then
is each row wrapped in a ``Quote`` with the trusted constructor.  Cells are judged as the
rest of papernb judges them (:func:`papernb.money.read_decimal`: ASCII digits, commas only
between thousands; the wire's bounds on sizes and percents).  A row with a cell that fails
a check is dropped and counted, and the first few are kept with their row number, column
and value (``tape.problems``); a file that cannot be used at all (missing columns, not a
CSV/Parquet/DuckDB file, no rows, every row bad) raises ``InvalidInput`` saying why.

Integer timestamps may be in seconds, milliseconds, microseconds or nanoseconds since
1970: the unit is read from their size (1990-2100 in exactly one unit; the column's median
decides), and ``tape.ts_unit`` says which it was.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from decimal import Decimal
from itertools import repeat
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError, InvalidInput, PaperError
from ..money import MAX_UNITS, read_decimal, to_units
from ..quote import NS_MAX, NS_MIN, SYMBOL_RE, Quote, quotes_from_columns
from .sim import publish_batch
from .wire import read_pct

__all__ = ["QuoteTape", "Replay", "RowProblem", "check_tz", "load_quotes", "read_table", "read_tape",
           "table_from_pandas"]

_ALIASES = {
    "symbol": ("symbol", "ticker", "sym"),
    "bid": ("bid", "bid_price"),
    "ask": ("ask", "ask_price", "offer"),
    "last": ("last", "last_price", "price", "trade"),
    "change_pct": ("change_pct", "pct_change", "percent_change"),
    "bid_size": ("bid_size", "bidsize", "bid_sz"),
    "ask_size": ("ask_size", "asksize", "ask_sz"),
    "ts": ("ts", "timestamp", "time", "datetime"),
    "src": ("src", "source"),
    "seq": ("seq",),
}
_MAX_SIZE = 10**12
_MAX_PCT = 100_000
#: Dropped rows kept with their row number, column and value (the rest are only counted).
MAX_PROBLEMS = 5
#: ns per unit, smallest magnitude first; 1990-2100 in one unit never overlaps another's
_UNITS = (("seconds", 10**9), ("milliseconds", 10**6), ("microseconds", 10**3), ("nanoseconds", 1))
_FLOAT_EXACT = 2.0**52  # below this a float holds every integer (units, ts) exactly
_CSV_SUFFIXES = (".csv", ".txt", ".gz", ".tsv")
_DUCKDB_SUFFIXES = (".duckdb", ".db", ".ddb")
_PARQUET_SUFFIXES = (".parquet", ".pq")


class RowProblem(NamedTuple):
    """A dropped row: ``row`` counts from 1 (the first row after the header), ``column`` is the
    file's own column name, ``value`` the cell as read, ``reason`` what was wrong with it."""

    row: int
    column: str
    value: Any
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.column} {_show(self.value)}: {self.reason}"


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else ("empty" if value is None else str(value))
    return text if len(text) <= 42 else text[:40] + "..."


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def check_tz(tz: str | None) -> str | None:
    """An IANA time zone name, or ``ConfigError`` naming it (``Mars/Olympus``)."""
    if tz is None:
        return None
    import zoneinfo

    if not isinstance(tz, str):
        raise ConfigError(f"tz must be a time zone name like 'America/New_York', was {tz!r}")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(f"unknown time zone {tz!r}: use an IANA name like 'America/New_York' or 'UTC'") from None
    return tz


# ------------------------------------------------------------------------------------------ files
def read_table(path: str | Path, *, table: str | None = None, query: str | None = None) -> pa.Table:
    """A quotes file as an Arrow table: .csv, .parquet/.pq, or a DuckDB file (table or query).

    Whatever makes the file unusable (missing, empty, not UTF-8, corrupt) raises
    ``InvalidInput`` naming the file and, where there is one, the fix.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if not p.exists():
        raise InvalidInput(f"no such quotes file: {p}")
    if suffix in _PARQUET_SUFFIXES:
        return _read_parquet(p)
    if p.is_dir():
        raise InvalidInput(f"{p} is a folder; replay reads a .csv, .parquet or .duckdb file")
    if suffix in _CSV_SUFFIXES:
        return _read_csv(p)
    if suffix in _DUCKDB_SUFFIXES:
        return _read_duckdb(p, table, query)
    raise InvalidInput(f"{p.name}: replay reads .csv, .parquet or .duckdb files")


def _read_parquet(p: Path) -> pa.Table:
    import pyarrow.parquet as pq

    try:
        if p.is_file():  # one file: ParquetFile skips the dataset layer (~0.2 s of set-up per call)
            if p.stat().st_size == 0:
                raise InvalidInput(f"{p.name} is empty (0 bytes): not a Parquet file")
            with pq.ParquetFile(p, memory_map=True) as f:
                return f.read()
        return pq.read_table(p)  # a partitioned folder
    except (pa.ArrowException, OSError) as e:
        if isinstance(e, PaperError):
            raise
        raise InvalidInput(f"{p.name} is not a readable Parquet file ({_one_line(e, 120)}); a recording "
                           f"that was cut off before `papernb record` closed it has no footer and cannot "
                           f"be read: record to .duckdb to keep what was written") from None


def _read_csv(p: Path) -> pa.Table:
    import pyarrow.csv as pcsv

    with open(p, "rb") as f:
        head = f.read(4)
    if not head:
        raise InvalidInput(f"{p.name} is empty: a quotes file needs a header row (symbol,ts,last,...) and rows")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InvalidInput(f"{p.name} is UTF-16 text: save it as CSV UTF-8 (in Excel: Save As, 'CSV UTF-8')")
    try:
        with pcsv.open_csv(p) as reader:  # the header (and a first guess at the types)
            names = reader.schema.names
    except pa.ArrowInvalid as e:
        raise _csv_error(p, e) from None
    # only an empty cell is missing: "N/A", "NaN" and the like are text, judged (and refused) as a
    # price would be; symbols and sources are text even when they look like numbers ("7203", "1.5")
    text = {n for n in names if n.strip().lower() in _TEXT_COLUMNS}
    tbl = None
    try:
        tbl = _read_csv_as(p, {n: pa.string() for n in text})
    except pa.ArrowInvalid as e:
        if "conversion error" not in str(e):
            raise _csv_error(p, e) from None
    if tbl is not None:
        # "nan" written in a number column: Arrow reads it as NaN, which papernb takes for a missing
        # value everywhere else; in a text file it is text, and judged as such
        nan = [n for n, t in zip(tbl.column_names, tbl.schema.types, strict=True)
               if pa.types.is_floating(t) and pc.any(pc.is_nan(tbl.column(n))).as_py()]
        if not nan:
            return tbl
        text.update(nan)
        try:
            return _read_csv_as(p, {n: pa.string() for n in text})
        except pa.ArrowInvalid as e:
            if "conversion error" not in str(e):
                raise _csv_error(p, e) from None
    # a column whose type was guessed from the first rows holds something else further down: read
    # every column as text and judge each cell (a bad cell drops its row, not the file)
    try:
        return _read_csv_as(p, {n: pa.string() for n in names})
    except pa.ArrowInvalid as e:
        raise _csv_error(p, e) from None


_TEXT_COLUMNS = {alias for f in ("symbol", "src") for alias in _ALIASES[f]}


def _read_csv_as(p: Path, types: dict[str, pa.DataType]) -> pa.Table:
    import pyarrow.csv as pcsv

    convert = pcsv.ConvertOptions(null_values=[""], strings_can_be_null=True, column_types=types)
    return _utf8_columns(p, pcsv.read_csv(p, convert_options=convert))


def _csv_error(p: Path, e: BaseException) -> InvalidInput:
    msg = str(e)
    if "Empty CSV file" in msg:
        return InvalidInput(f"{p.name} is empty: a quotes file needs a header row (symbol,ts,last,...) and rows")
    if "UTF8" in msg or "UTF-8" in msg:
        return InvalidInput(f"{p.name} is not UTF-8 text ({_first_bad_utf8(p)}): save it as CSV UTF-8 "
                            f"(in Excel: Save As, 'CSV UTF-8')")
    return InvalidInput(f"{p.name} cannot be read as CSV: {_one_line(msg)}")


def _utf8_columns(p: Path, tbl: pa.Table) -> pa.Table:
    """Arrow reads a CSV column with bytes that are not UTF-8 as binary: fine in a column papernb
    does not read (notes in Latin-1), an error naming the line in one it does."""
    used = {alias for names in _ALIASES.values() for alias in names}
    for i in reversed(range(tbl.num_columns)):
        if pa.types.is_binary(tbl.schema.types[i]) or pa.types.is_large_binary(tbl.schema.types[i]):
            if tbl.column_names[i].strip().lower() in used:
                raise InvalidInput(f"{p.name} is not UTF-8 text ({_first_bad_utf8(p)}): save it as CSV UTF-8 "
                                   f"(in Excel: Save As, 'CSV UTF-8')")
            tbl = tbl.remove_column(i)
    return tbl


def _first_bad_utf8(p: Path) -> str:
    data = p.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        return f"line {line} has the byte 0x{data[e.start]:02x}, which is not UTF-8"
    return "a cell is not valid UTF-8"


def _read_duckdb(p: Path, table: str | None, query: str | None) -> pa.Table:
    import duckdb

    try:
        con = duckdb.connect(str(p), read_only=True)
    except duckdb.Error as e:
        msg = str(e)
        if "lock" in msg.lower():
            raise InvalidInput(f"{p.name} is open in another process (a running `papernb record`?): "
                               f"{_one_line(msg, 120)}") from None
        raise InvalidInput(f"{p.name} is not a readable DuckDB file ({_one_line(msg, 120)})") from None
    try:
        name = (table or "quotes").replace(chr(34), "")
        if query is None:
            tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
            if name not in tables:
                raise InvalidInput(f"{p.name} has no table {name!r}; it has: {', '.join(tables) or 'no tables'} "
                                   f"(choose one with --table / table=)")
        sql = query or f'SELECT * FROM "{name}"'
        return con.sql(sql).to_arrow_table()
    except duckdb.Error as e:
        raise InvalidInput(f"{p.name}: the query failed: {_one_line(e, 160)}") from None
    finally:
        con.close()


def table_from_pandas(df: Any) -> pa.Table:
    """A DataFrame as an Arrow table for :func:`read_tape`, whatever its columns hold.

    Aware datetimes become UTC; a column of mixed types (numbers and text, as a spreadsheet
    export gives) becomes text, each cell as ``str`` writes it (floats by their shortest
    repr, as read_decimal reads them), so that each cell is judged on its own.
    """
    import pandas as pd

    names = [str(c) for c in df.columns]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidInput(f"the DataFrame has more than one column named {', '.join(map(repr, dupes))}; "
                           f"rename or drop one")
    arrays = []
    for i in range(df.shape[1]):
        s = df.iloc[:, i]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_convert("UTC")
        try:
            arrays.append(pa.array(s, from_pandas=True))
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            arrays.append(pa.array([_cell_text(v) for v in s.tolist()], pa.string()))
    return pa.table(arrays, names=names)


def _cell_text(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    try:
        import pandas as pd

        if v is pd.NaT or v is pd.NA:
            return None
    except ImportError:  # pragma: no cover
        pass
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, bytes):
        return repr(v)
    return str(v)


# ------------------------------------------------------------------------------------------ columns
def _find(names: dict[str, str], field: str) -> str | None:
    for alias in _ALIASES[field]:
        if alias in names:
            return names[alias]
    return None


def _np(col: pa.ChunkedArray | pa.Array, typ: pa.DataType) -> tuple[np.ndarray, np.ndarray]:
    """A numeric or boolean column as (numpy values, valid mask), read from its Arrow buffers.

    Arrow's own ``to_numpy`` goes through its pandas bridge, which imports pandas (~0.3 s)
    on first use: a script that only backtests never needs pandas.  Values under a null
    are unspecified; read them with the mask.
    """
    # not "safe": an int beyond 2^53 becomes the nearest float (callers check the range they need)
    arr = col.cast(typ, safe=not pa.types.is_floating(typ))
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n, off = len(arr), arr.offset
    validity, data = arr.buffers()[:2]
    if pa.types.is_boolean(typ):
        values = _bits(data, off, n) if data is not None else np.zeros(n, bool)
    elif data is None:
        values = np.zeros(n, typ.to_pandas_dtype())
    else:
        values = np.frombuffer(data, dtype=typ.to_pandas_dtype(), count=off + n)[off:]
    valid = np.ones(n, bool) if arr.null_count == 0 or validity is None else _bits(validity, off, n)
    if arr.null_count == n:
        valid = np.zeros(n, bool)
    return values, valid


def _bits(buf: pa.Buffer, off: int, n: int) -> np.ndarray:
    """An Arrow bitmap (least significant bit first) as a bool array."""
    return np.unpackbits(np.frombuffer(buf, dtype=np.uint8), bitorder="little")[off:off + n].astype(bool)


def _plain(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dictionary-encoded and large/view text columns as plain ones."""
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_large_string(t) or getattr(pa.types, "is_string_view", lambda _: False)(t):
        col = col.cast(pa.string())
    return col


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _text(col: pa.ChunkedArray) -> tuple[pa.ChunkedArray, np.ndarray]:
    """A text column trimmed, and where a cell holds something (not null, not blank)."""
    trimmed = pc.utf8_trim_whitespace(col)
    present, known = _np(pc.not_equal(trimmed, ""), pa.bool_())
    return trimmed, present & known


def _fill(target: np.ndarray, bad: np.ndarray, col: pa.ChunkedArray, rows: np.ndarray,
          convert: Callable[[Any], Any], ok: Callable[[Any], bool] | None = None) -> None:
    """``convert`` the cells of ``col`` at ``rows`` into ``target``; a cell it returns None for
    (or that ``ok`` refuses) is bad.  Each distinct value is converted once, in Python: files
    repeat the same sizes, percents and odd prices over and over."""
    if not len(rows):
        return
    part = col if len(rows) == len(col) else col.take(pa.array(rows))
    if isinstance(part, pa.ChunkedArray):
        part = part.combine_chunks()
    try:
        enc = pc.dictionary_encode(part)
    except pa.ArrowNotImplementedError:  # a type Arrow cannot hash: one cell at a time
        words, codes = part.to_pylist(), np.arange(len(part))
    else:
        words = enc.dictionary.to_pylist()
        idx, valid = _np(enc.indices, pa.int32())
        codes = np.where(valid, idx, len(words))
        words.append(None)  # the extra slot stands for null
    values = np.empty(len(words), dtype=object)
    values[:] = [convert(v) for v in words]
    good = np.fromiter((v is not None and (ok is None or ok(v)) for v in values), bool, len(values))
    g = good[codes]
    if g.all():
        target[rows] = values[codes]
        bad[rows] = False
        return
    target[rows[g]] = values[codes[g]]
    bad[rows] = ~g


def _units_or_none(v: Any) -> int | None:
    """A price as the wire reads it (money.read_decimal, half-even to $0.0001), None if it is none."""
    if isinstance(v, bool) or v is None:
        return None
    try:
        return to_units(v, "price", exact=False)
    except (InvalidInput, ArithmeticError):
        return None


# a price papernb reads without Decimal: what read_decimal reads to the same value via a float
_FAST_PRICE = r"^-?\$?(?:[0-9]{1,14}|[0-9]{1,3}(?:,[0-9]{3}){1,3})(?:\.[0-9]{0,4})?$"


def _prices(col: pa.ChunkedArray, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A price column -> (int64 units, present, bad): present cells that are not a price are bad."""
    col = _plain(col)
    t, n = col.type, len(col)
    units = np.zeros(n, np.int64)
    if pa.types.is_null(t):
        return units, np.zeros(n, bool), np.zeros(n, bool)
    if pa.types.is_boolean(t):
        present = _np(pc.is_valid(col), pa.bool_())[0]
        return units, present, present.copy()
    if _is_text(t):
        trimmed, present = _text(col)
        fast = _np(pc.match_substring_regex(trimmed, _FAST_PRICE), pa.bool_())[0] & present
        cleaned = pc.replace_substring_regex(trimmed, r"[$,]", "")
        f, ok = _np(pc.if_else(pa.array(fast), cleaned, pa.scalar(None, pa.string())), pa.float64())
        ok &= fast
        slow = np.flatnonzero(present & ~fast)
        src = trimmed
    elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        if pa.types.is_decimal(t) and t.scale > 4:
            # round to 4 decimals in decimal arithmetic (half-even, as money.py), then through float
            col = pc.round(col, 4, round_mode="half_to_even")
        f, present = _np(col, pa.float64())
        slow = np.zeros(0, np.int64)
        src = col
        if not present.all():
            f = np.where(present, f, 0.0)  # what lies under a null is unspecified: never compute on it
        ok = None  # every present cell is a finite number, until found otherwise
    else:
        raise InvalidInput(f"column {name!r} holds {t}, not prices")
    with np.errstate(invalid="ignore", over="ignore"):
        if ok is not None:
            f = np.where(ok, f, 0.0)
        m = f * 10_000.0
        r = np.rint(m)
        # exact through a float: at most 4 decimals and below 2^52 units (NaN and inf are not);
        # the rest goes to read_decimal
        exact = (np.abs(m - r) < 1e-6) & (np.abs(r) < _FLOAT_EXACT)
    if ok is not None:
        exact &= ok
    elif not exact.all():
        nan = np.isnan(f)
        if nan.any():  # NaN is pandas' missing value: a missing cell, not a bad one
            present &= ~nan
        ok = present & np.isfinite(f)
        exact &= present
    else:
        ok = present
    exact &= present
    units = r.astype(np.int64) if exact.all() else np.where(exact, r, 0.0).astype(np.int64)
    bad = present & ~exact
    more = np.flatnonzero(ok & ~exact)
    if len(slow) or len(more):
        rows = np.concatenate([slow, more]) if len(more) else slow
        _fill(units, bad, src, rows, _units_or_none, lambda u: abs(u) <= MAX_UNITS)
    return units, present, bad


def _whole_or_none(v: Any) -> int | None:
    """A whole number as the wire reads a size (read_decimal, integral), None if it is none."""
    if isinstance(v, bool) or v is None:
        return None
    try:
        d = read_decimal(v, "value")
    except (InvalidInput, ArithmeticError):
        return None
    if abs(d) > 10**18 or d != d.to_integral_value():
        return None
    return int(d)


def _ints(col: pa.ChunkedArray, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A whole-number column (sizes, seq) -> (int64, present, bad); fractions and text are bad."""
    col = _plain(col)
    t, n = col.type, len(col)
    if pa.types.is_null(t):
        return np.zeros(n, np.int64), np.zeros(n, bool), np.zeros(n, bool)
    if pa.types.is_integer(t):
        if pa.types.is_uint64(t):
            col = pc.if_else(pc.greater(col, 2**62), pa.scalar(None, t), col)
        v, present = _np(col, pa.int64())
        return np.where(present, v, 0), present, np.zeros(n, bool)
    if pa.types.is_boolean(t):
        present = _np(pc.is_valid(col), pa.bool_())[0]
        return np.zeros(n, np.int64), present, present.copy()
    out = np.zeros(n, np.int64)
    if _is_text(t):
        trimmed, present = _text(col)
        rows = np.flatnonzero(present)
        bad = present.copy()
        _fill(out, bad, trimmed, rows, _whole_or_none)
        return out, present, bad
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        f, present = _np(col, pa.float64())
        f = np.where(present, f, 0.0)
        present &= ~np.isnan(f)
        f = np.where(present, f, 0.0)
        ok = present & np.isfinite(f) & (np.abs(f) < _FLOAT_EXACT)
        ok &= np.where(ok, f == np.trunc(np.where(ok, f, 0.0)), False)
        out[ok] = f[ok].astype(np.int64)
        return out, present, present & ~ok
    raise InvalidInput(f"column {name!r} holds {t}, not whole numbers")


def _pct_or_none(v: Any) -> Decimal | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        return read_pct(v if not isinstance(v, float) else Decimal(repr(v)))
    except (InvalidInput, ArithmeticError):
        return None


def _percents(col: pa.ChunkedArray, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A change_pct column -> (object array of Decimal or None, present, bad).

    Numbers as they are (floats through their repr, as read_decimal reads them), text with
    or without a trailing ``%`` ("1.23%" is 1.23 percent points, as in the Excel reader);
    beyond +-100,000 % is bad, as on the wire.
    """
    col = _plain(col)
    t, n = col.type, len(col)
    out = np.full(n, None, dtype=object)
    if pa.types.is_null(t):
        return out, np.zeros(n, bool), np.zeros(n, bool)
    if pa.types.is_boolean(t):
        present = _np(pc.is_valid(col), pa.bool_())[0]
        return out, present, present.copy()
    if _is_text(t):
        col, present = _text(col)
    elif pa.types.is_floating(t):
        f, present = _np(col, pa.float64())
        present &= ~np.isnan(np.where(present, f, 0.0))
    elif pa.types.is_integer(t) or pa.types.is_decimal(t):
        present = _np(pc.is_valid(col), pa.bool_())[0]
    else:
        raise InvalidInput(f"column {name!r} holds {t}, not percents")
    bad = present.copy()
    rows = np.flatnonzero(present)
    _fill(out, bad, col, rows, _pct_or_none)
    return out, present, bad


# ISO 8601 as files write it: date, time (seconds and fraction optional), zone optional
_ISO_AWARE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})$"
_ISO_NAIVE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?$"
_EPOCH_TEXT = r"^-?[0-9]{1,20}$"


class _Times(NamedTuple):
    ns: np.ndarray
    present: np.ndarray
    bad: np.ndarray
    unit: str | None  # how integer times were read ("milliseconds"...), None for dates and times


def _times(col: pa.ChunkedArray, name: str, tz: str | None, what: str) -> _Times:
    """The ts column -> int ns UTC, (present, bad) masks and the unit integers were read in."""
    col = _plain(col)
    t, n = col.type, len(col)
    if pa.types.is_null(t):
        return _Times(np.zeros(n, np.int64), np.zeros(n, bool), np.zeros(n, bool), None)
    if pa.types.is_timestamp(t):
        if t.tz is None:
            if tz is None:
                raise InvalidInput(_naive_advice(name, what))
            col = _assume_tz(col, tz, name)
        # in the column's own unit first: year 3000 in seconds would overflow nanoseconds
        scale = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[col.type.unit]
        v, present = _np(col.cast(pa.int64()), pa.int64())
        v = np.where(present, v, 0)
        ok = present & (v >= -(-NS_MIN // scale)) & (v < -(-NS_MAX // scale))
        return _Times(np.where(ok, v * scale, 0), present, present & ~ok, None)
    if pa.types.is_date(t):
        raise InvalidInput(f"column {name!r} holds dates without a time of day; ts needs the time of each quote")
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return _epoch_numbers(col, name)
    if _is_text(t):
        return _time_text(col, name, tz, what)
    raise InvalidInput(f"column {name!r} holds {t}; ts must be a time (2024-11-25T16:00:00Z) or a number of "
                       f"seconds, milliseconds, microseconds or nanoseconds since 1970")


def _naive_advice(name: str, what: str) -> str:
    return (f"column {name!r} of {what} has times without a time zone; write them with one "
            f"(2024-01-02T09:30:00Z) or pass tz='America/New_York' (papernb feed replay --tz America/New_York)")


def _assume_tz(col: pa.ChunkedArray, tz: str, name: str) -> pa.ChunkedArray:
    """Local wall times in ``tz`` -> aware; a time that happens twice or never is an error naming it."""
    try:
        return pc.assume_timezone(col, tz)
    except pa.ArrowInvalid as e:
        if "timezone" in str(e).lower() and "ambiguous" not in str(e) and "exist" not in str(e):
            raise ConfigError(f"unknown time zone {tz!r}: use an IANA name like 'America/New_York'") from None
    kinds = []
    for kind, key in (("happens twice (the clocks went back)", "ambiguous"),
                      ("does not exist (the clocks jumped forward)", "nonexistent")):
        a = pc.assume_timezone(col, tz, **{key: "earliest", ("nonexistent" if key == "ambiguous" else "ambiguous"):
                                          "earliest"})
        b = pc.assume_timezone(col, tz, **{key: "latest", ("nonexistent" if key == "ambiguous" else "ambiguous"):
                                          "earliest"})
        diff, known = _np(pc.not_equal(a, b), pa.bool_())
        rows = np.flatnonzero(diff & known)
        if len(rows):
            kinds.append((int(rows[0]), kind, len(rows)))
    row, kind, count = min(kinds)
    value = col[row].as_py()
    rows_text = "1 such row" if count == 1 else f"{count} such rows"
    raise InvalidInput(f"row {row + 1}, {name} {value}: this local time {kind} in {tz} ({rows_text}); "
                       f"write the times with their UTC offset (2024-11-03T01:30:00-04:00) or in UTC")


def _unit_of(values: np.ndarray) -> tuple[str, int] | None:
    """The unit whose 1990-2100 range holds the median of ``values`` (since 1970), or None."""
    if not len(values):
        return None
    mid = float(np.median(values[::max(1, len(values) // 1001)]))  # a sample's median: units are 1000x apart
    for unit, scale in _UNITS:
        if NS_MIN / scale <= abs(mid) < NS_MAX / scale:
            return unit, scale
    return None


def _epoch_numbers(col: pa.ChunkedArray, name: str) -> _Times:
    t, n = col.type, len(col)
    floating = pa.types.is_floating(t) or pa.types.is_decimal(t)
    if floating:
        f, present = _np(col, pa.float64())
        f = np.where(present, f, 0.0)
        present &= ~np.isnan(f)
        f = np.where(present, f, 0.0)
        finite = present & np.isfinite(f)
        found = _unit_of(f[finite])
        if found is not None and found[1] == 1:
            raise InvalidInput(f"column {name!r} holds nanoseconds as floating-point numbers, which cannot be exact "
                               f"(a missing value in an int column makes pandas turn it into floats): drop the rows "
                               f"without a ts, or convert the column with .astype('Int64')")
        ns = np.zeros(n, np.int64)
        if found is None:
            return _Times(ns, present, present.copy(), None)
        unit, scale = found
        with np.errstate(invalid="ignore", over="ignore"):
            us = np.rint(np.where(finite, f, 0.0) * (scale / 1000))  # fractions read to the microsecond
        ok = finite & (us >= NS_MIN // 1000) & (us < NS_MAX // 1000)
        ns[ok] = us[ok].astype(np.int64) * 1000
        return _Times(ns, present, present & ~ok, unit)
    if pa.types.is_uint64(t):
        col = pc.if_else(pc.greater(col, 2**62), pa.scalar(None, t), col)
    v, present = _np(col, pa.int64())
    v = np.where(present, v, 0)
    found = _unit_of(v[present])
    if found is None:
        return _Times(np.zeros(n, np.int64), present, present.copy(), None)
    unit, scale = found
    ok = present & (v >= -(-NS_MIN // scale)) & (v < -(-NS_MAX // scale))
    return _Times(np.where(ok, v * scale, 0), present, present & ~ok, unit)


def _time_text(col: pa.ChunkedArray, name: str, tz: str | None, what: str) -> _Times:
    """Times written as text: ISO 8601 with or without a zone, or integers since 1970."""
    n = len(col)
    trimmed, present = _text(col)
    ns = np.zeros(n, np.int64)
    bad = present.copy()
    aware = _np(pc.match_substring_regex(trimmed, _ISO_AWARE), pa.bool_())[0] & present
    naive = _np(pc.match_substring_regex(trimmed, _ISO_NAIVE), pa.bool_())[0] & present
    epoch = _np(pc.match_substring_regex(trimmed, _EPOCH_TEXT), pa.bool_())[0] & present
    if naive.any() and tz is None and not aware.any() and not epoch.any():
        raise InvalidInput(_naive_advice(name, what))
    unit = None
    for mask, target in ((aware, pa.timestamp("ns", "UTC")), (naive, pa.timestamp("ns"))):
        rows = np.flatnonzero(mask)
        if not len(rows) or (target.tz is None and tz is None):
            continue
        part = trimmed.take(pa.array(rows))
        try:
            cast = part.cast(target)
        except pa.ArrowInvalid:  # a date that does not exist (2024-02-30): one at a time
            cast = pa.array([_cast_one(v, target) for v in part.to_pylist()], target)
        if target.tz is None:
            cast = _assume_tz(pa.chunked_array([cast]), tz, name)  # type: ignore[arg-type]
        v, ok = _np(cast.cast(pa.int64()), pa.int64())
        ok &= (v >= NS_MIN) & (v < NS_MAX)
        ns[rows[ok]] = v[ok]
        bad[rows[ok]] = False
    rows = np.flatnonzero(epoch)
    if len(rows):
        nums = pc.cast(trimmed.take(pa.array(rows)), pa.float64())
        big, _ = _np(nums, pa.float64())
        found = _unit_of(big)
        if found is not None:
            unit, scale = found
            lo, hi = -(-NS_MIN // scale), -(-NS_MAX // scale)
            _fill(ns, bad, trimmed, rows, lambda v: int(v) * scale if v is not None and lo <= int(v) < hi else None)
    return _Times(ns, present, bad, unit)


def _cast_one(v: str, target: pa.DataType) -> Any:
    try:
        return pa.array([v]).cast(target)[0].as_py()
    except pa.ArrowInvalid:
        return None


# ------------------------------------------------------------------------------------------ the tape
def load_quotes(source: str | Path | pa.Table, *, table: str | None = None, query: str | None = None,
                tz: str | None = None) -> tuple[list[Quote], int]:
    """Read, validate and sort a quotes file: ``(quotes in time order, rows dropped)``.

    The same as :func:`read_tape` with every quote built at once.
    """
    tape = read_tape(source, table=table, query=query, tz=tz)
    return tape.quotes(), tape.dropped


class _Drops:
    """Which rows fail which check, in the order checked: the first failing check names the problem."""

    def __init__(self, n: int) -> None:
        self.ok = np.ones(n, bool)
        self.checks: list[tuple[str, np.ndarray, Callable[[int], str] | str]] = []

    def add(self, column: str, bad: np.ndarray, reason: Callable[[int], str] | str) -> None:
        if bad.any():
            self.ok &= ~bad
            self.checks.append((column, bad, reason))

    def problems(self, tbl: pa.Table, limit: int = MAX_PROBLEMS) -> list[RowProblem]:
        out = []
        for row in np.flatnonzero(~self.ok)[:limit].tolist():
            for column, bad, reason in self.checks:
                if bad[row]:
                    value = tbl.column(column)[row].as_py() if column in tbl.column_names else None
                    out.append(RowProblem(row + 1, column, value, reason if isinstance(reason, str) else reason(row)))
                    break
        return out


def read_tape(source: str | Path | pa.Table, *, table: str | None = None, query: str | None = None,
              tz: str | None = None, what: str | None = None) -> QuoteTape:
    """Read, validate and sort a quotes file into a :class:`QuoteTape`.

    Columns are matched case-insensitively (``symbol``/``ticker``, ``last``/``price``,
    ``ts``/``timestamp`` ...).  Needed: a symbol, a ts, and last or bid and ask.  The
    order of rows with equal ``ts`` is kept, so a recording replays in recorded order.
    Bad rows are dropped: ``tape.dropped`` counts them and ``tape.problems`` holds the first
    few (row, column, value, reason).  ``what`` names the data in messages.
    """
    tz = check_tz(tz)
    if isinstance(source, pa.Table):
        tbl, what = source, what or "the table"
    else:
        tbl, what = read_table(source, table=table, query=query), what or Path(source).name
    names: dict[str, str] = {}
    counts: dict[str, int] = {}
    for col_name in tbl.column_names:
        key = col_name.strip().lower()
        names.setdefault(key, col_name)
        counts[key] = counts.get(key, 0) + 1
    cols = {f: _find(names, f) for f in _ALIASES}
    missing = [f for f in ("symbol", "ts") if cols[f] is None]
    if cols["last"] is None and (cols["bid"] is None or cols["ask"] is None):
        missing.append("last (or bid and ask)")
    if missing:
        raise InvalidInput(f"{what} has no {', '.join(missing)} column; it has: {', '.join(tbl.column_names)}")
    for col_name in cols.values():
        if col_name is not None and counts[col_name.strip().lower()] > 1:
            same = [i + 1 for i, c in enumerate(tbl.column_names) if c.strip().lower() == col_name.strip().lower()]
            raise InvalidInput(f"{what} has {len(same)} columns named {col_name!r} (columns "
                               f"{', '.join(map(str, same))}): rename or remove all but one")
    n = tbl.num_rows
    if n == 0:
        raise InvalidInput(f"{what} has no rows")
    drops = _Drops(n)

    sym_col = _plain(tbl.column(cols["symbol"]))
    if not pa.types.is_string(sym_col.type):
        t = sym_col.type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_null(t)):
            raise InvalidInput(f"column {cols['symbol']!r} holds {t}, not symbols")
        sym_col = sym_col.cast(pa.string())  # a numeric ticker (7203)
    sym_col = pc.utf8_upper(pc.utf8_trim_whitespace(sym_col))
    matched, known = _np(pc.match_substring_regex(sym_col, SYMBOL_RE.pattern), pa.bool_())
    drops.add(cols["symbol"], ~known, "no symbol")
    drops.add(cols["symbol"], known & ~matched, "not a symbol (letters, digits and ./$^_- , 1-32 characters)")

    times = _times(tbl.column(cols["ts"]), cols["ts"], tz, what)
    ts = times.ns
    drops.add(cols["ts"], ~times.present, "no time")
    drops.add(cols["ts"], times.bad, "not a time between 1990 and 2100" + (
        f" (the column's times are in {times.unit} since 1970)" if times.unit else ""))

    prices = {}
    for f in ("bid", "ask", "last"):
        if cols[f] is None:
            prices[f] = (np.zeros(n, np.int64), np.zeros(n, bool))
            continue
        units, present, bad = _prices(tbl.column(cols[f]), cols[f])
        drops.add(cols[f], bad, "not a price")
        has = present & ~bad
        if f == "last":
            drops.add(cols[f], has & (units <= 0), "a last price must be positive")
        else:  # a 0 bid/ask means that side is missing (as Quote); a negative one is bad
            drops.add(cols[f], has & (units < 0), f"a {f} cannot be negative")
            has &= units > 0
        prices[f] = (units, has)
    (bid, has_bid), (ask, has_ask), (last, has_last) = prices["bid"], prices["ask"], prices["last"]
    crossed = has_bid & has_ask & (bid > ask)
    if cols["bid"] is not None:
        drops.add(cols["bid"], crossed, lambda r: f"above the ask {tbl.column(cols['ask'])[r].as_py()}")
    need = ~(has_last | (has_bid & has_ask))
    drops.add(cols["last"] or cols["bid"] or "last", need & drops.ok,
              "no last price and no bid/ask pair")  # only rows with no other fault

    sizes = {}
    for f in ("bid_size", "ask_size"):
        if cols[f] is None:
            sizes[f] = None
            continue
        v, present, bad = _ints(tbl.column(cols[f]), cols[f])
        bad |= present & ~bad & ((v < 0) | (v > _MAX_SIZE))
        drops.add(cols[f], bad, f"not a whole number of shares from 0 to {_MAX_SIZE:,}")
        sizes[f] = (v, present & ~bad)

    chg = None
    if cols["change_pct"] is not None:
        pcts, present, bad = _percents(tbl.column(cols["change_pct"]), cols["change_pct"])
        drops.add(cols["change_pct"], bad, f"not a percent between -{_MAX_PCT:,} and {_MAX_PCT:,}")
        chg = (pcts, present & ~bad)

    seq = None
    if cols["seq"] is not None:
        v, present, bad = _ints(tbl.column(cols["seq"]), cols["seq"])
        drops.add(cols["seq"], bad, "not a whole number")
        seq = (v, present & ~bad)

    ok = drops.ok
    idx = np.flatnonzero(ok)
    dropped = n - len(idx)
    problems = drops.problems(tbl)
    if not len(idx):
        shown = "; ".join(map(str, problems[:3]))
        raise InvalidInput(f"every row of {what} was dropped ({n} of {n}): {shown}")
    # time order, keeping file order among equal stamps (a stable sort); skip it when sorted
    ts_ok_sorted = ts[idx]
    if len(idx) > 1 and np.any(ts_ok_sorted[1:] < ts_ok_sorted[:-1]):
        idx = idx[np.argsort(ts_ok_sorted, kind="stable")]

    def column(values: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
        """int64 values in time order, or an object array with None where a value is missing."""
        v, m = values[idx], mask[idx]
        if m.all():
            return v
        if not m.any():
            return None
        obj = v.astype(object)
        obj[~m] = None
        return obj

    # the mark (last, else the bid/ask mid) in bulk, as Quote itself computes it; when
    # every row has a last, the mark column is the last column (and shares its int objects)
    lasts = column(last, has_last)
    marks = lasts if lasts is not None and lasts.dtype != object else np.where(has_last, last, (ask + bid) // 2)[idx]
    cols_out: list[np.ndarray | None] = [
        _names(sym_col, idx), column(bid, has_bid), column(ask, has_ask), lasts, marks, ts[idx]]
    cols_out.append(chg[0][idx] if chg is not None and chg[1][idx].any() else None)
    cols_out.append(column(*sizes["bid_size"]) if sizes["bid_size"] else None)
    cols_out.append(column(*sizes["ask_size"]) if sizes["ask_size"] else None)
    cols_out.append(_names(_plain(tbl.column(cols["src"])).cast(pa.string()), idx, intern=False)
                    if cols["src"] is not None else None)
    cols_out.append(column(*seq) if seq is not None else None)
    tape = QuoteTape(cols_out, dropped)
    tape.problems, tape.ts_unit, tape.rows = problems, times.unit, n
    return tape


def _names(col: pa.ChunkedArray, idx: np.ndarray, intern: bool = True) -> np.ndarray:
    """A text column in ``idx`` order as an object array sharing one str per distinct value."""
    enc = pc.dictionary_encode(col).combine_chunks()
    words = enc.dictionary.to_pylist()
    names = np.empty(len(words) + 1, dtype=object)  # the extra slot stands for null
    names[:len(words)] = [sys.intern(x) for x in words] if intern else words
    codes, valid = _np(enc.indices, pa.int32())
    codes = np.where(valid, codes, len(words))
    return names[codes[idx]]


class QuoteTape:
    """Validated quotes in time order, kept as columns; ``Quote`` objects are built a chunk at
    a time.

    A backtest walks a million quotes once: building them in chunks of a few thousand while
    it runs keeps the new objects in the CPU cache and the process small (about half the
    time and a fraction of the memory of building the whole list first).  Iterating again
    builds the quotes again, so a tape can be replayed any number of times.
    """

    #: quotes per chunk: small enough to stay in the CPU cache, big enough to amortise numpy calls
    CHUNK = 4096

    def __init__(self, columns: list[np.ndarray | None], dropped: int) -> None:
        # one column per field of quote.COLUMNS, in that order (src_ts left out: always None here)
        self._cols = columns
        self._list: list[Quote] | None = None
        self.dropped = dropped
        #: the first few dropped rows: (row, column, value, reason), row 1 being the first after the header
        self.problems: list[RowProblem] = []
        #: how integer timestamps were read ("seconds" ... "nanoseconds"); None for dates and times
        self.ts_unit: str | None = None
        #: rows read from the source, good and bad
        self.rows = 0
        self._n = len(columns[0]) if columns[0] is not None else 0

    @classmethod
    def from_quotes(cls, quotes: list[Quote], dropped: int = 0) -> QuoteTape:
        """A tape over quotes that already exist (in time order)."""
        tape = cls([None] * 11, dropped)
        tape._list, tape._n = quotes, len(quotes)
        tape.rows = len(quotes) + dropped
        return tape

    def report(self, what: str = "the data") -> str | None:
        """One line about the dropped rows (None when there were none), for a console or a log."""
        if not self.dropped:
            return None
        shown = "; ".join(map(str, self.problems))
        more = f" (the first {len(self.problems)})" if self.dropped > len(self.problems) else ""
        return f"{self.dropped} of {self.rows} rows of {what} dropped{more}: {shown}"

    def __len__(self) -> int:
        return self._n

    @property
    def has_sizes(self) -> bool:
        """Whether any quote carries a bid or ask size (the ``size`` fill model needs them)."""
        if self._list is not None:
            return any(q._asz is not None or q._bsz is not None for q in self._list)
        return self._cols[7] is not None or self._cols[8] is not None

    def chunks(self, size: int | None = None) -> Iterator[list[Quote]]:
        """Consecutive lists of at most ``size`` quotes, built as they are asked for."""
        size = size or self.CHUNK
        if self._list is not None:
            for start in range(0, self._n, size):
                yield self._list[start:start + size]
            return
        cols, none = self._cols, repeat(None)
        for start in range(0, self._n, size):
            parts = [none if c is None else c[start:start + size].tolist() for c in cols[:4]]
            parts.append(parts[3] if cols[4] is cols[3] else cols[4][start:start + size].tolist())  # mark
            parts += [none if c is None else c[start:start + size].tolist() for c in cols[5:]]
            gc_was_on = gc.isenabled()
            gc.disable()  # thousands of new tuples would trigger useless collections
            try:
                chunk = quotes_from_columns(parts)
            finally:
                if gc_was_on:
                    gc.enable()
            yield chunk

    def __iter__(self) -> Iterator[Quote]:
        for chunk in self.chunks():
            yield from chunk

    def quotes(self) -> list[Quote]:
        """Every quote as one list (what :func:`load_quotes` returns)."""
        if self._list is not None:
            return self._list
        out: list[Quote] = []
        for chunk in self.chunks(65_536):
            out.extend(chunk)
        return out


class Replay:
    """A recorded tape as a source: ``speed=1`` real time, ``speed=10`` ten times faster,
    ``speed=None`` as fast as the consumer takes it (in batches of ``batch`` quotes).

    ``clock`` and ``sleep`` are injectable so that tests can check the pacing exactly
    without waiting for it.
    """

    def __init__(self, source: str | Path | pa.Table | list[Quote], *, speed: float | None = 1.0,
                 table: str | None = None, query: str | None = None, tz: str | None = None,
                 batch: int = 1000, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        if speed is not None and (isinstance(speed, bool) or not isinstance(speed, int | float)
                                  or not 0 < speed < float("inf")):
            raise InvalidInput(f"speed must be a positive number or None (as fast as possible), was {speed!r}")
        self.problems: list[RowProblem] = []
        self.ts_unit: str | None = None
        if isinstance(source, list):
            self.quotes, self.dropped = source, 0
        else:
            tape = read_tape(source, table=table, query=query, tz=tz)
            self.quotes, self.dropped, self.problems, self.ts_unit = (tape.quotes(), tape.dropped, tape.problems,
                                                                      tape.ts_unit)
            self.report = tape.report
        self.speed, self.batch, self.clock, self.sleep = speed, batch, clock, sleep

    def __iter__(self) -> Iterator[Quote]:
        return iter(self.quotes)

    def __len__(self) -> int:
        return len(self.quotes)

    def batches(self) -> Iterator[list[Quote]]:
        """Consecutive quotes with the same ``ts`` (at most ``batch`` each): one publish each."""
        qs, size = self.quotes, self.batch
        i, n = 0, len(qs)
        while i < n:
            ts = qs[i]._ts
            j = i + 1
            while j < n and j - i < size and qs[j]._ts == ts:
                j += 1
            yield qs[i:j]
            i = j

    async def run(self, publish: Callable[[list[Quote]], object]) -> int:
        """Publish the whole tape, paced by ``speed``; returns the number of quotes."""
        qs = self.quotes
        if not qs:
            return 0
        if self.speed is None:
            for i in range(0, len(qs), self.batch):
                await publish_batch(publish, qs[i:i + self.batch])
                await self.sleep(0)  # let consumers run between batches
            return len(qs)
        t0_wall, t0_ts, speed = self.clock(), qs[0]._ts, self.speed
        for b in self.batches():
            due = t0_wall + (b[0]._ts - t0_ts) / 1e9 / speed
            wait = due - self.clock()
            if wait > 0:
                await self.sleep(wait)
            await publish_batch(publish, b)
        return len(qs)
