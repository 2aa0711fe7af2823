"""Hypothesis stateful test: random commands against a book, with the books balanced after every step.

Two machines share the rules: one over a ``:memory:`` book (fast, many examples) and one over a real
DuckDB file that is also closed and reopened at random (the state hash must survive every reopen).
Each example picks one engine configuration (review window, fill model, commission, shorts).

After every step, besides ``book.check_invariants()``, the test checks the books itself from the public
API: reserved cash is the sum of the open orders' reservations (plus the short reserve when shorts are
on), positions equal filled buys minus filled sells of the epoch, cash equals starting cash minus what
the fills cost, buying power is never negative, no order leaves a terminal state, fills never happen on
a stale quote or inside the review window, and open DAY orders have not outlived their session close.

Business errors (``PaperError``) are expected outcomes of random commands; after any raising call the
state hash must be exactly what it was (``ReplaceRefused`` journals the refusal but changes no state).

The quant's order types are drawn too (rules ``submit_new_type`` and ``oco``, trail edits in ``replace``):
trailing stops never move against the trader, IOC / FOK orders never rest and fill at most once (FOK all
or nothing), an OCO pair keeps one reservation and equal remaining quantities, and bracket children
belong to an entry that filled, on the other side.

``PAPERNB_HYPOTHESIS_EXAMPLES`` sets the number of examples of the in-memory machine (default 50);
the file machine runs a fifth of that (at least 5).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import papernb as pn

EXAMPLES = int(os.environ.get("PAPERNB_HYPOTHESIS_EXAMPLES", "50"))
T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC, a Tuesday, 09:30 in New York
SEC = 1_000_000_000
MS = 1_000_000
UNIT = 10_000
NEW_YORK = ZoneInfo("America/New_York")
STALE_NS = 5 * SEC  # the default stale_after
ACCOUNTS = ("alice", "bob", "carol")
# symbol -> (starting mid in units, tick in units, lowest, highest)
SYMBOLS = {"AAPL": (190 * UNIT, 100, 150 * UNIT, 230 * UNIT),
           "MSFT": (400 * UNIT, 100, 340 * UNIT, 460 * UNIT),
           "PNY": (5_000, 1, 2_000, 9_000)}
NEVER_QUOTED = "ZZZ"
# weighted: most commands hit the same account and symbol, so orders meet each other's reservations
ACCOUNT_CHOICES = ("alice", "alice", "alice", "bob", "bob", "carol")
SYMBOL_CHOICES = ("AAPL", "AAPL", "AAPL", "MSFT", "PNY")
COIDS = ("c-1", "c-2", "c-3")
TERMINAL = {pn.OrderStatus.FILLED, pn.OrderStatus.CANCELLED, pn.OrderStatus.REJECTED, pn.OrderStatus.EXPIRED}

CONFIGS: list[dict[str, Any]] = [
    {},
    {"review_seconds": 5},
    {"fill_model": "size"},
    {"fill_model": "slippage(10)", "commission": {"per_share": "0.005", "per_order": "1", "minimum": "1.5"}},
    {"fill_model": "through", "commission": "0.99"},
    # small cash, penny prices, minimum commissions: where cash would go negative if anything slipped
    {"starting_cash": 40, "commission": {"minimum": "1"}},
    {"starting_cash": 40, "fill_model": "size", "commission": {"per_share": "0.01", "minimum": "1"}},
]
#: shorts on: a machine of their own, run as long as the one above
SHORT_CONFIGS: list[dict[str, Any]] = [
    {"short_selling": True},
    {"short_selling": True, "fill_model": "size", "review_seconds": 5, "commission": {"per_share": "0.01"}},
    {"short_selling": True, "fill_model": "slippage(25)", "commission": {"minimum": "2"}},
    {"short_selling": True, "starting_cash": 40, "commission": {"minimum": "1"}},
]


class ListenerFailed(Exception):
    """Raised on purpose by a listener: the engine must count it and carry on."""


def units(value: Decimal | None) -> int:
    assert value is not None
    u = value * UNIT
    assert u == u.to_integral_value(), value
    return int(u)


def dollars(u: int) -> Decimal:
    return Decimal(u).scaleb(-4)


#: NYSE 2024, from the exchange's published calendar (not from papernb nor its calendar library)
HOLIDAYS_2024 = {(1, 1), (1, 15), (2, 19), (3, 29), (5, 27), (6, 19), (7, 4), (9, 2), (11, 28), (12, 25)}
EARLY_CLOSES_2024 = {(7, 3), (11, 29), (12, 24)}  # 13:00


def next_close(ns: int) -> int:
    """The first NYSE session close (16:00 New York, 13:00 on early-close days) strictly after ``ns``,
    in 2024 (written independently of papernb)."""
    local = datetime.fromtimestamp(ns // SEC, tz=UTC).astimezone(NEW_YORK)
    for i in range(8):
        d = local.date() + timedelta(days=i)
        assert d.year == 2024, "the machine only runs in 2024: extend the tables above"
        if d.weekday() < 5 and (d.month, d.day) not in HOLIDAYS_2024:
            hour = 13 if (d.month, d.day) in EARLY_CLOSES_2024 else 16
            close = datetime(d.year, d.month, d.day, hour, 0, tzinfo=NEW_YORK)
            c = int(close.timestamp()) * SEC
            if c > ns:
                return c
    raise AssertionError("no session close within 8 days")


def durable(o: pn.Order) -> dict[str, Any]:
    """An order's fields without what is not state: the 'waiting for ...' note of an open order."""
    v = o.view().to_dict()
    if o.is_open:
        v["reason"] = None
    return v


def normalized(request: dict[str, Any]) -> dict[str, Any]:
    """A submit request as the engine compares it for a reused client_order_id (tif None = "day")."""
    return {**request, "tif": request["tif"] or "day"}


def on_tick(u: int) -> int:
    """Round a price in units onto the order tick ($0.01 at or above $1, $0.0001 below), at least one unit."""
    if u >= UNIT:
        return max(u // 100 * 100, UNIT)
    return max(u, 1)


class BookMachine(RuleBasedStateMachine):
    FILE = False

    def __init__(self) -> None:
        super().__init__()
        self.dir: str | None = None
        self.book: pn.Engine | None = None

    # ------------------------------------------------------------------ setup / teardown
    CONFIG_CHOICES = CONFIGS

    @initialize(data=st.data())
    def open_book(self, data: st.DataObject) -> None:
        config = data.draw(st.sampled_from(self.CONFIG_CHOICES), label="config")
        self.config = config
        self.short = bool(config.get("short_selling"))
        self.sized = config.get("fill_model") == "size"
        self.review_ns = int(config.get("review_seconds", 0)) * SEC
        if self.FILE:
            self.dir = tempfile.mkdtemp(prefix="papernb-stateful-")
            self.path = os.path.join(self.dir, "book.duckdb")
        else:
            self.path = ":memory:"
        self.book = pn.Engine(self.path, **config)
        self.sizes: dict[tuple[str, int], tuple[int, int] | None] = {}  # (symbol, ts) -> displayed sizes
        self.listener_calls = self.raised = self.raised_before_open = 0
        self.listening = data.draw(st.booleans(), label="a listener that raises")
        if self.listening:
            self.book.subscribe(self._failing_listener)
        self.accts = {name: self.book.account(name) for name in ACCOUNTS}
        self.mid = {s: spec[0] for s, spec in SYMBOLS.items()}
        self.ts = T0
        self.next_id = 1
        self.seen: dict[int, tuple[pn.OrderStatus, int]] = {}  # order id -> (status, filled) at the last check
        self.replaced: set[int] = set()
        self.trail_seen: dict[int, Decimal] = {}  # open trailing stop -> its level at the last check
        self.coids: dict[tuple[str, str], tuple[dict[str, Any], int]] = {}  # (account, coid) -> (request, id)
        self.fills_checked: dict[str, int] = dict.fromkeys(ACCOUNTS, 0)
        for sym in SYMBOLS:
            self._send_quote(sym, self.mid[sym], 2 * SYMBOLS[sym][1], last=True, sizes=(500, 500))

    def teardown(self) -> None:
        if self.book is not None:
            self.book.close()
            self.book = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ helpers
    def _failing_listener(self, events: list) -> None:
        self.listener_calls += 1
        if self.listener_calls % 2:
            self.raised += 1
            raise ListenerFailed("a dashboard bug")

    def _send_quote(self, sym: str, mid: int, spread: int, *, last: bool, bid_side: bool = True,
                    ask_side: bool = True, sizes: tuple[int, int] | None = None, ts: int | None = None) -> None:
        half = max(spread // 2, 1)
        bid = mid - half if bid_side else None
        ask = mid + half if ask_side else None
        q = pn.Quote(sym, bid=None if bid is None else dollars(bid), ask=None if ask is None else dollars(ask),
                     last=dollars(mid) if last or bid is None or ask is None else None,
                     bid_size=None if sizes is None else sizes[0], ask_size=None if sizes is None else sizes[1],
                     ts=self.ts if ts is None else ts)
        self.sizes[(sym, q.ts)] = sizes
        self.book.on_quote(q)

    def _expect_unchanged_on_error(self, call: Any) -> Any:
        """Run a command; a PaperError is a fine outcome if it changed nothing."""
        before = self.book.state_hash()
        try:
            return call()
        except pn.PaperError:
            assert self.book.state_hash() == before, "a refused command changed the book"
            return None

    def _price_near(self, data: st.DataObject, sym: str) -> int:
        mid, tick, _, _ = SYMBOLS[sym]
        return on_tick(self.mid[sym] + data.draw(st.integers(-6, 6), label="ticks from mid") * tick)

    def _pick_order(self, data: st.DataObject, name: str) -> int:
        mine = [o.id for o in self.accts[name].orders(epoch="all")]
        opens = [o.id for o in self.accts[name].orders(status="open")]
        choice = data.draw(st.sampled_from(("open", "open", "mine", "anyone", "unknown")), label="which order")
        if choice == "open" and opens:
            return data.draw(st.sampled_from(opens), label="order id")
        if choice == "mine" and mine:
            return data.draw(st.sampled_from(mine), label="order id")
        if choice == "anyone" and self.next_id > 1:
            return data.draw(st.integers(1, self.next_id - 1), label="order id")
        return self.next_id + 100

    # ------------------------------------------------------------------ rules
    @rule(data=st.data())
    def quote(self, data: st.DataObject) -> None:
        sym = data.draw(st.sampled_from(SYMBOL_CHOICES), label="symbol")
        _, tick, lo, hi = SYMBOLS[sym]
        self.mid[sym] = min(max(self.mid[sym] + data.draw(st.integers(-5, 5), label="move") * tick, lo), hi)
        spread = data.draw(st.integers(1, 6), label="spread") * tick
        shape = data.draw(st.sampled_from(("full", "full", "full", "no_last", "last_only", "no_bid", "no_ask")),
                          label="shape")
        sizes = None
        if self.sized and data.draw(st.integers(0, 14), label="sizeless") == 0:
            pass  # the size model must not fill on it (orders wait); a PaperError must change nothing
        elif self.sized or data.draw(st.booleans(), label="sizes"):
            sizes = (data.draw(st.integers(0, 300), label="bid size"), data.draw(st.integers(0, 300),
                                                                                  label="ask size"))
        late = data.draw(st.integers(0, 19), label="late") == 0
        if late:  # a quote stamped 10 s in the past: stale on arrival
            ts = self.ts - 10 * SEC
        else:
            self.ts += data.draw(st.integers(1, 3_000), label="ms later") * MS
            ts = self.ts
        self._expect_unchanged_on_error(lambda: self._send_quote(
            sym, self.mid[sym], spread, last=shape in ("full", "last_only", "no_bid", "no_ask"),
            bid_side=shape not in ("last_only", "no_bid"), ask_side=shape not in ("last_only", "no_ask"),
            sizes=sizes, ts=ts))

    @rule(data=st.data())
    def refresh_quotes(self, data: st.DataObject) -> None:
        """A fresh two-sided quote for every symbol (a source republishing its board)."""
        self.ts += MS
        for sym in SYMBOLS:
            tick = SYMBOLS[sym][1]
            sizes = (data.draw(st.integers(0, 300), label="bid size"), data.draw(st.integers(1, 300), label="ask size"))
            self._send_quote(sym, self.mid[sym], 2 * tick, last=True, sizes=sizes)

    @rule(data=st.data())
    def advance(self, data: st.DataObject) -> None:
        base = max(self.ts, self.book.now)  # self.ts lags book.now only after a late quote
        kind = data.draw(st.integers(0, 9), label="how far")
        if kind == 0:
            target = next_close(base) + data.draw(st.integers(0, 7_200), label="s after close") * SEC
        elif kind <= 2:  # long enough for every quote to go stale
            target = base + data.draw(st.integers(5, 30), label="seconds") * SEC
        else:
            target = base + data.draw(st.integers(1, 4_000), label="ms") * MS
        self._expect_unchanged_on_error(lambda: self.book.advance(target))
        self.ts = max(self.ts, self.book.now)

    @rule(data=st.data())
    def submit(self, data: st.DataObject) -> None:
        self._submit(data, None)

    @rule(data=st.data())
    def submit_buy(self, data: st.DataObject) -> None:
        self._submit(data, None, side="buy")

    @rule(data=st.data())
    def sell_from_holding(self, data: st.DataObject) -> None:
        """A sell in a symbol the account holds, often for about what it holds (or what is still free)."""
        held = [(name, p.symbol) for name, a in self.accts.items() for p in a.positions() if p.qty > 0]
        if not held:
            return self._submit(data, None, side="buy")
        self._submit(data, data.draw(st.sampled_from(held), label="holding"), side="sell")

    def _submit(self, data: st.DataObject, holding: tuple[str, str] | None, side: str | None = None) -> None:
        self._sync_next_id()
        name = holding[0] if holding else data.draw(st.sampled_from(ACCOUNT_CHOICES), label="account")
        acct = self.accts[name]
        coid = None
        if data.draw(st.integers(0, 4), label="use coid") == 0:
            coid = data.draw(st.sampled_from(COIDS), label="coid")
        known = self.coids.get((name, coid)) if coid is not None else None
        if known is not None and data.draw(st.booleans(), label="same request"):
            request = dict(known[0])
        else:
            if holding:
                sym = holding[1]
            else:
                sym = NEVER_QUOTED if data.draw(st.integers(0, 29), label="never quoted") == 0 else \
                    data.draw(st.sampled_from(SYMBOL_CHOICES), label="symbol")
            psym = "AAPL" if sym == NEVER_QUOTED else sym
            type_ = data.draw(st.sampled_from(("market", "limit", "stop", "stop_limit")), label="type")
            if side is None:
                side = data.draw(st.sampled_from(("buy", "sell")), label="side")
            pos = acct.position(psym)
            held = pos.qty if pos is not None else 0
            if side == "sell" and held > 0 and data.draw(st.booleans(), label="near holding"):
                base = held - pos.reserved_qty if data.draw(st.booleans(), label="vs free") else held
                qty = max(base + data.draw(st.integers(-5, 10), label="qty vs held"), 1)
            elif data.draw(st.integers(0, 14), label="big") == 0:
                qty = data.draw(st.integers(1_000, 100_000), label="qty")
            else:
                qty = data.draw(st.integers(1, 200), label="qty")
            limit = self._price_near(data, psym) if type_ in ("limit", "stop_limit") else None
            stop = self._price_near(data, psym) if type_ in ("stop", "stop_limit") else None
            tif = data.draw(st.sampled_from(("day", "gtc", None)), label="tif")
            request = {"symbol": sym, "side": side, "type": type_, "qty": qty, "limit": limit, "stop": stop,
                       "tif": tif}
        r = request
        kwargs: dict[str, Any] = {"tif": r["tif"], "client_order_id": coid}
        if r["limit"] is not None:
            kwargs["limit"] = dollars(r["limit"])
        if r["stop"] is not None:
            kwargs["stop"] = dollars(r["stop"])
        before = self.book.state_hash()
        n_before = len(acct.orders(epoch="all"))
        explicit = data.draw(st.booleans(), label="explicit submit")

        def call() -> pn.Order:
            if explicit:
                return acct.submit(r["symbol"], r["side"], r["qty"], type=r["type"], **kwargs)
            return (acct.buy if r["side"] == "buy" else acct.sell)(r["symbol"], r["qty"], **kwargs)

        same = known is not None and normalized(known[0]) == normalized(r)
        if known is not None and not same:
            try:
                call()
            except pn.DuplicateClientOrderId:
                pass
            else:
                raise AssertionError("a client_order_id reused with other parameters was accepted")
            assert self.book.state_hash() == before
            return
        try:
            o = call()
        except pn.PaperError:  # not expected for these inputs, but if refused: nothing may change
            assert self.book.state_hash() == before, "a refused submit changed the book"
            assert len(acct.orders(epoch="all")) == n_before
            return
        if same:
            assert o.id == known[1], "a repeated client_order_id must return the original order"
            assert self.book.state_hash() == before
            assert len(acct.orders(epoch="all")) == n_before
            return
        assert o.id == self.next_id, (o.id, self.next_id)
        self.next_id += 1
        self._sync_next_id()
        if coid is not None:
            self.coids[(name, coid)] = (r, o.id)
        tif = r["tif"] or "day"
        assert o.tif == tif.upper()
        assert o.eligible_at == o.created_at + self.review_ns
        if tif == "day":
            if o.status is not pn.OrderStatus.REJECTED:
                assert o.expires_at == next_close(o.created_at), (o, o.created_at, o.expires_at)
        else:
            assert o.expires_at is None
        if r["symbol"] == NEVER_QUOTED:
            assert o.status is pn.OrderStatus.REJECTED and o.reason == f"no quote for {NEVER_QUOTED}"
        if o.status is pn.OrderStatus.REJECTED:
            assert o.filled_qty == 0 and o.reason

    def _sync_next_id(self) -> None:
        """Bracket children are placed by the engine (on fills): the next id is after every order so far."""
        ids = [o.id for a in self.accts.values() for o in a.orders(epoch="all")]
        self.next_id = max(ids, default=0) + 1

    @rule(data=st.data())
    def submit_new_type(self, data: st.DataObject) -> None:
        """A trailing stop, a bracket, or an IOC / FOK order (refusals must change nothing)."""
        self._sync_next_id()
        name = data.draw(st.sampled_from(ACCOUNT_CHOICES), label="account")
        acct = self.accts[name]
        sym = data.draw(st.sampled_from(SYMBOL_CHOICES), label="symbol")
        mid, tick = self.mid[sym], SYMBOLS[sym][1]
        kind = data.draw(st.sampled_from(("trail", "trail_pct", "bracket", "bracket", "ioc", "fok")), label="kind")
        pos = acct.position(sym)
        held = pos.qty if pos is not None else 0
        if held > 0 and kind in ("trail", "trail_pct") and data.draw(st.booleans(), label="protect holding"):
            side, qty = "sell", max(held - pos.reserved_qty, 1)
        else:
            side = data.draw(st.sampled_from(("buy", "sell")), label="side")
            qty = data.draw(st.integers(1, 200), label="qty")
        kwargs: dict[str, Any] = {"tif": data.draw(st.sampled_from(("day", "gtc")), label="tif")}
        if kind == "trail":
            kwargs["trail"] = dollars(data.draw(st.integers(1, 30), label="trail ticks") * tick)
        elif kind == "trail_pct":
            kwargs["trail_pct"] = data.draw(st.sampled_from(("0.05", "0.5", "1", "2.5", "10")), label="trail pct")
        elif kind == "bracket":
            sign = 1 if side == "buy" else -1
            if data.draw(st.booleans(), label="limit entry"):
                kwargs["limit"] = dollars(self._price_near(data, sym))
            far = data.draw(st.integers(1, 12), label="tp ticks"), data.draw(st.integers(1, 12), label="sl ticks")
            which = data.draw(st.sampled_from(("both", "both", "tp", "sl")), label="children")
            if which in ("both", "tp"):
                kwargs["take_profit"] = dollars(on_tick(mid + sign * far[0] * tick))
            if which in ("both", "sl"):
                kwargs["stop_loss"] = dollars(on_tick(mid - sign * far[1] * tick))
        else:
            kwargs["tif"] = kind
            if data.draw(st.booleans(), label="limit"):
                kwargs["limit"] = dollars(self._price_near(data, sym))
        before = self.book.state_hash()
        try:
            o = (acct.buy if side == "buy" else acct.sell)(sym, qty, **kwargs)
        except pn.PaperError:
            assert self.book.state_hash() == before, "a refused submit changed the book"
            return
        assert o.id == self.next_id, (o.id, self.next_id)
        self._sync_next_id()
        if kind in ("ioc", "fok") and not self.review_ns:
            assert not o.is_open, o  # acted at once: never rests
        if kind == "fok":
            assert o.filled_qty in (0, o.qty), o

    @rule(data=st.data())
    def oco(self, data: st.DataObject) -> None:
        """Two new requests placed as an OCO pair, or two open orders linked (most such links are refused)."""
        self._sync_next_id()
        name = data.draw(st.sampled_from(ACCOUNT_CHOICES), label="account")
        acct = self.accts[name]
        opens = acct.orders(status="open")
        if opens and data.draw(st.integers(0, 3), label="link open orders") == 0:
            a = data.draw(st.sampled_from(opens), label="first")
            b = data.draw(st.sampled_from(opens), label="second")
            members: list[Any] = [a, b]
        else:
            held = [p for p in acct.positions() if p.qty > 0]
            if held and data.draw(st.booleans(), label="exit a holding"):
                p = data.draw(st.sampled_from(held), label="holding")
                sym, side, qty = p.symbol, "sell", max(p.qty - p.reserved_qty, 1)
            else:
                sym = data.draw(st.sampled_from(SYMBOL_CHOICES), label="symbol")
                side = data.draw(st.sampled_from(("buy", "sell")), label="side")
                qty = data.draw(st.integers(1, 100), label="qty")
            tick = SYMBOLS[sym][1]
            members = []
            for i in range(2):
                shape = data.draw(st.sampled_from(("limit", "stop", "trail")), label=f"member {i}")
                kw: dict[str, Any] = {"tif": data.draw(st.sampled_from(("day", "gtc")), label="tif")}
                if shape == "limit":
                    kw["limit"] = dollars(self._price_near(data, sym))
                elif shape == "stop":
                    kw["stop"] = dollars(self._price_near(data, sym))
                else:
                    kw["trail"] = dollars(data.draw(st.integers(1, 20), label="trail ticks") * tick)
                members.append(pn.OrderRequest(sym, side, qty, **kw))
        before = self.book.state_hash()
        try:
            x, y = acct.oco(*members)
        except pn.PaperError:
            assert self.book.state_hash() == before, "a refused oco changed the book"
            return
        self._sync_next_id()
        if x.status is not pn.OrderStatus.REJECTED and y.status is not pn.OrderStatus.REJECTED:
            assert (x.oco_id, y.oco_id) == (y.id, x.id)
            assert not (x.is_open and y.is_open) or x.remaining_qty == y.remaining_qty

    @rule(data=st.data())
    def replace(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(ACCOUNT_CHOICES), label="account")
        acct = self.accts[name]
        oid = self._pick_order(data, name)
        try:
            o = acct.order(oid)
        except pn.UnknownOrder:
            o = None
        kwargs: dict[str, Any] = {}
        if data.draw(st.booleans(), label="new qty"):
            base = o.filled_qty if o is not None else 0
            kwargs["qty"] = base + data.draw(st.integers(-2, 150), label="qty delta")
            if kwargs["qty"] <= 0:
                kwargs["qty"] = data.draw(st.integers(1, 5), label="qty")
        sym = o.symbol if o is not None and o.symbol in SYMBOLS else "AAPL"
        wrong_field = data.draw(st.integers(0, 9), label="wrong field") == 0
        if o is not None and (o.type in (pn.OrderType.LIMIT, pn.OrderType.STOP_LIMIT) or wrong_field) \
                and data.draw(st.booleans(), label="new limit"):
            kwargs["limit"] = dollars(self._price_near(data, sym))
        if o is not None and (o.type in (pn.OrderType.STOP, pn.OrderType.STOP_LIMIT) or wrong_field) \
                and data.draw(st.booleans(), label="new stop"):
            kwargs["stop"] = dollars(self._price_near(data, sym))
        if o is not None and (o.type is pn.OrderType.TRAILING_STOP or wrong_field) \
                and data.draw(st.booleans(), label="new trail"):
            tick = SYMBOLS[sym][1]
            if data.draw(st.booleans(), label="pct"):
                kwargs["trail_pct"] = data.draw(st.sampled_from(("0.1", "1", "5")), label="trail pct")
            else:
                kwargs["trail"] = dollars(data.draw(st.integers(1, 30), label="trail ticks") * tick)
        if data.draw(st.integers(0, 3), label="new tif") == 0:
            kwargs["tif"] = data.draw(st.sampled_from(("day", "gtc", "day", "gtc", "ioc", "fok")), label="tif")
        before = self.book.state_hash()
        before_view = o.view() if o is not None else None
        try:
            acct.replace(oid, **kwargs)
        except pn.ReplaceRefused as e:
            assert str(e).startswith(f"order {oid} was not changed: ")
            assert self.book.state_hash() == before, "ReplaceRefused changed the state"
            assert o is not None and o.view() == before_view
            return
        except pn.PaperError:
            assert self.book.state_hash() == before, "a refused replace changed the state"
            assert o is None or o.view() == before_view
            return
        assert o is not None
        if self.book.state_hash() != before:
            self.replaced.add(oid)
            if "tif" in kwargs and kwargs["tif"] == "day" and before_view.tif is pn.TimeInForce.GTC and o.is_open:
                assert o.expires_at == next_close(self.book.now)

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(ACCOUNT_CHOICES), label="account")
        oid = self._pick_order(data, name)
        before = self.book.state_hash()
        try:
            o = self.accts[name].cancel(oid)
        except (pn.UnknownOrder, pn.OrderNotOpen):
            assert self.book.state_hash() == before
            return
        assert o.status is pn.OrderStatus.CANCELLED and o.reason == "cancelled by you"
        assert o.reserved_cash == 0 and o.reserved_shares == 0

    @rule(data=st.data())
    def reset(self, data: st.DataObject) -> None:
        if data.draw(st.integers(0, 3), label="really reset") != 0:
            return  # resets are rarer than the other commands
        name = data.draw(st.sampled_from(ACCOUNT_CHOICES), label="account")
        cash = data.draw(st.one_of(st.none(), st.integers(0, 200_000)), label="cash")
        acct = self.accts[name]
        epoch = acct.epoch
        opens = acct.orders(status="open")
        acct.reset(cash=cash)
        assert acct.epoch == epoch + 1
        for o in opens:  # an OCO partner goes with its pair
            assert o.status is pn.OrderStatus.CANCELLED, o
            assert o.reason == "account reset" or o.reason.startswith("its OCO partner "), o
        snap = acct.snapshot()
        start = Decimal(self.config.get("starting_cash", 100_000) if cash is None else cash)
        assert (snap.cash, snap.reserved, snap.realized_pl, snap.fees, snap.positions, snap.open_orders) == \
            (start, 0, 0, 0, (), ())

    # ------------------------------------------------------------------ checks after every step
    @invariant()
    def books_balance(self) -> None:
        if self.book is None:
            return
        self.book.check_invariants()
        now = self.book.now
        for name, acct in self.accts.items():
            self._check_account(name, acct, now)
        # a listener that raises never breaks a command: it is counted, every second call
        assert self.book.health()["listener_errors"] == self.raised - self.raised_before_open
        if self.sized:  # the orders on one quote share its displayed size, whoever placed them
            taken: dict[tuple[str, int, bool], int] = {}
            for acct in self.accts.values():
                for f in acct.fills(epoch="all"):
                    key = (f.symbol, f.quote_ts, f.side is pn.Side.BUY)
                    taken[key] = taken.get(key, 0) + f.qty
            for (sym, ts, buy), qty in taken.items():
                sizes = self.sizes.get((sym, ts))
                assert sizes is not None, (sym, ts)
                assert qty <= (sizes[1] if buy else sizes[0]), (sym, ts, buy, qty, sizes)

    def _check_account(self, name: str, acct: pn.Account, now: int) -> None:
        snap = acct.snapshot()
        orders = acct.orders()
        opens = [o for o in orders if o.is_open]
        assert [o.id for o in opens] == [o.id for o in acct.orders(status="open")]
        assert [v.id for v in snap.open_orders] == [o.id for o in opens]
        # reservations
        res_orders = sum((o.reserved_cash for o in opens), Decimal(0))
        short_reserve = snap.reserved - res_orders
        shorts = [p for p in snap.positions if p.qty < 0]
        fills = acct.fills()
        assert snap.cash >= 0, (name, snap.cash)  # shorts or not, commissions or not
        if not self.short:
            assert short_reserve == 0, (name, snap.reserved, res_orders)
            assert not shorts
        else:
            assert short_reserve >= 0
            if not shorts:
                assert short_reserve == 0, (name, short_reserve)
            else:  # 150% of the shorts' value at their fills, within a unit of rounding per fill
                held_cost = sum((-p.cost for p in shorts), Decimal(0))
                slack = Decimal(len(fills) + 1).scaleb(-4)
                assert abs(short_reserve - held_cost * Decimal("1.5")) <= slack, (short_reserve, held_cost)
        assert snap.buying_power == snap.cash - snap.reserved
        assert snap.buying_power >= 0, (name, snap.buying_power)
        # positions == filled buys - filled sells of the epoch, from the fills and from the orders
        by_fills: dict[str, int] = {}
        by_order_fills: dict[int, int] = {}
        cash = snap.starting_cash
        fees = realized = Decimal(0)
        for f in fills:
            signed = f.qty if f.side is pn.Side.BUY else -f.qty
            by_fills[f.symbol] = by_fills.get(f.symbol, 0) + signed
            by_order_fills[f.order_id] = by_order_fills.get(f.order_id, 0) + f.qty
            cash -= signed * f.price + f.fee
            fees += f.fee
            realized += f.realized_pl
        positions = {p.symbol: p for p in snap.positions}
        assert {s: q for s, q in by_fills.items() if q} == {s: p.qty for s, p in positions.items()}
        by_orders: dict[str, int] = {}
        for o in orders:
            signed = o.filled_qty if o.side is pn.Side.BUY else -o.filled_qty
            by_orders[o.symbol] = by_orders.get(o.symbol, 0) + signed
            assert o.filled_qty == by_order_fills.get(o.id, 0), (o, by_order_fills.get(o.id))
        assert {s: q for s, q in by_orders.items() if q} == {s: p.qty for s, p in positions.items()}
        assert snap.cash == cash, (name, snap.cash, cash)
        assert snap.fees == fees == sum((o.fees for o in orders), Decimal(0))
        assert snap.realized_pl == realized
        # marks and P/L
        assert snap.market_value == sum((p.market_value for p in snap.positions), Decimal(0))
        assert snap.equity == snap.cash + snap.market_value
        assert snap.unrealized_pl == sum((p.unrealized_pl for p in snap.positions), Decimal(0))
        assert snap.equity - snap.starting_cash == snap.realized_pl + snap.unrealized_pl - snap.fees
        for p in snap.positions:
            assert p.qty != 0
            assert p.avg_price == p.cost / p.qty  # cost/qty, unrounded (to Decimal's 28 digits)
            assert p.market_value - p.cost == p.unrealized_pl
            sells = sum(o.reserved_shares for o in opens if o.symbol == p.symbol and o.side is pn.Side.SELL)
            assert p.reserved_qty == sells
            assert p.reserved_qty <= max(p.qty, 0), (p.symbol, p.reserved_qty, p.qty)
        for o in opens:
            if o.side is pn.Side.BUY:
                assert o.reserved_shares == 0
            assert o.reserved_shares <= o.remaining_qty
            if o.tif is pn.TimeInForce.DAY:
                assert o.expires_at is not None and o.expires_at > now, (o, o.expires_at, now)
            if o.tif in (pn.TimeInForce.IOC, pn.TimeInForce.FOK):  # they act at eligibility and never rest
                assert o.eligible_at > now and o.filled_qty == 0, (o, now)
            if o.oco_id is not None:  # an OCO pair: one reservation, the same remaining quantity
                p = acct.order(o.oco_id)
                assert p.is_open and p.remaining_qty == o.remaining_qty, (o, p)
                assert (p.symbol, p.side) == (o.symbol, o.side)
                assert not ((o.reserved_cash or o.reserved_shares) and (p.reserved_cash or p.reserved_shares))
            if o.type is pn.OrderType.TRAILING_STOP and not o.triggered and o.stop is not None:
                seen = self.trail_seen.get(o.id)  # the level never moves against the trader (but by a replace)
                if seen is not None and o.id not in self.replaced:
                    assert (o.stop <= seen) if o.side is pn.Side.BUY else (o.stop >= seen), (o, seen)
                self.trail_seen[o.id] = o.stop
            if o.parent_id is not None:  # a bracket child: of an entry that filled, on the other side
                parent = acct.order(o.parent_id)
                assert parent.filled_qty > 0 and parent.side is not o.side, (o, parent)
        # order life: status agrees with filled qty, terminal states are final
        for o in acct.orders(epoch="all"):
            assert 0 <= o.filled_qty <= o.qty
            if o.status is pn.OrderStatus.FILLED:
                assert o.filled_qty == o.qty
            elif o.status is pn.OrderStatus.PARTIALLY_FILLED:
                assert 0 < o.filled_qty < o.qty
            elif o.status in (pn.OrderStatus.PENDING, pn.OrderStatus.REJECTED):
                assert o.filled_qty == 0
            if o.status in TERMINAL:
                assert o.reserved_cash == 0 and o.reserved_shares == 0
            if o.tif is pn.TimeInForce.FOK and o.id not in self.replaced:
                assert o.filled_qty in (0, o.qty), o
            if o.status is pn.OrderStatus.EXPIRED:
                assert o.tif is pn.TimeInForce.DAY and o.expires_at <= now
                assert o.expired_at == o.expires_at
            prev = self.seen.get(o.id)
            if prev is not None:
                prev_status, prev_filled = prev
                assert o.filled_qty >= prev_filled, (o, prev)
                if prev_status in TERMINAL:
                    assert (o.status, o.filled_qty) == prev, f"order {o.id} left {prev_status}: now {o}"
            self.seen[o.id] = (o.status, o.filled_qty)
        # every new fill: on a fresh quote, after the review window, at a price the rules allow
        all_fills = acct.fills(epoch="all")
        for f in all_fills[self.fills_checked[name]:]:
            self._check_fill(acct, f)
        self.fills_checked[name] = len(all_fills)

    def _check_fill(self, acct: pn.Account, f: pn.Fill) -> None:
        o = acct.order(f.order_id)
        assert f.quote_age_ns is not None and 0 <= f.quote_age_ns <= STALE_NS, f
        assert f.ts >= o.created_at
        if o.id not in self.replaced and o.parent_id is None:  # bracket children are eligible at once
            assert f.ts >= o.created_at + self.review_ns, (f, o)
        if o.type in (pn.OrderType.STOP, pn.OrderType.STOP_LIMIT, pn.OrderType.TRAILING_STOP):
            assert o.triggered, (f, o)
        if o.tif in (pn.TimeInForce.IOC, pn.TimeInForce.FOK) and o.id not in self.replaced:
            assert [x.id for x in acct.fills(epoch="all") if x.order_id == o.id] == [f.id], (f, o)  # acts once
        buy = f.side is pn.Side.BUY
        side_px = (f.quote_ask if buy else f.quote_bid)
        if side_px is None:
            side_px = f.quote_last
        model = self.book.config.fill_model
        if o.type in (pn.OrderType.MARKET, pn.OrderType.STOP, pn.OrderType.TRAILING_STOP):
            if model == "slippage":
                assert (f.price >= side_px) if buy else (f.price <= side_px), f
            else:
                assert f.price == side_px, f
        else:
            assert (f.price <= o.limit) if buy else (f.price >= o.limit), (f, o)
            if model != "slippage":
                assert f.price in (side_px, o.limit), (f, o)

    # ------------------------------------------------------------------ file books only
    @precondition(lambda self: self.FILE)
    @rule()
    def reopen(self) -> None:
        before = self.book.state_hash()
        now_before = self.book.now
        orders_before = {name: [durable(o) for o in a.orders(epoch="all")] for name, a in self.accts.items()}
        snaps_before = {name: a.snapshot() for name, a in self.accts.items()}
        self.book.close()
        self.book = pn.Engine(self.path, **self.config)
        self.raised_before_open = self.raised
        if self.listening:
            self.book.subscribe(self._failing_listener)
        assert self.book.state_hash() == before, "reopening the book changed its state"
        assert self.book.now == now_before, "reopening the book moved engine time"
        self.accts = {name: self.book.account(name) for name in ACCOUNTS}
        for name, acct in self.accts.items():
            assert [durable(o) for o in acct.orders(epoch="all")] == orders_before[name]
            s, b = acct.snapshot(), snaps_before[name]
            assert (s.cash, s.reserved, s.realized_pl, s.fees, s.epoch) == (b.cash, b.reserved, b.realized_pl, b.fees,
                                                                          b.epoch)


class MemoryBookMachine(BookMachine):
    FILE = False


class FileBookMachine(BookMachine):
    FILE = True


class ShortsMemoryBookMachine(BookMachine):
    FILE = False
    CONFIG_CHOICES = SHORT_CONFIGS


MemoryBookMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FileBookMachine.TestCase.settings = settings(
    max_examples=max(EXAMPLES // 5, 5), stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ShortsMemoryBookMachine.TestCase.settings = MemoryBookMachine.TestCase.settings

test_random_commands_on_memory_book_keep_books_balanced = MemoryBookMachine.TestCase
test_random_commands_with_short_selling_keep_books_balanced = ShortsMemoryBookMachine.TestCase
test_random_commands_on_file_book_keep_books_balanced_across_reopen = FileBookMachine.TestCase


# ---------------------------------------------------------------------------------------------------
# Scenarios the random commands reach (pinned here as plain, fast, deterministic tests)


def _quote(book: pn.Engine, sym: str, bid: str, ask: str, ts: int, **kw: Any) -> None:
    book.on_quote(pn.Quote(sym, bid=bid, ask=ask, ts=ts, **kw))


def test_short_sale_while_all_shares_are_held_for_a_resting_sell_does_not_sell_those_shares() -> None:
    """Shorts on, 10 AAPL held, all 10 held for a resting sell limit: a market sell of 5 has no free
    shares, so it must not sell shares that are held for the other order ("you cannot sell the same
    shares twice"); the position's reserved shares may never exceed what it holds."""
    book = pn.Engine(":memory:", short_selling=True)
    acct = book.account("alice")
    _quote(book, "AAPL", "100.00", "100.10", T0)
    acct.buy("AAPL", 10)
    resting = acct.sell("AAPL", 10, limit=105, tif="gtc")
    assert (resting.status, resting.reserved_shares) == (pn.OrderStatus.PENDING, 10)
    acct.sell("AAPL", 5)
    pos = acct.position("AAPL")
    assert pos is None or pos.reserved_qty <= max(pos.qty, 0), (pos.qty, pos.reserved_qty)
    book.check_invariants()


def test_replace_market_buy_after_reopen_before_any_quote_is_refused_for_want_of_a_quote(tmp_path: Any) -> None:
    """A file book with a market buy waiting out its review window is closed and reopened (quotes are
    not state, so the book has no quote yet): a new quantity cannot be priced, so the replace is
    refused with the reason, journalled, and the order stays as it was."""
    path = str(tmp_path / "book.duckdb")
    book = pn.Engine(path, review_seconds=5)
    acct = book.account("alice")
    _quote(book, "AAPL", "189.90", "190.10", T0)
    o = acct.buy("AAPL", 10, tif="gtc")
    assert o.status is pn.OrderStatus.PENDING
    book.close()
    book = pn.Engine(path, review_seconds=5)
    try:
        acct = book.account("alice")
        before = book.state_hash()
        with pytest.raises(pn.ReplaceRefused, match=f"order {o.id} was not changed: no quote for AAPL yet"):
            acct.replace(o.id, qty=5)
        assert book.state_hash() == before
        assert acct.order(o.id).qty == 10
        book.check_invariants()
    finally:
        book.close()


def test_replace_short_sell_after_reopen_before_any_quote_is_refused_for_want_of_a_quote(tmp_path: Any) -> None:
    """The same for a short sale: its cash reserve is 150% of a price that no quote gives yet."""
    path = str(tmp_path / "book.duckdb")
    book = pn.Engine(path, review_seconds=5, short_selling=True)
    acct = book.account("alice")
    _quote(book, "AAPL", "189.90", "190.10", T0)
    o = acct.sell("AAPL", 10, tif="gtc")  # a short sale, waiting out the review window
    assert o.status is pn.OrderStatus.PENDING
    book.close()
    book = pn.Engine(path, review_seconds=5, short_selling=True)
    try:
        acct = book.account("alice")
        before = book.state_hash()
        with pytest.raises(pn.ReplaceRefused, match=f"order {o.id} was not changed: no quote for AAPL yet"):
            acct.replace(o.id, qty=12)
        assert book.state_hash() == before
        assert acct.order(o.id).qty == 10
        book.check_invariants()
    finally:
        book.close()


def test_size_model_quote_without_sizes_leaves_orders_waiting_and_the_book_unchanged() -> None:
    """fill_model="size" on a quote without sizes: nothing triggers or fills on it, nothing changes, and
    the order says what it waits for; the next quote with sizes triggers the stop and fills it."""
    book = pn.Engine(":memory:", fill_model="size")
    acct = book.account("alice")
    _quote(book, "AAPL", "189.90", "190.10", T0, last="190.00", bid_size=100, ask_size=100)
    o = acct.buy("AAPL", 10, stop=200, tif="gtc")
    assert (o.status, o.triggered) == (pn.OrderStatus.PENDING, False)
    before = book.state_hash()
    _quote(book, "AAPL", "200.90", "201.10", T0 + SEC, last="201.00")
    assert book.state_hash() == before
    assert (o.status, o.triggered, o.filled_qty) == (pn.OrderStatus.PENDING, False, 0)
    assert o.reason == "waiting for a quote with sizes (fill model 'size')"
    _quote(book, "AAPL", "200.90", "201.10", T0 + 2 * SEC, last="201.00", bid_size=100, ask_size=4)
    assert (o.status, o.triggered, o.filled_qty, o.avg_fill_price) == (pn.OrderStatus.PARTIALLY_FILLED, True, 4,
                                                                      Decimal("201.1"))
    book.check_invariants()


def test_file_book_reopen_does_not_move_engine_time_backwards(tmp_path: Any) -> None:
    """Engine time never goes backwards (Contracts: Time), across a reopen too, although the last hour
    of quotes before the close produced no journalled event."""
    path = str(tmp_path / "book.duckdb")
    book = pn.Engine(path)
    acct = book.account("alice")
    _quote(book, "AAPL", "189.90", "190.10", T0)
    acct.buy("AAPL", 1, limit=100, tif="gtc")
    _quote(book, "AAPL", "189.90", "190.10", T0 + 3_600 * SEC)
    assert book.now == T0 + 3_600 * SEC
    book.close()
    book = pn.Engine(path)
    try:
        assert book.now == T0 + 3_600 * SEC
    finally:
        book.close()
