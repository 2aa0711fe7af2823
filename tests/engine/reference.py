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
  $0.0001) and removes that same cost.

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
        self.quotes: dict[str, tuple[int, int]] = {}  # symbol -> (bid, ask)

    # ---------------------------------------------------------------- derived values
    def account(self, name: str) -> RefAccount:
        if name not in self.accounts:
            self.accounts[name] = RefAccount(name, self.starting_cash)
        return self.accounts[name]

    def open_orders(self, account: str | None = None, symbol: str | None = None) -> list[RefOrder]:
        return [o for o in self.orders if o.status == PENDING
                and (account is None or o.account == account) and (symbol is None or o.symbol == symbol)]

    def reserved(self, account: str) -> int:
        return sum(o.reserved_cash for o in self.open_orders(account))

    def reserved_shares(self, account: str, symbol: str) -> int:
        return sum(o.reserved_shares for o in self.open_orders(account, symbol))

    def held(self, account: str, symbol: str) -> int:
        pos = self.accounts[account].positions.get(symbol)
        return pos[0] if pos else 0

    def buying_power(self, account: str) -> int:
        return self.accounts[account].cash - self.reserved(account)

    # ---------------------------------------------------------------- commands
    def quote(self, symbol: str, bid: int, ask: int) -> None:
        self.quotes[symbol] = (bid, ask)
        for o in self.open_orders(symbol=symbol):  # id order, all accounts
            if o.status != PENDING:  # filled earlier in this same loop (cannot happen, but be literal)
                continue
            if o.side == "BUY" and ask <= o.limit:
                self._fill(o, o.limit)
            elif o.side == "SELL" and bid >= o.limit:
                self._fill(o, o.limit)

    def submit(self, account: str, symbol: str, side: str, qty: int, limit: int | None) -> RefOrder:
        acct = self.account(account)
        o = RefOrder(len(self.orders) + 1, account, symbol, side, "MARKET" if limit is None else "LIMIT", qty, limit)
        self.orders.append(o)
        if symbol not in self.quotes:
            o.status = REJECTED
            return o
        bid, ask = self.quotes[symbol]
        if side == "BUY":
            if limit is None:
                need = qty * ask * MARKET_BUFFER
                res = need.numerator // need.denominator + (1 if need.denominator != 1 else 0)  # round up
            else:
                res = qty * limit
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

    def _first_look(self, o: RefOrder) -> None:
        bid, ask = self.quotes[o.symbol]
        px = ask if o.side == "BUY" else bid
        if o.limit is None or (px <= o.limit if o.side == "BUY" else px >= o.limit):
            self._fill(o, px)
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
        o.status = CANCELLED
        o.reserved_cash = o.reserved_shares = 0
        return o

    def replace(self, account: str, oid: int, qty: int | None, limit: int | None) -> RefOrder:
        o = self._lookup(account, oid)
        if o.status != PENDING:
            raise RefOrderNotOpen(o.status)
        new_qty = o.qty if qty is None else qty
        new_limit = o.limit if limit is None else limit
        if new_qty == o.qty and new_limit == o.limit:
            return o  # nothing to change
        acct = self.accounts[account]
        if o.side == "BUY":
            res = new_qty * new_limit
            if res > acct.cash - self.reserved(account) + o.reserved_cash:
                raise RefReplaceRefused()
            o.reserved_cash = res
        else:
            free = max(self.held(account, o.symbol) - self.reserved_shares(account, o.symbol), 0) + o.reserved_shares
            if new_qty > free:
                raise RefReplaceRefused()
            o.reserved_shares = new_qty
        o.qty, o.limit, o.resting = new_qty, new_limit, False
        self._first_look(o)
        return o

    def reset(self, account: str, cash: int) -> None:
        for o in self.open_orders(account):
            o.status = CANCELLED
            o.reserved_cash = o.reserved_shares = 0
        self.accounts[account] = RefAccount(account, cash)

    # ---------------------------------------------------------------- fills
    def _fill(self, o: RefOrder, price: int) -> None:
        acct = self.accounts[o.account]
        q = o.qty - o.filled
        if o.side == "BUY":
            others = self.reserved(o.account) - o.reserved_cash
            if q * price > acct.cash - others:
                o.status = REJECTED
                o.reserved_cash = 0
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
        o.status = FILLED
        o.reserved_cash = o.reserved_shares = 0
