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

__all__ = ["Replay", "load_quotes", "read_table"]

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

        return pq.read_table(p)
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


def _units(col: pa.ChunkedArray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A price column -> (int64 units, valid mask); nulls and non-numbers are invalid."""
    t = col.type
    if pa.types.is_decimal(t):
        # round to 4 decimals in decimal arithmetic (half-even, as money.py), then through
        # float: a 4-decimal price below $10^11 times 10^4 lands within 1e-4 of its integer
        d = pc.round(col, 4, round_mode="half_to_even") if t.scale > 4 else col
        arr = pc.multiply(d.cast(pa.float64()), 10_000.0)
    elif pa.types.is_integer(t) or pa.types.is_floating(t):
        arr = pc.multiply(col.cast(pa.float64()), 10_000.0)
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        cleaned = pc.replace_substring_regex(pc.utf8_trim_whitespace(col), r"[$,]", "")
        ok = pc.match_substring_regex(cleaned, r"^-?\d+(\.\d*)?$")
        arr = pc.multiply(pc.if_else(ok, cleaned, pa.scalar(None, pa.string())).cast(pa.float64()), 10_000.0)
    elif pa.types.is_null(t):
        arr = pa.chunked_array([pa.nulls(len(col), pa.float64())])
    else:
        raise InvalidInput(f"column {name!r} holds {t}, not prices")
    f = arr.to_numpy(zero_copy_only=False).astype(np.float64)
    valid = np.isfinite(f) & (np.abs(f) <= MAX_UNITS)
    units = np.zeros(len(f), dtype=np.int64)
    units[valid] = np.rint(f[valid]).astype(np.int64)
    return units, valid


def _ints(col: pa.ChunkedArray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A whole-number column (sizes, seq) -> (int64, valid mask); fractions are invalid."""
    t = col.type
    if pa.types.is_integer(t):
        valid = pc.is_valid(col).to_numpy(zero_copy_only=False)
        v = pc.fill_null(col, 0).cast(pa.int64()).to_numpy(zero_copy_only=False)
        return v, valid
    if pa.types.is_null(t):
        return np.zeros(len(col), np.int64), np.zeros(len(col), bool)
    try:
        f = col.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise InvalidInput(f"column {name!r} holds {t}, not whole numbers") from None
    valid = np.isfinite(f) & (np.abs(f) < 1e15)
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
        valid = pc.is_valid(col).to_numpy(zero_copy_only=False)
        ns = pc.fill_null(col, 0).cast(pa.int64()).to_numpy(zero_copy_only=False)
        return ns, valid & (ns >= _NS_MIN) & (ns < _NS_MAX)
    raise InvalidInput(f"column {name!r} holds {t}; ts must be int nanoseconds UTC or a timestamp")


def load_quotes(source: str | Path | pa.Table, *, table: str | None = None, query: str | None = None,
                tz: str | None = None) -> tuple[list[Quote], int]:
    """Read, validate and sort a quotes file: ``(quotes in time order, rows dropped)``.

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
        return [], 0

    sym_col = tbl.column(cols["symbol"])
    if not (pa.types.is_string(sym_col.type) or pa.types.is_large_string(sym_col.type)):
        sym_col = sym_col.cast(pa.string())
    sym_col = pc.utf8_upper(pc.utf8_trim_whitespace(sym_col))
    ok = pc.fill_null(pc.match_substring_regex(sym_col, SYMBOL_RE.pattern), False).to_numpy(zero_copy_only=False)

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
            col_valid = pc.is_valid(tbl.column(cols[f])).to_numpy(zero_copy_only=False)
            ok &= ~col_valid | (valid & (v >= 0) & (v <= 10**12))  # null is fine, garbage is not
            sizes[f] = (v, valid)

    chg = None
    if cols["change_pct"] is not None:
        c = tbl.column(cols["change_pct"])
        if pa.types.is_decimal(c.type):
            chg_f = c.cast(pa.float64()).to_numpy(zero_copy_only=False)
        else:
            chg_f = c.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
        chg_valid = ~np.isnan(chg_f)
        ok &= ~chg_valid | (np.abs(np.where(chg_valid, chg_f, 0)) <= 100_000)
        chg = (chg_f, chg_valid)

    seq = None
    if cols["seq"] is not None:
        seq = _ints(tbl.column(cols["seq"]), cols["seq"])
    src_list = None
    if cols["src"] is not None:
        src_list = tbl.column(cols["src"]).cast(pa.string()).to_pylist()

    # time order, keeping file order among equal stamps (a stable sort); skip it when sorted
    idx = np.flatnonzero(ok)
    dropped = n - len(idx)
    ts_ok_sorted = ts[idx]
    if len(idx) > 1 and np.any(ts_ok_sorted[1:] < ts_ok_sorted[:-1]):
        idx = idx[np.argsort(ts_ok_sorted, kind="stable")]

    def col_list(values: np.ndarray, mask: np.ndarray) -> list:
        vals = values[idx].tolist()
        m = mask[idx]
        if m.all():
            return vals
        return [v if k else None for v, k in zip(vals, m.tolist(), strict=True)]

    # one str object per distinct symbol, shared by all its quotes (less memory, faster dict lookups)
    enc = pc.dictionary_encode(sym_col.take(pa.array(idx))).combine_chunks()
    names = np.array([sys.intern(x) for x in enc.dictionary.to_pylist()] or [""], dtype=object)
    syms = names[enc.indices.to_numpy(zero_copy_only=False)].tolist()
    bids = col_list(bid, has_bid)
    asks = col_list(ask, has_ask)
    lasts = col_list(last, has_last)
    tss = ts[idx].tolist()
    none = [None] * len(idx)
    bszs = col_list(*sizes["bid_size"]) if sizes["bid_size"] else none
    aszs = col_list(*sizes["ask_size"]) if sizes["ask_size"] else none
    if chg is not None:
        # few distinct percent values: convert each once through repr (floats via str, as money.py)
        vals = np.where(chg[1], chg[0], np.nan)[idx]
        uniq, inverse = np.unique(vals, return_inverse=True)
        as_dec = [None if v != v else Decimal(repr(v)) for v in uniq.tolist()]
        chgs = [as_dec[i] for i in inverse.tolist()]
    else:
        chgs = none
    seqs = col_list(*seq) if seq is not None else none
    srcs = [src_list[i] for i in idx.tolist()] if src_list is not None else none

    # the mark (last, else the bid/ask mid) in bulk, then each Quote built by C code alone:
    # map(tuple.__new__) over zip() rows, in Quote's field order (see Quote._trusted)
    mark = np.where(has_last, last, (ask + bid) // 2)
    marks = mark[idx].tolist()
    gc_was_on = gc.isenabled()
    gc.disable()  # a million new objects would trigger many useless collections: ~2.5x slower
    try:
        quotes = list(map(tuple.__new__, repeat(Quote),
                          zip(syms, bids, asks, lasts, marks, tss, chgs, bszs, aszs, srcs, seqs, none, strict=True)))
    finally:
        if gc_was_on:
            gc.enable()
    return quotes, dropped


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
