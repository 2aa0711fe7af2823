"""``Quote``: the one value that the feed produces and the engine consumes.

A quote validates itself on construction (``BadQuote`` otherwise), so the engine never
sees a crossed, negative or NaN price.  Prices are kept as int units of $0.0001 in
private slots (the engine's hot path reads those); the public attributes hand out exact
``Decimal`` dollars.  Quotes are immutable: every public attribute is read-only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from itertools import repeat
from typing import Any

from .errors import BadQuote, InvalidInput
from .money import from_units, read_decimal, to_units

SYMBOL_RE = re.compile(r"^[A-Z0-9./$^_-]{1,32}$")
#: the range of a believable timestamp, int ns UTC: 1990-01-01 (inclusive) to 2100-01-01 (exclusive).
#: Outside it a number is almost always seconds or milliseconds passed as nanoseconds.
NS_MIN = 631_152_000 * 10**9
NS_MAX = 4_102_444_800 * 10**9
MAX_SIZE = 10**12
#: the order of the fields inside a Quote (the tuple underneath): defined here and nowhere else;
#: bulk readers build quotes with :func:`quotes_from_columns` / :func:`trusted_quote`
COLUMNS = ("symbol", "bid", "ask", "last", "mark", "ts", "change_pct", "bid_size", "ask_size", "src", "seq",
           "src_ts")


def normalize_symbol(symbol: object) -> str:
    """Strip and upper-case a symbol, or raise ``InvalidInput`` naming it."""
    if not isinstance(symbol, str):
        raise InvalidInput(f"symbol must be text like 'AAPL', was {symbol!r}")
    s = symbol.strip()
    if not s.isascii():  # "ß".upper() is "SS", the Kelvin sign folds to K: never guess a ticker
        shown = symbol if len(symbol) <= 40 else symbol[:40] + "..."
        raise InvalidInput(f"{shown!r} is not a valid symbol (ASCII letters, digits and ./$^_- , 1-32 characters)")
    s = s.upper()
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
            delta = ts - datetime(1970, 1, 1, tzinfo=UTC)
            ns = (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000
    elif hasattr(ts, "dtype") and getattr(ts.dtype, "kind", "") in "iu":  # numpy integer scalar
        ns = int(ts)  # type: ignore[call-overload]
    else:
        raise InvalidInput(f"{what} must be an aware datetime or int nanoseconds, was {ts!r}")
    if not NS_MIN <= ns < NS_MAX:
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
    try:
        d = read_decimal(value, name)
    except InvalidInput:
        raise BadQuote(f"{name} must be a whole number, was {value!r}") from None
    if d != d.to_integral_value() or d < 0 or d > MAX_SIZE:
        raise BadQuote(f"{name} must be a whole number of shares, was {value!r}")
    return int(d)


try:  # the C accessor namedtuple uses: attribute reads on the hot path cost ~30 ns
    from collections import _tuplegetter  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - other Pythons
    from operator import itemgetter

    def _tuplegetter(i: int, doc: str | None) -> property:  # type: ignore[misc]
        return property(itemgetter(i), doc=doc)


class Quote(tuple):
    """One market quote: last, bid, ask (and sizes, percent change) at time ``ts``.

    ``ts`` is int ns UTC (an aware datetime or pandas Timestamp is converted); ``None``
    lets the engine stamp it with its own time.  ``change_pct`` is in percent points.
    A Quote is an immutable tuple underneath (fast to build and to read); prices are
    kept as int units in its private fields and handed out as ``Decimal`` dollars.
    """

    __slots__ = ()

    def __new__(cls, symbol: str, *, bid: Any = None, ask: Any = None, last: Any = None, ts: Any = None,
                change_pct: Any = None, bid_size: Any = None, ask_size: Any = None, src: str | None = None,
                seq: int | None = None, src_ts: Any = None) -> Quote:
        try:
            sym = normalize_symbol(symbol)
            b = _side_units(bid, "bid")
            a = _side_units(ask, "ask")
            if last is None or last == "":
                la = None
            else:
                la = to_units(last, "last", exact=False)
                if la <= 0:
                    raise BadQuote(f"last must be positive, was {last!r}")
            if b is not None and a is not None and b > a:
                raise BadQuote(f"bid {from_units(b)} is above ask {from_units(a)} for {sym}")
            if la is None and (b is None or a is None):
                raise BadQuote(f"a quote for {sym} needs a last price or both bid and ask")
            t = None if ts is None else to_ns(ts, "quote ts")
            st = None if src_ts is None else to_ns(src_ts, "quote src_ts")
            if change_pct is None or change_pct == "":
                chg = None
            else:
                chg = read_decimal(change_pct, "change_pct")
                if abs(chg) > 100_000:
                    raise BadQuote(f"change_pct must be a percent between -100000 and 100000, was {change_pct!r}")
            bsz = _size(bid_size, "bid_size")
            asz = _size(ask_size, "ask_size")
            if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
                raise BadQuote(f"seq must be an int, was {seq!r}")
        except BadQuote:
            raise
        except (InvalidInput, ArithmeticError) as e:
            raise BadQuote(str(e)) from None
        mark = la if la is not None else (a + b) // 2  # type: ignore[operator]
        return tuple.__new__(cls, (sym, b, a, la, mark, t, chg, bsz, asz, None if src is None else str(src), seq,
                                   st))

    @classmethod
    def _trusted(cls, symbol: str, bid: int | None, ask: int | None, last: int | None, ts: int | None,
                 bid_size: int | None = None, ask_size: int | None = None, change_pct: Decimal | None = None,
                 src: str | None = None, seq: int | None = None, src_ts: int | None = None) -> Quote:
        """Build from values already validated (int units); skips the checks and computes the mark."""
        mark = last if last is not None else (ask + bid) // 2  # type: ignore[operator]
        return trusted_quote(symbol, bid, ask, last, mark, ts, change_pct, bid_size, ask_size, src, seq, src_ts)

    def restamped(self, ts: int) -> Quote:
        """The same quote received at ``ts`` (int ns); the old stamp is kept as ``src_ts``."""
        old = self[5] if self[5] is not None else self[11]
        return tuple.__new__(Quote, (*self[:5], ts, *self[6:11], old))

    # private int-unit fields, read by the engine's hot path
    _sym = _tuplegetter(0, None)
    _bid = _tuplegetter(1, None)
    _ask = _tuplegetter(2, None)
    _last = _tuplegetter(3, None)
    _mark = _tuplegetter(4, None)
    _ts = _tuplegetter(5, None)
    _chg = _tuplegetter(6, None)
    _bsz = _tuplegetter(7, None)
    _asz = _tuplegetter(8, None)
    _src = _tuplegetter(9, None)
    _seq = _tuplegetter(10, None)
    _src_ts = _tuplegetter(11, None)

    symbol = _tuplegetter(0, "Upper-case symbol.")
    ts = _tuplegetter(5, "Receive time, int ns UTC (None: engine time).")
    change_pct = _tuplegetter(6, "Percent change on the day, percent points.")
    bid_size = _tuplegetter(7, None)
    ask_size = _tuplegetter(8, None)
    src = _tuplegetter(9, None)
    seq = _tuplegetter(10, None)
    src_ts = _tuplegetter(11, "The source's own stamp when restamped.")
    bid = property(lambda self: from_units(self[1]), doc="Bid in dollars (Decimal) or None.")
    ask = property(lambda self: from_units(self[2]), doc="Ask in dollars (Decimal) or None.")
    last = property(lambda self: from_units(self[3]), doc="Last trade in dollars (Decimal) or None.")
    mark = property(lambda self: from_units(self[4]), doc="Last, or the bid/ask mid when last is missing.")

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self[0], "bid": self.bid, "ask": self.ask, "last": self.last, "change_pct": self[6],
                "bid_size": self[7], "ask_size": self[8], "ts": self[5], "src": self[9], "seq": self[10]}

    def __getnewargs_ex__(self) -> tuple[tuple, dict[str, Any]]:  # pickling
        d = self.to_dict()
        return (d.pop("symbol"),), {**d, "src_ts": self[11]}

    def __repr__(self) -> str:
        parts = [repr(self[0])]
        for name in ("bid", "ask", "last"):
            v = getattr(self, name)
            if v is not None:
                parts.append(f"{name}={v}")
        if self[5] is not None:
            parts.append(f"ts={self[5]}")
        return f"Quote({', '.join(parts)})"


def trusted_quote(symbol: str, bid: int | None, ask: int | None, last: int | None, mark: int, ts: int | None,
                  change_pct: Decimal | None, bid_size: int | None, ask_size: int | None, src: str | None,
                  seq: int | None, src_ts: int | None = None) -> Quote:
    """A Quote from fields already validated (int units), in :data:`COLUMNS` order: the wire's fast path."""
    return tuple.__new__(Quote, (symbol, bid, ask, last, mark, ts, change_pct, bid_size, ask_size, src, seq,
                                 src_ts))


def quotes_from_columns(columns: Sequence[Iterable[Any] | None]) -> list[Quote]:
    """Quotes from columns already validated in bulk, one per :data:`COLUMNS` name in that order
    (None: that field is None in every row; ``src_ts`` may be left out).

    Each Quote is built by C code alone (``map(tuple.__new__)`` over the zipped rows), which is
    what makes a million-quote backtest load in about a second.
    """
    none = repeat(None)
    cols = [none if c is None else c for c in columns]
    cols += [none] * (len(COLUMNS) - len(cols))
    return list(map(tuple.__new__, repeat(Quote), zip(*cols, strict=False)))
