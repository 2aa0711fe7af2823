"""pandas views of engine objects (imported only when a DataFrame is asked for).

Money columns hold exact ``Decimal`` values; times are UTC ``Timestamp`` columns.  The frames
are :class:`Frame` objects, whose ``to_excel`` works although Excel has no time zones: times are
written as New York wall time with the zone named in the header (:func:`local_times`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..money import from_units
from .model import Order, OrderView, RoundTrip

_TIME_COLS = ("ts", "created_at", "eligible_at", "expires_at", "updated_at", "closed_at", "opened_at", "quote_ts")
NEW_YORK = "America/New_York"


class Frame(pd.DataFrame):
    """A DataFrame (times UTC, money exact) whose ``to_excel`` works: see :func:`local_times`."""

    @property
    def _constructor(self) -> type[Frame]:
        return Frame

    def to_excel(self, excel_writer: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return pd.DataFrame.to_excel(local_times(self), excel_writer, *args, **kwargs)


def local_times(df: pd.DataFrame, tz: str = NEW_YORK) -> pd.DataFrame:
    """A copy for a spreadsheet: each zoned time column as wall time in ``tz``, renamed
    ``<column> (<tz>)``; tags as one text ("breakout, news"); holding times in seconds."""
    out = pd.DataFrame(df).copy()
    names = {}
    for col in out.columns:
        values = out[col]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            out[col] = values.dt.tz_convert(tz).dt.tz_localize(None)
            names[col] = f"{col} ({tz})"
        elif pd.api.types.is_timedelta64_dtype(values.dtype):
            out[col] = values.dt.total_seconds()
            names[col] = f"{col}_s"
        elif col == "tags":
            out[col] = [", ".join(v) if isinstance(v, tuple | list) else v for v in values]
    return out.rename(columns=names)


def _times(df: pd.DataFrame) -> Frame:
    for col in _TIME_COLS:
        if col in df.columns:
            df[col] = pd.to_datetime(df[col], unit="ns", utc=True)
    return df if isinstance(df, Frame) else Frame(df)


def dataclass_frame(items: Sequence[Any], cls: type) -> pd.DataFrame:
    cols = [f.name for f in dataclasses.fields(cls)]
    df = Frame([dataclasses.astuple(i) for i in items], columns=cols)
    return _times(df)


def views_frame(items: Sequence[Any], cls: type) -> pd.DataFrame:
    """Views (tuples with named fields) as a frame: one column per field, money as Decimal."""
    cols = list(cls._fields)
    df = Frame([[getattr(v, c) for c in cols] for v in items], columns=cols)
    return _times(df)


def orders_frame(orders: Sequence[Order]) -> pd.DataFrame:
    df = views_frame([o.view() for o in orders], OrderView)
    for col in ("side", "type", "tif", "status"):
        if col in df.columns:
            df[col] = df[col].map(lambda v: getattr(v, "value", v))
    return _times(df)


def trades_frame(trips: Sequence[RoundTrip]) -> pd.DataFrame:
    df = dataclass_frame(trips, RoundTrip)
    df["verdict"] = [t.verdict for t in trips]
    df["holding"] = pd.to_timedelta([t.holding_ns for t in trips], unit="ns")
    return df


def equity_frame(points: Sequence[tuple[int, int]]) -> pd.DataFrame:
    df = Frame({"ts": [p[0] for p in points], "equity": [from_units(p[1]) for p in points]})
    return _times(df)
