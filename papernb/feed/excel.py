"""ThinkOrSwim quotes from Excel: a pure block parser, a change-detecting source, two readers.

The trader's sheet has a header row and one row per symbol, each cell an RTD formula
(``=RTD("tos.rtd",,"LAST",$A2)``).  :func:`parse_block` turns a 2-D block of cell values
(header first) into quotes and is all that needs testing on Linux.  :class:`ExcelSource`
polls a reader, emits only rows that changed, and re-emits quiet rows every
``stale_after / 2`` seconds so that a quiet symbol does not look dead.

Readers return the block:
- :func:`read_saved` -- a saved .xlsx/.xlsm/.xls via python-calamine (any OS);
- :class:`LiveWorkbook` -- a workbook open in Excel via xlwings (Windows/macOS), one
  contiguous range read per poll.  xlwings is imported only when a live workbook is opened.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..errors import BadQuote, ConfigError
from ..quote import Quote
from .sim import publish_batch
from .wire import build, price_units

__all__ = ["ExcelSource", "Layout", "LiveWorkbook", "ParsedBlock", "open_live", "parse_block", "read_saved"]

log = logging.getLogger(__name__)

# header text (upper-cased, everything but letters, digits and % removed) -> field
_HEADERS: dict[str, str] = {}
for _field, _names in {
    "symbol": ("SYMBOL", "TICKER", "SYM", "INSTRUMENT"),
    "last": ("LAST", "LASTPRICE", "LASTTRADE", "PRICE", "LST"),
    "mark": ("MARK",),
    "bid": ("BID", "BIDPRICE"),
    "ask": ("ASK", "ASKPRICE", "OFFER"),
    "bid_size": ("BIDSIZE", "BIDSZ", "BSZ", "BIDSIZ"),
    "ask_size": ("ASKSIZE", "ASKSZ", "ASZ", "ASKSIZ"),
    "change_pct": ("PERCENTCHANGE", "%CHANGE", "CHANGE%", "PCTCHANGE", "%CHG", "CHG%", "PCTCHG",
                   "NETCHNG%", "NETCHANGE%", "%NETCHANGE", "PERCENTCHG"),
    "net_change": ("NETCHANGE", "NETCHNG", "NETCHG", "CHANGE", "CHG"),
    "close": ("CLOSE", "PREVCLOSE", "PREVIOUSCLOSE", "PRIORCLOSE"),
    "volume": ("VOLUME", "VOL"),
}.items():
    for _n in _names:
        _HEADERS[_n] = _field

_HEADER_CLEAN = re.compile(r"[^A-Z0-9%]")
# cells that mean "no value yet": Excel errors, ToS placeholders
_BLANKS = {"", "N/A", "NA", "LOADING", "LOADING...", "--", "-", "NAN", "NONE", "NULL"}
_32NDS = re.compile(r"([+-]?)(\d+)'(\d{1,2})(?:(\d)|\.(\d+))?")
_QUARTERS = {"0": Decimal(0), "2": Decimal("0.25"), "5": Decimal("0.5"), "7": Decimal("0.75")}
_ONE = Decimal(1)
_CENT_PCT = Decimal("0.01")


def _header_key(cell: Any) -> str | None:
    if not isinstance(cell, str):
        return None
    return _HEADER_CLEAN.sub("", cell.upper())


def _text(cell: str) -> str | None:
    """A text cell with blanks, errors and placeholders mapped to None, else stripped."""
    t = cell.strip()
    if t.upper() in _BLANKS or t.startswith("#"):
        return None
    return t


def _symbol_cell(cell: Any) -> str | None:
    """The symbol cell as text; None for blank, an Excel error or a placeholder (not "NA": a ticker)."""
    if cell is None:
        return None
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)  # a numeric ticker typed into a cell comes back as 7203.0
    t = str(cell).strip()
    if not t or t.startswith("#") or t.upper().startswith("LOADING"):
        return None
    return t


def _number(cell: Any) -> Decimal | None:
    """A numeric-looking cell as Decimal: floats via str, ``$1,234.50``, bond 32nds ``111'16``."""
    if cell is None:
        return None
    t = type(cell)
    if t is float:
        return Decimal(repr(cell)) if cell == cell and abs(cell) != float("inf") else None
    if t is int:
        return Decimal(cell)
    if t is not str:
        raise BadQuote(f"not a number: {cell!r}")
    text = _text(cell)
    if text is None:
        return None
    m = _32NDS.fullmatch(text)
    if m:  # ToS bond futures: 111'16 = 111 + 16/32; a third digit 2/5/7 is a quarter/half/three quarters
        sign, whole, n32, q, dec = m.groups()
        frac = Decimal(n32) + (_QUARTERS.get(q, Decimal(q or 0) / 10) if dec is None else Decimal("0." + dec))
        v = Decimal(whole) + frac / 32
        return -v if sign == "-" else v
    text = text.replace(",", "").replace("$", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise BadQuote(f"not a number: {cell[:40]!r}") from None


def _price(cell: Any, name: str) -> int | None:
    if type(cell) is float:
        if cell != cell:
            return None
        r = cell * 10_000.0
        u = round(r) if abs(r) < 1e15 else 0
        if u and abs(r - u) < 1e-6:  # at most 4 decimals (the common case): no Decimal needed
            return u
        return price_units(cell, name)
    if isinstance(cell, str) and "'" not in cell:
        t = _text(cell)
        return None if t is None else price_units(t, name)
    d = _number(cell)
    return None if d is None else price_units(d, name)


def _size(cell: Any) -> int | None:
    if type(cell) is float and cell.is_integer() and 0 <= cell <= 1e12:  # what Excel hands over
        return int(cell)
    d = _number(cell)
    if d is None:
        return None
    if d != d.to_integral_value() or d < 0:
        raise BadQuote(f"a size must be a whole number, was {cell!r}")
    return int(d)


def _percent(cell: Any) -> Decimal | None:
    """Numeric cells are Excel percent cells (a fraction: 0.0123 shows as 1.23%); text is
    read as written, with or without a % sign ("1.23%" and "1.23" both mean 1.23 points)."""
    if isinstance(cell, str):
        t = _text(cell)
        if t is None:
            return None
        try:
            d = Decimal(t.rstrip("%").strip().replace(",", ""))
        except InvalidOperation:
            raise BadQuote(f"not a percent: {cell[:40]!r}") from None
        return d if d.is_finite() else None
    if type(cell) is float and cell == cell:
        v = _pct_cache.get(cell)
        if v is not None:
            return v
    d = _number(cell)
    if d is None:
        return None
    v = d.scaleb(2)  # x 100 by moving the exponent: 0.0123 -> 1.23, not 1.2300
    v = v.quantize(_ONE) if v.as_tuple().exponent > 0 else v
    if type(cell) is float:
        if len(_pct_cache) > 100_000:
            _pct_cache.clear()
        _pct_cache[cell] = v
    return v


_pct_cache: dict[float, Decimal] = {}  # RTD percent cells repeat: parse each value once


class Layout:
    """Which column holds which field, found from the header row."""

    def __init__(self, header_row: int, columns: dict[str, int]) -> None:
        self.header_row, self.columns = header_row, dict(columns)
        self.width = max(columns.values()) + 1
        idx = [columns.get(f, -1) for f in ("symbol", "last", "mark", "bid", "ask", "bid_size", "ask_size",
                                              "change_pct", "net_change", "close")]
        self._idx = idx
        self._last_name = "last" if "last" in columns else "mark"
        if "last" not in columns:  # MARK stands in for LAST only when the sheet has no LAST column
            idx[1] = idx[2]

    def __repr__(self) -> str:
        return f"Layout(header_row={self.header_row}, columns={self.columns})"

    @classmethod
    def find(cls, rows: Sequence[Sequence[Any]], scan: int = 20) -> Layout:
        """The first row (of the first ``scan``) with a symbol header and a price header."""
        for r, row in enumerate(rows[:scan]):
            cols: dict[str, int] = {}
            for c, cell in enumerate(row or ()):
                f = _HEADERS.get(_header_key(cell) or "")
                if f is not None and f not in cols:
                    cols[f] = c
            if "symbol" in cols and ({"last", "mark"} & cols.keys() or {"bid", "ask"} <= cols.keys()):
                return cls(r, cols)
        raise ConfigError("no header row found: the sheet needs a SYMBOL column and LAST (or BID and ASK) "
                          "in its first rows; see the template workbook")

    def quote(self, row: Sequence[Any], ts: int | None, src: str | None = "excel") -> Quote | None:
        """One data row -> Quote; None for a row that is blank or still loading; ``BadQuote``
        for a row whose values cannot be a quote (crossed, negative, garbage)."""
        if len(row) < self.width:
            row = [*row, *([None] * (self.width - len(row)))]
        i_sym, i_last, _, i_bid, i_ask, i_bsz, i_asz, i_pct, i_net, i_close = self._idx
        sym = _symbol_cell(row[i_sym])
        if sym is None:
            return None
        last = _price(row[i_last], self._last_name) if i_last >= 0 else None
        bid = _price(row[i_bid], "bid") if i_bid >= 0 else None
        ask = _price(row[i_ask], "ask") if i_ask >= 0 else None
        if last is None and (not bid or not ask):
            return None  # nothing loaded yet: not an error, RTD cells fill in over a few seconds
        chg = _percent(row[i_pct]) if i_pct >= 0 else None
        if chg is None and last:
            chg = self._derived_pct(last, row[i_net] if i_net >= 0 else None, row[i_close] if i_close >= 0 else None)
        return build(sym, bid, ask, last, ts, change_pct=chg, bid_size=_size(row[i_bsz]) if i_bsz >= 0 else None,
                     ask_size=_size(row[i_asz]) if i_asz >= 0 else None, src=src)

    @staticmethod
    def _derived_pct(last: int, net: Any, close: Any) -> Decimal | None:
        """change_pct from NET_CHANGE (prev close = last - net) or from a previous CLOSE."""
        prev: Decimal | None = None
        d = _number(net)
        if d is not None:
            prev = Decimal(last) / 10_000 - d
        else:
            c = _number(close)
            if c is not None:
                prev = c
        if prev is None or prev <= 0:
            return None
        return ((Decimal(last) / 10_000 - prev) * 100 / prev).quantize(_CENT_PCT)


@dataclass
class ParsedBlock:
    """What :func:`parse_block` found: the quotes, and what it refused and why."""

    quotes: list[Quote]
    dropped: int = 0
    problems: list[str] = field(default_factory=list)


def parse_block(rows: Sequence[Sequence[Any]], *, ts: int | None = None, src: str | None = "excel") -> ParsedBlock:
    """A 2-D block of cell values (header row first, title rows above it allowed) -> quotes.

    Pure: no Excel, no clock (``ts`` stamps every quote; RTD carries no time of its own).
    Rows that are blank or still loading are skipped; rows that cannot be a quote are
    counted in ``dropped`` with a line in ``problems``.
    """
    layout = Layout.find(rows)
    out = ParsedBlock([])
    for row in rows[layout.header_row + 1:]:
        try:
            q = layout.quote(row, ts, src)
        except BadQuote as e:
            out.dropped += 1
            out.problems.append(str(e))
            continue
        if q is not None:
            out.quotes.append(q)
    return out


class ExcelSource:
    """Poll a block reader; emit changed rows, and unchanged ones every ``stale_after / 2``.

    ``read`` is any callable returning the block (:func:`read_saved` bound to a path, a
    :class:`LiveWorkbook`).  It runs on one dedicated thread: COM objects belong to the
    thread that made them, and a slow Excel must not block the event loop.
    """

    def __init__(self, read: Callable[[], Sequence[Sequence[Any]]], *, interval: float = 0.25,
                 stale_after: float = 5.0, src: str = "excel", clock: Callable[[], int] = time.time_ns,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.read, self.interval, self.src = read, interval, src
        self.reemit_after = stale_after / 2
        self.clock, self.monotonic = clock, monotonic
        self.dropped = 0
        self.polls = 0
        self._layout_key: tuple | None = None
        self._layout: Layout | None = None
        self._last: dict[str, tuple[tuple, float, Quote]] = {}  # symbol -> (raw row, emitted at, quote)
        self._bad: dict[str, tuple] = {}  # symbol -> raw row already counted as dropped

    def poll(self) -> list[Quote]:
        """Read the block once and return the quotes to publish now (may be empty)."""
        rows = self.read()
        return self.poll_block(rows)

    def poll_block(self, rows: Sequence[Sequence[Any]]) -> list[Quote]:
        """:meth:`poll` on a block already read (the reading happens on the Excel thread)."""
        self.polls += 1
        if not rows:
            return []
        layout = self._layout
        if layout is None or self._layout_key != tuple(rows[layout.header_row] if layout.header_row < len(rows)
                                                      else ()):
            layout = self._layout = Layout.find(rows)  # ConfigError when there is no header
            self._layout_key = tuple(rows[layout.header_row])
            self._last.clear()
        ts = self.clock()
        now = self.monotonic()
        due = now - self.reemit_after
        out = []
        last = self._last
        for row in rows[layout.header_row + 1:]:
            key = tuple(row)
            sym_i = layout.columns["symbol"]
            sym = _symbol_cell(row[sym_i]) if sym_i < len(row) else None
            if sym is None:
                continue
            prev = last.get(sym)
            if prev is not None and prev[0] == key:
                if prev[1] > due:
                    continue
                q = prev[2]  # unchanged but due: the same values, stamped now
                q = Quote._trusted(q._sym, q._bid, q._ask, q._last, ts, q._bsz, q._asz, q._chg, q._src)
                last[sym] = (key, now, q)
                out.append(q)
                continue
            try:
                q = layout.quote(row, ts, self.src)
            except BadQuote as e:
                if self._bad.get(sym) != key:  # count a bad row once, not on every poll
                    self._bad[sym] = key
                    self.dropped += 1
                    log.warning("Excel row %s dropped: %s", sym, e)
                continue
            if q is not None:
                last[sym] = (key, now, q)
                self._bad.pop(sym, None)
                out.append(q)
        return out

    async def run(self, publish: Callable[[list[Quote]], object], *, once: bool = False) -> int:
        """Poll every ``interval`` seconds (until cancelled, or one poll with ``once``).

        A failing read (Excel busy, the file being saved, no header while the trader edits
        the sheet) is logged once and retried on the next poll; with ``once`` it raises.
        """
        loop = asyncio.get_running_loop()
        count = 0
        complaint = None
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="papernb-excel")
        try:
            while True:
                start = loop.time()
                try:
                    rows = await loop.run_in_executor(pool, self.read)
                    batch = self.poll_block(rows)
                    complaint = None
                except Exception as e:
                    if once:
                        raise
                    if str(e) != complaint:
                        complaint = str(e)
                        log.warning("reading the workbook failed (%s: %s); retrying", type(e).__name__, e)
                    batch = []
                if batch:
                    await publish_batch(publish, batch)
                    count += len(batch)
                if once:
                    return count
                await asyncio.sleep(max(0.0, start + self.interval - loop.time()))
        finally:
            # never wait here for a hung Excel (a modal dialog blocks COM calls indefinitely)
            pool.shutdown(wait=False, cancel_futures=True)


def read_saved(path: str | Path, sheet: str | None = None) -> list[list[Any]]:
    """A saved workbook's sheet as a block (python-calamine; works on any OS).

    ``sheet=None`` picks a sheet named "Quotes" if there is one, else the first.
    """
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    names = wb.sheet_names
    if sheet is None:
        sheet = next((n for n in names if n.lower() == "quotes"), names[0])
    elif sheet not in names:
        raise ConfigError(f"{Path(path).name} has no sheet {sheet!r}; it has {', '.join(names)}")
    return wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


class LiveWorkbook:
    """The seam to a workbook open in Excel: one contiguous range read per call.

    ``book`` is an xlwings ``Book`` or a test double offering
    ``book.sheets[name].used_range.options(ndim=2).value``.  Given only ``path``, the book
    is attached on the first read, on the reading thread, because COM objects belong to
    the thread that made them.
    """

    def __init__(self, book: Any = None, sheet: str | None = None, *, path: str | Path | None = None) -> None:
        if book is None and path is None:
            raise ConfigError("LiveWorkbook needs a book or a path")
        self.book, self.sheet, self.path = book, sheet, path

    def __call__(self) -> list[list[Any]]:
        if self.book is None:
            self.book = _attach(self.path)  # type: ignore[arg-type]
        sheets = self.book.sheets
        sh = sheets[self.sheet] if self.sheet is not None else sheets[0]
        value = sh.used_range.options(ndim=2).value
        return value or []


def _attach(path: str | Path) -> Any:
    import xlwings as xw

    if sys.platform == "win32":  # COM must be initialised on each thread that uses it
        import ctypes

        ctypes.windll.ole32.CoInitialize(None)  # type: ignore[attr-defined]
    name = Path(path).name.lower()
    for app in xw.apps:
        for b in app.books:
            if b.name.lower() == name:
                return b
    return xw.Book(str(path))


def open_live(path: str | Path, sheet: str | None = None) -> LiveWorkbook:
    """A live reader for ``path`` where xlwings can drive Excel (Windows/macOS).

    Raises ``ConfigError`` when it cannot (Linux, xlwings not installed), so the caller
    can fall back to reading the saved file with :func:`read_saved`.
    """
    if sys.platform not in ("win32", "darwin"):
        raise ConfigError("live Excel needs Windows or macOS")
    try:
        import xlwings  # noqa: F401  -- lazy: only traders' Windows/macOS machines have it
    except ImportError:
        raise ConfigError("xlwings is not installed (pip install 'papernb[excel]')") from None
    return LiveWorkbook(sheet=sheet, path=path)
