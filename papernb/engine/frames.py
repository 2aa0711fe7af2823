"""pandas views of engine objects (imported only when a DataFrame is asked for).

Money columns hold exact ``Decimal`` values; times are UTC ``Timestamp`` columns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..money import from_units
from .model import Order, OrderView, RoundTrip

_TIME_COLS = ("ts", "created_at", "eligible_at", "expires_at", "updated_at", "closed_at", "opened_at", "quote_ts")


def _times(df: pd.DataFrame) -> pd.DataFrame:
    for col in _TIME_COLS:
        if col in df.columns:
            df[col] = pd.to_datetime(df[col], unit="ns", utc=True)
    return df


def dataclass_frame(items: Sequence[Any], cls: type) -> pd.DataFrame:
    cols = [f.name for f in dataclasses.fields(cls)]
    df = pd.DataFrame([dataclasses.astuple(i) for i in items], columns=cols)
    return _times(df)


def views_frame(items: Sequence[Any], cls: type) -> pd.DataFrame:
    """Views (tuples with named fields) as a frame: one column per field, money as Decimal."""
    cols = list(cls._fields)
    df = pd.DataFrame([[getattr(v, c) for c in cols] for v in items], columns=cols)
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
    df = pd.DataFrame({"ts": [p[0] for p in points], "equity": [from_units(p[1]) for p in points]})
    return _times(df)
