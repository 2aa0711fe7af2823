"""A deliberately naive reference model of the order engine, for the differential test.

It shares no code with papernb (only ``pn.Quote`` values are fed to both sides by the test, and
this model reads plain ints from the test, never a Quote).  It is written for obviousness, not
speed: reserved cash and reserved shares are recomputed from the open orders every time they are
needed, positions are plain ``[qty, cost]`` lists, and the one rounding rule is Python's own
``round(Fraction)`` (half-even).

Scope (what the differential stream exercises):
- market and limit orders, buy and sell, GTC only, no review window, quotes always fresh;
- the default ``touch`` fill model: a market order fills at once at the ask (buy) / bid (sell);
  a limit marketable when it arrives fills at once at the ask / bid; otherwise it rests and fills
  in full at its limit on the first later quote with ask <= limit (buy) / bid >= limit (sell);
  within one quote, open orders fill in id order across all accounts;
- reservations: a limit buy holds qty x limit, a market buy qty x ask x 1.05 (rounded up to the
  $0.0001 unit); a sell holds its shares;
- refusals: a symbol never quoted, not enough buying power, not enough free shares -> REJECTED;
  at a fill, a buy that costs more than cash minus the other reservations -> REJECTED;
- cancel, replace (qty / limit of a limit order; refused when it does not fit; matched again
  like a new order), reset (cancel open orders, fresh cash, no positions);
- average-cost positions: a sell realizes qty x price - cost x qty / held (rounded half-even to
  $0.0001) and removes that same cost;
- the quant's order types: IOC / FOK market and limit orders (look once when placed: fill in full
  or end CANCELLED); trailing stops (a dollar trail: the level is the best price since acceptance,
  last or else bid (sell) / ask (buy), minus / plus the trail; it triggers when that price reaches
  the level and fills at the bid / ask; a trailing buy holds qty x max(level, ask) x 1.05); OCO
  pairs placed together (two sells holding the shares once, or two buy limits holding the larger
  amount): when one fills the other is cancelled, cancelling one cancels the other; brackets
  (a buy entry with take-profit and stop-loss: when it fills, a sell limit and a sell stop for the
  quantity, an OCO pair; a stop triggers on last, else the bid, and fills at the bid).

An OCO pair's one reservation is kept on both of its orders (``group``) and counted once.

Money is int units of $0.0001 everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

PENDING, FILLED, CANCELLED, REJECTED = "PENDING", "FILLED", "CANCELLED", "REJECTED"
MARKET_BUFFER = Fraction(105, 100)


class RefUnknownOrder(Exception):
    pass


class RefOrderNotOpen(Exception):
    pass


class RefReplaceRefused(Exception):
    pass


class RefInvalid(Exception):
    pass


@dataclass
class RefOrder:
    id: int
    account: str
    symbol: str
    side: str  # "BUY" | "SELL"
    type: str  # "MARKET" | "LIMIT"
    qty: int
    limit: int | None
    status: str = PENDING
    filled: int = 0
    fill_value: int = 0
    reserved_cash: int = 0
    reserved_shares: int = 0
    resting: bool = False
    tif: str = "GTC"
    stop: int | None = None  # a stop's price; a trailing stop's current level
    trail: int | None = None
    best: int | None = None
    oco: int | None = None  # the other order of its OCO pair
    parent: int | None = None  # a bracket child's entry
    tp: int | None = None  # a bracket entry's children
    sl: int | None = None

    @property
    def avg_fill_price(self) -> Fraction | None:
        return Fraction(self.fill_value, self.filled * 10_000) if self.filled else None


@dataclass
class RefAccount:
    name: str
    cash: int
    realized: int = 0
    positions: dict[str, list[int]] = field(default_factory=dict)  # symbol -> [qty, cost]


class ReferenceBook:
    def __init__(self, starting_cash: int) -> None:
        self.starting_cash = starting_cash
        self.accounts: dict[str, RefAccount] = {}
        self.orders: list[RefOrder] = []  # index = id - 1
        self.quotes: dict[str, tuple[int, int, int | None]] = {}  # symbol -> (bid, ask, last)

    # ---------------------------------------------------------------- derived values
    def account(self, name: str) -> RefAccount:
        if name not in self.accounts:
            self.accounts[name] = RefAccount(name, self.starting_cash)
        return self.accounts[name]

    def open_orders(self, account: str | None = None, symbol: str | None = None) -> list[RefOrder]:
        return [o for o in self.orders if o.status == PENDING
                and (account is None or o.account == account) and (symbol is None or o.symbol == symbol)]

    def _once(self, orders: list[RefOrder]) -> list[RefOrder]:
        """The orders, with an OCO pair counted once (its reservation is on both)."""
        out, seen = [], set()
        for o in orders:
            if o.oco is not None:
                if o.oco in seen:
                    continue
                seen.add(o.id)
            out.append(o)
        return out

    def reserved(self, account: str) -> int:
        return sum(o.reserved_cash for o in self._once(self.open_orders(account)))

    def reserved_shares(self, account: str, symbol: str) -> int:
        return sum(o.reserved_shares for o in self._once(self.open_orders(account, symbol)))

    def held(self, account: str, symbol: str) -> int:
        pos = self.accounts[account].positions.get(symbol)
        return pos[0] if pos else 0

    def buying_power(self, account: str) -> int:
        return self.accounts[account].cash - self.reserved(account)

    # ---------------------------------------------------------------- commands
    def quote(self, symbol: str, bid: int, ask: int, last: int | None = None) -> None:
        self.quotes[symbol] = (bid, ask, last)
        for o in self.open_orders(symbol=symbol):  # id order, all accounts
            if o.status != PENDING:  # closed earlier in this same loop (an OCO partner)
                continue
            if o.type == "TRAILING_STOP":
                self._follow(o)
            if o.type in ("STOP", "TRAILING_STOP"):
                self._stop_look(o)
            elif o.side == "BUY" and ask <= o.limit:
                self._fill(o, o.limit)
            elif o.side == "SELL" and bid >= o.limit:
                self._fill(o, o.limit)

    def _ref(self, o: RefOrder) -> int:
        bid, ask, last = self.quotes[o.symbol]
        if last is not None:
            return last
        return ask if o.side == "BUY" else bid

    def _follow(self, o: RefOrder) -> None:
        """A trailing stop's best price since acceptance, and its level."""
        ref = self._ref(o)
        if o.best is None or (ref < o.best if o.side == "BUY" else ref > o.best):
            o.best = ref
        o.stop = o.best + o.trail if o.side == "BUY" else o.best - o.trail

    def _stop_look(self, o: RefOrder) -> None:
        ref = self._ref(o)
        if ref >= o.stop if o.side == "BUY" else ref <= o.stop:
            bid, ask, _ = self.quotes[o.symbol]
            self._fill(o, ask if o.side == "BUY" else bid)

    @staticmethod
    def _round_up(x: Fraction) -> int:
        return x.numerator // x.denominator + (1 if x.denominator != 1 else 0)

    def _need(self, account: str, o: RefOrder, qty: int) -> int | None:
        """Cash a buy holds, or None when a sell's shares are not free (the caller counts its own)."""
        bid, ask, _ = self.quotes[o.symbol]
        if o.side == "BUY":
            if o.type == "LIMIT":
                return qty * o.limit
            ref = ask if o.type == "MARKET" else max(o.stop, ask)
            return self._round_up(qty * ref * MARKET_BUFFER)
        return 0

    def submit(self, account: str, symbol: str, side: str, qty: int, limit: int | None, *, tif: str = "GTC",
               trail: int | None = None, tp: int | None = None, sl: int | None = None) -> RefOrder:
        acct = self.account(account)
        type_ = "TRAILING_STOP" if trail is not None else "MARKET" if limit is None else "LIMIT"
        o = RefOrder(len(self.orders) + 1, account, symbol, side, type_, qty, limit, tif=tif, trail=trail, tp=tp,
                     sl=sl)
        self.orders.append(o)
        if symbol not in self.quotes:
            o.status = REJECTED
            return o
        if trail is not None:
            o.best = None
            self._follow(o)
        if side == "BUY":
            res = self._need(account, o, qty)
            if res > acct.cash - self.reserved(account):
                o.status = REJECTED
                return o
            o.reserved_cash = res
        else:
            free = max(self.held(account, symbol) - self.reserved_shares(account, symbol), 0)
            if qty > free:
                o.status = REJECTED
                return o
            o.reserved_shares = qty
        self._first_look(o)
        return o

    def oco(self, account: str, symbol: str, side: str, qty: int, a: tuple[str, int], b: tuple[str, int]
            ) -> tuple[RefOrder, RefOrder]:
        """Two new orders as an OCO pair: ``a``/``b`` are ("LIMIT", price) or ("STOP", price)."""
        acct = self.account(account)
        made = []
        for kind, px in (a, b):
            o = RefOrder(len(self.orders) + 1, account, symbol, side, kind, qty, px if kind == "LIMIT" else None,
                         stop=px if kind == "STOP" else None)
            self.orders.append(o)
            made.append(o)
        x, y = made
        if side == "BUY":
            need = max(self._need(account, x, qty), self._need(account, y, qty))
            ok = need <= acct.cash - self.reserved(account)
            cash, shares = need, 0
        else:
            ok = qty <= max(self.held(account, symbol) - self.reserved_shares(account, symbol), 0)
            cash, shares = 0, qty
        if not ok:
            x.status = y.status = REJECTED
            return x, y
        for o in made:
            o.reserved_cash, o.reserved_shares = cash, shares
        x.oco, y.oco = y.id, x.id
        for o in made:
            if o.status == PENDING:
                self._first_look(o)
        return x, y

    def _first_look(self, o: RefOrder) -> None:
        if o.type in ("STOP", "TRAILING_STOP"):
            self._stop_look(o)
            return
        bid, ask, _ = self.quotes[o.symbol]
        px = ask if o.side == "BUY" else bid
        if o.limit is None or (px <= o.limit if o.side == "BUY" else px >= o.limit):
            self._fill(o, px)
        elif o.tif in ("IOC", "FOK"):
            self._close(o, CANCELLED)
        else:
            o.resting = True

    def _lookup(self, account: str, oid: int) -> RefOrder:
        if not 1 <= oid <= len(self.orders) or self.orders[oid - 1].account != account:
            raise RefUnknownOrder(oid)
        return self.orders[oid - 1]

    def cancel(self, account: str, oid: int) -> RefOrder:
        o = self._lookup(account, oid)
        if o.status != PENDING:
            raise RefOrderNotOpen(o.status)
        self._close(o, CANCELLED)
        return o

    def _close(self, o: RefOrder, status: str) -> None:
        """Close ``o``; an OCO partner still open is cancelled with it."""
        o.status = status
        o.reserved_cash = o.reserved_shares = 0
        if o.oco is not None:
            p = self.orders[o.oco - 1]
            if p.status == PENDING:
                p.status = CANCELLED
                p.reserved_cash = p.reserved_shares = 0

    def replace(self, account: str, oid: int, qty: int | None, limit: int | None,
                trail: int | None = None) -> RefOrder:
        o = self._lookup(account, oid)
        if o.status != PENDING:
            raise RefOrderNotOpen(o.status)
        new_qty = o.qty if qty is None else qty
        new_limit = o.limit if limit is None else limit
        new_trail = o.trail if trail is None else trail
        if new_qty != o.qty and o.oco is not None:
            raise RefInvalid("the quantity of an OCO order follows its pair")
        if new_qty == o.qty and new_limit == o.limit and new_trail == o.trail:
            return o  # nothing to change
        acct = self.accounts[account]
        new = RefOrder(o.id, account, o.symbol, o.side, o.type, new_qty, new_limit, stop=o.stop, trail=new_trail,
                       best=o.best)
        if new.type == "TRAILING_STOP":
            new.stop = new.best + new_trail if new.side == "BUY" else new.best - new_trail
        partner = self.orders[o.oco - 1] if o.oco is not None else None
        if o.side == "BUY":
            res = self._need(account, new, new_qty)
            if partner is not None:
                res = max(res, self._need(account, partner, new_qty))
            if res > acct.cash - self.reserved(account) + o.reserved_cash:
                raise RefReplaceRefused()
            o.reserved_cash = res
        else:
            free = max(self.held(account, o.symbol) - self.reserved_shares(account, o.symbol), 0) + o.reserved_shares
            if new_qty > free:
                raise RefReplaceRefused()
            o.reserved_shares = new_qty
        if partner is not None:
            partner.reserved_cash, partner.reserved_shares = o.reserved_cash, o.reserved_shares
        o.qty, o.limit, o.resting, o.trail, o.stop = new_qty, new_limit, False, new_trail, new.stop
        self._first_look(o)
        return o

    def reset(self, account: str, cash: int) -> None:
        for o in self.open_orders(account):
            self._close(o, CANCELLED)
        self.accounts[account] = RefAccount(account, cash)

    # ---------------------------------------------------------------- fills
    def _fill(self, o: RefOrder, price: int) -> None:
        acct = self.accounts[o.account]
        q = o.qty - o.filled
        if o.side == "BUY":
            others = self.reserved(o.account) - o.reserved_cash
            if q * price > acct.cash - others:
                self._close(o, REJECTED)
                return
            acct.cash -= q * price
            pos = acct.positions.setdefault(o.symbol, [0, 0])
            pos[0] += q
            pos[1] += q * price
        else:
            pos = acct.positions[o.symbol]
            held, cost = pos
            assert 0 < q <= held, "shorts are out of scope for the reference"
            removed = round(Fraction(cost * q, held))  # half-even
            acct.realized += q * price - removed
            acct.cash += q * price
            pos[0] -= q
            pos[1] -= removed
            if pos[0] == 0:
                assert pos[1] == 0
                del acct.positions[o.symbol]
        o.filled += q
        o.fill_value += q * price
        self._close(o, FILLED)
        if o.tp is not None:
            self._children(o)

    def _children(self, e: RefOrder) -> None:
        """A filled bracket entry: a take-profit sell limit and a stop-loss sell stop, an OCO pair."""
        tp = RefOrder(len(self.orders) + 1, e.account, e.symbol, "SELL", "LIMIT", e.qty, e.tp, parent=e.id)
        sl = RefOrder(len(self.orders) + 2, e.account, e.symbol, "SELL", "STOP", e.qty, None, stop=e.sl, parent=e.id)
        self.orders += [tp, sl]
        tp.oco, sl.oco = sl.id, tp.id
        tp.reserved_shares = sl.reserved_shares = e.qty  # the shares just bought, held once for both
        for o in (tp, sl):
            if o.status == PENDING:
                self._first_look(o)
