"""Differential test: the engine against the naive reference model (tests/engine/reference.py).

Both are driven by the same seeded stream of quotes, market and limit orders, cancels, replaces and
resets over two accounts and three symbols (one priced below $1, on the $0.0001 tick), and the quant's
order types: IOC / FOK orders, trailing stops (and trail edits), brackets and OCO pairs.  After every
step each order's status, filled quantity, average fill price and reservation, and each account's
cash, reserved cash, realized P/L and positions (qty and exact cost) must agree exactly.

Stale quotes and DAY expiry are kept out of this stream: stale_after=None, every order is GTC.
"""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

import papernb as pn

from .reference import ReferenceBook, RefInvalid, RefOrderNotOpen, RefReplaceRefused, RefUnknownOrder

T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC
MS = 1_000_000
UNIT = 10_000
START_CASH = 100_000 * UNIT
ACCOUNTS = ("alice", "bob")
# symbol -> (starting mid in units, tick in units, lowest mid, highest mid)
SYMBOLS = {"AAA": (50 * UNIT, 100, 20 * UNIT, 90 * UNIT),
           "BBB": (180 * UNIT, 100, 120 * UNIT, 240 * UNIT),
           "PNY": (5_000, 1, 1_000, 9_000)}
NEVER_QUOTED = "NOQ"
STEPS = 2_000
SEEDS = [1, 2, 3, 20240102]


def dollars(units: int, rng: random.Random) -> Any:
    """The same price in one of the forms the API accepts (int, str, Decimal, float)."""
    d = Decimal(units).scaleb(-4).normalize()
    form = rng.randrange(4)
    if form == 0 and d == d.to_integral_value():
        return int(d)
    if form == 1:
        return str(d)
    if form == 2:
        return d
    return float(d)


def to_units(value: Decimal | None) -> int | None:
    if value is None:
        return None
    u = value * UNIT
    assert u == u.to_integral_value(), value
    return int(u)


class Stream:
    """One seeded random stream of commands, applied to the engine and the reference side by side."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.book = pn.Engine(":memory:", stale_after=None, default_tif="gtc")
        self.ref = ReferenceBook(START_CASH)
        self.accts = {name: self.book.account(name) for name in ACCOUNTS}
        for name in ACCOUNTS:
            self.ref.account(name)
        self.mid = {s: spec[0] for s, spec in SYMBOLS.items()}
        self.ts = T0
        self.counts: dict[str, int] = {}
        self.unsettled: set[int] = set()  # orders still open on the reference side at the last compare
        self.known = 0  # orders compared so far

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    # ------------------------------------------------------------------ commands
    def quote(self) -> None:
        rng = self.rng
        sym = rng.choice(list(SYMBOLS))
        _, tick, lo, hi = SYMBOLS[sym]
        mid = min(max(self.mid[sym] + rng.randint(-6, 6) * tick, lo), hi)
        self.mid[sym] = mid
        half = rng.randint(1, 3) * tick
        bid, ask = mid - half, mid + half
        self.ts += rng.randint(1, 1_500) * MS
        last = None if rng.random() < 0.3 else mid
        self.book.on_quote(pn.Quote(sym, bid=dollars(bid, rng), ask=dollars(ask, rng),
                                    last=None if last is None else dollars(last, rng), ts=self.ts))
        self.ref.quote(sym, bid, ask, last)
        self.count("quote")

    def _limit_near(self, sym: str) -> int:
        _, tick, _, _ = SYMBOLS[sym]
        return max(self.mid[sym] + self.rng.randint(-8, 8) * tick, tick)

    def submit(self) -> None:
        rng = self.rng
        name = rng.choice(ACCOUNTS)
        sym = NEVER_QUOTED if rng.random() < 0.02 else rng.choice(list(SYMBOLS))
        side = rng.choice(("BUY", "SELL"))
        if side == "SELL" and rng.random() < 0.8:
            held = self.ref.held(name, sym) if sym in SYMBOLS else 0
            qty = rng.randint(1, max(held, 1) + 5)
        elif rng.random() < 0.05:
            qty = rng.randint(1_000, 50_000)  # mostly more than the account can pay for
        else:
            qty = rng.randint(1, 300)
        limit = None if rng.random() < 0.35 or sym == NEVER_QUOTED else self._limit_near(sym)
        kwargs: dict[str, Any] = {}
        if limit is not None:
            kwargs["limit"] = dollars(limit, rng)
        if rng.random() < 0.5:
            o = (self.accts[name].buy if side == "BUY" else self.accts[name].sell)(sym, qty, **kwargs)
        else:
            o = self.accts[name].submit(sym, side.lower(), qty, type="market" if limit is None else "limit",
                                        tif="gtc", **kwargs)
        r = self.ref.submit(name, sym, side, qty, limit)
        assert o.id == r.id
        self.count(f"submit {r.type} {side} -> {r.status}")

    def submit_new_type(self) -> None:
        """An IOC / FOK order, a trailing stop, a bracket, or an OCO pair of new orders."""
        rng = self.rng
        name = rng.choice(ACCOUNTS)
        sym = rng.choice(list(SYMBOLS))
        _, tick, _, _ = SYMBOLS[sym]
        acct = self.accts[name]
        kind = rng.choice(("ioc", "fok", "trail", "trail", "bracket", "oco"))
        held = self.ref.held(name, sym)
        if kind in ("ioc", "fok"):
            side = rng.choice(("BUY", "SELL"))
            qty = rng.randint(1, max(held, 1) + 5) if side == "SELL" else rng.randint(1, 300)
            limit = None if rng.random() < 0.4 else self._limit_near(sym)
            kw: dict[str, Any] = {"tif": kind}
            if limit is not None:
                kw["limit"] = dollars(limit, rng)
            o = (acct.buy if side == "BUY" else acct.sell)(sym, qty, **kw)
            r = self.ref.submit(name, sym, side, qty, limit, tif=kind.upper())
            label = f"{kind} {r.type}"
        elif kind == "trail":
            side = "SELL" if held and rng.random() < 0.7 else rng.choice(("BUY", "SELL"))
            qty = rng.randint(1, max(held, 1)) if side == "SELL" else rng.randint(1, 300)
            trail = rng.randint(1, 30) * tick
            o = (acct.buy if side == "BUY" else acct.sell)(sym, qty, trail=dollars(trail, rng))
            r = self.ref.submit(name, sym, side, qty, None, trail=trail)
            label = "trailing"
        elif kind == "bracket":
            qty = rng.randint(1, 200)
            limit = None if rng.random() < 0.5 else self._limit_near(sym)
            base = self.mid[sym] if limit is None else limit
            tp = base + rng.randint(1, 10) * tick
            sl = max(base - rng.randint(1, 10) * tick, tick)
            if limit is not None and sl >= limit:
                return
            kw = {"take_profit": dollars(tp, rng), "stop_loss": dollars(sl, rng)}
            if limit is not None:
                kw["limit"] = dollars(limit, rng)
            o = acct.buy(sym, qty, **kw)
            r = self.ref.submit(name, sym, "BUY", qty, limit, tp=tp, sl=sl)
            label = "bracket"
        else:
            if held and rng.random() < 0.6:
                side, qty = "SELL", rng.randint(1, held + 3)
                a = ("LIMIT", self.mid[sym] + rng.randint(0, 8) * tick)
                b = ("STOP", max(self.mid[sym] - rng.randint(0, 8) * tick, tick))
            else:
                side, qty = "BUY", rng.randint(1, 300)
                a, b = ("LIMIT", self._limit_near(sym)), ("LIMIT", self._limit_near(sym))
            reqs = [pn.OrderRequest(sym, side.lower(), qty, tif="gtc",
                                    **{"limit" if k == "LIMIT" else "stop": dollars(px, rng)}) for k, px in (a, b)]
            o, _ = acct.oco(*reqs)
            r, _ = self.ref.oco(name, sym, side, qty, a, b)
            label = f"oco {side}"
        assert o.id == r.id, (o, r)
        self.count(f"{label} -> {r.status}")

    def _pick_order(self) -> tuple[str, int]:
        rng = self.rng
        name = rng.choice(ACCOUNTS)
        n = len(self.ref.orders)
        if n == 0 or rng.random() < 0.03:
            return name, n + 1_000  # an id nobody has
        opens = self.ref.open_orders(name)
        if opens and rng.random() < 0.7:
            return name, rng.choice(opens).id
        return name, rng.randint(1, n)  # any order: maybe closed, maybe another account's

    def cancel(self) -> None:
        name, oid = self._pick_order()
        outcome = self._both(lambda: self.accts[name].cancel(oid), lambda: self.ref.cancel(name, oid))
        self.count(f"cancel -> {outcome}")

    def replace(self) -> None:
        rng = self.rng
        name, oid = self._pick_order()
        r = self.ref.orders[oid - 1] if oid <= len(self.ref.orders) else None
        qty = rng.randint(1, 300) if rng.random() < 0.6 else None
        limit = trail = None
        if r is not None and r.type == "LIMIT" and (qty is None or rng.random() < 0.6):
            limit = self._limit_near(r.symbol)
        if r is not None and r.type == "TRAILING_STOP" and (qty is None or rng.random() < 0.6):
            trail = rng.randint(1, 30) * SYMBOLS[r.symbol][1]
        if qty is None and limit is None and trail is None:
            qty = rng.randint(1, 300)
        kwargs: dict[str, Any] = {"qty": qty}
        if limit is not None:
            kwargs["limit"] = dollars(limit, rng)
        if trail is not None:
            kwargs["trail"] = dollars(trail, rng)
        outcome = self._both(lambda: self.accts[name].replace(oid, **kwargs),
                             lambda: self.ref.replace(name, oid, qty, limit, trail))
        self.count(f"replace -> {outcome}")

    def reset(self) -> None:
        name = self.rng.choice(ACCOUNTS)
        cash = self.rng.randint(1_000, 200_000) * UNIT
        self.accts[name].reset(cash=Decimal(cash).scaleb(-4))
        self.ref.reset(name, cash)
        self.count("reset")

    def _both(self, engine_call: Any, ref_call: Any) -> str:
        """Run a call on both sides; they must succeed together or fail the same way."""
        expected: type[BaseException] | None
        try:
            ref_call()
            expected = None
        except RefUnknownOrder:
            expected = pn.UnknownOrder
        except RefOrderNotOpen:
            expected = pn.OrderNotOpen
        except RefReplaceRefused:
            expected = pn.ReplaceRefused
        except RefInvalid:
            expected = pn.InvalidOrder
        if expected is None:
            engine_call()
            return "ok"
        with pytest.raises(expected):
            engine_call()
        return expected.__name__

    def step(self) -> None:
        x = self.rng.random()
        if x < 0.45:
            self.quote()
        elif x < 0.68:
            self.submit()
        elif x < 0.80:
            self.submit_new_type()
        elif x < 0.90:
            self.cancel()
        elif x < 0.995:
            self.replace()
        else:
            self.reset()

    # ------------------------------------------------------------------ comparison
    @staticmethod
    def _engine_row(o: pn.Order) -> tuple:
        cash, shares = o.reserved_cash, o.reserved_shares
        if o.oco is not None and o.is_open:  # an OCO pair's one reservation is held by one of them
            cash, shares = cash + o.oco.reserved_cash, shares + o.oco.reserved_shares
        return (o.id, o.account, o.status.value, o.filled_qty, o.qty, to_units(o.limit),
                None if o.avg_fill_price is None else Fraction(o.avg_fill_price), to_units(cash), shares,
                o.type.value, o.tif.value, to_units(o.stop), o.oco_id, o.parent_id)

    @staticmethod
    def _ref_row(o: Any) -> tuple:
        return (o.id, o.account, o.status, o.filled, o.qty, o.limit, o.avg_fill_price, o.reserved_cash,
                o.reserved_shares, o.type, o.tif, o.stop, o.oco, o.parent)

    def compare(self, step: int, full: bool = False) -> None:
        """Accounts and positions every step; every order not yet closed on both sides every step
        (a closed reference order can no longer change), and every order of the book when ``full``."""
        for name, acct in self.accts.items():
            ra = self.ref.accounts[name]
            snap = acct.snapshot()
            got = (to_units(snap.cash), to_units(snap.reserved), to_units(snap.buying_power),
                   to_units(snap.realized_pl), to_units(snap.fees))
            want = (ra.cash, self.ref.reserved(name), self.ref.buying_power(name), ra.realized, 0)
            assert got == want, f"step {step}, {name}: (cash, reserved, bp, realized, fees) {got} != {want}"
            got_pos = {p.symbol: (p.qty, to_units(p.cost)) for p in snap.positions}
            want_pos = {s: (q, c) for s, (q, c) in ra.positions.items() if q}
            assert got_pos == want_pos, f"step {step}, {name}: positions {got_pos} != {want_pos}"
            if full:
                got_ids = [o.id for o in acct.orders(epoch="all")]
                assert got_ids == [o.id for o in self.ref.orders if o.account == name], f"step {step}: order ids"
        self.unsettled.update(range(self.known + 1, len(self.ref.orders) + 1))  # orders new since the last step
        self.known = len(self.ref.orders)
        check = range(1, len(self.ref.orders) + 1) if full else sorted(self.unsettled)
        for oid in check:
            r = self.ref.orders[oid - 1]
            want_row = self._ref_row(r)
            got_row = self._engine_row(self.accts[r.account].order(oid))
            assert got_row == want_row, f"step {step}: order differs:\n engine    {got_row}\n reference {want_row}"
            if r.status != "PENDING":
                self.unsettled.discard(oid)


@pytest.mark.parametrize("seed", SEEDS)
def test_seeded_stream_engine_matches_naive_reference_after_every_step(seed: int) -> None:
    s = Stream(seed)
    for step in range(STEPS):
        s.step()
        s.compare(step, full=step % 100 == 99)
    s.compare(STEPS, full=True)
    s.book.check_invariants()
    # the stream must have exercised what it is meant to exercise
    c = s.counts
    for kind in ("submit MARKET BUY -> FILLED", "submit MARKET SELL -> FILLED", "submit LIMIT BUY -> FILLED",
                 "submit LIMIT SELL -> FILLED", "submit LIMIT BUY -> PENDING", "submit LIMIT SELL -> PENDING",
                 "submit MARKET BUY -> REJECTED", "submit MARKET SELL -> REJECTED", "submit LIMIT BUY -> REJECTED",
                 "submit LIMIT SELL -> REJECTED", "cancel -> ok",
                 "cancel -> OrderNotOpen", "cancel -> UnknownOrder", "replace -> ok", "replace -> ReplaceRefused",
                 "replace -> OrderNotOpen", "reset", "ioc MARKET -> FILLED", "ioc LIMIT -> CANCELLED",
                 "fok LIMIT -> FILLED", "trailing -> PENDING", "trailing -> REJECTED",
                 "bracket -> FILLED", "bracket -> PENDING", "oco SELL -> PENDING", "oco BUY -> PENDING",
                 "oco SELL -> REJECTED"):
        assert c.get(kind, 0) > 0, (kind, c)
    orders = s.ref.orders
    assert any(o.type == "TRAILING_STOP" and o.status == "FILLED" for o in orders)  # triggered on a later quote
    assert any(o.parent is not None and o.status == "FILLED" for o in orders)  # a bracket child filled
    assert any(o.parent is not None and o.status == "CANCELLED" for o in orders)  # ... and its partner went
    assert any(o.oco is not None and o.parent is None and o.status == "FILLED" for o in orders)
    resting_fills = [o for o in s.ref.orders if o.type == "LIMIT" and o.status == "FILLED" and o.resting]
    assert len(resting_fills) > 20
    assert any(o.symbol == "PNY" and o.status == "FILLED" for o in s.ref.orders)
    assert any(a.realized for a in s.ref.accounts.values())


def test_reference_partial_close_rounds_removed_cost_half_even() -> None:
    """The reference's own rounding, pinned: 3 shares cost $10.0001 in total; selling 1 removes 3.3334."""
    ref = ReferenceBook(START_CASH)
    ref.account("alice")
    ref.quote("XYZ", 33_333, 33_334)
    ref.submit("alice", "XYZ", "BUY", 2, None)  # 2 x 3.3334
    ref.quote("XYZ", 33_332, 33_333)
    ref.submit("alice", "XYZ", "BUY", 1, None)  # 1 x 3.3333 -> cost 10.0001 for 3
    assert ref.accounts["alice"].positions["XYZ"] == [3, 100_001]
    ref.submit("alice", "XYZ", "SELL", 1, None)  # at 3.3332; removes 100001/3 = 33333.67 -> 33334
    assert ref.accounts["alice"].positions["XYZ"] == [2, 66_667]
    assert ref.accounts["alice"].realized == 33_332 - 33_334


def test_engine_partial_close_rounds_removed_cost_like_the_reference() -> None:
    book = pn.Engine(":memory:")
    acct = book.account("alice")
    book.on_quote(pn.Quote("XYZ", bid="3.3333", ask="3.3334", ts=T0))
    acct.buy("XYZ", 2)
    book.on_quote(pn.Quote("XYZ", bid="3.3332", ask="3.3333", ts=T0 + MS))
    acct.buy("XYZ", 1)
    acct.sell("XYZ", 1)
    pos = acct.position("XYZ")
    assert (pos.qty, pos.cost) == (2, Decimal("6.6667"))
    assert acct.snapshot().realized_pl == Decimal("-0.0002")
    book.check_invariants()
