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
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

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


def from_units(units: int | None) -> Decimal | None:
    """Int units -> exact ``Decimal`` dollars (what the API hands out)."""
    if units is None:
        return None
    if units % _CENT == 0:  # whole cents read as cents: 189.50, not 189.5000
        return Decimal(units // _CENT).scaleb(-2)
    return Decimal(units).scaleb(-4)


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
