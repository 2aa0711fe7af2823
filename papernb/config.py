"""One frozen configuration for the engine, read once from arguments or ``PAPERNB_*``.

``pn.Engine``, ``pn.connect`` and ``pn.backtest`` take the same keyword names; they all
end up here, are validated here, and the engine only ever reads the normalised fields
(int units, int nanoseconds).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from datetime import time
from decimal import Decimal
from typing import Any

from .errors import ConfigError, InvalidInput
from .money import from_units, read_decimal, to_units

FILL_MODELS = ("touch", "through", "size", "slippage")
_SLIPPAGE_RE = re.compile(r"^slippage\(\s*([0-9.]+)\s*\)$")


@dataclass(frozen=True)
class Commission:
    """Commission per fill: ``per_share`` x shares + ``per_order``, at least ``minimum``.

    ``per_order`` and ``minimum`` are charged on an order's first fill only, so a
    partially filled order pays them once.
    """

    per_share: Decimal = Decimal(0)
    per_order: Decimal = Decimal(0)
    minimum: Decimal = Decimal(0)

    def units(self) -> tuple[int, int, int]:
        return (to_units(self.per_share, "commission per_share"), to_units(self.per_order, "commission per_order"),
                to_units(self.minimum, "commission minimum"))

    @property
    def is_zero(self) -> bool:
        return not (self.per_share or self.per_order or self.minimum)


def _commission(value: Any) -> Commission:
    if value is None or value == 0:
        return Commission()
    if isinstance(value, Commission):
        c = value
    elif isinstance(value, dict):
        unknown = set(value) - {"per_share", "per_order", "minimum"}
        if unknown:
            raise ConfigError(f"commission takes per_share, per_order and minimum, not {sorted(unknown)}")
        c = Commission(**{k: from_units(to_units(v, f"commission {k}")) for k, v in value.items()})
    elif isinstance(value, int | float | str | Decimal) and not isinstance(value, bool):
        c = Commission(per_order=from_units(to_units(value, "commission")))
    else:
        raise ConfigError(f"commission must be a Commission, a dict or a per-order amount, was {value!r}")
    for name, u in zip(("per_share", "per_order", "minimum"), c.units(), strict=True):
        if u < 0:
            raise ConfigError(f"commission {name} cannot be negative")
    return c


#: Longest review window or staleness limit: a year.  Longer is a typo (1e300 was an overflow deep
#: in the engine), and nanosecond arithmetic stays exact below it.
MAX_SECONDS = 366 * 86_400
#: The words a boolean setting (``PAPERNB_SHORT_SELLING``) may be, in any case.
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
#: What ``session_close`` may be to mean "the calendar's close" (the default).
_CALENDAR_WORDS = ("calendar", "none", "default")
#: ``trading_hours``: when orders may fill (``always``: whenever quotes arrive).
TRADING_HOURS = ("regular", "extended", "always")
#: Feeds of real quotes: a live book on them follows the exchange's regular hours by default.
REAL_FEEDS = ("redis", "excel")
_CLOSE_RE = re.compile(r"\s*([0-9]{1,2}):([0-9]{2})\s*", re.ASCII)


def _seconds(value: Any, name: str, allow_none: bool) -> float | None:
    if value is None:
        if allow_none:
            return None
        raise ConfigError(f"{name} must be a number of seconds")
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number of seconds, was {value!r}")
    try:
        d = read_decimal(value, name)
    except InvalidInput:
        raise ConfigError(f"{name} must be a number of seconds, was {value!r}") from None
    if not 0 <= d <= MAX_SECONDS:
        raise ConfigError(f"{name} must be between 0 and {MAX_SECONDS:,} seconds (a year), was {value!r}")
    return float(d)


def _number(value: Any, name: str, example: str) -> Decimal:
    """A setting read as money.read_decimal reads numbers (ASCII digits, no "1_0")."""
    try:
        return read_decimal(value, name)
    except InvalidInput:
        raise ConfigError(f"{name} must be a number like {example}, was {value!r}") from None


def parse_bool(raw: str, what: str) -> bool:
    """``1/true/yes/on`` or ``0/false/no/off`` (any case); anything else is a ConfigError naming them."""
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{what} must be one of {', '.join(TRUE_WORDS)} or {', '.join(FALSE_WORDS)}, was {raw!r}")


@dataclass(frozen=True)
class EngineConfig:
    """Everything that changes how the engine trades, in one place.

    - ``starting_cash``: cash of a new account (and of ``reset`` without ``cash=``).
    - ``review_seconds``: a new or edited order waits this long before it can fill.
    - ``stale_after``: seconds after which a quote is too old to fill on (None: never).
    - ``fill_model``: ``touch`` | ``through`` | ``size`` | ``slippage`` (or ``slippage(bps)``).
    - ``commission``: a :class:`Commission`, a dict of its fields, or a per-order amount.
    - ``slippage_bps``: used by the ``slippage`` model; never worse than a limit.
    - ``short_selling``: allow selling shares you do not hold (150% of the value reserved).
    - ``market_buffer``: extra fraction reserved for market and stop buys (0.05 = 5%).
    - ``session_close``: None (default) for the calendar's close of each session (16:00 New York,
      13:00 on early-close days); a wall time like ``"16:00"`` makes every session close then
      (``PAPERNB_SESSION_CLOSE=calendar`` for the default).
    - ``default_tif``: ``day`` or ``gtc``.
    - ``trading_hours``: ``always`` (default: quotes fill whenever they arrive), ``regular``
      (09:30 to the close on trading days) or ``extended`` (04:00-20:00 New York on trading days,
      17:00 on early-close days).  Outside them orders are accepted and wait for the open;
      futures (symbols starting with ``/``) are exempt.
    """

    starting_cash: Decimal = Decimal("100000")
    review_seconds: float = 0.0
    stale_after: float | None = 5.0
    fill_model: str = "touch"
    commission: Commission = field(default_factory=Commission)
    slippage_bps: Decimal = Decimal(0)
    short_selling: bool = False
    market_buffer: Decimal = Decimal("0.05")
    session_close: time | None = None
    default_tif: str = "day"
    trading_hours: str = "always"

    def __post_init__(self) -> None:
        try:
            cash = to_units(self.starting_cash, "starting_cash")
        except InvalidInput as e:
            raise ConfigError(str(e)) from None
        if cash < 0:
            raise ConfigError("starting_cash cannot be negative")
        set_ = object.__setattr__
        set_(self, "starting_cash", from_units(cash))
        set_(self, "review_seconds", _seconds(self.review_seconds, "review_seconds", False))
        set_(self, "stale_after", _seconds(self.stale_after, "stale_after", True))
        fm = str(self.fill_model).strip().lower()
        m = _SLIPPAGE_RE.match(fm)
        slip = self.slippage_bps
        if m:
            fm, slip = "slippage", m.group(1)
        if fm not in FILL_MODELS:
            raise ConfigError(f"fill_model must be one of {', '.join(FILL_MODELS)} or slippage(bps), "
                              f"was {self.fill_model!r}")
        set_(self, "fill_model", fm)
        slip_d = _number(slip, "slippage_bps", "5")
        if not slip_d.is_finite() or slip_d < 0 or slip_d > 10_000:
            raise ConfigError(f"slippage_bps must be between 0 and 10000, was {slip!r}")
        set_(self, "slippage_bps", slip_d)
        set_(self, "commission", _commission(self.commission))
        if not isinstance(self.short_selling, bool):
            raise ConfigError(f"short_selling must be True or False, was {self.short_selling!r}")
        buf = _number(self.market_buffer, "market_buffer", "0.05")
        if not buf.is_finite() or not 0 <= buf <= 1:
            raise ConfigError(f"market_buffer must be between 0 and 1, was {self.market_buffer!r}")
        set_(self, "market_buffer", buf)
        close = self.session_close
        if isinstance(close, str) and close.strip().lower() in _CALENDAR_WORDS:
            close = None
        if isinstance(close, str):
            m = _CLOSE_RE.fullmatch(close)
            try:
                if m is None:
                    raise ValueError
                close = time(int(m.group(1)), int(m.group(2)))
            except ValueError:
                raise ConfigError(f"session_close must look like 16:00, was {self.session_close!r}") from None
        if close is not None and not isinstance(close, time):
            raise ConfigError(f"session_close must be a time like 16:00, was {self.session_close!r}")
        set_(self, "session_close", close)
        tif = str(self.default_tif).strip().lower()
        if tif not in ("day", "gtc"):
            raise ConfigError(f"default_tif must be 'day' or 'gtc', was {self.default_tif!r}")
        set_(self, "default_tif", tif)
        hours = str(self.trading_hours).strip().lower()
        if hours not in TRADING_HOURS:
            raise ConfigError(f"trading_hours must be one of {', '.join(TRADING_HOURS)}, was {self.trading_hours!r}")
        set_(self, "trading_hours", hours)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def build(cls, config: EngineConfig | None = None, **overrides: Any) -> EngineConfig:
        """A config from an optional base plus keyword overrides; unknown names are an error."""
        unknown = set(overrides) - set(cls.names())
        if unknown:
            raise ConfigError(f"unknown setting(s) {', '.join(sorted(unknown))}; "
                              f"known: {', '.join(cls.names())}")
        base = config if config is not None else cls.from_env()
        return replace(base, **overrides) if overrides else base

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> EngineConfig:
        """Defaults, overridden by ``PAPERNB_<NAME>`` environment variables where set."""
        env = os.environ if environ is None else environ
        kw: dict[str, Any] = {}
        for name in cls.names():
            raw = env.get("PAPERNB_" + name.upper())
            if raw is None or raw == "":
                continue
            var = "PAPERNB_" + name.upper()
            if name == "short_selling":
                kw[name] = parse_bool(raw, var)
            elif name == "stale_after" and raw.strip().lower() in ("none", "off", "never"):
                kw[name] = None
            else:
                kw[name] = raw
        for name, value in kw.items():  # a bad variable is named in the error, not just its field
            try:
                cls(**{name: value})
            except ConfigError as e:
                raise ConfigError(f"PAPERNB_{name.upper()}={value!r}: {e}") from None
        return cls(**kw)


def hours_for_feed(feed: str, settings: dict[str, Any], environ: dict[str, str] | None = None) -> dict[str, str]:
    """``{"trading_hours": "regular"}`` when ``feed`` carries real quotes (Redis, Excel) and neither the
    caller (``settings``) nor ``PAPERNB_TRADING_HOURS`` chose the hours; else ``{}`` (the config decides).

    One rule for ``pn.connect``, ``papernb app`` (through ``pn.connect``) and ``papernb serve``.
    """
    env = os.environ if environ is None else environ
    if feed in REAL_FEEDS and "trading_hours" not in settings and not env.get("PAPERNB_TRADING_HOURS"):
        return {"trading_hours": "regular"}
    return {}
