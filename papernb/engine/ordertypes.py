"""The quant's order types: trailing stops, IOC / FOK, OCO pairs and brackets.

These are engine methods (a mixin of :class:`~papernb.engine.engine.Engine`) kept in their own
module so the core loop in ``engine.py`` stays small.  Plain market / limit / stop orders never
reach this code on a quote: the engine calls in here only for an order that is a trailing stop
(``o.trailing``), acts once (``o.ioc``: IOC / FOK) or is linked (``o.links``: an OCO pair, a
bracket entry or child).

- **Trailing stop** (``trail=`` dollars or ``trail_pct=`` percent): its level is the best price
  since acceptance (last, else bid for a sell / ask for a buy) minus (sell) or plus (buy) the
  trail.  The level moves in memory on each quote (``live_best`` / ``live_stop``); the latest
  level is journalled once per quote batch (``OrderTrailMoved``, coalesced) and always before
  any other event of that order, so a reopened book holds the same stop.  It triggers like a
  stop and then fills like a market order.
- **IOC / FOK**: act on the quote at eligibility and never rest.  IOC fills what it can (under
  the ``size`` model at most the displayed size) and cancels the rest; FOK fills entirely on
  that quote or is cancelled.  Anything left ends CANCELLED with the reason; ``filled_qty``
  says what filled.
- **OCO pair**: two orders of one account, symbol and side with the same remaining quantity.
  The pair holds one reservation (the larger of what each would hold), kept by one of them:
  the one that fills takes it over.  When one fills the other is cancelled; a partial fill of
  one reduces the other to the same remaining quantity; when one is cancelled, rejected or
  expires the other is cancelled too.
- **Bracket**: an entry order with ``take_profit`` and / or ``stop_loss``.  Each fill of the
  entry places (or grows) the children for the quantity filled: a take-profit limit and a
  stop-loss stop on the other side, GTC, eligible at once, as an OCO pair holding the shares
  once.  The children of a partly filled entry stay when the entry is cancelled or expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, InvalidOrder, OrderNotOpen, UnknownOrder
from ..money import fmt_money, from_units, price_units, read_decimal, to_units
from . import events as ev
from .matching import marketable, side_price, stale_reason, stop_ref, trail_stop
from .model import Order, OrderStatus, OrderType, Side, TimeInForce

if TYPE_CHECKING:
    from ..quote import Quote
    from .state import AccountState, OrderState, SymbolBook

_BUY, _SELL = Side.BUY, Side.SELL
_MKT, _LMT, _STP, _STL = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT
_TRL = OrderType.TRAILING_STOP
_GTC, _IOC, _FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
_FILLED = OrderStatus.FILLED
_FILL_KINDS = ("OrderFilled", "OrderPartiallyFilled")
_CLOSE_WORDS = {"OrderCancelled": "cancelled", "OrderRejected": "rejected", "OrderExpired": "expired"}


@dataclass(frozen=True)
class OrderRequest:
    """An order not placed yet: what ``acct.oco(a, b)`` places together (checked when placed).

    ``pn.OrderRequest("AAPL", "sell", 10, limit=195)``; the type is inferred from the prices as
    for ``acct.sell`` (``trail=`` / ``trail_pct=`` make a trailing stop).
    """

    symbol: str
    side: str
    qty: int
    type: str | None = None
    limit: Any = None
    stop: Any = None
    trail: Any = None
    trail_pct: Any = None
    tif: str | None = None


#: what an order carries beyond the plain fields: (trail, trail_pct, take_profit, stop_loss), units
Extras = tuple[int | None, int | None, int | None, int | None]


def trail_pct_units(value: object) -> int:
    """A trail in percent -> units of 0.0001 % (``2.5`` -> 25000): more than 0 and less than 100."""
    try:
        d = read_decimal(value, "trail_pct")
    except InvalidInput as e:
        raise InvalidOrder(str(e)) from None
    u = d * 10_000
    if u != u.to_integral_value():
        raise InvalidOrder(f"trail_pct has more than 4 decimals: {value!r}")
    if not 0 < d < 100:
        raise InvalidOrder(f"trail_pct must be more than 0 and less than 100 (percent), was {value!r}")
    return int(u)


def _trail_units(value: object) -> int:
    try:
        return to_units(value, "trail", positive=True)
    except InvalidInput as e:
        raise InvalidOrder(str(e)) from None


def _price(value: object, what: str) -> int:
    try:
        return price_units(value, what)
    except InvalidInput as e:
        raise InvalidOrder(str(e)) from None


class OrderTypes:
    """Engine methods for trailing stops, IOC / FOK, OCO pairs and brackets (see the module doc)."""

    # provided by Engine
    ledger: Any
    risk: Any
    model: Any
    _now: int
    _seq: int
    _stale_ns: int | None
    _paused: str | None
    _trail_pending: dict[int, OrderState]

    if TYPE_CHECKING:
        def _emit(self, e: ev.Event) -> None: ...
        def _fill(self, o: OrderState, q: Quote, st: SymbolBook, qty: int, px: int) -> None: ...
        def _accept(self, a: AccountState, sym: str, side_: Side, type_: OrderType, n: int, lim: int | None,
                    stp: int | None, tif_: TimeInForce, coid: str | None, x: Extras | None = None, *,
                    held: tuple[int, int, str | None] | None = None, review: bool = True,
                    parent_id: int | None = None) -> OrderState: ...
        def _first_look(self, o: OrderState) -> None: ...
        def _command(self) -> Any: ...
        def _check_open(self) -> None: ...
        def _account_state(self, account: str) -> AccountState: ...
        def _lookup(self, account: str, order_id: Any) -> OrderState: ...
        def _parse_order(self, symbol: Any, side: Any, qty: Any, type: Any, limit: Any, stop: Any, tif: Any,
                         trail: Any = None, trail_pct: Any = None, take_profit: Any = None,
                         stop_loss: Any = None) -> tuple: ...

    # ------------------------------------------------------------------ validation at the door
    @staticmethod
    def _order_extras(type_: OrderType, side_: Side, tif_: TimeInForce, lim: int | None, stp: int | None,
                      trail: Any, trail_pct: Any, take_profit: Any, stop_loss: Any) -> Extras | None:
        """Check what only the new order types take; None when the order is a plain one."""
        if tif_ is _IOC or tif_ is _FOK:
            if type_ is not _MKT and type_ is not _LMT:
                raise InvalidOrder(f"time in force {tif_.value.lower()} is for market and limit orders, not "
                                   f"{type_.value.lower().replace('_', ' ')} orders")
        trl = pct = None
        if type_ is _TRL:
            if lim is not None:
                raise InvalidOrder("a trailing stop takes no limit price (trailing stop-limit orders are not "
                                   "supported)")
            if stp is not None:
                raise InvalidOrder("a trailing stop's level comes from trail= or trail_pct=, not stop=")
            if (trail is None) == (trail_pct is None):
                raise InvalidOrder("a trailing stop needs trail= (dollars) or trail_pct= (percent), one of them")
            trl = None if trail is None else _trail_units(trail)
            pct = None if trail_pct is None else trail_pct_units(trail_pct)
        elif trail is not None or trail_pct is not None:
            raise InvalidOrder(f"trail= and trail_pct= are for trailing stop orders, not "
                               f"{type_.value.lower().replace('_', ' ')} orders")
        tp = None if take_profit is None else _price(take_profit, "take_profit price")
        sl = None if stop_loss is None else _price(stop_loss, "stop_loss price")
        if tp is not None or sl is not None:
            buy = side_ is _BUY
            entry = lim if lim is not None else stp
            word = "above" if buy else "below"
            other = "below" if buy else "above"
            if tp is not None and entry is not None and (tp <= entry if buy else tp >= entry):
                raise InvalidOrder(f"take_profit {from_units(tp)} must be {word} the entry price "
                                   f"{from_units(entry)} of a {side_.value.lower()}")
            if sl is not None and entry is not None and (sl >= entry if buy else sl <= entry):
                raise InvalidOrder(f"stop_loss {from_units(sl)} must be {other} the entry price "
                                   f"{from_units(entry)} of a {side_.value.lower()}")
            if tp is not None and sl is not None and (sl >= tp if buy else sl <= tp):
                raise InvalidOrder(f"stop_loss {from_units(sl)} must be {other} take_profit {from_units(tp)} "
                                   f"for a {side_.value.lower()} entry")
        if trl is None and pct is None and tp is None and sl is None:
            return None
        return (trl, pct, tp, sl)

    # ------------------------------------------------------------------ trailing stops
    def _trail(self, o: OrderState, q: Quote) -> None:
        """Follow the best price since acceptance (in memory; journalled by :meth:`_flush_trails`)."""
        if o.triggered:
            return
        ref = stop_ref(q, o.buy)
        if ref is None:
            return
        best = o.live_best
        if best is None or (ref < best if o.buy else ref > best):
            o.live_best = ref
            o.live_stop = trail_stop(ref, o.trail, o.trail_pct, o.buy)
            self._trail_pending[o.id] = o

    def _flush_trail(self, o: OrderState) -> None:
        """Journal ``o``'s level if it moved since it was last journalled (before any other event of it)."""
        pending = self._trail_pending
        if pending and pending.pop(o.id, None) is not None:
            if o.is_open and (o.live_best != o.best or o.live_stop != o.stop):
                self._emit(ev.OrderTrailMoved(self._seq + 1, self._now, o.account, o.id, o.live_best,
                                              o.live_stop))  # type: ignore[arg-type]

    def _flush_trails(self) -> None:
        """Journal every trailing stop that moved since the last commit, in id order (one event each)."""
        pending = self._trail_pending
        for oid in sorted(pending):
            o = pending.get(oid)
            if o is not None:
                self._flush_trail(o)
        pending.clear()

    # ------------------------------------------------------------------ IOC / FOK
    def _match_now(self, o: OrderState, q: Quote, st: SymbolBook) -> None:
        """An IOC / FOK order at eligibility: fill what the quote gives (FOK: all or nothing), cancel the rest."""
        fok = o.tif is _FOK
        why = self._paused
        if why is None:
            why = stale_reason(self._now, q, self._stale_ns)
        buy = o.buy
        model = self.model
        avail = None
        if why is None and model.uses_sizes:
            if (q._asz if buy else q._bsz) is None:
                why = "the quote shows no size (fill model 'size')"
            else:
                avail = model.available(st, q, buy)
        px = 0
        if why is None:
            side_px = side_price(q, buy)
            if o.type is _MKT:
                px = model.price(side_px, buy, None)  # type: ignore[arg-type]
            elif marketable(buy, side_px, o.limit):  # type: ignore[arg-type]
                px = model.price(side_px, buy, o.limit)  # type: ignore[arg-type]
            else:
                why = (f"not marketable: {'ask' if buy else 'bid'} {fmt_money(side_px)} is "
                       f"{'above' if buy else 'below'} the limit {fmt_money(o.limit)}")
        if why is None:
            qty = o.qty - o.filled
            if avail is not None and avail < qty:
                if fok or avail <= 0:
                    why = f"the quote shows {max(avail, 0)} shares, {qty} wanted"
                else:
                    qty = avail
            if why is None:
                self._fill(o, q, st, qty, px)
        if o.is_open:  # nothing or not all filled (a rejection at the fill has closed it already)
            if why is None:
                why = o.waiting or f"{o.qty - o.filled} of {o.qty} not filled on the quote"
            self._cancel_now(o, why)

    def _cancel_now(self, o: OrderState, why: str) -> None:
        o.waiting = None
        label = "fill or kill" if o.tif is _FOK else "immediate or cancel"
        self._emit(ev.OrderCancelled(self._seq + 1, self._now, o.account, o.id, f"{label}: {why}"))

    # ------------------------------------------------------------------ linked orders
    def _on_linked(self, o: OrderState, e: ev.Event) -> None:
        """After an event of a linked order: what its OCO partner and its bracket children do."""
        kind = e.kind
        if kind in _FILL_KINDS:
            p = o.oco
            if p is not None and p.is_open:
                if o.status is _FILLED:
                    self._flush_trail(p)
                    self._emit(ev.OrderCancelled(self._seq + 1, self._now, p.account, p.id,
                                                 f"its OCO partner {o.id} filled"))
                else:
                    left = o.qty - o.filled
                    if p.qty - p.filled != left:
                        self._flush_trail(p)
                        self._emit(ev.OrderResized(self._seq + 1, self._now, p.account, p.id, p.filled + left,
                                                   p.res_cash, p.res_shares,
                                                   f"its OCO partner {o.id} filled {e.qty}"))  # type: ignore[attr-defined]
            if o.tp is not None or o.sl is not None:
                self._bracket_fill(o, e.qty)  # type: ignore[attr-defined]
        elif kind in _CLOSE_WORDS:
            p = o.oco
            if p is not None and p.is_open:
                self._flush_trail(p)
                self._emit(ev.OrderCancelled(self._seq + 1, self._now, p.account, p.id,
                                             f"its OCO partner {o.id} was {_CLOSE_WORDS[kind]}"))

    def _pair_need(self, a: AccountState, sym: str, members: list[tuple], q: Quote | None, own_cash: int,
                   own_shares: int) -> tuple[int, int, str | None]:
        """One reservation for a pair: the larger of what each member (buy, type, qty, limit, stop) holds."""
        cash = shares = 0
        for buy, type_, n, lim, stp in members:
            c, s, why = self.risk.reservation(a, sym, buy, type_, n, lim, stp, q, own_shares=own_shares,
                                              own_cash=own_cash)
            if why is not None:
                return 0, 0, why
            cash, shares = max(cash, c), max(shares, s)
        return cash, shares, None

    @staticmethod
    def _stop_now(o: OrderState) -> int | None:
        return o.live_stop if o.trailing else o.stop

    def _bracket_fill(self, o: OrderState, qty: int) -> None:
        """A bracket entry filled ``qty``: grow its open children by that much, or place new ones."""
        a = self.ledger.accounts[o.account]
        st = self.ledger.symbols.get(o.symbol)
        q = st.quote if st is not None else None
        kids = [c for c in o.children or () if c.is_open]
        if kids:
            r = kids[0].qty - kids[0].filled + qty
            cash, shares, why = self._pair_need(
                a, o.symbol, [(c.buy, c.type, r, c.limit, self._stop_now(c)) for c in kids], q,
                sum(c.res_cash for c in kids), sum(c.res_shares for c in kids))
            if why is None:
                for i, c in enumerate(kids):
                    self._flush_trail(c)
                    self._emit(ev.OrderResized(self._seq + 1, self._now, c.account, c.id, c.filled + r,
                                               cash if i == 0 else 0, shares if i == 0 else 0,
                                               f"its bracket entry {o.id} filled {qty} more"))
                return
        side_ = _SELL if o.buy else _BUY
        specs = []
        if o.tp is not None:
            specs.append((_LMT, o.tp, None))
        if o.sl is not None:
            specs.append((_STP, None, o.sl))
        cash, shares, why = self._pair_need(a, o.symbol, [(not o.buy, t, qty, lim, stp) for t, lim, stp in specs],
                                            q, 0, 0)
        pair = len(specs) == 2
        held = (0, 0, why) if pair else (cash, shares, why)
        made = [self._accept(a, o.symbol, side_, t, qty, lim, stp, _GTC, None, held=held, review=False,
                             parent_id=o.id) for t, lim, stp in specs]
        if why is not None:
            return
        if pair:
            self._emit(ev.OrderLinked(self._seq + 1, self._now, o.account, made[0].id, made[1].id, cash, shares))
        for c in made:
            if c.is_open:
                self._first_look(c)

    # ------------------------------------------------------------------ the OCO command
    def oco(self, account: str, first: Any, second: Any) -> tuple[Order, Order]:
        """Make ``first`` and ``second`` an OCO pair (see the module doc); each is an open order of the
        account (an ``Order``, ``OrderView`` or id) or an :class:`OrderRequest` placed here.  Returns both."""
        self._check_open()
        a = self._account_state(account)
        members = [self._oco_member(account, m) for m in (first, second)]
        olds = [m for m in members if not isinstance(m, tuple)]
        if len(olds) == 2 and olds[0] is olds[1]:
            raise InvalidOrder(f"an OCO pair needs two orders; order {olds[0].id} was given twice")
        shape = [(m.symbol, m.buy, m.qty - m.filled) if not isinstance(m, tuple) else (m[0], m[1] is _BUY, m[3])
                 for m in members]
        if shape[0][0] != shape[1][0]:
            raise InvalidOrder(f"an OCO pair is two orders of one symbol, not {shape[0][0]} and {shape[1][0]}")
        if shape[0][1] != shape[1][1]:
            raise InvalidOrder("an OCO pair is two orders on the same side (two sells, or two buys)")
        if shape[0][2] != shape[1][2]:
            raise InvalidOrder(f"an OCO pair needs the same remaining quantity in both orders, not "
                               f"{shape[0][2]} and {shape[1][2]}")
        sym, buy, r = shape[0]
        with self._command():
            a = self.ledger.accounts[a.name]
            olds = [self.ledger.orders[m.id] for m in olds]  # time may have moved (and filled them)
            for m in olds:
                if not m.is_open:
                    raise OrderNotOpen(f"order {m.id} is already {m.status.value}")  # type: ignore[union-attr]
                if m.qty - m.filled != r:
                    raise InvalidOrder(f"order {m.id} filled in the meantime; nothing was linked")
            st = self.ledger.symbols.get(sym)
            q = st.quote if st is not None else None
            own_c = sum(m.res_cash for m in olds)
            own_s = sum(m.res_shares for m in olds)
            specs = [(m.buy, m.type, r, m.limit, self._stop_now(m)) for m in olds]
            for m in members:
                if isinstance(m, tuple):
                    stp = m[5]
                    if m[2] is _TRL and q is not None and m[7] is not None:  # its level at acceptance
                        ref = stop_ref(q, buy)
                        stp = None if ref is None else trail_stop(ref, m[7][0], m[7][1], buy)
                    specs.append((buy, m[2], r, m[4], stp))
            cash, shares, why = self._pair_need(a, sym, specs, q, own_c, own_s)
            if why is not None and not any(isinstance(m, tuple) for m in members):
                raise InvalidOrder(f"orders {olds[0].id} and {olds[1].id} were not linked: {why}")
            placed: list[OrderState] = []
            out: list[OrderState] = []
            for m in members:
                if isinstance(m, tuple):
                    o = self._accept(a, *m[:7], None, m[7], held=(0, 0, why))
                    placed.append(o)
                    out.append(o)
                else:
                    out.append(m)
            if why is None and all(o.is_open for o in out):
                lo, hi = sorted(out, key=lambda o: o.id)
                self._emit(ev.OrderLinked(self._seq + 1, self._now, a.name, lo.id, hi.id, cash, shares))
                for o in placed:
                    if o.is_open:
                        self._first_look(o)
        return out[0].handle, out[1].handle

    def _oco_member(self, account: str, m: Any) -> OrderState | tuple:
        if isinstance(m, OrderRequest):
            sym, side_, type_, n, lim, stp, tif_, x = self._parse_order(
                m.symbol, m.side, m.qty, m.type, m.limit, m.stop, m.tif, m.trail, m.trail_pct)
            if tif_ is _IOC or tif_ is _FOK:
                raise InvalidOrder("an OCO order rests until one of the pair fills: ioc / fok do not apply")
            return (sym, side_, type_, n, lim, stp, tif_, x)
        if isinstance(m, dict | str):
            raise UnknownOrder(f"an OCO member is an open order (or its id) or a pn.OrderRequest, not {m!r}")
        o = self._lookup(account, m)
        if not o.is_open:
            raise OrderNotOpen(f"order {o.id} is already {o.status.value}")  # type: ignore[union-attr]
        if o.oco is not None:
            raise InvalidOrder(f"order {o.id} is already one of an OCO pair (with order {o.oco.id})")
        if o.ioc:
            raise InvalidOrder(f"order {o.id} is {o.tif.value}: it never rests, so it cannot be one of an OCO pair")
        return o
