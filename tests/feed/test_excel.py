"""ThinkOrSwim/Excel: real .xlsx files (literal values, as Excel saves them) through the parser."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from papernb.data import template_path
from papernb.errors import ConfigError
from papernb.feed import ExcelSource, LiveWorkbook, parse_block, read_saved
from papernb.feed.excel import Layout
from papernb.quote import Quote

TS = 1_732_550_400_000_000_000


def _save(path: Path, rows: list[list[Any]], *, sheet: str = "Quotes", percent_col: int | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    if percent_col is not None:
        for (cell,) in ws.iter_rows(min_row=2, min_col=percent_col, max_col=percent_col):
            cell.number_format = "0.00%"
    wb.save(path)
    return path


def test_tos_layout_reads_prices_sizes_percent_cells_and_skips_loading_rows(tmp_path: Path) -> None:
    f = _save(tmp_path / "tos.xlsx", [
        ["SYMBOL", "LAST", "BID", "ASK", "BID_SIZE", "ASK_SIZE", "NET_CHANGE", "PERCENT_CHANGE", "VOLUME"],
        ["AAPL", 189.5, 189.49, 189.51, 300.0, 200, 2.33, 0.0123, 51234567],
        ["MSFT", "#N/A", "#N/A", "#N/A", "#N/A", "#N/A", "#N/A", "#N/A", "#N/A"],
        ["NVDA", "Loading", "Loading", "Loading", None, None, None, None, None],
        [None, None, None, None, None, None, None, None, None],
        ["/ZB", "111'16", "111'155", "111'16", 12, 30, "-0'08", -0.0022, 100],
        ["SPY", 560, 0, 0, 0, 0, 1.2, 0.002143, 10],  # after hours: ToS shows 0 for bid/ask
    ], percent_col=8)
    block = parse_block(read_saved(f), ts=TS)
    assert block.dropped == 0
    assert block.quotes == [
        Quote("AAPL", last="189.5", bid="189.49", ask="189.51", bid_size=300, ask_size=200, change_pct="1.23",
              ts=TS, src="excel"),
        Quote("/ZB", last="111.5", bid="111.4844", ask="111.5", bid_size=12, ask_size=30, change_pct="-0.22",
              ts=TS, src="excel"),
        Quote("SPY", last="560", bid_size=0, ask_size=0, change_pct="0.2143", ts=TS, src="excel"),
    ]


def test_title_rows_other_column_order_aliases_and_percent_text(tmp_path: Path) -> None:
    f = _save(tmp_path / "watch.xlsx", [
        ["My watchlist", None, None, None, None, None],
        [],
        ["Notes", "% Change", "Offer", "Bid", "Last Price", "Ticker"],
        ["long", "1.23%", 10.02, 10.01, 10.015, " aapl "],
        ["", "-0.45 %", "$1,234.50", "1,234.00", None, "BRK/B"],
        ["", "N/A", 5, 4.99, "--", "$SPX.X"],
        ["", None, None, None, 12.5, "NA"],  # a real ticker, not "n/a"
        ["", None, None, None, 2450, 7203],  # a numeric ticker comes back from Excel as 7203.0
    ], sheet="Watch")
    block = parse_block(read_saved(f, "Watch"), ts=TS, src="pc1")
    assert block.quotes == [
        Quote("AAPL", bid="10.01", ask="10.02", last="10.015", change_pct="1.23", ts=TS, src="pc1"),
        Quote("BRK/B", bid="1234", ask="1234.5", change_pct="-0.45", ts=TS, src="pc1"),
        Quote("$SPX.X", bid="4.99", ask="5", ts=TS, src="pc1"),
        Quote("NA", last="12.5", ts=TS, src="pc1"),
        Quote("7203", last="2450", ts=TS, src="pc1"),
    ]


def test_mark_column_stands_in_for_last_and_net_change_gives_the_percent(tmp_path: Path) -> None:
    f = _save(tmp_path / "mark.xlsx", [
        ["Symbol", "Mark", "Net Chng", "Bid", "Ask"],
        ["AAPL", 100, 2, 99.99, 100.01],
        ["MSFT", 50.5, -0.5, None, None],
    ])
    quotes = parse_block(read_saved(f), ts=TS).quotes
    assert [(q.symbol, q.last, q.change_pct) for q in quotes] == [
        ("AAPL", Decimal("100"), Decimal("2.04")), ("MSFT", Decimal("50.5"), Decimal("-0.98"))]


def test_rows_that_cannot_be_quotes_are_dropped_and_counted(tmp_path: Path) -> None:
    f = _save(tmp_path / "bad.xlsx", [
        ["SYMBOL", "LAST", "BID", "ASK", "BID_SIZE"],
        ["AAPL", 189.5, 189.52, 189.51, 100],   # crossed
        ["MSFT", -420, None, None, None],         # negative
        ["NVDA", "n/a please", None, None, None],  # garbage text
        ["TSLA", 250, None, None, 1.5],           # half a share
        ["BAD SYMBOL", 1, None, None, None],
        ["AMZN", 185.25, None, None, None],
    ])
    block = parse_block(read_saved(f), ts=TS)
    assert [q.symbol for q in block.quotes] == ["AMZN"]
    assert block.dropped == 5
    assert "bid 189.52 is above ask 189.51 for AAPL" in block.problems[0]


def test_a_sheet_without_a_symbol_header_is_refused_with_a_pointer_to_the_template() -> None:
    with pytest.raises(ConfigError, match="SYMBOL column"):
        parse_block([["AAPL", 1, 2], ["MSFT", 3, 4]])


def test_source_emits_changed_rows_only_and_repeats_quiet_rows_every_half_stale_after() -> None:
    now = [100.0]
    blocks = [
        [["SYMBOL", "LAST"], ["AAPL", 189.5], ["MSFT", 420.0], ["NVDA", "Loading"]],
        [["SYMBOL", "LAST"], ["AAPL", 189.5], ["MSFT", 420.0], ["NVDA", "Loading"]],
        [["SYMBOL", "LAST"], ["AAPL", 189.6], ["MSFT", 420.0], ["NVDA", 130.0]],
    ]
    source = ExcelSource(lambda: blocks[0], stale_after=5.0, clock=lambda: TS, monotonic=lambda: now[0])
    assert [q.symbol for q in source.poll_block(blocks[0])] == ["AAPL", "MSFT"]
    now[0] += 0.25
    assert source.poll_block(blocks[1]) == []
    now[0] += 0.25
    assert [(q.symbol, q.last) for q in source.poll_block(blocks[2])] == [
        ("AAPL", Decimal("189.6")), ("NVDA", Decimal("130"))]
    now[0] = 102.5  # MSFT last emitted at 100.0: 2.5 s ago, so it goes out again though unchanged
    assert [q.symbol for q in source.poll_block(blocks[2])] == ["MSFT"]
    now[0] = 103.1  # AAPL and NVDA were emitted at 100.5
    assert [q.symbol for q in source.poll_block(blocks[2])] == ["AAPL", "NVDA"]


def test_source_counts_a_bad_row_once_while_it_stays_bad() -> None:
    bad = [["SYMBOL", "BID", "ASK"], ["AAPL", 2, 1]]
    source = ExcelSource(lambda: bad, clock=lambda: TS, monotonic=lambda: 0.0)
    for _ in range(3):
        assert source.poll() == []
    assert source.dropped == 1


class _Range:
    def __init__(self, value: list[list[Any]]) -> None:
        self.value = value
        self.reads = 0

    def options(self, ndim: int) -> _Range:
        assert ndim == 2
        self.reads += 1
        return self


class _Sheet:
    def __init__(self, value: list[list[Any]]) -> None:
        self.used_range = _Range(value)


class _Book:
    """A stand-in for an xlwings Book: just what LiveWorkbook touches."""

    def __init__(self, sheets: dict[str, _Sheet]) -> None:
        self._sheets = sheets

    @property
    def sheets(self) -> Any:
        sheets = self._sheets

        class Sheets:
            def __getitem__(self, key: str | int) -> _Sheet:
                return list(sheets.values())[key] if isinstance(key, int) else sheets[key]

        return Sheets()


def test_live_workbook_reads_one_range_per_poll_through_the_xlwings_seam() -> None:
    quotes_sheet = _Sheet([["Symbol", "Last", "Bid", "Ask"], ["AAPL", 189.5, 189.49, 189.51],
                           ["/ES", 5950.25, None, None]])
    book = _Book({"Other": _Sheet([["x"]]), "Quotes": quotes_sheet})
    source = ExcelSource(LiveWorkbook(book, "Quotes"), clock=lambda: TS, src="excel")
    assert source.poll() == [Quote("AAPL", last="189.5", bid="189.49", ask="189.51", ts=TS, src="excel"),
                             Quote("/ES", last="5950.25", ts=TS, src="excel")]
    assert quotes_sheet.used_range.reads == 1


def test_run_once_publishes_the_loaded_rows_of_a_saved_workbook(tmp_path: Path) -> None:
    import asyncio

    f = _save(tmp_path / "q.xlsx", [["SYMBOL", "LAST"], ["AAPL", 189.5], ["MSFT", "#N/A"]])
    got: list[Quote] = []
    source = ExcelSource(lambda: read_saved(f), clock=lambda: TS)
    assert asyncio.run(source.run(got.extend, once=True)) == 1
    assert got == [Quote("AAPL", last="189.5", ts=TS, src="excel")]


def test_shipped_template_has_rtd_formulas_under_a_header_papernb_reads() -> None:
    path = template_path()
    ws = load_workbook(path)["Quotes"]
    header = [c.value for c in ws[1]]
    assert header == ["SYMBOL", "LAST", "BID", "ASK", "BID_SIZE", "ASK_SIZE", "NET_CHANGE", "PERCENT_CHANGE",
                      "VOLUME"]
    assert ws["A2"].value == "AAPL"
    assert 'RTD("tos.rtd",,"LAST",$A2)' in ws["B2"].value
    assert 'RTD("tos.rtd",,"PERCENT_CHANGE",$A3)' in ws["H3"].value
    layout = Layout.find(read_saved(path))
    assert layout.columns["symbol"] == 0 and layout.columns["change_pct"] == 7
    # saved by openpyxl, the formulas have no values yet: every row is still "loading"
    assert parse_block(read_saved(path)).quotes == []
