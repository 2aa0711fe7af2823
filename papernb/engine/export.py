"""Take the day home: an account's tables as CSV files or one .xlsx workbook.

Four tables: ``orders``, ``fills``, ``round_trips`` (with the trader's notes and tags) and
``equity``.  Times are New York wall time and every time column names the zone in its header
(``closed_at (America/New_York)``); money is written exactly as the engine holds it (the
``Decimal`` text in CSV, the same decimal number in a workbook cell).  The same bytes feed
``acct.export(path)`` and the app's download buttons (``Broker.export(name)``).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, PaperError

__all__ = ["EXPORTS", "TABLES", "export_account", "export_bytes", "table_frame"]

#: the tables, in the order of the workbook's sheets
TABLES = ("orders", "fills", "round_trips", "equity")
#: every file the app offers for download: one CSV per table and the workbook
EXPORTS = (*(f"{t}.csv" for t in TABLES), "workbook.xlsx")
_DATETIME = "yyyy-mm-dd hh:mm:ss"


def table_frame(acct: Any, table: str, epoch: int | str | None = None) -> Any:
    """One table of ``acct`` as a spreadsheet-ready DataFrame (New York times, tags as text)."""
    from .frames import local_times

    if table == "orders":
        df = acct.orders_df(epoch=epoch)
    elif table == "fills":
        df = acct.fills_df(epoch=epoch)
    elif table == "round_trips":
        df = acct.trades_df(epoch=epoch)
    elif table == "equity":
        df = acct.equity_df()
    else:
        raise InvalidInput(f"there is no table {table!r} to export; the tables are {', '.join(TABLES)}")
    return local_times(df)


def _csv(df: Any) -> bytes:
    return df.to_csv(index=False).encode("utf-8")


def _workbook(frames: dict[str, Any], out: Any) -> None:
    try:
        import openpyxl  # noqa: F401 - pandas writes through it
    except ImportError:
        raise PaperError("writing an .xlsx workbook needs openpyxl: pip install 'papernb[app]'") from None
    import pandas as pd

    with pd.ExcelWriter(out, engine="openpyxl", datetime_format=_DATETIME) as xl:
        for name, df in frames.items():
            df.to_excel(xl, sheet_name=name, index=False)
            sheet = xl.sheets[name]
            for i, col in enumerate(df.columns, start=1):  # wide enough to read the header
                sheet.column_dimensions[sheet.cell(1, i).column_letter].width = min(max(len(str(col)) + 2, 10), 40)
            sheet.freeze_panes = "A2"


def export_bytes(acct: Any, name: str, epoch: int | str | None = None) -> bytes:
    """The bytes of one export file: ``orders.csv`` ... ``equity.csv`` or ``workbook.xlsx``."""
    if name not in EXPORTS:
        raise InvalidInput(f"there is no export {name!r}; choose one of {', '.join(EXPORTS)}")
    if name.endswith(".csv"):
        return _csv(table_frame(acct, name[:-4], epoch))
    buf = io.BytesIO()
    _workbook({t: table_frame(acct, t, epoch) for t in TABLES}, buf)
    return buf.getvalue()


def export_account(acct: Any, path: Any, epoch: int | str | None = None) -> list[Path]:
    """``path`` ending in .xlsx: one workbook; otherwise a folder (created if missing) with a CSV per table."""
    if not isinstance(path, str | Path):
        raise InvalidInput(f"export needs a path (a folder, or a file ending in .xlsx), was {path!r}")
    out = Path(path).expanduser()
    if out.suffix.lower() == ".xlsx":
        if not out.parent.is_dir():
            raise InvalidInput(f"cannot write {out}: the folder {out.parent} does not exist")
        if out.is_dir():
            raise InvalidInput(f"cannot write {out}: it is a folder")
        data = export_bytes(acct, "workbook.xlsx", epoch)
        out.write_bytes(data)
        return [out]
    if out.suffix.lower() in (".csv", ".xls", ".xlsm", ".json", ".parquet"):
        raise InvalidInput(f"export writes a folder of CSV files or one .xlsx workbook; {out.name} is neither "
                           f"(give a folder, or a name ending in .xlsx)")
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"cannot export into {out}: it is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for t in TABLES:
        f = out / f"{t}.csv"
        f.write_bytes(_csv(table_frame(acct, t, epoch)))
        files.append(f)
    return files
