"""``papernb serve``: one process owns the book; every trader, window and script talks HTTP to it.

FastAPI on uvicorn with one worker (more workers would be more writers of the book).  The
engine runs on the event loop, driven only by the :class:`~papernb.service.sequencer.Sequencer`
(commands, quote batches, time), which group-commits on a writer thread.  Each request is bound
to a user by its bearer token (or, behind JupyterHub, by the Hub's login); a user sees and
trades only their own account, and another user's ids answer exactly as ids that do not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..config import EngineConfig, hours_for_feed
from ..engine import Account, Engine
from ..engine.events import ALERT_STREAM_NAMES, STREAM_NAMES, AlertEvent, Event, OrderEvent
from ..errors import (
    BookWriteFailed,
    ConfigError,
    DuplicateClientOrderId,
    InvalidInput,
    OrderNotOpen,
    PaperError,
    ReplaceRefused,
    UnknownAlert,
    UnknownOrder,
    UnknownTrip,
)
from ..feed.hub import Hub
from ..quote import Quote, normalize_symbol
from . import schema
from .sequencer import Sequencer, ServiceStopping
from .users import UnknownUser, User, UserStore

log = logging.getLogger("papernb.service")

__all__ = ["ServiceConfig", "create_app"]

_TERMINAL = ("FILLED", "CANCELLED", "REJECTED", "EXPIRED")


def wall_ns() -> int:
    return time.time_ns()


@dataclass
class ServiceConfig:
    """What ``papernb serve`` runs with (command-line options and ``PAPERNB_*``)."""

    book: str
    feed: str = "sim"  # sim | redis | replay:PATH | none
    redis: str | None = None
    symbols: list[str] | None = None
    rate: float = 20.0
    seed: int = 0
    #: requests a token may make per second (a burst of twice that is allowed)
    rate_limit: float = 50.0
    max_body: int = 64 * 1024
    hub: bool = False
    settings: dict[str, Any] = field(default_factory=dict)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


# -- request bodies ------------------------------------------------------------------------------
_Price = StrictStr | float | int | None


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbol: StrictStr
    side: StrictStr
    qty: StrictInt
    type: StrictStr = "market"
    limit_price: _Price = None
    stop_price: _Price = None
    time_in_force: StrictStr | None = None
    client_order_id: StrictStr | None = None
    trail: _Price = None
    trail_pct: _Price = None
    take_profit: _Price = None
    stop_loss: _Price = None


class ReplaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    qty: StrictInt | None = None
    limit_price: _Price = None
    stop_price: _Price = None
    time_in_force: StrictStr | None = None
    trail: _Price = None
    trail_pct: _Price = None


class EstimateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbol: StrictStr
    side: StrictStr
    qty: StrictInt
    type: StrictStr = "market"
    limit_price: _Price = None
    stop_price: _Price = None
    trail: _Price = None
    trail_pct: _Price = None


class OcoLeg(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: StrictInt | None = None
    symbol: StrictStr | None = None
    side: StrictStr | None = None
    qty: StrictInt | None = None
    type: StrictStr | None = None
    limit_price: _Price = None
    stop_price: _Price = None
    trail: _Price = None
    trail_pct: _Price = None
    time_in_force: StrictStr | None = None


class OcoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    first: OcoLeg
    second: OcoLeg


class WatchlistIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbols: list[StrictStr]


class AnnotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: StrictStr | None = None
    tags: list[StrictStr] | StrictStr | None = None


class AlertIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbol: StrictStr
    above: _Price = None
    below: _Price = None


class ResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cash: _Price = None


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: StrictStr
    admin: bool = False


# -- the event stream ----------------------------------------------------------------------------
class _Subscriber:
    __slots__ = ("account", "queue", "last_seq", "overflow", "last_account")

    def __init__(self, account: str, last_seq: int) -> None:
        self.account = account
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=10_000)
        self.last_seq = last_seq
        self.overflow = False
        self.last_account: str | None = None


class EventHub:
    """Order events (after their commit) and throttled account snapshots, per account."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.subs: dict[str, set[_Subscriber]] = {}
        engine.subscribe(self._on_events)

    def _on_events(self, events: list[Event]) -> None:
        for e in events:
            if isinstance(e, AlertEvent):
                self._alert(e.account, e.kind, e.alert_id, e.seq)
                continue
            if not isinstance(e, OrderEvent):
                continue
            subs = self.subs.get(e.account)
            name = STREAM_NAMES.get(e.kind)
            if not subs or name is None:
                continue
            view = self.engine.order(e.account, e.order_id).view()
            msg = _sse("order", {"event": name, "order": schema.order_json(view)}, e.seq)
            for sub in tuple(subs):
                self.put(sub, msg, e.seq)

    def _alert(self, account: str, kind: str, alert_id: int, seq: int, only: _Subscriber | None = None) -> None:
        subs = self.subs.get(account) if only is None else {only}
        al = self.engine.ledger.alerts.get(alert_id)
        if not subs or al is None:
            return
        msg = _sse("alert", {"event": ALERT_STREAM_NAMES[kind], "alert": schema.alert_json(al.view())}, seq)
        for sub in tuple(subs):
            self.put(sub, msg, seq)

    @staticmethod
    def put(sub: _Subscriber, msg: str, seq: int | None) -> None:
        if seq is not None:
            if seq <= sub.last_seq:
                return  # already sent (a resumed stream overlaps the live one)
            sub.last_seq = seq
        try:
            sub.queue.put_nowait(msg)
        except asyncio.QueueFull:  # a reader too slow to keep: it reconnects with Last-Event-ID
            sub.overflow = True

    def add(self, sub: _Subscriber) -> None:
        self.subs.setdefault(sub.account, set()).add(sub)

    def remove(self, sub: _Subscriber) -> None:
        s = self.subs.get(sub.account)
        if s is not None:
            s.discard(sub)
            if not s:
                del self.subs[sub.account]

    def replay(self, sub: _Subscriber, after: int) -> None:
        """The order events of ``sub``'s account after ``after`` that are already durable."""
        cur = self.engine.store.writer()
        try:
            rows = cur.execute("SELECT seq, kind, order_id, data FROM journal WHERE account = ? AND seq > ? "
                               "AND (order_id IS NOT NULL OR kind LIKE 'Alert%') ORDER BY seq",
                               [sub.account, after]).fetchall()
        finally:
            cur.close()
        for seq, kind, oid, data in rows:
            if kind in ALERT_STREAM_NAMES:
                self._alert(sub.account, kind, json.loads(data)["e"]["alert_id"], seq, only=sub)
                continue
            name = STREAM_NAMES.get(kind)
            if name is None:
                continue
            view = self.engine.order(sub.account, oid).view()
            self.put(sub, _sse("order", {"event": name, "order": schema.order_json(view)}, seq), seq)

    def snapshots(self) -> None:
        """An ``account`` event to each subscriber whose account changed since it last got one."""
        for account, subs in list(self.subs.items()):
            data = schema.account_json(self.engine.account(account).snapshot())
            key = json.dumps({k: v for k, v in data.items() if k != "as_of"}, sort_keys=True)
            msg = None
            for sub in tuple(subs):
                if sub.last_account != key:
                    sub.last_account = key
                    msg = msg or _sse("account", data, None)
                    self.put(sub, msg, None)


def _sse(event: str, data: Any, seq: int | None) -> str:
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


# -- the app ----------------------------------------------------------------------------------------
class Service:
    """Everything one running service holds (app.state.service)."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.engine: Engine | None = None
        self.seq: Sequencer | None = None
        self.users: UserStore | None = None
        self.events: EventHub | None = None
        self.hub = Hub()
        self.tasks: list[asyncio.Task] = []
        self.stoppers: list[Callable[[], Any]] = []
        self.buckets: dict[str, tuple[float, float]] = {}
        self.hub_auth: Any = None

    async def start(self) -> None:
        cfg = self.config
        settings = dict(cfg.settings)
        settings.update(hours_for_feed(cfg.feed, settings))  # real quotes: regular hours unless chosen
        self.engine = Engine(cfg.book, config=EngineConfig.build(None, **settings), clock=wall_ns)
        self.users = UserStore(self.engine.store.writer())
        self.events = EventHub(self.engine)
        self.seq = Sequencer(self.engine)
        self.seq.start()
        self.hub.subscribe(self._on_quotes)
        loop = asyncio.get_running_loop()
        self.tasks.append(loop.create_task(self._ticker(), name="papernb-service-ticker"))
        await self._start_feed()

    async def _start_feed(self) -> None:
        cfg = self.config
        loop = asyncio.get_running_loop()
        if cfg.feed == "sim":
            from ..feed.sim import SimulatedMarket

            src: Any = SimulatedMarket(cfg.symbols, rate=cfg.rate, seed=cfg.seed)
            self.tasks.append(loop.create_task(src.run(self.hub.publish), name="papernb-service-sim"))
        elif cfg.feed.startswith("replay:"):
            from ..feed.replay import Replay

            src = Replay(cfg.feed[7:], speed=1.0)
            self.tasks.append(loop.create_task(src.run(self.hub.publish), name="papernb-service-replay"))
        elif cfg.feed == "redis":
            from ..feed.redis_bus import RedisSubscriber

            sub = RedisSubscriber(self.hub, cfg.redis, symbols=cfg.symbols)
            sub.start()
            self.stoppers.append(sub.stop)
        elif cfg.feed != "none":
            raise ConfigError(f"feed must be sim, redis, replay:PATH or none, was {cfg.feed!r}")
        self.hub.on_link(lambda up: self.engine.pause_fills(None if up else "feed disconnected"))  # type: ignore[union-attr]
        if not self.hub.connected:
            self.engine.pause_fills("feed disconnected")  # type: ignore[union-attr]

    def _on_quotes(self, batch: list[Quote]) -> None:
        now = wall_ns()
        if self.hub.in_snapshot:  # reloaded from the latest-quote table: marks, never fills
            stale = self.engine.config.stale_after  # type: ignore[union-attr]
            now -= int(((stale or 0) + 1) * 1e9)
        self.seq.feed([q.restamped(now) for q in batch])  # type: ignore[union-attr]

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            try:
                self.seq.tick(wall_ns())  # type: ignore[union-attr]
                self.events.snapshots()  # type: ignore[union-attr]
            except Exception:
                log.exception("service ticker")

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        for t in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for stop in self.stoppers:
            with contextlib.suppress(Exception):
                r = stop()
                if asyncio.iscoroutine(r):
                    await r
        if self.seq is not None:
            await self.seq.stop()
        if self.engine is not None:
            self.engine.close()

    # -- helpers for the routes ------------------------------------------------------------------
    async def account(self, user: User) -> Account:
        """The user's account (made through the sequencer the first time it is needed)."""
        eng = self.engine
        if user.account not in eng.ledger.accounts:  # type: ignore[union-attr]
            await self.run(lambda: eng.account(user.account))  # type: ignore[union-attr]
        return eng.account(user.account)  # type: ignore[union-attr]

    async def run(self, fn: Callable[[], Any]) -> Any:
        return await self.seq.call(fn)  # type: ignore[union-attr]

    def allow(self, key: str) -> bool:
        """A token bucket per caller: ``rate_limit`` per second, bursts of twice that."""
        rate = self.config.rate_limit
        if rate <= 0:
            return True
        now = time.monotonic()
        tokens, last = self.buckets.get(key, (2 * rate, now))
        tokens = min(2 * rate, tokens + (now - last) * rate)
        if tokens < 1:
            self.buckets[key] = (tokens, now)
            return False
        self.buckets[key] = (tokens - 1, now)
        return True


def create_app(config: ServiceConfig) -> FastAPI:
    service = Service(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(title="papernb", version="1", lifespan=lifespan,
                  description="Paper trading accounts over HTTP: orders, positions, P/L and a live event stream.")
    app.state.service = service
    _install_errors(app)
    app.add_middleware(_BodyLimit, max_body=config.max_body)

    async def current_user(request: Request) -> User:
        token = _bearer(request)
        user = service.users.resolve(token) if token else None  # type: ignore[union-attr]
        if user is None and token and service.hub_auth is not None:  # behind JupyterHub: ask the Hub
            try:
                user = await service.hub_auth.user_for_token(token, service.users)
            except InvalidInput as e:
                raise ApiError(403, "forbidden", str(e)) from None
        if user is None:
            raise ApiError(401, "unauthorized", "a valid API token is needed: Authorization: Bearer <token>")
        if not service.allow(user.name):
            raise ApiError(429, "rate_limited", f"too many requests for {user.name}: at most "
                                                f"{config.rate_limit:g} a second")
        return user

    async def admin_user(user: User = Depends(current_user)) -> User:
        if not user.admin:
            raise ApiError(403, "forbidden", "this needs an admin token")
        return user

    _routes(app, service, current_user, admin_user)
    return app


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    if auth[:6].lower() == "token ":  # JupyterHub's own form
        return auth[6:].strip()
    return request.query_params.get("token")  # EventSource in a browser cannot set headers


class _BodyLimit:
    """413 for a request body over ``max_body`` bytes, declared or streamed."""

    def __init__(self, app: Any, max_body: int) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for k, v in scope.get("headers", []):
            if k == b"content-length" and v.isdigit() and int(v) > self.max_body:
                return await _error(413, "too_large", f"the request body is over {self.max_body:,} bytes")(
                    scope, receive, send)
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_body:
                    raise ApiError(413, "too_large", f"the request body is over {self.max_body:,} bytes")
            return msg

        return await self.app(scope, limited, send)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(PaperError)
    async def paper_error(request: Request, exc: PaperError) -> JSONResponse:
        if isinstance(exc, UnknownTrip):
            return _error(404, "unknown_trip", str(exc))
        if isinstance(exc, UnknownAlert):
            return _error(404, "unknown_alert", str(exc))
        if isinstance(exc, UnknownOrder | UnknownUser):
            return _error(404, "not_found", str(exc))
        if isinstance(exc, OrderNotOpen | ReplaceRefused | DuplicateClientOrderId):
            return _error(409, "conflict", str(exc))
        if isinstance(exc, BookWriteFailed | ServiceStopping):
            return _error(503, "unavailable", str(exc))
        if isinstance(exc, InvalidInput):
            return _error(422, "invalid", str(exc))
        return _error(400, "refused", str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errs):
            return _error(400, "malformed", "the request body is not valid JSON")
        parts = []
        for e in errs[:3]:
            where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path"))
            what = e.get("msg", "is invalid")
            if e.get("type") == "extra_forbidden":
                what = "is not a field of this request"
            parts.append(f"{where or 'body'} {what}".strip())
        return _error(422, "invalid", "; ".join(parts))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        msg = "there is no such endpoint" if exc.status_code == 404 else str(exc.detail)
        return _error(exc.status_code, code, msg)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(500, "internal", f"unexpected {type(exc).__name__} (logged on the server)")


def _page(items: list[Any], limit: int, after: int | None) -> list[Any]:
    items = sorted(items, key=lambda x: x.id, reverse=True)  # newest first
    if after is not None:
        items = [x for x in items if x.id < after]
    return items[:limit]


def _routes(app: FastAPI, service: Service, current_user: Callable[..., Awaitable[User]],
            admin_user: Callable[..., Awaitable[User]]) -> None:
    U = Depends(current_user)
    A = Depends(admin_user)

    # -- account ---------------------------------------------------------------------------------
    @app.get("/v1/account")
    async def get_account(user: User = U) -> dict:
        acct = await service.account(user)
        return schema.account_json(await service.run(acct.snapshot))

    @app.post("/v1/account/reset")
    async def reset_account(body: ResetIn | None = None, user: User = U) -> dict:
        acct = await service.account(user)
        cash = None if body is None else body.cash
        await service.run(lambda: acct.reset(cash))
        return schema.account_json(await service.run(acct.snapshot))

    @app.post("/v1/accounts/{name}/reset")
    async def reset_other(name: str, admin: User = A) -> dict:
        u = service.users.get(name)  # type: ignore[union-attr]
        if u is None:
            raise ApiError(404, "not_found", f"there is no user {name!r}")
        acct = await service.account(u)
        await service.run(acct.reset)
        return schema.account_json(await service.run(acct.snapshot))

    @app.get("/v1/accounts/{name}")
    async def read_other(name: str, admin: User = A) -> dict:
        u = service.users.get(name)  # type: ignore[union-attr]
        if u is None:
            raise ApiError(404, "not_found", f"there is no user {name!r}")
        acct = await service.account(u)
        return schema.account_json(await service.run(acct.snapshot))

    # -- orders ----------------------------------------------------------------------------------
    async def place(body: OrderIn, user: User, response: Response) -> dict:
        acct = await service.account(user)

        def do() -> tuple[Any, bool]:
            existed = body.client_order_id is not None and acct.order_by_client_id(body.client_order_id) is not None
            o = acct.submit(body.symbol, body.side, body.qty, type=body.type, limit=body.limit_price,
                            stop=body.stop_price, tif=body.time_in_force, client_order_id=body.client_order_id,
                            trail=body.trail, trail_pct=body.trail_pct, take_profit=body.take_profit,
                            stop_loss=body.stop_loss)
            return o.view(), existed

        view, existed = await service.run(do)
        response.status_code = 200 if existed else 201
        return schema.order_json(view)

    @app.post("/v1/orders", status_code=201)
    async def post_order(body: OrderIn, response: Response, user: User = U) -> dict:
        return await place(body, user, response)

    @app.post("/v1/orders/estimate")
    async def estimate(body: EstimateIn, user: User = U) -> dict:
        acct = await service.account(user)
        e = await service.run(lambda: acct.estimate(body.symbol, body.side, body.qty, type=body.type,
                                                    limit=body.limit_price, stop=body.stop_price, trail=body.trail,
                                                    trail_pct=body.trail_pct))
        return schema.estimate_json(e)

    @app.post("/v1/orders/oco", status_code=201)
    async def post_oco(body: OcoIn, user: User = U) -> list[dict]:
        """Two orders as one-cancels-the-other: each leg an existing open order (``order_id``) or a new one."""
        from ..engine.ordertypes import OrderRequest

        acct = await service.account(user)

        def leg(x: OcoLeg) -> Any:
            if x.order_id is not None:
                return x.order_id
            if x.symbol is None or x.side is None or x.qty is None:
                raise ApiError(422, "invalid", "an OCO leg is an order_id, or symbol, side and qty of a new order")
            return OrderRequest(x.symbol, x.side, x.qty, type=x.type, limit=x.limit_price, stop=x.stop_price,
                                trail=x.trail, trail_pct=x.trail_pct, tif=x.time_in_force)

        pair = await service.run(lambda: [o.view() for o in acct.oco(leg(body.first), leg(body.second))])
        return [schema.order_json(v) for v in pair]

    @app.get("/v1/orders")
    async def list_orders(user: User = U, status: str = "open", symbol: str | None = None,
                          limit: int = Query(100, ge=1, le=500), after: int | None = None) -> list[dict]:
        acct = await service.account(user)
        s = status.strip().lower()
        if s not in ("open", "closed", "all"):
            raise ApiError(422, "invalid", f"status must be open, closed or all, was {status!r}")

        def read() -> list[Any]:
            want = {"open": "open", "closed": list(_TERMINAL), "all": None}[s]
            return [o.view() for o in acct.orders(status=want, symbol=symbol)]

        return [schema.order_json(v) for v in _page(await service.run(read), limit, after)]

    @app.get("/v1/orders/{order_id}")
    async def get_order(order_id: int, user: User = U) -> dict:
        acct = await service.account(user)
        return schema.order_json(await service.run(lambda: acct.order(order_id).view()))

    async def replace(order_id: int, body: ReplaceIn, user: User) -> dict:
        acct = await service.account(user)
        view = await service.run(lambda: acct.replace(order_id, qty=body.qty, limit=body.limit_price,
                                                      stop=body.stop_price, tif=body.time_in_force,
                                                      trail=body.trail, trail_pct=body.trail_pct).view())
        return schema.order_json(view)

    @app.patch("/v1/orders/{order_id}")
    async def patch_order(order_id: int, body: ReplaceIn, user: User = U) -> dict:
        return await replace(order_id, body, user)

    async def cancel(order_id: int, user: User) -> dict:
        acct = await service.account(user)
        return schema.order_json(await service.run(lambda: acct.cancel(order_id).view()))

    @app.post("/v1/orders/{order_id}/cancel")
    async def cancel_order(order_id: int, user: User = U) -> dict:
        return await cancel(order_id, user)

    @app.delete("/v1/orders/{order_id}")
    async def delete_order(order_id: int, user: User = U) -> dict:
        return await cancel(order_id, user)

    @app.delete("/v1/orders")
    async def cancel_all(user: User = U) -> list[dict]:
        acct = await service.account(user)
        return [schema.order_json(v) for v in await service.run(lambda: [o.view() for o in acct.cancel_all()])]

    # -- positions -------------------------------------------------------------------------------
    @app.get("/v1/positions")
    async def positions(user: User = U) -> list[dict]:
        acct = await service.account(user)
        return [schema.position_json(p) for p in await service.run(acct.positions)]

    @app.get("/v1/positions/{symbol}")
    async def position(symbol: str, user: User = U) -> dict:
        acct = await service.account(user)
        p = await service.run(lambda: acct.position(normalize_symbol(symbol)))
        if p is None:
            raise ApiError(404, "not_found", f"there is no open position in {symbol.upper()}")
        return schema.position_json(p)

    @app.delete("/v1/positions/{symbol}")
    async def close_position(symbol: str, user: User = U) -> list[dict]:
        acct = await service.account(user)
        sym = normalize_symbol(symbol)

        def do() -> list[Any]:
            if acct.position(sym) is None:  # the engine's own sentence, as a 404
                raise ApiError(404, "no_position", f"there is no open position in {sym} to close")
            return [o.view() for o in acct.close(sym)]

        return [schema.order_json(v) for v in await service.run(do)]

    @app.delete("/v1/positions")
    async def close_all(user: User = U) -> list[dict]:
        acct = await service.account(user)
        return [schema.order_json(v) for v in await service.run(lambda: [o.view() for o in acct.close_all()])]

    # -- history ---------------------------------------------------------------------------------
    @app.get("/v1/fills")
    async def fills(user: User = U, limit: int = Query(100, ge=1, le=500), after: int | None = None) -> list[dict]:
        acct = await service.account(user)
        return [schema.fill_json(f) for f in _page(await service.run(acct.fills), limit, after)]

    @app.get("/v1/trades")
    async def trades(user: User = U, limit: int = Query(100, ge=1, le=500), after: int | None = None,
                     tag: str | None = None, symbol: str | None = None, since: str | None = None,
                     until: str | None = None) -> list[dict]:
        acct = await service.account(user)
        trips = await service.run(lambda: acct.trades(tag=tag, symbol=symbol, since=since, until=until))
        return [schema.trip_json(t) for t in _page(trips, limit, after)]

    @app.patch("/v1/trades/{trip_id}")
    async def annotate(trip_id: int, body: AnnotateIn, user: User = U) -> dict:
        acct = await service.account(user)
        return schema.trip_json(await service.run(lambda: acct.annotate(trip_id, note=body.note, tags=body.tags)))

    @app.get("/v1/stats")
    async def stats(user: User = U, tag: str | None = None, symbol: str | None = None, since: str | None = None,
                    until: str | None = None) -> dict:
        acct = await service.account(user)
        return schema.stats_json(await service.run(lambda: acct.stats(tag=tag, symbol=symbol, since=since,
                                                                      until=until)))

    # -- the trader's records --------------------------------------------------------------------
    @app.get("/v1/watchlist")
    async def get_watchlist(user: User = U) -> dict:
        acct = await service.account(user)
        wl = await service.run(acct.watchlist)
        return {"symbols": wl if wl is not None else service.engine.symbols(), "set": wl is not None}  # type: ignore[union-attr]

    @app.put("/v1/watchlist")
    async def put_watchlist(body: WatchlistIn, user: User = U) -> dict:
        acct = await service.account(user)
        return {"symbols": await service.run(lambda: acct.set_watchlist(body.symbols)), "set": True}

    @app.get("/v1/alerts")
    async def list_alerts(user: User = U) -> list[dict]:
        acct = await service.account(user)
        return [schema.alert_json(a) for a in await service.run(acct.alerts)]

    @app.post("/v1/alerts", status_code=201)
    async def set_alert(body: AlertIn, user: User = U) -> dict:
        acct = await service.account(user)
        return schema.alert_json(await service.run(lambda: acct.alert(body.symbol, above=body.above,
                                                                     below=body.below)))

    @app.delete("/v1/alerts/{alert_id}")
    async def remove_alert(alert_id: int, user: User = U) -> dict:
        acct = await service.account(user)
        return schema.alert_json(await service.run(lambda: acct.remove_alert(alert_id)))

    @app.get("/v1/export/{name}")
    async def export(name: str, user: User = U) -> Response:
        from ..engine.export import export_bytes

        acct = await service.account(user)
        data = await service.run(lambda: export_bytes(acct, name))
        kind = "text/csv" if name.endswith(".csv") else \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(content=data, media_type=kind,
                        headers={"Content-Disposition": f'attachment; filename="{acct.name}-{name}"'})

    @app.get("/v1/equity")
    async def equity(user: User = U, points: int = Query(1000, ge=2, le=10_000)) -> list[dict]:
        acct = await service.account(user)
        pts = await service.run(lambda: acct.equity_history(points))
        return [{"ts": schema.iso(ts), "equity": schema.money(eq)} for ts, eq in pts]

    # -- quotes ----------------------------------------------------------------------------------
    async def snapshot(symbols: str, user: User) -> list[dict]:
        engine = service.engine
        names = [normalize_symbol(s) for s in symbols.split(",") if s.strip()][:500]

        def read() -> list[dict]:
            out = []
            for sym in names:
                q = engine.quote(sym)  # type: ignore[union-attr]
                age = engine.quote_age(sym)  # type: ignore[union-attr]
                if q is not None and age is not None:
                    out.append(schema.quote_json(q, age[0], age[1]))
            return out

        return await service.run(read)

    @app.get("/v1/snapshot")
    async def quotes(symbols: str = "", user: User = U) -> list[dict]:
        return await snapshot(symbols, user)

    @app.get("/v1/symbols")
    async def symbols(user: User = U) -> list[str]:
        return await service.run(service.engine.symbols)  # type: ignore[union-attr]

    @app.post("/v1/quotes")
    async def publish_quotes(request: Request, admin: User = A) -> dict:
        """Quotes published over HTTP (admin): a feed for a script, a test or a tool without Redis.
        The body is a quote or a list of quotes in the wire format (docs/feed.md)."""
        from ..feed.wire import normalize

        try:
            body = json.loads(await request.body())
        except ValueError:
            raise ApiError(400, "malformed", "the request body is not valid JSON") from None
        items = body if isinstance(body, list) else [body]
        if len(items) > 10_000:
            raise ApiError(413, "too_large", "at most 10,000 quotes per request")
        quotes = []
        for i, item in enumerate(items):
            try:
                quotes.append(normalize(item))
            except PaperError as e:
                raise ApiError(422, "invalid", f"quote {i + 1}: {e}") from None
        service.hub.publish(quotes)
        await service.run(lambda: None)  # answered once the engine has taken them
        return {"published": len(quotes)}

    @app.get("/v1/feed")
    async def feed(user: User = U) -> dict:
        h = service.hub.health()
        return {"connected": h.connected, "link": h.link, "quotes": h.quotes, "dropped": h.dropped, "gaps": h.gaps,
                "reconnects": h.reconnects, "age_s": h.age, "suspicious": h.suspicious, "last_error": h.last_error,
                "stale_after_s": service.engine.config.stale_after, "now": schema.iso(wall_ns()),  # type: ignore[union-attr]
                "simulated": service.config.feed == "sim"}

    @app.get("/v1/market")
    async def market(user: User = U) -> dict:
        """Where the market is in its day at the service's engine time, and its trading-hours setting."""
        return schema.market_json(await service.run(service.engine.market_state))  # type: ignore[union-attr]

    # -- events ----------------------------------------------------------------------------------
    @app.get("/v1/events")
    async def events(request: Request, user: User = U) -> StreamingResponse:
        raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
        try:
            after = int(raw) if raw else None
        except ValueError:
            raise ApiError(422, "invalid", f"Last-Event-ID must be an event id (an integer), was {raw!r}") from None
        hub = service.events
        acct = await service.account(user)
        sub = _Subscriber(acct.name, after if after is not None else service.engine.seq)  # type: ignore[union-attr]
        hub.add(sub)  # type: ignore[union-attr]
        if after is not None:
            hub.replay(sub, after)  # type: ignore[union-attr]
        hub.put(sub, _sse("account", schema.account_json(acct.snapshot()), None), None)  # type: ignore[union-attr]

        async def stream() -> AsyncIterator[str]:
            try:
                yield ": papernb event stream\nretry: 1000\n\n"
                while not sub.overflow:
                    try:
                        msg = await asyncio.wait_for(sub.queue.get(), timeout=15)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    yield msg
            finally:
                hub.remove(sub)  # type: ignore[union-attr]

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # -- users (admin) ---------------------------------------------------------------------------
    @app.post("/v1/users", status_code=201)
    async def add_user(body: UserIn, admin: User = A) -> dict:
        from ..engine.account import account_key

        name = account_key(body.name)
        token = service.users.add(name, admin=body.admin)  # type: ignore[union-attr]
        await service.run(lambda: service.engine.account(name))  # type: ignore[union-attr]
        return {"name": name, "account": name, "admin": body.admin, "token": token}

    @app.get("/v1/users")
    async def list_users(admin: User = A) -> list[dict]:
        return [{"name": u.name, "account": u.account, "admin": u.admin, "active": u.active}
                for u in service.users.list()]  # type: ignore[union-attr]

    @app.delete("/v1/users/{name}")
    async def revoke_user(name: str, admin: User = A) -> dict:
        service.users.revoke(name)  # type: ignore[union-attr]
        return {"name": name, "active": False}

    @app.post("/v1/users/{name}/token")
    async def new_token(name: str, admin: User = A) -> dict:
        return {"name": name, "token": service.users.new_token(name)}  # type: ignore[union-attr]

    @app.post("/v1/backup")
    async def backup(admin: User = A) -> Response:
        """An online copy of the book as a DuckDB file (the service checkpoints and copies)."""
        path = await service.run(lambda: _backup(service))
        try:
            data = Path(path).read_bytes()
        finally:
            with contextlib.suppress(OSError):
                os.remove(path)
        return Response(content=data, media_type="application/octet-stream")

    @app.get("/v1/health")
    async def health() -> dict:
        eng = service.engine
        return {"ok": True, "seq": eng.seq, "groups": service.seq.groups,  # type: ignore[union-attr]
                "commands": service.seq.commands, "quotes": service.seq.quotes,  # type: ignore[union-attr]
                "feed_connected": service.hub.connected, **{k: v for k, v in eng.health().items()  # type: ignore[union-attr]
                                                            if k in ("write_failures", "rebuilds", "listener_errors")}}

    # -- the seed's paths, as aliases ------------------------------------------------------------
    @app.patch("/orders/{order_id}/update", include_in_schema=False)
    async def seed_update(order_id: int, body: ReplaceIn, user: User = U) -> dict:
        return await replace(order_id, body, user)

    @app.post("/orders/{order_id}/cancel", include_in_schema=False)
    async def seed_cancel(order_id: int, user: User = U) -> dict:
        return await cancel(order_id, user)

    @app.get("/snapshot", include_in_schema=False)
    async def seed_snapshot(symbols: str = "", user: User = U) -> list[dict]:
        return await snapshot(symbols, user)


def _backup(service: Service) -> str:
    import tempfile

    fd, path = tempfile.mkstemp(suffix=".duckdb", prefix="papernb-backup-")
    os.close(fd)
    os.remove(path)
    eng = service.engine
    eng.save(path)  # type: ignore[union-attr]
    return path
