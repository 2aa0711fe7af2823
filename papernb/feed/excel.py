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
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import BadQuote, ConfigError, InvalidInput
from ..money import read_decimal
from ..quote import Quote
from .sim import publish_batch
from .wire import _MAX_PCT, _MAX_SIZE, build, price_units, read_pct

__all__ = ["ExcelSource", "Layout", "LiveWorkbook", "ParsedBlock", "column_letter", "explain_no_quotes",
           "formula_rows_without_values", "open_live", "parse_block", "read_saved"]

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
    """A numeric-looking cell as Decimal: floats via repr, ``$1,234.50``, bond 32nds ``111'16``.

    Text is read by :func:`papernb.money.read_decimal`, the one number reader: ASCII digits,
    commas only between thousands (``"189,50"`` is refused, not read as 18950), no ``1_0``.
    """
    if cell is None:
        return None
    t = type(cell)
    if t is float:
        return Decimal(repr(cell)) if cell == cell and abs(cell) != float("inf") else None
    if t is int:
        return Decimal(cell)
    if t is bool or t is not str:
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
    try:
        return read_decimal(text, "the cell")
    except InvalidInput:
        raise BadQuote(f"not a number: {_shown(cell)}") from None


def _shown(cell: Any) -> str:
    """A cell's value for a message: text quoted (cut at 40 characters), numbers as they are."""
    if not isinstance(cell, str):
        return str(cell)
    return repr(cell if len(cell) <= 40 else cell[:40] + "...")


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
    if d != d.to_integral_value() or not 0 <= d <= _MAX_SIZE:  # bounded before int(): "1e999999"
        raise BadQuote(f"a size must be a whole number from 0 to {_MAX_SIZE}, was {_shown(cell)}")
    return int(d)


def _percent(cell: Any) -> Decimal | None:
    """Numeric cells are Excel percent cells (a fraction: 0.0123 shows as 1.23%); text is
    read as written, with or without a % sign ("1.23%" and "1.23" both mean 1.23 points).
    Either way the result is bounded as every source's is (``wire.check_pct``)."""
    if isinstance(cell, str):
        t = _text(cell)
        if t is None:
            return None
        return read_pct(t)
    if type(cell) is float and cell == cell:
        v = _pct_cache.get(cell)
        if v is not None:
            return v
    d = _number(cell)
    if d is None:
        return None
    v = d.scaleb(2)  # x 100 by moving the exponent: 0.0123 -> 1.23, not 1.2300
    v = v.quantize(_ONE) if v.as_tuple().exponent > 0 else v
    if not v.is_finite() or abs(v) > _MAX_PCT:
        raise BadQuote(f"change_pct must be a percent between -{_MAX_PCT} and {_MAX_PCT}: the percent cell "
                       f"holds {_shown(cell)}, which is {v:,f}%")
    if type(cell) is float:
        if len(_pct_cache) > 100_000:
            _pct_cache.clear()
        _pct_cache[cell] = v
    return v


_pct_cache: dict[float, Decimal] = {}  # RTD percent cells repeat: parse each value once


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: a column as Excel names it."""
    name = ""
    index += 1
    while index:
        index, r = divmod(index - 1, 26)
        name = chr(65 + r) + name
    return name


class Layout:
    """Which column holds which field, found from the header row."""

    def __init__(self, header_row: int, columns: dict[str, int], headers: Sequence[Any] = ()) -> None:
        self.header_row, self.columns = header_row, dict(columns)
        self.width = max(columns.values()) + 1
        self.headers = [str(h).strip() if h is not None else "" for h in headers]
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
                return cls(r, cols, row)
        raise ConfigError("no header row found: the sheet needs a SYMBOL column and LAST (or BID and ASK) "
                          "in its first rows; see the template workbook")

    def cell_name(self, col: int, rownum: int | None, origin: tuple[int, int] = (1, 1)) -> str:
        """``PERCENT_CHANGE cell H5`` for a column index of the block and a sheet row number."""
        header = self.headers[col] if col < len(self.headers) and self.headers[col] else "the"
        ref = column_letter(col + origin[1] - 1) + ("" if rownum is None else str(rownum))
        return f"{header} cell {ref}"

    def quote(self, row: Sequence[Any], ts: int | None, src: str | None = "excel", rownum: int | None = None,
              origin: tuple[int, int] = (1, 1)) -> Quote | None:
        """One data row -> Quote; None for a row that is blank or still loading; ``BadQuote``
        for a row whose values cannot be a quote (crossed, negative, garbage), naming the cell
        (``rownum`` is the row's number on the sheet, ``origin`` the sheet row and column of
        the block's top-left cell)."""
        if len(row) < self.width:
            row = [*row, *([None] * (self.width - len(row)))]
        i_sym, i_last, _, i_bid, i_ask, i_bsz, i_asz, i_pct, i_net, i_close = self._idx
        sym = _symbol_cell(row[i_sym])
        if sym is None:
            return None
        col = -1
        try:
            col = i_last
            last = _price(row[i_last], self._last_name) if i_last >= 0 else None
            col = i_bid
            bid = _price(row[i_bid], "bid") if i_bid >= 0 else None
            col = i_ask
            ask = _price(row[i_ask], "ask") if i_ask >= 0 else None
            if last is None and (not bid or not ask):
                return None  # nothing loaded yet: not an error, RTD cells fill in over a few seconds
            col = i_pct
            chg = _percent(row[i_pct]) if i_pct >= 0 else None
            if chg is None and last:
                col = i_net
                net = _number(row[i_net]) if i_net >= 0 else None
                col = i_close if net is None else i_net
                chg = self._derived_pct(last, net, row[i_close] if net is None and i_close >= 0 else None)
            col = i_bsz
            bsz = _size(row[i_bsz]) if i_bsz >= 0 else None
            col = i_asz
            asz = _size(row[i_asz]) if i_asz >= 0 else None
            col = -1
            return build(sym, bid, ask, last, ts, change_pct=chg, bid_size=bsz, ask_size=asz, src=src)
        except BadQuote as e:
            if col < 0:
                raise
            raise BadQuote(f"{self.cell_name(col, rownum, origin)} = {_shown(row[col])}: {e}") from None

    @staticmethod
    def _derived_pct(last: int, net: Decimal | None, close: Any) -> Decimal | None:
        """change_pct from NET_CHANGE (prev close = last - net) or from a previous CLOSE cell."""
        prev: Decimal | None = None
        if net is not None:
            prev = Decimal(last) / 10_000 - net
        else:
            c = _number(close)
            if c is not None:
                prev = c
        if prev is None or prev <= 0:
            return None
        pct = ((Decimal(last) / 10_000 - prev) * 100 / prev).quantize(_CENT_PCT)
        if abs(pct) > _MAX_PCT:
            raise BadQuote(f"the previous close it gives ({prev}) makes a change of {pct:,f}%, beyond the "
                           f"+-{_MAX_PCT}% papernb accepts")
        return pct


@dataclass
class ParsedBlock:
    """What :func:`parse_block` found: the quotes, and what it refused and why."""

    quotes: list[Quote]
    dropped: int = 0
    problems: list[str] = field(default_factory=list)


def parse_block(rows: Sequence[Sequence[Any]], *, ts: int | None = None, src: str | None = "excel",
                origin: tuple[int, int] = (1, 1)) -> ParsedBlock:
    """A 2-D block of cell values (header row first, title rows above it allowed) -> quotes.

    Pure: no Excel, no clock (``ts`` stamps every quote; RTD carries no time of its own).
    Rows that are blank or still loading are skipped; rows that cannot be a quote are
    counted in ``dropped`` with a line in ``problems`` naming the sheet row and the cell
    (``origin``: the sheet row and column of the block's top-left cell).
    """
    layout = Layout.find(rows)
    out = ParsedBlock([])
    first = layout.header_row + 1
    for i, row in enumerate(rows[first:], start=first + origin[0]):
        try:
            q = layout.quote(row, ts, src, i, origin)
        except BadQuote as e:
            out.dropped += 1
            out.problems.append(f"row {i} ({_symbol_cell(row[layout.columns['symbol']])}): {e}")
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
        """:meth:`poll` on a block already read (the reading happens on the Excel thread).

        The reader may say where the block starts on the sheet (an ``origin`` attribute:
        sheet row and column of its top-left cell, 1-based), so that problems name cells.
        """
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
        origin = getattr(self.read, "origin", (1, 1))
        first = layout.header_row + 1
        for rownum, row in enumerate(rows[first:], start=first + origin[0]):
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
                q = layout.quote(row, ts, self.src, rownum, origin)
            except BadQuote as e:
                if self._bad.get(sym) != key:  # count a bad row once, not on every poll
                    self._bad[sym] = key
                    self.dropped += 1
                    log.warning("Excel row %d (%s) dropped: %s", rownum, sym, e)
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


#: what ``papernb feed excel`` reads with python-calamine
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
_NOT_WORKBOOKS = (".csv", ".txt", ".tsv", ".parquet", ".pq", ".duckdb", ".db", ".json", ".gz")


def read_saved(path: str | Path, sheet: str | None = None) -> list[list[Any]]:
    """A saved workbook's sheet as a block (python-calamine; works on any OS).

    ``sheet=None`` picks a sheet named "Quotes" if there is one, else the first.  A file that
    is missing or is not a workbook raises ``InvalidInput`` saying which and what to do.
    """
    from python_calamine import CalamineError, CalamineWorkbook

    p = Path(path)
    if p.is_dir():
        raise InvalidInput(f"{p} is a folder, not a workbook")
    if not p.exists():
        raise InvalidInput(f"{p}: no such workbook")
    if p.suffix.lower() in _NOT_WORKBOOKS:
        raise InvalidInput(f"{p.name} is not an Excel workbook: papernb feed excel reads "
                           f"{'/'.join(WORKBOOK_SUFFIXES)} files; to replay a file of quotes, use "
                           f"papernb feed replay {p.name}")
    try:
        wb = CalamineWorkbook.from_path(str(p))
        names = wb.sheet_names
        if not names:
            raise InvalidInput(f"{p.name} has no sheets")
        if sheet is None:
            sheet = next((n for n in names if n.lower() == "quotes"), names[0])
        elif sheet not in names:
            raise ConfigError(f"{p.name} has no sheet {sheet!r}; it has {', '.join(names)}")
        return wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    except (CalamineError, ValueError) as e:
        if isinstance(e, InvalidInput):
            raise
        raise InvalidInput(f"{p.name} is not a readable Excel workbook ({type(e).__name__}: {e}); "
                           f"open it in Excel and save it as .xlsx") from None
    except OSError as e:  # e.g. Excel is writing it right now (Windows sharing violation)
        raise InvalidInput(f"cannot read {p}: {e.strerror or e}") from None


def formula_rows_without_values(path: str | Path, sheet: str | None = None) -> set[int] | None:
    """Sheet rows (1-based) of a saved .xlsx/.xlsm holding formula cells without a saved value.

    A workbook written by a program that does not compute formulas (openpyxl: the template
    straight out of the package), or saved before ThinkOrSwim filled the RTD cells, has
    formulas and nothing else.  None when the file is not a zip workbook this can look into.
    """
    import zipfile
    from xml.etree import ElementTree as ET

    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    try:
        with zipfile.ZipFile(path) as z:
            book = ET.fromstring(z.read("xl/workbook.xml"))
            rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            sheets = [(el.get("name") or "", el.get(rel_ns + "id")) for el in book.iter(ns + "sheet")]
            if not sheets:
                return None
            if sheet is None:
                chosen = next((s for s in sheets if s[0].lower() == "quotes"), sheets[0])
            else:
                chosen = next((s for s in sheets if s[0] == sheet), None)
                if chosen is None:
                    return None
            target = next((r.get("Target") for r in rels if r.get("Id") == chosen[1]), None)
            if not target:
                return None
            member = target.lstrip("/") if target.startswith("/") else "xl/" + target
            rows: set[int] = set()
            with z.open(member) as f:
                for _, el in ET.iterparse(f):
                    if el.tag == ns + "c":
                        formula = el.find(ns + "f")
                        value = el.find(ns + "v")
                        if formula is not None and (value is None or not (value.text or "")):
                            ref = el.get("r") or ""
                            digits = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                            if digits.isdigit():
                                rows.add(int(digits))
                        el.clear()
            return rows
    except (OSError, KeyError, zipfile.BadZipFile, ET.ParseError):
        return None


def explain_no_quotes(path: str | Path, sheet: str | None, rows: Sequence[Sequence[Any]]) -> str | None:
    """Why a saved workbook gave no quotes, when the reason is that nothing was computed.

    Counts the rows with a symbol whose formula cells have no saved value; None when that
    is not the reason (the rows are still loading, or they were dropped with reasons).
    """
    layout = Layout.find(rows)
    sym_col = layout.columns["symbol"]
    with_symbol = {i + 1 for i, row in enumerate(rows) if i > layout.header_row and sym_col < len(row)
                   and _symbol_cell(row[sym_col]) is not None}
    empty = formula_rows_without_values(path, sheet)
    if not empty:
        return None
    n = len(empty & with_symbol) or len(empty)
    return (f"{Path(path).name}: no values in {n} formula rows: open the workbook in Excel with ThinkOrSwim "
            f"running, let the quotes load, and save it")


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
        self.origin = (1, 1)

    def __call__(self) -> list[list[Any]]:
        if self.book is None:
            self.book = _attach(self.path)  # type: ignore[arg-type]
        sheets = self.book.sheets
        sh = sheets[self.sheet] if self.sheet is not None else sheets[0]
        rng = sh.used_range
        value = rng.options(ndim=2).value
        # where the used range starts on the sheet, so that a dropped row names its cells
        self.origin = (getattr(rng, "row", 1), getattr(rng, "column", 1))
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
