"""The Account facade: one trader's view of a book, in the trader's own words.

``book.account("alice").buy("AAPL", 10, limit=189.50)``: commands go to the engine (which
decides, journals and applies them); reads build immutable views from the ledger's state.
Reads cost what they return: ``orders(status="open")`` walks the open orders only,
``positions()`` builds one cheap view per position (int units inside, a ``Decimal`` when a
field is read), ``snapshot()`` is positions plus open orders.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from ..errors import InvalidInput
from ..money import fmt_money, from_units
from ..quote import Quote, normalize_symbol, to_ns
from .ledger import Ledger, equity_units
from .model import (
    Alert,
    Estimate,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    PositionView,
    RoundTrip,
    Side,
    Snapshot,
)
from .state import AccountState, Position
from .stats import account_stats


class Book(Protocol):
    """What an Account needs of its engine (the engine implements it; account.py never imports it)."""

    ledger: Ledger
    config: Any

    @property
    def now(self) -> int: ...
    @property
    def seq(self) -> int: ...
    def quote(self, symbol: str) -> Quote | None: ...
    def health(self) -> dict[str, Any]: ...
    def last_close(self) -> int: ...
    def order(self, account: str, order_id: Any) -> Order: ...
    def submit(self, account: str, symbol: Any, side: Any, qty: Any, **kw: Any) -> Order: ...
    def replace(self, account: str, order_id: Any, **kw: Any) -> Order: ...
    def cancel(self, account: str, order_id: Any) -> Order: ...
    def cancel_all(self, account: str, symbol: str | None = None) -> list[Order]: ...
    def close_position(self, account: str, symbol: str | None = None) -> list[Order]: ...
    def reset(self, account: str, cash: Any = None) -> None: ...
    def estimate(self, account: str, symbol: Any, side: Any, qty: Any, **kw: Any) -> Estimate: ...
    def oco(self, account: str, first: Any, second: Any) -> tuple[Order, Order]: ...
    def set_watchlist(self, account: str, symbols: Any) -> list[str]: ...
    def watchlist(self, account: str) -> list[str] | None: ...
    def annotate(self, account: str, trip_id: Any, note: Any = None, tags: Any = None) -> RoundTrip: ...
    def trip(self, account: str, trip_id: Any) -> RoundTrip: ...
    def alert(self, account: str, symbol: Any, above: Any = None, below: Any = None) -> Alert: ...
    def alerts(self, account: str) -> list[Alert]: ...
    def remove_alert(self, account: str, alert_id: Any) -> Alert: ...

_ACCOUNT_RE = re.compile(r"[a-z0-9_-]{1,32}", re.ASCII)
_P, _PF = OrderStatus.PENDING, OrderStatus.PARTIALLY_FILLED
_OPEN_WORDS = ("open",)
_NY = ZoneInfo("America/New_York")


def account_key(name: object) -> str:
    """An account name as the book keys it: stripped, lower-cased ASCII ``a-z0-9_-``, 1-32 characters.

    Only ASCII letters are case-folded, so ``"ſam"`` or the Kelvin sign never open someone
    else's ``sam``/``kelvin`` account: they are refused with the rule.
    """
    if not isinstance(name, str):
        raise InvalidInput(f"account name must be text, was {name!r}")
    key = name.strip()
    if key.isascii():
        key = key.lower()
    if not _ACCOUNT_RE.fullmatch(key):
        raise InvalidInput(f"account name {name!r} must be 1-32 of a-z, 0-9, _ and - (ASCII)")
    return key


def _statuses(status: Any) -> set[OrderStatus] | None:
    if status is None:
        return None
    items = [status] if isinstance(status, str | OrderStatus) else list(status)
    want: set[OrderStatus] = set()
    for s in items:
        if isinstance(s, str) and s.strip().lower() in _OPEN_WORDS:
            want |= {_P, _PF}
        else:
            want.add(OrderStatus.parse(s, "status"))
    return want


class Account:
    """One paper account in a book: orders, cash, positions, P/L and its history.

    Get it with ``book.account(name)``.  Listings show the current epoch (since the
    last ``reset``) unless ``epoch="all"``.
    """

    def __init__(self, engine: Book, name: str) -> None:
        self._engine = engine
        self._name = name

    @property
    def _a(self) -> AccountState:
        return self._engine.ledger.accounts[self._name]

    # -- identity ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def epoch(self) -> int:
        return self._a.epoch

    @property
    def engine(self) -> Book:
        return self._engine

    @property
    def now(self) -> int:
        return self._engine.now

    def quote(self, symbol: str) -> Quote | None:
        """The latest quote seen for ``symbol`` (never a future one)."""
        return self._engine.quote(symbol)

    # -- commands ------------------------------------------------------------------------
    def buy(self, symbol: str, qty: int, *, limit: Any = None, stop: Any = None, tif: str | None = None,
            client_order_id: str | None = None, trail: Any = None, trail_pct: Any = None, take_profit: Any = None,
            stop_loss: Any = None) -> Order:
        """Buy: market, or limit / stop / stop-limit from which prices are given.

        ``trail=1.00`` or ``trail_pct=2.5``: a trailing stop (its level follows the lowest price since
        acceptance).  ``take_profit=`` / ``stop_loss=``: a bracket (a take-profit limit and a stop-loss
        stop are placed for what fills, as an OCO pair).  ``tif="ioc"`` / ``"fok"``: act once, never rest.
        """
        return self._engine.submit(self._name, symbol, "BUY", qty, limit=limit, stop=stop, tif=tif,
                                   client_order_id=client_order_id, trail=trail, trail_pct=trail_pct,
                                   take_profit=take_profit, stop_loss=stop_loss)

    def sell(self, symbol: str, qty: int, *, limit: Any = None, stop: Any = None, tif: str | None = None,
             client_order_id: str | None = None, trail: Any = None, trail_pct: Any = None, take_profit: Any = None,
             stop_loss: Any = None) -> Order:
        """Sell: market, or limit / stop / stop-limit from which prices are given (see :meth:`buy`)."""
        return self._engine.submit(self._name, symbol, "SELL", qty, limit=limit, stop=stop, tif=tif,
                                   client_order_id=client_order_id, trail=trail, trail_pct=trail_pct,
                                   take_profit=take_profit, stop_loss=stop_loss)

    def submit(self, symbol: str, side: str | Side, qty: int, *, type: str | OrderType, limit: Any = None,
               stop: Any = None, tif: str | None = None, client_order_id: str | None = None, trail: Any = None,
               trail_pct: Any = None, take_profit: Any = None, stop_loss: Any = None) -> Order:
        """The explicit form (the ticket and the Broker protocol): type and prices must agree."""
        return self._engine.submit(self._name, symbol, side, qty, type=type, limit=limit, stop=stop, tif=tif,
                                   client_order_id=client_order_id, trail=trail, trail_pct=trail_pct,
                                   take_profit=take_profit, stop_loss=stop_loss)

    def oco(self, first: Any, second: Any) -> tuple[Order, Order]:
        """One cancels the other: two open orders of this account (or ``pn.OrderRequest``s placed now) of
        one symbol and side with the same remaining quantity become a pair holding one reservation.
        When one fills the other is cancelled; a partial fill of one reduces the other."""
        return self._engine.oco(self._name, first, second)

    def replace(self, order_id: int | Order, *, qty: int | None = None, limit: Any = None, stop: Any = None,
                tif: str | None = None, trail: Any = None, trail_pct: Any = None) -> Order:
        """Edit an open order in place (``qty`` is the new total); raises ``ReplaceRefused``."""
        return self._engine.replace(self._name, order_id, qty=qty, limit=limit, stop=stop, tif=tif, trail=trail,
                                    trail_pct=trail_pct)

    def schedule(self, every: Any = None, at: Any = None, fn: Any = None) -> Any:
        """A timer for a running strategy: ``fn(ctx)`` every period (``every="1min"``) or once per session
        day at a New York time (``at="15:55"``), on engine time; set it in ``on_start``.  Returns a
        ``Timer`` (``.cancel()``).  See :mod:`papernb.strategy`."""
        runner = getattr(self, "_runner", None)
        if runner is None:
            raise InvalidInput("ctx.schedule works in a running strategy (pn.backtest or session.run): call it "
                               "from on_start")
        return runner.schedule(every=every, at=at, fn=fn)

    def cancel(self, order_id: int | Order) -> Order:
        """Cancel an open order; a filled or closed order raises ``OrderNotOpen``."""
        return self._engine.cancel(self._name, order_id)

    def cancel_all(self, symbol: str | None = None) -> list[Order]:
        """Cancel every open order (of ``symbol``) in one command; returns them."""
        return self._engine.cancel_all(self._name, symbol)

    def close(self, symbol: str) -> list[Order]:
        """Close the position in ``symbol``: cancel the open orders that hold it, then one market order."""
        return self._engine.close_position(self._name, symbol)

    def close_all(self) -> list[Order]:
        """Close every open position, in one command (see :meth:`close`)."""
        return self._engine.close_position(self._name, None)

    def reset(self, cash: Any = None) -> None:
        """Start over with ``cash`` (the starting cash by default), keeping the history.

        In one command: open orders are cancelled ("account reset"), open positions are closed
        at their last mark (journalled, so each round trip ends with a verdict), and a new
        epoch begins; listings and stats then show the new epoch, ``epoch="all"`` everything.
        """
        self._engine.reset(self._name, cash)

    def estimate(self, symbol: str, side: str | Side, qty: int, *, type: str | OrderType | None = None,
                 limit: Any = None, stop: Any = None, trail: Any = None, trail_pct: Any = None) -> Estimate:
        """What this order would hold and cost if placed now, by the engine's own rules."""
        return self._engine.estimate(self._name, symbol, side, qty, type=type, limit=limit, stop=stop, trail=trail,
                                     trail_pct=trail_pct)

    # -- the trader's records: watchlist, notes on round trips, price alerts -------------------
    def watchlist(self) -> list[str] | None:
        """The symbols this account watches, in its order; None if it never set a watchlist
        (the app then shows the symbols the feed carries)."""
        return self._engine.watchlist(self._name)

    def set_watchlist(self, symbols: Iterable[str]) -> list[str]:
        """Replace the watchlist (journalled: a reopened book has it); returns it normalized."""
        return self._engine.set_watchlist(self._name, symbols)

    def annotate(self, trip_id: int | RoundTrip, note: str | None = None,
                 tags: Iterable[str] | str | None = None) -> RoundTrip:
        """Write down why round trip ``trip_id`` worked (or did not): a note and tags like
        ``["breakout", "news"]``.  None keeps what it has; ``""`` / ``[]`` clear it.  Journalled."""
        return self._engine.annotate(self._name, trip_id, note, tags)

    def trip(self, trip_id: int) -> RoundTrip:
        """Round trip ``trip_id`` of this account, any epoch (``UnknownTrip`` for anyone else's)."""
        return self._engine.trip(self._name, trip_id)

    def alert(self, symbol: str, above: Any = None, below: Any = None) -> Alert:
        """Tell me once when ``symbol``'s mark reaches ``above`` or falls to ``below`` (kept in the book
        until it fires or is removed; the app shows it as a notification)."""
        return self._engine.alert(self._name, symbol, above, below)

    def alerts(self) -> list[Alert]:
        """The open price alerts, oldest first."""
        return self._engine.alerts(self._name)

    def remove_alert(self, alert_id: int | Alert) -> Alert:
        """Remove an open alert; returns it (status ``removed``)."""
        return self._engine.remove_alert(self._name, alert_id)

    # -- orders --------------------------------------------------------------------------
    def order(self, order_id: int) -> Order:
        """The live order ``order_id`` of this account (``UnknownOrder`` for anyone else's)."""
        return self._engine.order(self._name, order_id)

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        """The order this account placed with ``client_order_id``, if any (any epoch)."""
        o = self._a.coids.get(client_order_id)
        return None if o is None else o.handle

    def orders(self, status: Any = None, symbol: str | None = None, epoch: int | str | None = None) -> list[Order]:
        """Live orders in id order; ``status`` is a status, ``"open"``, or a list of them."""
        a = self._a
        if status == "open" and symbol is None and epoch is None:  # what strategies ask at every decision
            return [o.handle for o in a.open.values()]
        want = _statuses(status)
        sym = None if symbol is None else normalize_symbol(symbol)
        if want is not None and want <= {_P, _PF}:  # open orders: O(open), whatever the history
            src: Iterable = a.open.values()
            ep = None  # open orders are always of the current epoch (a reset cancels them)
        else:
            ep = self._epoch_filter(epoch)
            src = a.orders[a.orders_from:] if ep == a.epoch and epoch is None else a.orders
        out = []
        for o in src:
            if (want is None or o.status in want) and (sym is None or o.symbol == sym) \
                    and (ep is None or o.epoch == ep):
                out.append(o.handle)
        return out

    def _epoch_filter(self, epoch: int | str | None) -> int | None:
        if epoch is None:
            return self._a.epoch
        if epoch == "all":
            return None
        if isinstance(epoch, int) and not isinstance(epoch, bool):
            return epoch
        raise InvalidInput(f"epoch must be an int or 'all', was {epoch!r}")

    # -- positions and snapshots ---------------------------------------------------------
    @staticmethod
    def _view(p: Position) -> PositionView:
        q = p.book.quote
        if q is not None:
            m = q._mark
            return tuple.__new__(PositionView, (p.sym, p.qty, p.cost, m, m, q._chg, p.res_sell, p.opened))
        return tuple.__new__(PositionView, (p.sym, p.qty, p.cost, None, p.carry(), None, p.res_sell, p.opened))

    def positions(self) -> list[PositionView]:
        """Open positions marked at their latest quotes, by symbol."""
        out = []
        append, new, view = out.append, tuple.__new__, self._view
        for p in self._a.sorted_positions():  # what ``_view`` does, inline: strategies call this at every decision
            if p.qty:
                q = p.book.quote
                if q is not None:
                    m = q._mark
                    append(new(PositionView, (p.sym, p.qty, p.cost, m, m, q._chg, p.res_sell, p.opened)))
                else:
                    append(view(p))
        return out

    def position(self, symbol: str) -> PositionView | None:
        """The open position in ``symbol`` marked at its latest quote, or None when flat."""
        p = self._a.positions.get(normalize_symbol(symbol))
        if p is None or not p.qty:
            return None
        return self._view(p)

    def snapshot(self) -> Snapshot:
        """Cash, reservations, buying power, market value, equity and P/L, exact."""
        eng = self._engine
        a = self._a
        views = self.positions()
        mv = cost = 0
        for v in views:
            mv += v[1] * v[4]
            cost += v[2]
        day = self._day_pl(a.cash + mv)
        opens = tuple(o.view() for o in a.open.values())
        return tuple.__new__(Snapshot, (self._name, eng.now, a.epoch, a.start, a.cash, a.reserved, mv, cost,
                                        a.realized, a.fees, day, tuple(views), opens, eng.seq))

    def _day_pl(self, equity: int) -> int | None:
        a = self._a
        now = self._engine.now
        if not now:
            return None
        close = self._engine.last_close()
        if a.epoch_start > close:
            return equity - a.start
        i = bisect_right(a.equity, (close, 1 << 62))
        if i == 0:
            return None
        return equity - a.equity[i - 1][1]

    def equity_units(self) -> int:
        """Equity now, in int units (for the engine's own bookkeeping and stats)."""
        return equity_units(self._a)

    def fills(self, epoch: int | str | None = None) -> list[Fill]:
        a = self._a
        if epoch is None:
            return a.fills[a.fills_from:]
        ep = self._epoch_filter(epoch)
        return [f for f in a.fills if ep is None or f.epoch == ep]

    def fills_after(self, fill_id: int) -> list[Fill]:
        """Fills with an id above ``fill_id`` (any epoch), in order: "what filled since I last looked"."""
        fills = self._a.fills
        i = bisect_right(fills, fill_id, key=lambda f: f.id)
        return fills[i:]

    def trades(self, epoch: int | str | None = None, *, tag: str | None = None, symbol: str | None = None,
               since: Any = None, until: Any = None) -> list[RoundTrip]:
        """Round trips in closing order, of the current epoch unless ``epoch``; filtered by ``tag``
        (one tag), ``symbol`` and the day they closed (``since`` / ``until``: New York dates, inclusive,
        or aware datetimes / int ns)."""
        a = self._a
        if epoch is None:
            trips = a.trips[a.trips_from:]
        else:
            ep = self._epoch_filter(epoch)
            trips = [t for t in a.trips if ep is None or t.epoch == ep]
        if tag is None and symbol is None and since is None and until is None:
            return trips
        return filter_trips(trips, tag=tag, symbol=symbol, since=since, until=until)

    def equity_history(self, max_points: int | None = None) -> list[tuple[int, Decimal]]:
        """(ts ns, equity) points of the current epoch: at most one a second, plus each fill.

        ``max_points`` thins a long day evenly (first and last kept) before converting, so a
        chart that redraws every second does not pay for every point of the session.
        """
        pts = self._a.equity
        n = len(pts)
        if max_points is not None and n > max(max_points, 2):
            step = (n - 1) / (max_points - 1)
            pts = [pts[round(i * step)] for i in range(max_points)]
        return [(ts, from_units(eq)) for ts, eq in pts]  # type: ignore[misc]

    def drawdown(self) -> tuple[int, int]:
        """(deepest fall from a peak, that peak) of the current epoch, units, counting the live equity."""
        a = self._a
        dd, peak = a.max_dd, a.max_dd_peak
        now_eq = self.equity_units()  # the live equity may be below the last recorded point
        if a.peak - now_eq > dd:
            dd, peak = a.peak - now_eq, a.peak
        return dd, peak

    def stats(self, epoch: int | str | None = None, *, tag: str | None = None, symbol: str | None = None,
              since: Any = None, until: Any = None, periodicity: str | None = None, risk_free: float = 0.0,
              marks: Any = None) -> dict[str, Any]:
        """Trades, win rate, average win/loss, profit factor, expectancy, net P/L, drawdown, return, and the
        risk numbers of the current epoch (papernb/report.py: Sharpe, Sortino, Calmar, exposure, turnover;
        the benchmark and exposure values need ``marks``, which a backtest has and a live account does not).

        ``tag``, ``symbol``, ``since`` and ``until`` (as :meth:`trades`) choose the round trips the trade
        figures count ("my breakouts work, my news trades don't"); equity, drawdown, return and the risk
        numbers stay the account's."""
        from ..report import risk_stats

        trips = self.trades(epoch, tag=tag, symbol=symbol, since=since, until=until)
        st = account_stats(trips, self.snapshot(), self.drawdown(), self._engine.health()["waited_on_stale_quote"])
        if tag is not None or symbol is not None or since is not None or until is not None:
            return st
        a = self._a
        points = [(ts, eq / 10_000) for ts, eq in a.equity if ts > 0]  # (0: opened before any time was known)
        now = self._engine.now
        if points and now > points[-1][0]:
            points.append((now, self.equity_units() / 10_000))
        st.update(risk_stats(points, self.fills(), marks=marks, periodicity=periodicity, risk_free=risk_free,
                             end=now))
        return st

    # -- DataFrames ------------------------------------------------------------------------
    def orders_df(self, status: Any = None, epoch: int | str | None = None) -> Any:
        from .frames import orders_frame

        return orders_frame(self.orders(status=status, epoch=epoch))

    def fills_df(self, epoch: int | str | None = None) -> Any:
        from .frames import dataclass_frame

        return dataclass_frame(self.fills(epoch), Fill)

    def positions_df(self) -> Any:
        from .frames import views_frame

        return views_frame(self.positions(), PositionView)

    def trades_df(self, epoch: int | str | None = None) -> Any:
        from .frames import trades_frame

        return trades_frame(self.trades(epoch))

    def equity_df(self) -> Any:
        from .frames import equity_frame

        return equity_frame(self._a.equity)

    def export(self, path: Any, epoch: int | str | None = None) -> list[Any]:
        """Take the day home: ``path`` ending in ``.xlsx`` writes one workbook (a sheet per table),
        any other path is a folder that gets ``orders.csv``, ``fills.csv``, ``round_trips.csv`` and
        ``equity.csv``.  Times are New York time (the zone is named in each header), money exact.
        Returns the files written."""
        from .export import export_account

        return export_account(self, path, epoch)

    def __repr__(self) -> str:
        s = self.snapshot()
        return (f"<Account {self._name}: equity {fmt_money(s[4] + s[6])}, cash {fmt_money(s[4])}, "
                f"buying power {fmt_money(s[4] - s[5])}, {len(s.positions)} positions, "
                f"{len(s.open_orders)} open orders>")


# -- whole-book checks (tests, backtests) ---------------------------------------------------
_TRIP_FIELDS = ("account", "symbol", "direction", "qty", "entries", "exits", "avg_entry", "avg_exit", "realized_pl",
                "fees", "net_pl", "return_pct", "opened_at", "closed_at", "mfe", "mae", "epoch")


def state_hash(ledger: Ledger) -> str:
    """A hash of everything durable (not quotes, marks or equity points).

    The text hashed is the one papernb has always hashed (round trips without their id, which
    is derived from journal order), so a book's hash does not change across versions.
    """
    h = hashlib.sha256()
    for name in sorted(ledger.accounts):
        a = ledger.accounts[name]
        h.update(repr((name, a.epoch, a.start, a.cash, a.reserved, a.realized, a.fees)).encode())
        for sym in sorted(a.positions):
            p = a.positions[sym]
            h.update(repr((sym, p.qty, p.cost, p.res_sell, p.res_short, p.opened, p.entries, p.exits,
                           p.entry_qty, p.entry_value, p.exit_qty, p.exit_value, p.realized, p.fees,
                           p.max_abs)).encode())
        for t in a.trips:
            h.update(("RoundTrip(" + ", ".join(f"{f}={getattr(t, f)!r}" for f in _TRIP_FIELDS) + ")").encode())
        for f in a.fills:
            h.update(repr(f).encode())
    for oid in sorted(ledger.orders):
        o = ledger.orders[oid]
        reason = None if o.is_open else o.reason
        h.update(repr((oid, o.account, o.symbol, o.side, o.type, o.qty, o.filled, o.limit, o.stop, o.tif,
                       o.status, reason, o.coid, o.created, o.eligible, o.expires, o.fill_value, o.fees,
                       o.res_cash, o.res_shares, o.triggered, o.fresh, o.epoch)).encode())
        if o.trailing or o.links:  # the quant's order types (hashed only when used: older hashes stand)
            h.update(repr((o.trail, o.trail_pct, o.best, o.tp, o.sl, None if o.parent is None else o.parent.id,
                           None if o.oco is None else o.oco.id)).encode())
    h.update(repr((ledger.next_order_id, ledger.next_fill_id)).encode())
    # the trader's records, only when there are any (so the hash of a book without them is as it always was)
    for name in sorted(ledger.accounts):
        notes = [(t.id, t.note, t.tags) for t in ledger.accounts[name].trips if t.note or t.tags]
        if notes:
            h.update(repr((name, "notes", notes)).encode())
    for name in sorted(ledger.watchlists):
        h.update(repr((name, "watchlist", ledger.watchlists[name])).encode())
    for aid in sorted(ledger.alerts):
        al = ledger.alerts[aid]
        h.update(repr((aid, al.account, al.symbol, al.above, al.below, al.created, al.status, al.closed_at, al.price,
                       al.direction)).encode())
    return h.hexdigest()


def check_invariants(engine: Book) -> None:
    """Raise AssertionError if the books do not balance exactly."""
    led = engine.ledger
    for a in led.accounts.values():
        open_orders = [o for o in led.orders.values() if o.account == a.name and o.is_open]
        assert [o.id for o in open_orders] == list(a.open), (a.name, "open index", list(a.open))
        res = sum(o.res_cash for o in open_orders) + sum(p.res_short for p in a.positions.values())
        assert res == a.reserved, (a.name, res, a.reserved)
        for o in open_orders:  # an open OCO pair: the same remaining quantity, one reservation
            p = o.oco
            if p is not None and p.is_open:
                assert o.qty - o.filled == p.qty - p.filled, ("oco", o.id, p.id)
                assert not ((o.res_cash or o.res_shares) and (p.res_cash or p.res_shares)), ("oco held twice", o.id)
            assert not o.ioc or o.eligible > engine.now, ("an IOC / FOK order rests", o.id)
        for sym, p in a.positions.items():
            held = sum(o.res_shares for o in open_orders if o.symbol == sym)
            assert held == p.res_sell, (sym, held, p.res_sell)
            assert 0 <= p.res_sell <= max(p.qty, 0), (sym, p.res_sell, p.qty)
            assert p.qty != 0 or p.cost == 0, (sym, p.qty, p.cost)
            assert p.qty != 0, (sym, "a flat position was kept")
        assert a.cash >= 0, (a.name, a.cash)
        ids = [t.id for t in a.trips]
        assert ids == sorted(set(ids)), (a.name, "round trip ids", ids)
        s = Account(engine, a.name).snapshot()
        lhs = s.equity - s.starting_cash
        assert lhs == s.realized_pl + s.unrealized_pl - s.fees, (lhs, s.realized_pl, s.unrealized_pl, s.fees)
    listed = {al.id for st in led.symbols.values() for al in st.alerts}
    open_ids = {aid for aid, al in led.alerts.items() if al.status == "open"}
    assert listed == open_ids, ("alert index", listed, open_ids)
    assert led.open_alerts == len(open_ids), ("open alerts", led.open_alerts, len(open_ids))
    for al in led.alerts.values():
        assert al.account in led.accounts and (al.status == "open") == (al.closed_at is None), al.id


# -- filters of round trips (the journal's "by tag, symbol and date") ---------------------------
def _bound(value: Any, what: str, end: bool) -> int:
    """A filter bound in int ns UTC: a New York date (whole day), an ISO date text, an aware datetime, ns."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput(f"{what} must be a date like 2024-11-25, was {value!r}") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value + timedelta(days=1) if end else value
        return to_ns(datetime(day.year, day.month, day.day, tzinfo=_NY), what)
    ns = to_ns(value, what)
    return ns + 1 if end else ns


def filter_trips(trips: list[RoundTrip], *, tag: str | None = None, symbol: str | None = None, since: Any = None,
                 until: Any = None) -> list[RoundTrip]:
    """``trips`` that carry ``tag``, are in ``symbol`` and closed between ``since`` and ``until``."""
    word = None
    if tag is not None:
        if not isinstance(tag, str) or not tag.strip():
            raise InvalidInput(f"tag must be a word like 'breakout', was {tag!r}")
        word = tag.strip().lower()
    sym = None if symbol is None else normalize_symbol(symbol)
    lo = None if since is None else _bound(since, "since", end=False)
    hi = None if until is None else _bound(until, "until", end=True)  # exclusive
    if lo is not None and hi is not None and hi <= lo:
        raise InvalidInput("until must not be before since")
    return [t for t in trips if (word is None or word in t.tags) and (sym is None or t.symbol == sym)
            and (lo is None or t.closed_at >= lo) and (hi is None or t.closed_at < hi)]
