"""RemoteBroker: the Broker protocol served by a running ``papernb serve``.

Commands are HTTP requests, answered once durable.  Reads are synchronous, as the widgets
expect, and come from a local mirror: the account snapshot and its orders, fed by the
service's event stream (``GET /v1/events``: order events and throttled account snapshots)
and refreshed after each command; fills, round trips, stats and equity are refreshed when an
order event says they changed.  If the stream drops (the service restarts), the broker shows
"disconnected", reconnects with backoff and resumes from its last event id, so nothing is
lost or doubled; a command sent while the service is away raises a clear ``PaperError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

from ..broker import AlertUpdate, OrderUpdate
from ..engine.model import Alert, Estimate, Fill, MarketState, OrderView, RoundTrip, Snapshot
from ..errors import (
    DuplicateClientOrderId,
    InvalidInput,
    InvalidOrder,
    OrderNotOpen,
    PaperError,
    UnknownOrder,
)
from ..feed.hub import FeedHealth
from ..quote import Quote, normalize_symbol
from . import schema

log = logging.getLogger("papernb.remote")

__all__ = ["RemoteBroker", "ServiceUnavailable"]


class ServiceUnavailable(PaperError):
    """The engine service cannot be reached (it is restarting, or the address is wrong)."""


def _raise_for(r: httpx.Response) -> None:
    if r.status_code < 400:
        return
    try:
        body = r.json()
        msg, code = body.get("message", r.text), body.get("error", "")
    except ValueError:
        msg, code = r.text[:200], ""
    if r.status_code == 404:
        from ..errors import UnknownAlert, UnknownTrip

        if code == "unknown_trip":
            raise UnknownTrip(msg)
        if code == "unknown_alert":
            raise UnknownAlert(msg)
        if code == "no_position":
            raise InvalidOrder(msg)
        raise UnknownOrder(msg)
    if r.status_code == 409:
        if "client_order_id" in msg:
            raise DuplicateClientOrderId(msg)
        if "already" in msg:
            raise OrderNotOpen(msg)
        from ..errors import ReplaceRefused

        raise ReplaceRefused(msg)
    if r.status_code == 422:
        raise InvalidOrder(msg) if code == "invalid" else InvalidInput(msg)
    if r.status_code in (502, 503, 504):
        raise ServiceUnavailable(msg)
    raise PaperError(f"{r.status_code} {code}: {msg}")


def _number(v: Any) -> Any:
    """Stats come as JSON: money and ratios as decimal strings (back to Decimal), words as they are."""
    if isinstance(v, str):
        try:
            return Decimal(v)
        except ArithmeticError:
            return v
    return v


def _day(x: Any) -> Any:
    return None if x is None else str(x)


def _price(x: Any) -> Any:
    if x is None or isinstance(x, str):
        return x
    return str(x) if isinstance(x, Decimal | int) else repr(x) if isinstance(x, float) else str(x)


class RemoteBroker:
    """``RemoteBroker(url, token)``; ``await broker.start()`` on the kernel's loop, ``await broker.aclose()``."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._client = httpx.AsyncClient(base_url=self.url, headers=self._headers, timeout=timeout)
        self._sync = httpx.Client(base_url=self.url, headers=self._headers, timeout=timeout)
        self.account_name = ""
        self.simulated = False
        self.stale_after: float | None = 5.0
        self._snap: Snapshot | None = None
        self._snap_json: dict[str, Any] | None = None
        self._orders: dict[int, OrderView] = {}
        self._fills: list[Fill] = []
        self._trips: list[RoundTrip] = []
        self._stats: dict[str, Any] = {}
        self._equity: list[tuple[int, Decimal]] = []
        self._quotes: dict[str, tuple[Quote, int, bool, float]] = {}
        self._health = FeedHealth(False, f"service {self.url}", 0, 0, 0)
        self._server_offset = 0  # server ns - local ns
        self._market = MarketState("closed", "Market state not known yet", "always", False, 0, None, None)
        self._last_id: int | None = None
        self._stream_seq = 0  # the newest journal seq the event stream has shown
        self._subs: list[Callable[[Snapshot], None]] = []
        self._event_subs: list[Callable[[OrderUpdate], None]] = []
        self._tasks: list[asyncio.Task] = []
        self._history_due = True
        self._watchlist: list[str] | None = None
        self._alerts: dict[int, Alert] = {}
        self._symbols: list[str] = []
        self.connected = False
        self.reconnects = 0

    # -- life -----------------------------------------------------------------------------------
    async def start(self) -> RemoteBroker:
        """Load the mirror and follow the event stream (raises if the service cannot be reached)."""
        await self._load()
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._follow(), name="papernb-remote-events"))
        self._tasks.append(loop.create_task(self._poll(), name="papernb-remote-poll"))
        return self

    async def aclose(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await self._client.aclose()
        self._sync.close()

    async def _get(self, path: str, **params: Any) -> Any:
        try:
            r = await self._client.get(path, params=params or None)
        except httpx.HTTPError as e:
            raise ServiceUnavailable(f"the service at {self.url} cannot be reached: {e}") from None
        _raise_for(r)
        return r.json()

    async def _load(self) -> None:
        await self._load_from(self._get)

    def _get_sync(self, path: str, **params: Any) -> Any:
        try:
            r = self._sync.get(path, params=params or None)
        except httpx.HTTPError as e:
            raise ServiceUnavailable(f"the service at {self.url} cannot be reached: {e}") from None
        _raise_for(r)
        return r.json()

    def start_sync(self) -> RemoteBroker:
        """:meth:`start` for code that cannot await (``pn.connect`` in a notebook cell): loads the mirror
        with a blocking request, then follows the event stream on the running loop."""
        gen = self._load_from(self._as_awaitable(self._get_sync))
        try:
            gen.send(None)
        except StopIteration:
            pass
        else:  # pragma: no cover - _as_awaitable never suspends
            raise AssertionError("the synchronous load suspended")
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._follow(), name="papernb-remote-events"))
        self._tasks.append(loop.create_task(self._poll(), name="papernb-remote-poll"))
        return self

    @staticmethod
    def _as_awaitable(fn: Callable[..., Any]) -> Callable[..., Any]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

        return call

    async def _load_from(self, get: Callable[..., Any]) -> None:
        acct = await get("/v1/account")
        self.account_name = acct["account"]
        self._apply_feed(await get("/v1/feed"))
        self._market = schema.market_from_json(await get("/v1/market"))
        orders: list[dict] = []
        after = None
        while True:
            page = await get("/v1/orders", status="all", limit=500, **({"after": after} if after else {}))
            orders += page
            if len(page) < 500:
                break
            after = page[-1]["id"]
        self._orders = {d["id"]: schema.order_from_json(d, self.account_name) for d in orders}
        wl = await get("/v1/watchlist")
        self._watchlist = wl["symbols"] if wl["set"] else None
        self._symbols = await get("/v1/symbols")
        self._alerts = {d["id"]: schema.alert_from_json(d, self.account_name) for d in await get("/v1/alerts")}
        self._set_account(acct)
        await self._load_history(get)
        if self._last_id is None:  # the stream starts where this picture of the account ends
            self._last_id = acct["seq"]
        self.connected = True

    async def _load_history(self, get: Callable[..., Any] | None = None) -> None:
        get = get or self._get
        name = self.account_name
        self._fills = sorted((schema.fill_from_json(d, name) for d in await get("/v1/fills", limit=500)),
                             key=lambda f: f.id)
        self._trips = sorted((schema.trip_from_json(d, name) for d in await get("/v1/trades", limit=500)),
                             key=lambda t: t.id)
        self._stats = {k: _number(v) for k, v in (await get("/v1/stats")).items()}
        self._equity = [(schema.ns(p["ts"]), Decimal(p["equity"])) for p in await get("/v1/equity")]  # type: ignore[misc]
        self._history_due = False

    def _apply_feed(self, feed: dict[str, Any]) -> None:
        self.stale_after = feed.get("stale_after_s")
        self.simulated = bool(feed.get("simulated"))
        if feed.get("now"):
            self._server_offset = schema.ns(feed["now"]) - time.time_ns()  # type: ignore[operator]
        age = feed.get("age_s")
        self._health = FeedHealth(bool(feed["connected"]) and self.connected, f"service {self.url} · {feed['link']}",
                                  feed["quotes"], feed["dropped"], feed["gaps"], feed.get("reconnects", 0),
                                  feed.get("last_error"), {} if age is None else {"*": float(age)},
                                  feed.get("suspicious", 0))

    def _set_account(self, d: dict[str, Any]) -> None:
        self._snap_json = d
        opens = tuple(self._orders[i] for i in d.get("open_orders", ()) if i in self._orders)
        self._snap = schema.account_from_json(d, opens)

    def _publish(self) -> None:
        snap = self._snap
        if snap is None:
            return
        for cb in tuple(self._subs):
            try:
                cb(snap)
            except Exception:
                log.exception("snapshot subscriber %r failed", cb)

    async def _after_command(self, v: OrderView | None = None) -> None:
        """The mirror catches up with what the command did (its events may still be on the way)."""
        if v is not None and v.filled_qty:
            self._history_due = True
        with contextlib.suppress(PaperError):
            self._set_account(await self._get("/v1/account"))
            if self._history_due:
                await self._load_history()
        self._publish()

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait until the event stream has delivered everything the book had committed when called."""
        target = (await self._get("/v1/account"))["seq"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._stream_seq >= target:
                return
            await asyncio.sleep(0.05)

    async def _follow(self) -> None:
        """Read the event stream for ever: reconnect with backoff, resume from the last id."""
        delay = 0.2
        while True:
            try:
                headers = dict(self._headers)
                if self._last_id is not None:
                    headers["Last-Event-ID"] = str(self._last_id)
                async with self._client.stream("GET", "/v1/events", headers=headers,
                                               timeout=httpx.Timeout(10, read=60)) as r:
                    _raise_for(r)
                    if not self.connected:
                        self.connected = True
                        self.reconnects += 1
                        await self._load()
                    delay = 0.2
                    await self._read(r)
            except asyncio.CancelledError:
                raise
            except (httpx.HTTPError, PaperError, OSError) as e:
                log.info("event stream from %s: %s", self.url, e)
            if self.connected:
                self.connected = False
                self._health = FeedHealth(False, f"service {self.url} (disconnected)", self._health.quotes,
                                          self._health.dropped, self._health.gaps, self._health.reconnects,
                                          "the service cannot be reached", self._health.ages)
                self._publish()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _read(self, r: httpx.Response) -> None:
        event: dict[str, Any] = {}
        async for line in r.aiter_lines():
            if line.startswith("id: "):
                event["id"] = int(line[4:])
            elif line.startswith("event: "):
                event["event"] = line[7:]
            elif line.startswith("data: "):
                event["data"] = json.loads(line[6:])
            elif line == "" and event:
                self._on_event(event)
                event = {}

    def _on_event(self, e: dict[str, Any]) -> None:
        kind, data = e.get("event"), e.get("data")
        if kind == "order":
            if "id" in e:
                self._last_id = e["id"]
                self._stream_seq = max(self._stream_seq, e["id"])
            view = schema.order_from_json(data["order"], self.account_name)
            self._orders[view.id] = view
            if data["event"] in ("filled", "partially_filled"):
                self._history_due = True
            upd = OrderUpdate(data["event"], view, e.get("id", 0), view.updated_at)
            for cb in tuple(self._event_subs):
                try:
                    cb(upd)
                except Exception:
                    log.exception("order event subscriber %r failed", cb)
        elif kind == "alert":
            if "id" in e:
                self._last_id = e["id"]
                self._stream_seq = max(self._stream_seq, e["id"])
            al = schema.alert_from_json(data["alert"], self.account_name)
            self._alerts[al.id] = al
            aupd = AlertUpdate(data["event"], al, e.get("id", 0), al.closed_at or al.created_at)
            for cb in tuple(self._event_subs):
                try:
                    cb(aupd)
                except Exception:
                    log.exception("alert event subscriber %r failed", cb)
        elif kind == "account":
            self._stream_seq = max(self._stream_seq, data["seq"])
            self._set_account(data)
            if self._history_due:
                asyncio.get_running_loop().create_task(self._refresh_history())
            self._publish()

    async def _refresh_history(self) -> None:
        with contextlib.suppress(PaperError):
            await self._load_history()

    async def _poll(self) -> None:
        """Feed health and the quotes the page looks at, twice a second."""
        while True:
            await asyncio.sleep(0.5)
            with contextlib.suppress(PaperError):
                self._apply_feed(await self._get("/v1/feed"))
                self._symbols = await self._get("/v1/symbols")
                self._market = schema.market_from_json(await self._get("/v1/market"))
                wanted = sorted({*self._quotes, *(p.symbol for p in (self._snap.positions if self._snap else ()))})
                if wanted:
                    self._store_quotes(await self._get("/v1/snapshot", symbols=",".join(wanted[:200])))

    def _store_quotes(self, items: list[dict[str, Any]]) -> None:
        for d in items:
            q = Quote(d["symbol"], bid=d["bid"], ask=d["ask"], last=d["last"], change_pct=d["change_pct"],
                      ts=schema.ns(d["ts"]))
            self._quotes[q.symbol] = (q, d["age_ms"] * 1_000_000, d["stale"], time.monotonic())

    # -- commands ---------------------------------------------------------------------------------
    async def _command(self, method: str, path: str, body: Any = None) -> Any:
        try:
            r = await self._client.request(method, path, json=body)
        except (httpx.HTTPError, RuntimeError) as e:
            raise ServiceUnavailable(f"the service at {self.url} cannot be reached ({e}); the command was not "
                                     f"sent, or its answer was lost: check the order list before sending it again") from None
        _raise_for(r)
        return r.json()

    def _remember(self, d: dict[str, Any]) -> OrderView:
        v = schema.order_from_json(d, self.account_name)
        self._orders[v.id] = v
        return v

    async def submit(self, symbol: str, side: str, qty: int, *, type: str, limit: Any = None, stop: Any = None,
                     tif: str | None = None, client_order_id: str | None = None, trail: Any = None,
                     trail_pct: Any = None, take_profit: Any = None, stop_loss: Any = None) -> OrderView:
        body = {"symbol": symbol, "side": str(side), "qty": qty, "type": str(type), "limit_price": _price(limit),
                "stop_price": _price(stop), "time_in_force": None if tif is None else str(tif),
                "client_order_id": client_order_id}
        for k, v in (("trail", trail), ("trail_pct", trail_pct), ("take_profit", take_profit),
                     ("stop_loss", stop_loss)):
            if v is not None:
                body[k] = _price(v)
        v = self._remember(await self._command("POST", "/v1/orders", body))
        await self._after_command(v)
        return v

    async def replace(self, order_id: int, *, qty: int | None = None, limit: Any = None, stop: Any = None,
                      tif: str | None = None, trail: Any = None, trail_pct: Any = None) -> OrderView:
        body = {"qty": qty, "limit_price": _price(limit), "stop_price": _price(stop),
                "time_in_force": None if tif is None else str(tif), "trail": _price(trail),
                "trail_pct": _price(trail_pct)}
        v = self._remember(await self._command("PATCH", f"/v1/orders/{int(order_id)}", body))
        await self._after_command(v)
        return v

    async def oco(self, first: Any, second: Any) -> tuple[OrderView, OrderView]:
        def leg(x: Any) -> dict[str, Any]:
            if isinstance(x, int | OrderView):
                return {"order_id": int(x) if isinstance(x, int) else x.id}
            return {"symbol": x.symbol, "side": str(x.side), "qty": x.qty, "type": None if x.type is None else str(x.type),
                    "limit_price": _price(x.limit), "stop_price": _price(x.stop), "trail": _price(x.trail),
                    "trail_pct": _price(x.trail_pct), "time_in_force": None if x.tif is None else str(x.tif)}

        a, b = (self._remember(d) for d in await self._command("POST", "/v1/orders/oco",
                                                               {"first": leg(first), "second": leg(second)}))
        await self._after_command()
        return a, b

    async def cancel(self, order_id: int) -> OrderView:
        v = self._remember(await self._command("POST", f"/v1/orders/{int(order_id)}/cancel"))
        await self._after_command(v)
        return v

    # -- reads (the mirror) -----------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        assert self._snap is not None, "call await broker.start() first"
        return self._snap

    def orders(self, status: Any = None, symbol: str | None = None) -> list[OrderView]:
        from ..engine.account import _statuses  # the same status words as the engine takes

        want = _statuses(status)
        sym = None if symbol is None else normalize_symbol(symbol)
        epoch = self._snap.epoch if self._snap is not None else None
        return [v for _, v in sorted(self._orders.items())
                if (want is None or v.status in want) and (sym is None or v.symbol == sym)
                and (epoch is None or v.epoch == epoch)]

    def fills(self) -> list[Fill]:
        return list(self._fills)

    def _sync_get(self, path: str, **params: Any) -> Any:
        try:
            r = self._sync.get(path, params={k: v for k, v in params.items() if v is not None} or None)
        except (httpx.HTTPError, RuntimeError) as e:
            raise ServiceUnavailable(f"the service at {self.url} cannot be reached: {e}") from None
        _raise_for(r)
        return r

    def trades(self, *, tag: str | None = None, symbol: str | None = None, since: Any = None,
               until: Any = None) -> list[RoundTrip]:
        if tag is None and symbol is None and since is None and until is None:
            return list(self._trips)
        r = self._sync_get("/v1/trades", tag=tag, symbol=symbol, since=_day(since), until=_day(until), limit=500)
        return sorted((schema.trip_from_json(d, self.account_name) for d in r.json()), key=lambda t: t.id)

    def stats(self, *, tag: str | None = None, symbol: str | None = None, since: Any = None,
              until: Any = None) -> dict[str, Any]:
        if tag is None and symbol is None and since is None and until is None:
            return dict(self._stats)
        r = self._sync_get("/v1/stats", tag=tag, symbol=symbol, since=_day(since), until=_day(until))
        return {k: _number(v) for k, v in r.json().items()}

    # -- Broker v2: one-click commands, the trader's records, export ------------------------------
    async def close(self, symbol: str) -> list[OrderView]:
        out = [self._remember(d) for d in await self._command("DELETE", f"/v1/positions/{normalize_symbol(symbol)}")]
        await self._after_command(out[-1] if out else None)
        return out

    async def close_all(self) -> list[OrderView]:
        out = [self._remember(d) for d in await self._command("DELETE", "/v1/positions")]
        await self._after_command(out[-1] if out else None)
        return out

    async def cancel_all(self) -> list[OrderView]:
        out = [self._remember(d) for d in await self._command("DELETE", "/v1/orders")]
        await self._after_command()
        return out

    async def reset(self, cash: Any = None) -> Snapshot:
        body = None if cash is None else {"cash": _price(cash)}
        self._set_account(await self._command("POST", "/v1/account/reset", body))
        self._history_due = True
        await self._after_command()
        return self.snapshot()

    def watchlist(self) -> list[str]:
        return list(self._symbols) if self._watchlist is None else list(self._watchlist)

    async def set_watchlist(self, symbols: list[str]) -> list[str]:
        body = await self._command("PUT", "/v1/watchlist", {"symbols": list(symbols)})
        self._watchlist = body["symbols"]
        return list(body["symbols"])

    def feed_symbols(self) -> list[str]:
        return list(self._symbols)

    async def annotate(self, trip_id: int, note: str | None = None, tags: list[str] | None = None) -> RoundTrip:
        d = await self._command("PATCH", f"/v1/trades/{int(trip_id)}", {"note": note, "tags": tags})
        t = schema.trip_from_json(d, self.account_name)
        self._trips = [t if x.id == t.id else x for x in self._trips]
        return t

    async def alert(self, symbol: str, above: Any = None, below: Any = None) -> Alert:
        d = await self._command("POST", "/v1/alerts", {"symbol": symbol, "above": _price(above),
                                                       "below": _price(below)})
        al = schema.alert_from_json(d, self.account_name)
        self._alerts[al.id] = al
        return al

    def alerts(self) -> list[Alert]:
        return [a for _, a in sorted(self._alerts.items()) if a.status == "open"]

    async def remove_alert(self, alert_id: int) -> Alert:
        al = schema.alert_from_json(await self._command("DELETE", f"/v1/alerts/{int(alert_id)}"),
                                    self.account_name)
        self._alerts[al.id] = al
        return al

    def export(self, name: str) -> bytes:
        from urllib.parse import quote

        from ..engine.export import EXPORTS

        if name not in EXPORTS:  # the engine's own refusal, before anything travels
            raise InvalidInput(f"there is no export {name!r}; choose one of {', '.join(EXPORTS)}")
        return self._sync_get(f"/v1/export/{quote(name)}").content

    def equity_history(self, max_points: int | None = None) -> list[tuple[int, Decimal]]:
        pts = self._equity
        if max_points is not None and len(pts) > max(max_points, 2):
            step = (len(pts) - 1) / (max_points - 1)
            pts = [pts[round(i * step)] for i in range(max_points)]
        return list(pts)

    def _quote_entry(self, symbol: str) -> tuple[Quote, int, bool, float] | None:
        sym = normalize_symbol(symbol)
        entry = self._quotes.get(sym)
        if entry is None or time.monotonic() - entry[3] > 2.0:
            try:  # first look (or a stale mirror): ask now; the poller keeps it fresh from then on
                r = self._sync.get("/v1/snapshot", params={"symbols": sym})
                _raise_for(r)
                self._store_quotes(r.json())
            except (httpx.HTTPError, PaperError, RuntimeError):  # RuntimeError: the broker was closed
                pass
            entry = self._quotes.get(sym)
            if entry is None:
                self._quotes.pop(sym, None)
        return entry

    def quote(self, symbol: str) -> Quote | None:
        entry = self._quote_entry(symbol)
        return None if entry is None else entry[0]

    def quote_age(self, symbol: str) -> tuple[int, bool] | None:
        entry = self._quote_entry(symbol)
        if entry is None:
            return None
        return entry[1] + int((time.monotonic() - entry[3]) * 1e9), entry[2]

    def estimate(self, symbol: str, side: str, qty: int, *, type: str, limit: Any = None,
                 stop: Any = None, trail: Any = None, trail_pct: Any = None) -> Estimate:
        try:
            r = self._sync.post("/v1/orders/estimate", json={
                "symbol": symbol, "side": str(side), "qty": qty, "type": str(type), "limit_price": _price(limit),
                "stop_price": _price(stop), "trail": _price(trail), "trail_pct": _price(trail_pct)})
        except (httpx.HTTPError, RuntimeError) as e:  # RuntimeError: the broker was closed
            raise ServiceUnavailable(f"the service at {self.url} cannot be reached: {e}") from None
        _raise_for(r)
        return schema.estimate_from_json(r.json())

    def feed_health(self) -> FeedHealth:
        return self._health

    def market_state(self) -> MarketState:
        """The service's market state, as of the last poll (twice a second)."""
        return self._market

    def now(self) -> int:
        return time.time_ns() + self._server_offset

    def subscribe(self, callback: Callable[[Snapshot], None]) -> Callable[[], None]:
        self._subs.append(callback)
        if self._snap is not None:
            callback(self._snap)

        def unsubscribe() -> None:
            if callback in self._subs:
                self._subs.remove(callback)

        return unsubscribe

    def subscribe_events(self, callback: Callable[[OrderUpdate], None]) -> Callable[[], None]:
        self._event_subs.append(callback)

        def unsubscribe() -> None:
            if callback in self._event_subs:
                self._event_subs.remove(callback)

        return unsubscribe


class RemoteSession:
    """What ``pn.connect(service=URL, token=...)`` returns: a session whose book lives in a service.

    Its ``broker`` (a :class:`RemoteBroker`) is what the dashboard and every panel use, exactly as
    with a local session; commands are the broker's (``await session.broker.submit(...)``).
    """

    def __init__(self, broker: RemoteBroker) -> None:
        self.broker = broker
        self.simulated = broker.simulated
        self.feed_label = f"service {broker.url}"
        self._stoppers: list[Callable[[], Any]] = []
        self._closed = False

    @property
    def account_name(self) -> str:
        return self.broker.account_name

    @property
    def closed(self) -> bool:
        return self._closed

    def subscribe(self, callback: Callable[[Snapshot], None]) -> Callable[[], None]:
        return self.broker.subscribe(callback)

    def refresh(self, force: bool = False) -> bool:
        return False  # the service pushes snapshots itself

    def add_stopper(self, stop: Callable[[], Any]) -> None:
        self._stoppers.append(stop)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        for stop in self._stoppers:
            with contextlib.suppress(Exception):
                r = stop()
                if asyncio.iscoroutine(r):
                    await r
        await self.broker.aclose()

    def close(self) -> None:
        """Like :meth:`aclose`, from sync code: the connections close on the loop shortly after."""
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().create_task(self.aclose())
            return
        asyncio.run(self.aclose())

    def __repr__(self) -> str:
        return f"<RemoteSession {self.account_name} at {self.broker.url}>"


def connect_remote(url: str, token: str | None) -> RemoteSession:
    """A session against a running service (``pn.connect(service=URL, token=...)``)."""
    import os

    # behind JupyterHub, a user's own server holds a Hub token that the service accepts
    token = token or os.environ.get("PAPERNB_TOKEN") or os.environ.get("JUPYTERHUB_API_TOKEN")
    if not token:
        raise InvalidInput("a service needs an API token: pass token=... or set PAPERNB_TOKEN "
                           "(papernb users add NAME prints one)")
    broker = RemoteBroker(url, token)
    try:
        broker.start_sync()
    except BaseException:
        broker._sync.close()  # noqa: SLF001 - its own module
        raise
    return RemoteSession(broker)
