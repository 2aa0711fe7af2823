"""The ledger: the book's durable state and the one place that changes it.

:meth:`Ledger.apply` takes an event and updates orders, reservations, cash, positions,
realized P/L and round trips.  Live commands and journal replay both come through here,
so a reopened (or rebuilt) book is the same book.  Nothing here decides anything: the
matching and risk rules decided before the event was made; applying it cannot fail for a
well-formed journal.

Accounting rules (exact, in int units of $0.0001):
- a fill moves ``qty x price + fee`` of cash; buys release the cash they held pro rata,
  sells first the shares they held, then the cash held for any short part;
- a position keeps its exact cost; closing part of it realizes proceeds minus
  ``cost x closed / qty`` (half-even) and removes that same amount from the cost, so
  equity - starting cash == realized + unrealized - fees, always;
- a short (off by default) holds 150% of its value in cash until it is covered.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from ..money import Price, div_round, from_units
from . import events as ev
from .model import Fill, Order, OrderStatus, OrderType, RoundTrip, Side, TimeInForce, transition
from .state import AccountState, AlertState, OrderState, Position, SymbolBook

_P, _PF, _F = OrderStatus.PENDING, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED
_EXPIRED_REASON = "expired at the session close"


class Ledger:
    """Accounts, orders, positions and symbols of one book, changed only by :meth:`apply`."""

    def __init__(self, handles: dict[int, Order] | None = None) -> None:
        self.accounts: dict[str, AccountState] = {}
        self.orders: dict[int, OrderState] = {}
        self.symbols: dict[str, SymbolBook] = {}
        self.known: set[str] = set()  # symbols ever quoted in this book (an accepted order proves one)
        self.next_order_id = 1
        self.next_fill_id = 1
        self.next_trip_id = 1
        self.dirty_symbols: set[str] = set()  # symbols whose open-order lists hold closed orders
        # the trader's own records (not money): watchlists by account, price alerts by id
        self.watchlists: dict[str, list[str]] = {}
        self.alerts: dict[int, AlertState] = {}
        self.open_alerts = 0  # how many alerts are open: the quote loop looks for them only when > 0
        self.next_alert_id = 1
        self._handles = handles or {}  # live handles to reuse when rebuilding
        self._dispatch: dict[type, Callable[[Any], None]] = {
            ev.AccountOpened: self._account_opened, ev.AccountReset: self._account_reset,
            ev.PositionClosed: self._position_closed, ev.OrderAccepted: self._order_accepted,
            ev.OrderDenied: self._order_denied, ev.OrderRested: self._order_rested,
            ev.OrderTriggered: self._order_triggered, ev.OrderReplaced: self._order_replaced,
            ev.OrderReplaceRefused: _ignore, ev.OrderPartiallyFilled: self._order_filled,
            ev.OrderFilled: self._order_filled, ev.OrderCancelled: self._order_closed,
            ev.OrderRejected: self._order_closed, ev.OrderExpired: self._order_closed,
            ev.OrderTrailMoved: self._order_trail_moved, ev.OrderLinked: self._order_linked,
            ev.OrderResized: self._order_resized,
            ev.WatchlistSet: self._watchlist_set, ev.TripAnnotated: self._trip_annotated,
            ev.AlertSet: self._alert_set, ev.AlertRemoved: self._alert_closed, ev.AlertTriggered: self._alert_closed,
        }

    def apply(self, event: ev.Event) -> None:
        """Apply one event; the only way durable state changes."""
        self._dispatch[type(event)](event)

    def symbol(self, sym: str) -> SymbolBook:
        st = self.symbols.get(sym)
        if st is None:
            st = self.symbols[sym] = SymbolBook(sym)
        return st

    def compact(self) -> None:
        """Drop closed orders from the per-symbol open lists (after the matching loop, not during it)."""
        for sym in self.dirty_symbols:
            st = self.symbols[sym]
            st.orders = [o for o in st.orders if o.status is _P or o.status is _PF]
        self.dirty_symbols.clear()

    # -- accounts ----------------------------------------------------------------------------
    def _account_opened(self, e: ev.AccountOpened) -> None:
        a = AccountState(e.account, e.ts)
        a.new_epoch(1, e.cash, e.ts)
        self.accounts[e.account] = a

    def _account_reset(self, e: ev.AccountReset) -> None:
        a = self.accounts[e.account]
        for p in a.positions.values():  # closed just before (or, in schema-1 books, dropped)
            self._unlist_position(p)
        a.new_epoch(e.epoch, e.cash, e.ts)

    def _position_closed(self, e: ev.PositionClosed) -> None:
        a = self.accounts[e.account]
        a.cash += e.qty * e.price  # sold (or, for a short, bought back) at the price given
        pos = a.positions[e.symbol]
        pos.mfe, pos.mae = e.mfe, e.mae
        self._trade(a, pos, -e.qty, e.price, e.ts)

    # -- orders ------------------------------------------------------------------------------
    def _new_order(self, e: ev.OrderAccepted | ev.OrderDenied, status: OrderStatus) -> OrderState:
        a = self.accounts[e.account]
        o = OrderState(e.order_id, e.account, e.symbol, Side(e.side), OrderType(e.type), e.qty, e.limit, e.stop,
                       TimeInForce(e.tif), e.coid, e.ts, e.eligible_at, e.expires_at, a.epoch,
                       self._handles.get(e.order_id))
        o.status = status
        self.orders[o.id] = o
        a.orders.append(o)
        if o.coid is not None:
            a.coids[o.coid] = o
        if o.id >= self.next_order_id:
            self.next_order_id = o.id + 1
        if e.trail is not None or e.trail_pct is not None or e.take_profit is not None or e.stop_loss is not None \
                or e.parent_id is not None:
            self._new_order_links(o, e)
        return o

    def _new_order_links(self, o: OrderState, e: ev.OrderAccepted | ev.OrderDenied) -> None:
        """A trailing stop's distance, a bracket entry's plan, a bracket child's entry."""
        o.trail, o.trail_pct = e.trail, e.trail_pct
        o.tp, o.sl = e.take_profit, e.stop_loss
        r = o.request  # what a repeated client_order_id is compared with: a trailing stop was given no stop
        o.request = (*r[:5], None if o.trailing else r[5], r[6], (o.trail, o.trail_pct, o.tp, o.sl))
        if e.parent_id is not None:
            parent = self.orders[e.parent_id]
            o.parent = parent
            if parent.children is None:
                parent.children = []
            parent.children.append(o)
        o.links = o.tp is not None or o.sl is not None or o.parent is not None

    def _order_accepted(self, e: ev.OrderAccepted) -> None:
        o = self._new_order(e, transition(e.order_id, None, e.kind))
        a = self.accounts[e.account]
        if e.rested:
            o.fresh = False
            o.rest = o.limit
        if o.trailing:
            o.best = o.live_best = e.best
            o.live_stop = o.stop
        self._reserve(a, o, e.res_cash, e.res_shares)
        a.open[o.id] = o
        self.symbol(o.symbol).orders.append(o)
        self.known.add(o.symbol)  # it was accepted, so it had been quoted

    def _order_denied(self, e: ev.OrderDenied) -> None:
        o = self._new_order(e, transition(e.order_id, None, e.kind))
        o.reason = e.reason
        o.closed_at = e.ts

    def _order_rested(self, e: ev.OrderRested) -> None:
        o = self.orders[e.order_id]
        o.status = transition(o.id, o.status, e.kind)
        o.updated = e.ts
        o.fresh = False
        o.rest = o.limit  # from now on it fills at its limit when the quote reaches it

    def _order_triggered(self, e: ev.OrderTriggered) -> None:
        o = self.orders[e.order_id]
        o.status = transition(o.id, o.status, e.kind)
        o.updated = e.ts
        o.triggered = True
        o.fresh = True

    def _order_replaced(self, e: ev.OrderReplaced) -> None:
        o = self.orders[e.order_id]
        a = self.accounts[e.account]
        o.status = transition(o.id, o.status, e.kind)
        o.updated = e.ts
        self._release(a, o)
        if o.oco is not None:  # a member of an OCO pair: the replaced order now holds the pair's reservation
            self._release(a, o.oco)
        o.qty, o.limit, o.stop = e.qty, e.limit, e.stop
        o.tif, o.eligible, o.expires = TimeInForce(e.tif), e.eligible_at, e.expires_at
        o.ioc = o.tif is TimeInForce.IOC or o.tif is TimeInForce.FOK
        o.fresh = True
        o.rest = None
        o.waiting = None
        if e.rearmed:
            o.triggered = False
        if o.trailing:
            o.trail, o.trail_pct = e.trail, e.trail_pct
            o.live_stop = o.stop
        self._reserve(a, o, e.res_cash, e.res_shares)

    def _order_trail_moved(self, e: ev.OrderTrailMoved) -> None:
        o = self.orders[e.order_id]
        o.status = transition(o.id, o.status, e.kind)
        o.best = o.live_best = e.best
        o.stop = o.live_stop = e.stop

    def _order_linked(self, e: ev.OrderLinked) -> None:
        """An OCO pair: each knows the other; this order holds the pair's one reservation."""
        o, other = self.orders[e.order_id], self.orders[e.other_id]
        a = self.accounts[e.account]
        o.status = transition(o.id, o.status, e.kind)
        o.updated = e.ts
        self._release(a, o)
        self._release(a, other)
        o.oco, other.oco = other, o
        o.links = other.links = True
        self._reserve(a, o, e.res_cash, e.res_shares)

    def _order_resized(self, e: ev.OrderResized) -> None:
        o = self.orders[e.order_id]
        a = self.accounts[e.account]
        o.status = transition(o.id, o.status, e.kind)
        o.updated = e.ts
        self._release(a, o)
        o.qty = e.qty
        self._reserve(a, o, e.res_cash, e.res_shares)

    def _order_closed(self, e: ev.OrderCancelled | ev.OrderRejected | ev.OrderExpired) -> None:
        o = self.orders[e.order_id]
        o.status = transition(o.id, o.status, e.kind)
        o.updated = e.ts
        o.reason = _EXPIRED_REASON if type(e) is ev.OrderExpired else e.reason  # type: ignore[union-attr]
        self._close(self.accounts[e.account], o, e.ts)

    def _close(self, a: AccountState, o: OrderState, ts: int) -> None:
        self._release(a, o)
        o.waiting = None
        o.closed_at = ts
        o.rest = None
        a.open.pop(o.id, None)
        self.dirty_symbols.add(o.symbol)

    def _order_filled(self, e: ev.OrderFilled | ev.OrderPartiallyFilled) -> None:
        o = self.orders[e.order_id]
        a = self.accounts[e.account]
        status = transition(o.id, o.status, e.kind)
        o.updated = e.ts
        q, px, fee = e.qty, e.price, e.fee
        remaining = o.qty - o.filled
        p = o.oco
        if p is not None and (p.res_cash or p.res_shares):  # the pair's reservation moves to the order that fills
            o.res_cash += p.res_cash
            o.res_shares += p.res_shares
            p.res_cash = p.res_shares = 0
        # release what this part of the order was holding
        if o.buy:
            cash_q, cash_rem, sh = q, remaining, 0
        else:
            sh = min(o.res_shares, q)
            cash_q, cash_rem = q - sh, remaining - o.res_shares
        if cash_q == cash_rem:
            rel = o.res_cash
        else:
            rel = div_round(o.res_cash * cash_q, cash_rem) if cash_rem else 0
        o.res_cash -= rel
        a.reserved -= rel
        o.res_shares -= sh
        o.filled += q
        o.fill_value += q * px
        o.fees += fee
        o.waiting = None
        a.cash -= (q if o.buy else -q) * px + fee
        a.fees += fee
        pos = a.positions.get(o.symbol)
        if pos is None:
            pos = self._open_position(a, o.symbol, e.ts)
        pos.res_sell -= sh
        pos.mfe, pos.mae = e.mfe, e.mae
        pos.fees += fee
        realized = self._trade(a, pos, q if o.buy else -q, px, e.ts)
        a.fills.append(Fill(e.fill_id, o.id, a.name, o.symbol, o.side, q, from_units(px), from_units(fee), e.ts,
                            e.quote_ts, e.quote_age_ns, from_units(e.bid), from_units(e.ask), from_units(e.last),
                            from_units(realized), a.epoch))  # type: ignore[arg-type]
        if e.fill_id >= self.next_fill_id:
            self.next_fill_id = e.fill_id + 1
        o.status = status
        if status is _F:
            self._close(a, o, e.ts)

    # -- positions ---------------------------------------------------------------------------
    def _trade(self, a: AccountState, pos: Position, signed: int, px: int, ts: int) -> int:
        """Move ``pos`` by ``signed`` shares at ``px``; returns the P/L realized (the caller moves the cash)."""
        realized = 0
        P = pos.qty
        q = abs(signed)
        if P and (P > 0) != (signed > 0):  # reduces, closes or flips the position
            closed = min(q, abs(P))
            cost_removed = div_round(pos.cost * closed, abs(P))
            realized = (closed * px if P > 0 else -closed * px) - cost_removed
            if pos.res_short:
                rel_s = pos.res_short if closed == abs(P) else div_round(pos.res_short * closed, abs(P))
                pos.res_short -= rel_s
                a.reserved -= rel_s
            pos.cost -= cost_removed
            pos.qty = P + (closed if P < 0 else -closed)
            pos.exits += 1
            pos.exit_qty += closed
            pos.exit_value += closed * px
            pos.realized += realized
            a.realized += realized
            rest = q - closed
            if pos.qty == 0:
                self._close_trip(a, pos, ts)
                self._drop_position(a, pos)
                if rest:
                    pos = self._open_position(a, pos.sym, ts)
                    self._add(a, pos, -rest if signed < 0 else rest, px)
        else:
            self._add(a, pos, signed, px)
        return realized

    def _add(self, a: AccountState, pos: Position, signed: int, px: int) -> None:
        q = abs(signed)
        if not pos.entries:
            pos.long = signed > 0
        pos.qty += signed
        pos.cost += signed * px
        pos.entries += 1
        pos.entry_qty += q
        pos.entry_value += q * px
        if abs(pos.qty) > pos.max_abs:
            pos.max_abs = abs(pos.qty)
        if signed < 0:  # opening or adding to a short: hold 150% of its value
            add = (3 * q * px + 1) // 2
            pos.res_short += add
            a.reserved += add

    def _open_position(self, a: AccountState, sym: str, ts: int) -> Position:
        st = self.symbol(sym)
        p = Position(sym, ts, st)
        a.positions[sym] = p
        a.by_symbol = None
        st.positions.append(p)
        return p

    def _drop_position(self, a: AccountState, p: Position) -> None:
        if p.res_sell == 0 and a.positions.get(p.sym) is p:
            del a.positions[p.sym]
            a.by_symbol = None
            self._unlist_position(p)

    def _unlist_position(self, p: Position) -> None:
        st = self.symbols.get(p.sym)
        if st is not None and p in st.positions:
            st.positions.remove(p)

    def _close_trip(self, a: AccountState, p: Position, ts: int) -> None:
        net = p.realized - p.fees
        pct = (Decimal(net) * 100 / Decimal(p.entry_value)).quantize(Decimal("0.0001")) if p.entry_value \
            else Decimal(0)
        a.trips.append(RoundTrip(
            self.next_trip_id, a.name, p.sym, "long" if p.long else "short", p.max_abs, p.entries, p.exits,
            Price(Decimal(p.entry_value) / (p.entry_qty * 10_000)), Price(Decimal(p.exit_value) / (p.exit_qty * 10_000)),
            from_units(p.realized), from_units(p.fees), from_units(net), pct, p.opened, ts,  # type: ignore[arg-type]
            from_units(p.mfe), from_units(p.mae), a.epoch))  # type: ignore[arg-type]
        self.next_trip_id += 1

    # -- reservations ------------------------------------------------------------------------
    def _reserve(self, a: AccountState, o: OrderState, cash: int, shares: int) -> None:
        o.res_cash = cash
        o.res_shares = shares
        a.reserved += cash
        if shares:
            a.positions[o.symbol].res_sell += shares

    def _release(self, a: AccountState, o: OrderState) -> None:
        a.reserved -= o.res_cash
        o.res_cash = 0
        if o.res_shares:
            a.positions[o.symbol].res_sell -= o.res_shares
            o.res_shares = 0


    # -- the trader's records: watchlist, notes on round trips, price alerts --------------------
    def _watchlist_set(self, e: ev.WatchlistSet) -> None:
        self.watchlists[e.account] = list(e.symbols)

    def trip_index(self, a: AccountState, trip_id: int) -> int | None:
        """Where round trip ``trip_id`` sits in ``a.trips`` (ids grow in closing order), or None."""
        trips = a.trips
        i = bisect_left(trips, trip_id, key=lambda t: t.id)
        return i if i < len(trips) and trips[i].id == trip_id else None

    def _trip_annotated(self, e: ev.TripAnnotated) -> None:
        a = self.accounts[e.account]
        i = self.trip_index(a, e.trip_id)
        if i is not None:
            a.trips[i] = replace(a.trips[i], note=e.note, tags=tuple(e.tags))

    def _alert_set(self, e: ev.AlertSet) -> None:
        al = AlertState(e.alert_id, e.account, e.symbol, e.above, e.below, e.ts)
        self.alerts[al.id] = al
        self.symbol(al.symbol).alerts.append(al)
        self.open_alerts += 1
        if al.id >= self.next_alert_id:
            self.next_alert_id = al.id + 1

    def _alert_closed(self, e: ev.AlertRemoved | ev.AlertTriggered) -> None:
        al = self.alerts[e.alert_id]
        if type(e) is ev.AlertTriggered:
            al.status, al.price, al.direction = "triggered", e.price, e.direction
        else:
            al.status = "removed"
        al.closed_at = e.ts
        st = self.symbols.get(al.symbol)
        if st is not None and al in st.alerts:
            st.alerts.remove(al)
        self.open_alerts -= 1


def _ignore(e: ev.Event) -> None:
    """Journalled for the record; nothing changes (a refused replace)."""


def equity_units(a: AccountState) -> int:
    """Cash + the positions at their marks (never-quoted positions at cost)."""
    mv = 0
    for p in a.positions.values():
        q = p.book.quote
        mv += p.qty * (q._mark if q is not None else p.carry())
    return a.cash + mv
