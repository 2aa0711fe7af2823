"""Exact money at the edge of the engine.

Inside papernb every price and amount of money is an ``int`` in units of $0.0001, so
cash, reservations and P/L can be added and compared without float drift.  This module
is the one place that turns what people type (``189.5``, ``"189.50"``, ``Decimal``) into
units and back.  Floats are read through ``str`` so that ``0.1`` means 0.1, not
0.1000000000000000055511151231257827.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from .errors import InvalidInput

UNITS_PER_DOLLAR = 10_000
#: Largest price or amount accepted at the API ($100 trillion): bigger is a typo, not a trade.
MAX_UNITS = 100_000_000_000_000 * UNITS_PER_DOLLAR
_MAX_DOLLARS = Decimal(100_000_000_000_000)
_ONE_DOLLAR = UNITS_PER_DOLLAR
_CENT = 100
_Q4 = Decimal("0.0001")


_PLAIN_RE = re.compile(r"[+-]?(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,6})?",
                       re.ASCII)


def read_decimal(value: object, what: str) -> Decimal:
    """The one reader of numbers typed or sent by people and programs: -> a finite ``Decimal``.

    Accepted: ints (any ``numbers.Integral``, numpy's too, never bool), floats through their
    shortest ``repr`` (``0.1`` means 0.1), ``Decimal``, numpy/pandas scalars through ``str``,
    and text in decimal notation: ASCII digits 0-9, an optional sign, a leading ``$``, a
    decimal point, commas only as thousands separators between groups of three digits before
    the point (``"1,234.50"``), and an exponent as programs write it (``"5E+1"``).  So
    ``"189,50"`` (a decimal comma), ``"1_0"`` and non-ASCII digits are refused: in a price box
    each of them is more likely a typo than what was meant, and guessing would trade at the
    wrong price.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidInput(f"{what} must be a number, was {value!r}")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, numbers.Integral):
        d = Decimal(int(value))  # type: ignore[call-overload]
    elif type(value) is float:
        d = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if text[:1] == "$":
            text = text[1:]
        elif text[:2] in ("-$", "+$"):
            text = text[0] + text[2:]
        if len(text) > 64 or not _PLAIN_RE.fullmatch(text):
            shown = value if len(value) <= 40 else value[:40] + "..."
            raise InvalidInput(f"{what} must be a number, was {shown!r}")
        d = Decimal(text.replace(",", ""))
    else:
        if getattr(value, "dtype", None) is not None and getattr(value.dtype, "kind", "") == "b":  # type: ignore[attr-defined]
            raise InvalidInput(f"{what} must be a number, was {value!r}")
        try:  # numpy floats and the like: through str, as for floats
            d = Decimal(str(value))
        except (InvalidOperation, ValueError, TypeError):
            raise InvalidInput(f"{what} must be a number, was {value!r}") from None
    if not d.is_finite():
        raise InvalidInput(f"{what} must be a finite number, was {value!r}")
    return d


def read_int(value: object, what: str) -> int:
    """A whole number given as an int (any ``numbers.Integral``: numpy and pandas ints too).

    bool, float, str and Decimal are refused: a quantity of ``10.0`` or ``"10"`` is usually
    a bug upstream (a column read as text, a division), and saying so early is kinder than
    trading on it.
    """
    if type(value) is int:
        return value  # type: ignore[return-value]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if getattr(value, "dtype", None) is not None and getattr(value.dtype, "kind", "") in "iu":  # type: ignore[attr-defined]
            return int(value)  # type: ignore[call-overload]
        raise InvalidInput(f"{what} must be a whole number (an int), was {value!r}")
    return int(value)


def _fast_units(value: object) -> int | None:
    """Plain ints and short decimal floats without Decimal (the common case); None: slow path."""
    t = type(value)
    if t is int:
        return value * UNITS_PER_DOLLAR  # type: ignore[operator]
    if t is float:
        text = repr(value)
        if "e" in text or "n" in text:  # exponent, nan, inf
            return None
        whole, _, frac = text.partition(".")
        if len(frac) > 4:
            return None
        neg = whole.startswith("-")
        units = abs(int(whole)) * UNITS_PER_DOLLAR + int(frac.ljust(4, "0"))
        return -units if neg else units
    return None


def to_units(value: object, what: str = "amount", *, positive: bool = False, exact: bool = True) -> int:
    """Dollars in any accepted form -> int units of $0.0001.

    ``exact`` refuses values with more than four decimals (a price the engine could not
    represent); with ``exact=False`` they are rounded half-even instead (quote feeds whose
    floats carry noise).
    """
    fast = _fast_units(value) if exact else None
    if fast is not None:
        if positive and fast <= 0:
            raise InvalidInput(f"{what} must be positive, was {value!r}")
        if abs(fast) > MAX_UNITS:
            raise InvalidInput(f"{what} is absurdly large: {value!r}")
        return fast
    d = read_decimal(value, what)
    if abs(d) > _MAX_DOLLARS:
        raise InvalidInput(f"{what} is absurdly large: {value!r}")
    q = d.quantize(_Q4, rounding=ROUND_HALF_EVEN)
    if exact and q != d:
        raise InvalidInput(f"{what} has more than 4 decimals: {value!r}")
    units = int(q.scaleb(4))
    if positive and units <= 0:
        raise InvalidInput(f"{what} must be positive, was {value!r}")
    if abs(units) > MAX_UNITS:
        raise InvalidInput(f"{what} is absurdly large: {value!r}")
    return units


def price_units(value: object, what: str = "price") -> int:
    """An order price: positive and on the tick ($0.01 at or above $1, $0.0001 below)."""
    units = to_units(value, what, positive=True)
    if units >= _ONE_DOLLAR and units % _CENT:
        raise InvalidInput(f"{what} must be in whole cents at or above $1, was {value!r}")
    return units


def _operand(x: object) -> Any:
    """What a Price computes with: Decimals and ints as they are, floats as written (their shortest repr)."""
    if isinstance(x, Decimal | int) and not isinstance(x, bool):
        return x
    if isinstance(x, float):  # numpy's float64 too
        return Decimal(repr(float(x)))
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):  # numpy ints
        return int(x)  # type: ignore[call-overload]
    if getattr(x, "dtype", None) is not None and getattr(x.dtype, "kind", "") == "f":  # type: ignore[attr-defined]
        return Decimal(repr(float(x)))  # type: ignore[arg-type]
    return NotImplemented


def _arith(op: Callable[[Decimal, Any], Any]) -> Callable[[Decimal, object], Any]:
    def method(self: Decimal, other: object) -> Any:
        o = _operand(other)
        if o is NotImplemented:
            return NotImplemented
        r = op(self, o)
        return Price(r) if type(r) is Decimal else r

    method.__name__ = op.__name__
    return method


def _compare(op: Callable[[Decimal, Any], Any]) -> Callable[[Decimal, object], Any]:
    def method(self: Decimal, other: object) -> Any:
        o = _operand(other)
        return NotImplemented if o is NotImplemented else op(self, o)

    method.__name__ = op.__name__
    return method


class Price(Decimal):
    """An exact ``Decimal`` amount of dollars that also computes with floats and ints as they are written.

    Every price and amount papernb hands out is one (``q.bid``, ``o.limit``, ``pos.avg_price``,
    ``snap.cash`` ...): ``q.bid - 0.05`` is ``Decimal('189.85')``, ``pos.avg_price * 1.02`` works,
    and ``q.bid >= 189.9`` compares with the 189.9 you wrote (a float is read through its shortest
    repr, the one rule papernb reads floats by everywhere, so 0.1 means 0.1).  Results are Prices
    again, exact: ``avg_price * 1.02`` may have more decimals than an order price may have, and an
    order refuses a price that is not on the tick; ``pn.to_tick(price, "buy"|"sell")`` rounds it
    the safe way.  ``float(p)`` gives a float when one is wanted (numpy, plotting).  One caveat of
    equality with floats: ``Price("0.1") == 0.1`` is True but the two hash differently, so do not
    mix floats and Prices as keys of one dict.  It prints, pickles and compares as a Decimal.
    """

    __slots__ = ()

    __add__ = _arith(Decimal.__add__)
    __radd__ = _arith(Decimal.__radd__)
    __sub__ = _arith(Decimal.__sub__)
    __rsub__ = _arith(Decimal.__rsub__)
    __mul__ = _arith(Decimal.__mul__)
    __rmul__ = _arith(Decimal.__rmul__)
    __truediv__ = _arith(Decimal.__truediv__)
    __rtruediv__ = _arith(Decimal.__rtruediv__)
    __floordiv__ = _arith(Decimal.__floordiv__)
    __rfloordiv__ = _arith(Decimal.__rfloordiv__)
    __mod__ = _arith(Decimal.__mod__)
    __rmod__ = _arith(Decimal.__rmod__)
    __pow__ = _arith(Decimal.__pow__)  # type: ignore[assignment]
    __lt__ = _compare(Decimal.__lt__)
    __le__ = _compare(Decimal.__le__)
    __gt__ = _compare(Decimal.__gt__)
    __ge__ = _compare(Decimal.__ge__)
    __eq__ = _compare(Decimal.__eq__)  # type: ignore[assignment]
    __ne__ = _compare(Decimal.__ne__)  # type: ignore[assignment]
    __hash__ = Decimal.__hash__

    def __neg__(self) -> Price:  # type: ignore[override]
        return Price(Decimal.__neg__(self))

    def __pos__(self) -> Price:  # type: ignore[override]
        return Price(Decimal.__pos__(self))

    def __abs__(self) -> Price:  # type: ignore[override]
        return Price(Decimal.__abs__(self))

    def __round__(self, n: int | None = None) -> Any:  # type: ignore[override]
        r = Decimal.__round__(self) if n is None else Decimal.__round__(self, n)
        return Price(r) if type(r) is Decimal else r

    def __reduce__(self) -> Any:
        return (Price, (str(self),))


def from_units(units: int | None) -> Price | None:
    """Int units -> exact ``Decimal`` dollars, a :class:`Price` (what the API hands out)."""
    if units is None:
        return None
    if units % _CENT == 0:  # whole cents read as cents: 189.50, not 189.5000
        return Price(Decimal(units // _CENT).scaleb(-2))
    return Price(Decimal(units).scaleb(-4))


def to_tick(price: object, side: object) -> Price:
    """``price`` rounded onto the order tick ($0.01 at or above $1, $0.0001 below) on the safe side:
    down for a buy (never pay more than you said), up for a sell (never sell for less).

    ``pn.to_tick(pos.avg_price * 1.02, "sell")`` -> a limit price an order accepts.
    """
    d = read_decimal(price, "price")
    s = str(getattr(side, "value", side)).strip().lower() if isinstance(side, str) or hasattr(side, "value") else ""
    if s not in ("buy", "sell"):
        raise InvalidInput(f"to_tick rounds for a side: 'buy' (down) or 'sell' (up), was {side!r}")
    x = d * UNITS_PER_DOLLAR
    units = int(x.to_integral_value(rounding="ROUND_FLOOR" if s == "buy" else "ROUND_CEILING"))
    if units >= _ONE_DOLLAR:
        units = units // _CENT * _CENT if s == "buy" else -(-units // _CENT) * _CENT
    if units <= 0:
        raise InvalidInput(f"price {price!r} is below the smallest tick ($0.0001)")
    if units > MAX_UNITS:
        raise InvalidInput(f"price is absurdly large: {price!r}")
    return from_units(units)  # type: ignore[return-value]


def round_cents(units: int) -> int:
    """Round units to whole cents, half-even (for display only)."""
    q, r = divmod(units, _CENT)
    twice = 2 * r
    if twice > _CENT or (twice == _CENT and q % 2 == 1):
        q += 1
    return q * _CENT


def fmt_money(units: int | None, *, sign: bool = False) -> str:
    """Units -> ``$1,234.56`` (cents, half-even); ``sign`` adds ``+`` for gains."""
    if units is None:
        return "—"
    c = round_cents(units) // _CENT
    neg = c < 0
    dollars, cents = divmod(abs(c), 100)
    text = f"${dollars:,}.{cents:02d}"
    if neg:
        return "-" + text
    return ("+" + text) if sign and c > 0 else text


def div_round(num: int, den: int) -> int:
    """Integer division rounded half-even: the one rounding rule of the engine."""
    if den < 0:
        num, den = -num, -den
    q, r = divmod(num, den)
    twice = 2 * r
    if twice > den or (twice == den and q % 2 == 1):
        q += 1
    return q
