"""Matching rules: when an order may fill, at what price, and how much (the fill models).

The rules (README, "Matching rules") in one place:
- a buy trades at the ask and a sell at the bid, at the last trade when that side is missing
  (:func:`side_price`);
- a limit is marketable when ask <= limit (buy) or bid >= limit (sell) (:func:`marketable`);
- a quote older than ``stale_after`` fills nothing (:func:`quote_age_ok`);
- a stop watches last, else the ask (buy) / bid (sell) (:func:`stop_ref`); a trailing stop's level is
  the best such price since acceptance minus (sell) / plus (buy) its trail (:func:`trail_stop`);
- a fill model decides the price and size of a fill: ``touch`` (a resting limit fills at its
  limit when the quote reaches it), ``through`` (the quote must go past it), ``size`` (at most
  the displayed size, shared by the orders on one quote in id order) and ``slippage(bps)``
  (market and marketable fills worse by bps, never past a limit).
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from ..config import EngineConfig
from ..money import div_round

if TYPE_CHECKING:
    from ..quote import Quote
    from .state import SymbolBook

_NS = 1_000_000_000


def side_price(q: Quote, buy: bool) -> int | None:
    """The price a buy (ask) or a sell (bid) trades at on ``q``; the last trade when that side is missing."""
    px = q._ask if buy else q._bid
    return q._last if px is None else px


def marketable(buy: bool, px: int, limit: int) -> bool:
    """Does a limit order trade against side price ``px``?  The one marketability rule."""
    return px <= limit if buy else px >= limit


def stop_reached(buy: bool, q: Quote, stop: int) -> int | None:
    """The price that triggers a stop on ``q`` (last, else ask for buys / bid for sells), or None."""
    ref = q._last
    if ref is None:
        ref = q._ask if buy else q._bid
    if ref is None:
        return None
    return ref if ((ref >= stop) if buy else (ref <= stop)) else None


def stop_ref(q: Quote, buy: bool) -> int | None:
    """The price stops watch on ``q``: last, else the ask (buy) / bid (sell)."""
    ref = q._last
    if ref is None:
        ref = q._ask if buy else q._bid
    return ref


def trail_stop(best: int, trail: int | None, trail_pct: int | None, buy: bool) -> int:
    """A trailing stop's level for the best price since acceptance: ``best`` -/+ the trail (a sell's
    stop is below the highest price, a buy's above the lowest); a percent trail (in units of
    0.0001 %) is rounded half-even to $0.0001."""
    d = trail if trail is not None else div_round(best * trail_pct, 1_000_000)  # type: ignore[operator]
    return best + d if buy else best - d


def age_text(ns: int) -> str:
    s = ns / _NS
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min"


def stale_reason(now: int, q: Quote, stale_ns: int | None) -> str | None:
    """Why ``q`` is too old to fill on (None: fresh enough).  Ages are never negative."""
    if stale_ns is None:
        return None
    age = now - q._ts
    if age > stale_ns:
        return f"waiting for a fresh quote, last {age_text(age)} old"
    return None


class FillModel:
    """``touch``: market and marketable orders fill at the side price; a resting limit at its limit
    when the quote reaches it; no size limit."""

    name = "touch"
    uses_sizes = False

    def resting_fills(self, buy: bool, px: int, limit: int) -> bool:
        return marketable(buy, px, limit)

    def price(self, px: int, buy: bool, limit: int | None) -> int:
        """The price of a market or marketable fill at side price ``px``."""
        return px

    def available(self, st: SymbolBook, q: Quote, buy: bool) -> int | None:
        """Shares this quote can still give (None: no limit)."""
        return None

    def consume(self, st: SymbolBook, q: Quote, buy: bool, qty: int) -> None:
        """Record that ``qty`` shares of this quote's displayed size were taken."""


class Through(FillModel):
    """``through``: a resting limit fills only when the quote trades past it."""

    name = "through"

    def resting_fills(self, buy: bool, px: int, limit: int) -> bool:
        return px < limit if buy else px > limit


class Size(FillModel):
    """``size``: at most the displayed bid/ask size, shared by all orders on one quote in id order.

    The size left is tracked per symbol against the quote it came from, so a replace or a
    second order on the same quote cannot take liquidity the quote already gave.
    """

    name = "size"
    uses_sizes = True

    def available(self, st: SymbolBook, q: Quote, buy: bool) -> int | None:
        if st.liq_quote is not q:
            st.liq_quote = q
            st.liq_bid = q._bsz or 0
            st.liq_ask = q._asz or 0
        return st.liq_ask if buy else st.liq_bid

    def consume(self, st: SymbolBook, q: Quote, buy: bool, qty: int) -> None:
        if buy:
            st.liq_ask -= qty
        else:
            st.liq_bid -= qty


class Slippage(FillModel):
    """``slippage(bps)``: market and marketable fills worse by ``bps`` (rounded against the trader),
    never past the order's limit; resting limits fill at their limit."""

    name = "slippage"

    def __init__(self, bps: object) -> None:
        f = Fraction(str(bps))
        self.num, self.den = f.numerator, f.denominator * 10_000

    def price(self, px: int, buy: bool, limit: int | None) -> int:
        if not self.num:
            return px
        step = -(-px * self.num // self.den)  # ceil: never in the trader's favour
        px = px + step if buy else px - step
        if limit is not None:
            px = min(px, limit) if buy else max(px, limit)
        return px


def fill_model(config: EngineConfig) -> FillModel:
    """The fill model object a configuration names."""
    name = config.fill_model
    if name == "through":
        return Through()
    if name == "size":
        return Size()
    if name == "slippage":
        return Slippage(config.slippage_bps)
    return FillModel()
