"""Replay quotes from a CSV, Parquet or DuckDB file, in time order, at any speed.

Files are converted a column at a time with pyarrow (prices to int units, timestamps to
int ns) and validated the same way, so a million rows load in a second or two; only then
is each row wrapped in a ``Quote`` with the trusted constructor.  Rows that fail a check
are dropped and counted; a file without the needed columns is refused with their names.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from itertools import repeat
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidInput
from ..money import MAX_UNITS
from ..quote import SYMBOL_RE, Quote
from .sim import publish_batch

__all__ = ["QuoteTape", "Replay", "load_quotes", "read_table", "read_tape"]

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
_NS_MIN = 631_152_000 * 10**9  # 1990-01-01, as Quote
_NS_MAX = 4_102_444_800 * 10**9  # 2100-01-01


def read_table(path: str | Path, *, table: str | None = None, query: str | None = None) -> pa.Table:
    """A quotes file as an Arrow table: .csv, .parquet/.pq, or a DuckDB file (table or query)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if not p.exists():
        raise InvalidInput(f"no such quotes file: {p}")
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        if p.is_file():  # one file: ParquetFile skips the dataset layer (~0.2 s of set-up per call)
            with pq.ParquetFile(p, memory_map=True) as f:
                return f.read()
        return pq.read_table(p)  # a partitioned folder
    if suffix in (".csv", ".txt", ".gz"):
        import pyarrow.csv as pcsv

        return pcsv.read_csv(p)
    if suffix in (".duckdb", ".db", ".ddb"):
        import duckdb

        con = duckdb.connect(str(p), read_only=True)
        try:
            sql = query or f'SELECT * FROM "{(table or "quotes").replace(chr(34), "")}"'
            return con.sql(sql).to_arrow_table()
        finally:
            con.close()
    raise InvalidInput(f"{p.name}: replay reads .csv, .parquet or .duckdb files")


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
    arr = col.cast(typ)
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


def _units(col: pa.ChunkedArray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A price column -> (int64 units, valid mask); nulls and non-numbers are invalid."""
    t = col.type
    if pa.types.is_decimal(t):
        # round to 4 decimals in decimal arithmetic (half-even, as money.py), then through
        # float: a 4-decimal price below $10^11 times 10^4 lands within 1e-4 of its integer
        d = pc.round(col, 4, round_mode="half_to_even") if t.scale > 4 else col
        f, valid = _np(d, pa.float64())
    elif pa.types.is_integer(t) or pa.types.is_floating(t):
        f, valid = _np(col, pa.float64())
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        cleaned = pc.replace_substring_regex(pc.utf8_trim_whitespace(col), r"[$,]", "")
        ok = pc.match_substring_regex(cleaned, r"^-?\d+(\.\d*)?$")
        f, valid = _np(pc.if_else(ok, cleaned, pa.scalar(None, pa.string())), pa.float64())
    elif pa.types.is_null(t):
        f, valid = np.zeros(len(col)), np.zeros(len(col), bool)
    else:
        raise InvalidInput(f"column {name!r} holds {t}, not prices")
    f = np.where(valid, f, 0.0) * 10_000.0  # what lies under a null is unspecified: never compute on it
    valid &= np.isfinite(f) & (np.abs(f) <= MAX_UNITS)
    units = np.zeros(len(f), dtype=np.int64)
    units[valid] = np.rint(f[valid]).astype(np.int64)
    return units, valid


def _ints(col: pa.ChunkedArray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A whole-number column (sizes, seq) -> (int64, valid mask); fractions are invalid."""
    t = col.type
    if pa.types.is_integer(t):
        v, valid = _np(col, pa.int64())
        return np.where(valid, v, 0), valid
    if pa.types.is_null(t):
        return np.zeros(len(col), np.int64), np.zeros(len(col), bool)
    try:
        f, valid = _np(col, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise InvalidInput(f"column {name!r} holds {t}, not whole numbers") from None
    f = np.where(valid, f, 0.0)
    valid &= np.isfinite(f) & (np.abs(f) < 1e15)
    valid &= np.where(valid, f == np.trunc(np.where(valid, f, 0)), False)
    return np.where(valid, f, 0).astype(np.int64), valid


def _timestamps(col: pa.ChunkedArray, name: str, tz: str | None) -> tuple[np.ndarray, np.ndarray]:
    t = col.type
    if pa.types.is_timestamp(t):
        if t.tz is None:
            if tz is None:
                raise InvalidInput(f"column {name!r} has times without a time zone; write them with one "
                                   f"(2024-01-02T09:30:00Z) or pass tz='America/New_York'")
            col = pc.assume_timezone(col, tz)
        col = col.cast(pa.timestamp("ns", col.type.tz)).cast(pa.int64())
        t = col.type
    if pa.types.is_integer(t):
        ns, valid = _np(col, pa.int64())
        ns = np.where(valid, ns, 0)
        return ns, valid & (ns >= _NS_MIN) & (ns < _NS_MAX)
    raise InvalidInput(f"column {name!r} holds {t}; ts must be int nanoseconds UTC or a timestamp")


def load_quotes(source: str | Path | pa.Table, *, table: str | None = None, query: str | None = None,
                tz: str | None = None) -> tuple[list[Quote], int]:
    """Read, validate and sort a quotes file: ``(quotes in time order, rows dropped)``.

    The same as :func:`read_tape` with every quote built at once.
    """
    tape = read_tape(source, table=table, query=query, tz=tz)
    return tape.quotes(), tape.dropped


def read_tape(source: str | Path | pa.Table, *, table: str | None = None, query: str | None = None,
              tz: str | None = None) -> QuoteTape:
    """Read, validate and sort a quotes file into a :class:`QuoteTape` (rows dropped: ``.dropped``).

    Columns are matched case-insensitively (``symbol``/``ticker``, ``last``/``price``,
    ``ts``/``timestamp`` ...).  Needed: a symbol, a ts, and last or bid and ask.  The
    order of rows with equal ``ts`` is kept, so a recording replays in recorded order.
    """
    tbl = source if isinstance(source, pa.Table) else read_table(source, table=table, query=query)
    names = {n.strip().lower(): n for n in tbl.column_names}
    cols = {f: _find(names, f) for f in _ALIASES}
    missing = [f for f in ("symbol", "ts") if cols[f] is None]
    if cols["last"] is None and (cols["bid"] is None or cols["ask"] is None):
        missing.append("last (or bid and ask)")
    if missing:
        raise InvalidInput(f"the quotes file has no {', '.join(missing)} column; "
                           f"it has: {', '.join(tbl.column_names)}")
    n = tbl.num_rows
    if n == 0:
        return QuoteTape([None] * 11, 0)

    sym_col = tbl.column(cols["symbol"])
    if not (pa.types.is_string(sym_col.type) or pa.types.is_large_string(sym_col.type)):
        sym_col = sym_col.cast(pa.string())
    sym_col = pc.utf8_upper(pc.utf8_trim_whitespace(sym_col))
    matched, known = _np(pc.match_substring_regex(sym_col, SYMBOL_RE.pattern), pa.bool_())
    ok = matched & known

    ts, ts_ok = _timestamps(tbl.column(cols["ts"]), cols["ts"], tz)
    ok &= ts_ok

    prices = {}
    for f in ("bid", "ask", "last"):
        if cols[f] is None:
            prices[f] = (np.zeros(n, np.int64), np.zeros(n, bool))
        else:
            prices[f] = _units(tbl.column(cols[f]), cols[f])
    (bid, has_bid), (ask, has_ask), (last, has_last) = prices["bid"], prices["ask"], prices["last"]
    # a 0 bid/ask means that side is missing (as Quote); negatives and a non-positive last are bad
    ok &= ~(has_bid & (bid < 0)) & ~(has_ask & (ask < 0)) & ~(has_last & (last <= 0))
    has_bid &= bid > 0
    has_ask &= ask > 0
    ok &= ~(has_bid & has_ask & (bid > ask))
    ok &= has_last | (has_bid & has_ask)

    sizes = {}
    for f in ("bid_size", "ask_size"):
        if cols[f] is None:
            sizes[f] = None
        else:
            v, valid = _ints(tbl.column(cols[f]), cols[f])
            col_valid = _np(pc.is_valid(tbl.column(cols[f])), pa.bool_())[0]
            ok &= ~col_valid | (valid & (v >= 0) & (v <= 10**12))  # null is fine, garbage is not
            sizes[f] = (v, valid)

    chg = None
    if cols["change_pct"] is not None:
        chg_f, chg_valid = _np(tbl.column(cols["change_pct"]), pa.float64())
        chg_valid &= ~np.isnan(chg_f)
        chg_f = np.where(chg_valid, chg_f, np.nan)
        ok &= ~chg_valid | (np.abs(np.where(chg_valid, chg_f, 0)) <= 100_000)
        chg = (chg_f, chg_valid)

    seq = None
    if cols["seq"] is not None:
        seq = _ints(tbl.column(cols["seq"]), cols["seq"])

    # time order, keeping file order among equal stamps (a stable sort); skip it when sorted
    idx = np.flatnonzero(ok)
    dropped = n - len(idx)
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

    # the mark (last, else the bid/ask mid) in bulk, as Quote._trusted would compute it; when
    # every row has a last, the mark column is the last column (and shares its int objects)
    lasts = column(last, has_last)
    marks = lasts if lasts is not None and lasts.dtype != object else np.where(has_last, last, (ask + bid) // 2)[idx]
    cols_out: list[np.ndarray | None] = [
        _names(sym_col, idx), column(bid, has_bid), column(ask, has_ask), lasts, marks, ts[idx]]
    if chg is not None:
        # few distinct percent values: convert each once through repr (floats via str, as money.py)
        vals = np.where(chg[1], chg[0], np.nan)[idx]
        uniq, inverse = np.unique(vals, return_inverse=True)
        as_dec = np.empty(len(uniq), dtype=object)
        as_dec[:] = [None if v != v else Decimal(repr(v)) for v in uniq.tolist()]
        cols_out.append(as_dec[inverse.reshape(-1)])
    else:
        cols_out.append(None)
    cols_out.append(column(*sizes["bid_size"]) if sizes["bid_size"] else None)
    cols_out.append(column(*sizes["ask_size"]) if sizes["ask_size"] else None)
    cols_out.append(_names(tbl.column(cols["src"]).cast(pa.string()), idx, intern=False)
                    if cols["src"] is not None else None)
    cols_out.append(column(*seq) if seq is not None else None)
    return QuoteTape(cols_out, dropped)


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
        # Quote's field order (see Quote._trusted): symbol, bid, ask, last, mark, ts, change_pct,
        # bid_size, ask_size, src, seq; the twelfth field (src_ts) is always None here
        self._cols = columns
        self._list: list[Quote] | None = None
        self.dropped = dropped
        self._n = len(columns[0]) if columns[0] is not None else 0

    @classmethod
    def from_quotes(cls, quotes: list[Quote], dropped: int = 0) -> QuoteTape:
        """A tape over quotes that already exist (in time order)."""
        tape = cls([None] * 11, dropped)
        tape._list, tape._n = quotes, len(quotes)
        return tape

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
                # each Quote built by C code alone: map(tuple.__new__) over zip() rows (not strict:
                # the all-None fields are endless repeat(None))
                chunk = list(map(tuple.__new__, repeat(Quote), zip(*parts, none, strict=False)))
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
        if speed is not None and not speed > 0:
            raise InvalidInput(f"speed must be positive or None (as fast as possible), was {speed!r}")
        if isinstance(source, list):
            self.quotes, self.dropped = source, 0
        else:
            self.quotes, self.dropped = load_quotes(source, table=table, query=query, tz=tz)
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
