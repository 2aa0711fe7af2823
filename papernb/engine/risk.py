"""Pre-trade risk: what an order holds, what it costs, and the last check at the fill.

Reservations (README, matching rule 8): a limit or stop-limit buy holds qty x limit; a
market buy qty x ask x (1 + buffer); a stop buy qty x max(stop, ask) x (1 + buffer); plus
the estimated commission.  A sell holds the shares it sells; the part of a sell beyond the
long position is a short sale (only with ``short_selling``), which holds 150% of its value.
Shares held for an open sell order are never sold by another order, at submission or at
the fill.  At the fill the real cost is checked against the cash that is free, so cash
never goes negative, commissions of sells included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import EngineConfig
from ..money import fmt_money
from .model import OrderType
from .state import AccountState, OrderState

if TYPE_CHECKING:
    from ..quote import Quote

_MKT, _LMT, _STP, _STL = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT
_TRL = OrderType.TRAILING_STOP


class Risk:
    """The engine's money rules for one configuration (commission, market buffer, shorts)."""

    def __init__(self, config: EngineConfig) -> None:
        self.buffer_bp = int(config.market_buffer * 10_000)  # basis points of 1
        self.per_share, self.per_order, self.minimum = config.commission.units()
        self.no_commission = config.commission.is_zero
        self.shorts = config.short_selling

    # -- commission: the one place it is computed -------------------------------------------
    def commission(self, qty: int, first_fill: bool) -> int:
        """The fee of a fill of ``qty`` shares; per-order and minimum only on an order's first fill."""
        if self.no_commission:
            return 0
        fee = self.per_share * qty
        if first_fill:
            fee = max(fee + self.per_order, self.minimum)
        return fee

    def commission_estimate(self, qty: int) -> int:
        """What a whole order of ``qty`` shares would pay in one fill (what a buy holds for it)."""
        return self.commission(qty, True)

    # -- reservations at submission and replace ---------------------------------------------
    def buy_reservation(self, type_: OrderType, n: int, lim: int | None, stp: int | None, q: Quote) -> int:
        if type_ is _LMT or type_ is _STL:
            base = n * lim  # type: ignore[operator]
        else:
            ask = q._ask if q._ask is not None else q._last
            # a stop (or trailing stop: its level now) holds max(stop, ask); a buy trail's level only falls
            ref = ask if type_ is _MKT or stp is None else max(stp, ask)  # type: ignore[type-var]
            base = -(-n * ref * (10_000 + self.buffer_bp) // 10_000)  # ceil
        return base + self.commission_estimate(n)

    def reservation(self, a: AccountState, sym: str, buy: bool, type_: OrderType, n: int, lim: int | None,
                    stp: int | None, q: Quote | None, own_shares: int = 0,
                    own_cash: int = 0) -> tuple[int, int, str | None]:
        """(cash held, shares held, refusal) for ``n`` shares; ``own_*`` is what a replaced order holds."""
        bp = a.cash - a.reserved + own_cash
        if buy:
            if q is None and type_ in (_MKT, _STP, _TRL):
                return 0, 0, f"no quote for {sym} yet"
            res = self.buy_reservation(type_, n, lim, stp, q)  # type: ignore[arg-type]
            if res > bp:
                return 0, 0, f"not enough buying power: this order needs {fmt_money(res)}, you have {fmt_money(bp)}"
            return res, 0, None
        pos = a.positions.get(sym)
        held = max(pos.qty, 0) if pos is not None else 0
        others = pos.res_sell - own_shares if pos is not None else 0  # held for other sell orders
        shares = min(n, max(held - others, 0))
        short = n - shares
        if not short:
            fee = self.commission_estimate(n)
            if fee:  # what the sale brings in must cover its commission, or the cash must
                ref = lim if lim is not None else (q._bid or q._last if q is not None else None)
                if ref is not None and fee - n * ref > bp:
                    return 0, 0, (f"not enough cash for the commission: {fmt_money(fee)} on proceeds of "
                                  f"{fmt_money(n * ref)}, you have {fmt_money(bp)}")
            return 0, shares, None
        if not self.shorts or others:
            # a short sale would first close shares that other sell orders hold: never sell them twice
            reason = f"not enough shares: you hold {held} {sym}"
            if others:
                reason += f", {others} already held for open sell orders"
            return 0, 0, reason
        ref = lim if lim is not None else (q._bid or q._last if q is not None else None)
        if ref is None:
            return 0, 0, f"no quote for {sym} yet"
        res = (3 * short * ref + 1) // 2 + self.commission_estimate(n)
        if res > bp:
            return 0, 0, f"not enough buying power for the short sale: needs {fmt_money(res)}, you have {fmt_money(bp)}"
        return res, shares, None

    # -- at the fill --------------------------------------------------------------------------
    def fill_refusal(self, a: AccountState, o: OrderState, qty: int, px: int, fee: int) -> str | None:
        """Why this fill cannot happen now (None: it can).

        What a fill takes from cash (a buy's cost, or a sale's commission beyond its proceeds)
        must fit the cash not held for other orders, so cash never goes negative and what
        other orders hold stays covered.
        """
        need = (qty * px if o.buy else -qty * px) + fee
        if need <= 0:
            return None
        own = o.res_cash
        if o.oco is not None:  # one reservation for an OCO pair, held by either order
            own += o.oco.res_cash
        free = a.cash - (a.reserved - own)
        if need > free:
            return f"insufficient buying power at fill: needs {fmt_money(need)}, {fmt_money(free)} free"
        return None

    def shares_in_use(self, a: AccountState, o: OrderState, qty: int) -> str | None:
        """A sell that would sell shares other open sell orders hold waits (they are theirs)."""
        if o.buy:
            return None
        pos = a.positions.get(o.symbol)
        if pos is None:
            return None
        others = pos.res_sell - o.res_shares
        if o.oco is not None:
            others -= o.oco.res_shares
        if others and pos.qty - qty < others:
            return f"waiting: {others} {o.symbol} shares are held for other open sell orders"
        return None
