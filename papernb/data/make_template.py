"""Write tos_quotes_template.xlsx: a ThinkOrSwim RTD sheet that ``papernb feed excel`` reads.

Run ``python -m papernb.data.make_template`` after changing it and commit the result;
openpyxl is a test/dev dependency only, the generated file ships as package data.
"""

from __future__ import annotations

import sys
from pathlib import Path

SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN", "SPY", "QQQ", "/ES", "/ZB")
# header -> ThinkOrSwim RTD field (the header is what papernb reads; the field is what ToS sends)
COLUMNS = (("LAST", "LAST"), ("BID", "BID"), ("ASK", "ASK"), ("BID_SIZE", "BID_SIZE"),
           ("ASK_SIZE", "ASK_SIZE"), ("NET_CHANGE", "NET_CHANGE"), ("PERCENT_CHANGE", "PERCENT_CHANGE"),
           ("VOLUME", "VOLUME"))
ROWS = 200  # formulas pre-filled this far down: type a symbol in column A and the row goes live

README = [
    "papernb ThinkOrSwim quote sheet",
    "",
    "1. Start thinkorswim and log in (RTD works only while it runs).",
    "2. Open this workbook in Excel on the same PC and enable editing.",
    "3. Type symbols in column A of the Quotes sheet, one per row (AAPL, /ES, $SPX.X ...).",
    "   Rows with an empty symbol are ignored; cells show #N/A or Loading until data arrives.",
    "4. Run:  papernb feed excel tos_quotes_template.xlsx --redis redis://:password@your-linux-host",
    "   (or set PAPERNB_REDIS_URL).  Without Redis it prints the quotes, to check the sheet.",
    "",
    "You may rename, reorder or add columns: papernb reads the header row (SYMBOL, LAST, BID, ASK,",
    "BID_SIZE, ASK_SIZE, NET_CHANGE, PERCENT_CHANGE, VOLUME, MARK; case does not matter).",
    "Keep the sheet name 'Quotes' or pass --sheet NAME.  Guide: docs/feed.md",
]


def make(path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Quotes"
    ws.append(["SYMBOL", *(h for h, _ in COLUMNS)])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in range(2, ROWS + 2):
        sym = SYMBOLS[r - 2] if r - 2 < len(SYMBOLS) else None
        ws.cell(row=r, column=1, value=sym)
        for c, (_, fld) in enumerate(COLUMNS, start=2):
            cell = ws.cell(row=r, column=c, value=f'=IF($A{r}="","",RTD("tos.rtd",,"{fld}",$A{r}))')
            if fld == "PERCENT_CHANGE":
                cell.number_format = "0.00%"
    ws.freeze_panes = "B2"
    ws.column_dimensions["A"].width = 12
    info = wb.create_sheet("ReadMe")
    for line in README:
        info.append([line])
    info.column_dimensions["A"].width = 100
    wb.save(path)
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("tos_quotes_template.xlsx")
    print(make(out))
