"""``Quote``: the one value that the feed produces and the engine consumes.

A quote validates itself on construction (``BadQuote`` otherwise), so the engine never
sees a crossed, negative or NaN price.  Prices are kept as int units of $0.0001 in
private slots (the engine's hot path reads those); the public attributes hand out exact
``Decimal`` dollars.  Quotes are immutable: every public attribute is read-only.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from .errors import BadQuote, InvalidInput
from .money import from_units, to_units

SYMBOL_RE = re.compile(r"^[A-Z0-9./$^_-]{1,32}$")
_NS_MIN = 631_152_000 * 10**9  # 1990-01-01
_NS_MAX = 4_102_444_800 * 10**9  # 2100-01-01
_MAX_SIZE = 10**12


def normalize_symbol(symbol: object) -> str:
    """Strip and upper-case a symbol, or raise ``InvalidInput`` naming it."""
    if not isinstance(symbol, str):
        raise InvalidInput(f"symbol must be text like 'AAPL', was {symbol!r}")
    s = symbol.strip().upper()
    if not SYMBOL_RE.match(s):
        shown = symbol if len(symbol) <= 40 else symbol[:40] + "..."
        raise InvalidInput(f"{shown!r} is not a valid symbol (letters, digits and ./$^_- , 1-32 characters)")
    return s


def to_ns(ts: object, what: str = "timestamp") -> int:
    """An aware datetime / pandas Timestamp / int ns -> int ns UTC, range-checked."""
    if isinstance(ts, bool):
        raise InvalidInput(f"{what} must be an aware datetime or int nanoseconds, was {ts!r}")
    if isinstance(ts, int):
        ns = ts
    elif isinstance(ts, datetime):
        if ts.tzinfo is None or ts.utcoffset() is None:
            raise InvalidInput(f"{what} must be timezone-aware, was the naive {ts!r}")
        value = getattr(ts, "value", None)  # pandas.Timestamp keeps nanoseconds
        if isinstance(value, int):
            ns = value
        else:
            delta = ts - datetime(1970, 1, 1, tzinfo=timezone.utc)
            ns = (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000
    elif hasattr(ts, "dtype") and getattr(ts.dtype, "kind", "") in "iu":  # numpy integer scalar
        ns = int(ts)  # type: ignore[call-overload]
    else:
        raise InvalidInput(f"{what} must be an aware datetime or int nanoseconds, was {ts!r}")
    if not _NS_MIN <= ns < _NS_MAX:
        raise InvalidInput(f"{what} {ts!r} is outside 1990-2100 (seconds passed as nanoseconds?)")
    return ns


def _side_units(value: object, name: str) -> int | None:
    """A bid/ask: blank or 0 means that side is missing (ThinkOrSwim shows 0 after hours)."""
    if value is None or value == "":
        return None
    units = to_units(value, name, exact=False)
    if units == 0:
        return None
    if units < 0:
        raise BadQuote(f"{name} must be positive, was {value!r}")
    return units


def _size(value: object, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadQuote(f"{name} must be a whole number, was {value!r}")
    try:
        d = Decimal(str(value).strip().replace(",", ""))
    except ArithmeticError:
        raise BadQuote(f"{name} must be a whole number, was {value!r}") from None
    if not d.is_finite() or d != d.to_integral_value() or d < 0 or d > _MAX_SIZE:
        raise BadQuote(f"{name} must be a whole number of shares, was {value!r}")
    return int(d)


class Quote:
    """One market quote: last, bid, ask (and sizes, percent change) at time ``ts``.

    ``ts`` is int ns UTC (an aware datetime or pandas Timestamp is converted); ``None``
    lets the engine stamp it with its own time.  ``change_pct`` is in percent points.
    """

    __slots__ = ("_sym", "_bid", "_ask", "_last", "_mark", "_ts", "_chg", "_bsz", "_asz", "_src", "_seq",
                 "_src_ts")

    def __init__(self, symbol: str, *, bid: Any = None, ask: Any = None, last: Any = None, ts: Any = None,
                 change_pct: Any = None, bid_size: Any = None, ask_size: Any = None, src: str | None = None,
                 seq: int | None = None, src_ts: Any = None) -> None:
        try:
            self._sym = normalize_symbol(symbol)
            b = _side_units(bid, "bid")
            a = _side_units(ask, "ask")
            if last is None or last == "":
                la = None
            else:
                la = to_units(last, "last", exact=False)
                if la <= 0:
                    raise BadQuote(f"last must be positive, was {last!r}")
            if b is not None and a is not None and b > a:
                raise BadQuote(f"bid {from_units(b)} is above ask {from_units(a)} for {self._sym}")
            if la is None and (b is None or a is None):
                raise BadQuote(f"a quote for {self._sym} needs a last price or both bid and ask")
            self._bid, self._ask, self._last = b, a, la
            self._mark = la if la is not None else (a + b) // 2  # type: ignore[operator]
            self._ts = None if ts is None else to_ns(ts, "quote ts")
            self._src_ts = None if src_ts is None else to_ns(src_ts, "quote src_ts")
            if change_pct is None or change_pct == "":
                self._chg = None
            else:
                self._chg = Decimal(str(change_pct)) if not isinstance(change_pct, Decimal) else change_pct
                if not self._chg.is_finite() or abs(self._chg) > 100_000:
                    raise BadQuote(f"change_pct must be a finite percent, was {change_pct!r}")
            self._bsz = _size(bid_size, "bid_size")
            self._asz = _size(ask_size, "ask_size")
            self._src = None if src is None else str(src)
            if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
                raise BadQuote(f"seq must be an int, was {seq!r}")
            self._seq = seq
        except BadQuote:
            raise
        except (InvalidInput, ArithmeticError) as e:
            raise BadQuote(str(e)) from None

    @classmethod
    def _trusted(cls, symbol: str, bid: int | None, ask: int | None, last: int | None, ts: int | None,
                 bid_size: int | None = None, ask_size: int | None = None, change_pct: Decimal | None = None,
                 src: str | None = None, seq: int | None = None, src_ts: int | None = None) -> Quote:
        """Build from values already validated in bulk (file readers); skips the checks."""
        q = cls.__new__(cls)
        q._sym, q._bid, q._ask, q._last, q._ts = symbol, bid, ask, last, ts
        q._mark = last if last is not None else (ask + bid) // 2  # type: ignore[operator]
        q._chg, q._bsz, q._asz, q._src, q._seq, q._src_ts = change_pct, bid_size, ask_size, src, seq, src_ts
        return q

    def restamped(self, ts: int) -> Quote:
        """The same quote received at ``ts`` (int ns); the old stamp is kept as ``src_ts``."""
        q = Quote._trusted(self._sym, self._bid, self._ask, self._last, ts, self._bsz, self._asz, self._chg,
                           self._src, self._seq, self._ts if self._ts is not None else self._src_ts)
        return q

    symbol = property(lambda self: self._sym, doc="Upper-case symbol.")
    bid = property(lambda self: from_units(self._bid), doc="Bid in dollars (Decimal) or None.")
    ask = property(lambda self: from_units(self._ask), doc="Ask in dollars (Decimal) or None.")
    last = property(lambda self: from_units(self._last), doc="Last trade in dollars (Decimal) or None.")
    mark = property(lambda self: from_units(self._mark), doc="Last, or the bid/ask mid when last is missing.")
    ts = property(lambda self: self._ts, doc="Receive time, int ns UTC (None: engine time).")
    src_ts = property(lambda self: self._src_ts, doc="The source's own stamp when restamped.")
    change_pct = property(lambda self: self._chg, doc="Percent change on the day, percent points.")
    bid_size = property(lambda self: self._bsz)
    ask_size = property(lambda self: self._asz)
    src = property(lambda self: self._src)
    seq = property(lambda self: self._seq)

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self._sym, "bid": self.bid, "ask": self.ask, "last": self.last,
                "change_pct": self._chg, "bid_size": self._bsz, "ask_size": self._asz, "ts": self._ts,
                "src": self._src, "seq": self._seq}

    def _key(self) -> tuple:
        return (self._sym, self._bid, self._ask, self._last, self._ts, self._chg, self._bsz, self._asz,
                self._src, self._seq)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quote) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        parts = [repr(self._sym)]
        for name in ("bid", "ask", "last"):
            v = getattr(self, name)
            if v is not None:
                parts.append(f"{name}={v}")
        if self._ts is not None:
            parts.append(f"ts={self._ts}")
        return f"Quote({', '.join(parts)})"
