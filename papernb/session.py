"""The live loop: a feed and an engine wired together on the kernel's asyncio loop.

``pn.connect()`` opens a book with a wall clock, subscribes the engine to a quote hub
(fed by the simulated market, a replay, or Redis), advances engine time on a timer when
no quotes arrive, and publishes one account snapshot per refresh to whoever subscribed
(the widgets), at most ``refresh_hz`` times a second and at least once a second.

Everything runs on one thread, the loop's: a burst of quotes is handed to the engine as
it arrives, but the UI hears about it once per refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .broker import LocalBroker
from .config import EngineConfig, hours_for_feed
from .engine import Account, Engine
from .engine.model import Snapshot
from .engine.store import default_book_path
from .errors import BookLocked, ConfigError
from .feed.hub import Hub
from .quote import Quote, normalize_symbol
from .strategy import StrategyRunner

__all__ = ["Session", "connect", "hours_for_feed"]

log = logging.getLogger(__name__)


def wall_ns() -> int:
    """The live clock: wall time in int ns UTC."""
    return time.time_ns()


class Session:
    """A live account: ``.account`` (the Account API), ``.engine``, ``.feed`` (the hub).

    Create it with :func:`connect`.  ``run(strategy)`` runs a backtest strategy on live
    quotes; ``close()`` stops the feed and releases the book file.
    """

    def __init__(self, engine: Engine, account: Account, hub: Hub, *, simulated: bool, feed_label: str,
                 refresh_hz: float = 4.0) -> None:
        if not 1.0 <= refresh_hz <= 10.0:
            raise ConfigError(f"refresh_hz must be between 1 and 10, was {refresh_hz!r}")
        self.engine = engine
        self.account = account
        self.feed = hub
        self.simulated = simulated
        self.feed_label = feed_label
        self.refresh_hz = refresh_hz
        self._source_symbols: list[str] = []  # what the sources say they carry (the simulated market's list)
        self.broker = LocalBroker(account, feed_health=hub.health, subscribe=self.subscribe, simulated=simulated,
                                  feed_symbols=self.feed_symbols)
        self._subs: list[Callable[[Snapshot], None]] = []
        self._tasks: list[asyncio.Task] = []
        self._stoppers: list[Callable[[], Any]] = []
        self._dirty = True
        self._last_publish = 0.0
        self._strategy: Any = None
        self._closed = False
        self.published = 0
        self._unsub_hub = hub.subscribe(self._on_quotes)
        self._unsub_link = hub.on_link(self._on_link)
        self._unsub_engine = engine.subscribe(self._on_engine_events)
        self._on_link(hub.connected)

    # -- wiring ------------------------------------------------------------------------------
    def _on_quotes(self, batch: list[Quote]) -> None:
        """Quotes from the hub: restamp with this kernel's receive time, hand to the engine."""
        if self._closed:
            return
        now = wall_ns()
        if getattr(self.feed, "in_snapshot", False):
            # quotes reloaded from the latest-quote hash after a (re)connect may come from a dead
            # publisher: they mark positions, but count as stale until a live quote arrives
            stale = self.engine.config.stale_after
            now -= int(((stale or 0) + 1) * 1e9)
        self.engine.on_quotes([q.restamped(now) for q in batch],
                              self._step if self._strategy is not None else None)
        self._dirty = True

    def _on_link(self, connected: bool) -> None:
        """While the feed is disconnected nothing fills, however fresh its last quotes look."""
        self.engine.pause_fills(None if connected else "feed disconnected")
        self._dirty = True

    def _step(self, q: Quote) -> None:
        runner = self._strategy
        if runner is None:
            return
        try:
            runner.step(q)  # the very step a backtest takes: timers, on_order, on_fill, on_quote
        except Exception:  # a strategy bug stops the strategy, never the session
            log.exception("strategy %r failed on %r; stopped", runner.strategy.obj, q)
            self._strategy = None
            runner.detach()

    def _poll_strategy(self) -> None:
        """A clock tick without quotes: the strategy's timers that fell due, and its order changes."""
        runner = self._strategy
        if runner is None:
            return
        try:
            runner.poll()
        except Exception:
            log.exception("strategy %r failed on a timer; stopped", runner.strategy.obj)
            self._strategy = None
            runner.detach()

    def _on_engine_events(self, events: list) -> None:
        self._dirty = True

    def subscribe(self, callback: Callable[[Snapshot], None]) -> Callable[[], None]:
        """Call ``callback(snapshot)`` once per refresh; returns the unsubscribe function."""
        self._subs.append(callback)
        callback(self.account.snapshot())

        def unsubscribe() -> None:
            if callback in self._subs:
                self._subs.remove(callback)

        return unsubscribe

    def refresh(self, force: bool = False) -> bool:
        """Advance engine time and publish a snapshot if something changed (or a second passed)."""
        if self._closed:
            return False
        self.engine.advance(wall_ns())
        self._poll_strategy()
        now = time.monotonic()
        if not (force or self._dirty or now - self._last_publish >= 1.0):
            return False
        self._dirty = False
        self._last_publish = now
        snap = self.account.snapshot()
        self.published += 1
        for cb in tuple(self._subs):
            try:
                cb(snap)
            except Exception:
                log.exception("snapshot subscriber %r failed", cb)
        return True

    async def _ticker(self) -> None:
        period = 1.0 / self.refresh_hz
        while not self._closed:
            await asyncio.sleep(period)
            self.refresh()

    def start(self, *sources: Any) -> Session:
        """Start the ticker and ``sources`` (objects with ``async run(publish)``) on the running loop."""
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._ticker(), name="papernb-session-ticker"))
        for src in sources:
            carried = getattr(src, "symbols", None)
            if isinstance(carried, list | tuple):
                self._source_symbols.extend(s for s in carried if s not in self._source_symbols)
            self._tasks.append(loop.create_task(src.run(self.feed.publish), name=f"papernb-source-{src!r}"[:60]))
        return self

    def add_stopper(self, stop: Callable[[], Any]) -> None:
        self._stoppers.append(stop)

    # -- public --------------------------------------------------------------------------------
    def feed_symbols(self) -> list[str]:
        """The symbols the feed carries: the simulated market's list in its order, then every symbol
        the hub has a latest quote for (a Redis feed fills that from the latest-quote table)."""
        out = dict.fromkeys(self._source_symbols)
        for s in sorted(self.feed.latest):
            out.setdefault(s)
        return list(out)

    def quote(self, symbol: str) -> Quote | None:
        """The latest quote for ``symbol`` as the engine has it: restamped with this kernel's receive
        time, so its age is the age the engine judges it by (what the ticket shows as you type)."""
        return self.engine.quote(normalize_symbol(symbol))

    def run(self, strategy: Any) -> None:
        """Run a strategy written for ``pn.backtest`` on the live quotes (one at a time), by the same runner
        as a backtest (papernb/strategy.py): ``on_quote`` after the engine matched each quote, ``on_order``
        and ``on_fill`` after each change, timers (``ctx.schedule``) on the wall clock."""
        self.stop()
        runner = StrategyRunner(strategy, self.account, engine=self.engine)
        try:
            runner.start()
        except BaseException:
            runner.detach()
            raise
        self._strategy = runner

    def stop(self) -> None:
        """Stop the running strategy (its open orders stay; cancel them if you want)."""
        runner, self._strategy = self._strategy, None
        if runner is not None:
            runner.end()

    async def aclose(self) -> None:
        """Stop the feed and the ticker, checkpoint and release the book file."""
        for r in self._shutdown():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await r
        self._release()

    def close(self) -> None:
        """Like :meth:`aclose`, usable from sync code; cancels tasks without waiting for them."""
        for r in self._shutdown():
            if asyncio.iscoroutine(r):
                r.close()
        self._release()

    def _shutdown(self) -> list[Any]:
        """Stop everything; returns what may still be awaited (cancelled tasks, async stoppers)."""
        if self._closed:
            return []
        self.stop()
        self._closed = True
        pending: list[Any] = []
        for t in self._tasks:
            t.cancel()
            pending.append(t)
        for stop in self._stoppers:
            with contextlib.suppress(Exception):
                r = stop()
                if asyncio.iscoroutine(r):
                    pending.append(r)
        return pending

    def _release(self) -> None:
        self._unsub_hub()  # all four are idempotent
        self._unsub_link()
        self._unsub_engine()
        self.engine.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        return f"<Session {self.account.name} on {self.engine.path} ({self.feed_label})>"


def _open_engine(path: str, wait: float, config: EngineConfig) -> Engine:
    deadline = time.monotonic() + wait
    while True:
        try:
            return Engine(path, config=config, clock=wall_ns)
        except BookLocked:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def connect(account: str | None = None, *, db: str | None = None, feed: str | Hub | None = None,
            redis: str | None = None, symbols: list[str] | None = None, rate: float = 20.0, seed: int | None = None,
            refresh_hz: float = 4.0, wait: float = 0.0, start: bool = True, service: str | None = None,
            token: str | None = None, **settings: Any) -> Any:
    """Open a live session on the running event loop (a notebook kernel has one).

    - ``account``: name (``PAPERNB_ACCOUNT``, default ``trader``).
    - ``feed``: ``"sim"`` (the embedded default), ``"redis"``, ``"replay:PATH"``, or a ``Hub``
      you publish into yourself (``PAPERNB_FEED``).  ``redis`` / ``PAPERNB_REDIS_URL``
      selects Redis.
    - ``db``: the book file (``PAPERNB_DB``; default ``~/.papernb/sim.duckdb`` on the
      simulated feed, ``~/.papernb/paper.duckdb`` on real quotes, so that random-walk P/L
      never mixes into a real paper record).
    - ``wait``: seconds to wait for a locked book to be released before ``BookLocked``.
    - ``service``: the URL of a running ``papernb serve`` (``PAPERNB_SERVICE``) with ``token``
      (``PAPERNB_TOKEN``): the book lives there, shared with every other window; the session's
      ``broker`` (a RemoteBroker) is what the dashboard uses.
    - other keywords: :class:`~papernb.EngineConfig` fields.  ``trading_hours`` is ``"regular"``
      on real quotes (the Redis feed, which the Excel reader publishes to) unless given here or
      in ``PAPERNB_TRADING_HOURS``; ``"always"`` on the simulated market, a replay or your own hub.
    """
    service = service or os.environ.get("PAPERNB_SERVICE") or None
    if service:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise ConfigError("pn.connect(service=...) follows the service's event stream on an asyncio loop: "
                              "in a script, call it inside `async def main()` run with `asyncio.run(main())`") from None
        from .service.remote import connect_remote

        return connect_remote(service, token)
    from .feed.redis_bus import RedisSubscriber, mask_url, redis_url

    if start:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise ConfigError(
                "pn.connect() runs the live feed on an asyncio event loop, and there is none here (a plain "
                "script): in a script write `async def main(): session = pn.connect(...)` and run it with "
                "`asyncio.run(main())`, or use pn.Engine(path) with book.on_quote(...) for no live feed; "
                "notebooks and Voila already have a loop") from None
    name = account or os.environ.get("PAPERNB_ACCOUNT") or "trader"
    url = redis_url(redis)
    kind: str | Hub = feed if feed is not None else (os.environ.get("PAPERNB_FEED") or ("redis" if url else "sim"))
    hub = kind if isinstance(kind, Hub) else Hub()
    simulated = kind == "sim"
    if isinstance(kind, str) and kind not in ("sim", "redis") and not kind.startswith("replay:"):
        raise ConfigError(f"feed must be 'sim', 'redis' or 'replay:PATH', was {kind!r}")
    if kind == "redis" and not url:
        raise ConfigError("feed 'redis' needs a URL: pass redis=... or set PAPERNB_REDIS_URL")
    path = db or default_book_path(simulated=simulated)
    settings = {**settings, **hours_for_feed(kind if isinstance(kind, str) else "hub", settings)}
    config = EngineConfig.build(None, **settings)
    engine = _open_engine(path, wait, config)
    try:
        acct = engine.account(name)
        if isinstance(kind, Hub):
            label = "your feed"
        elif kind == "sim":
            label = "SIMULATED"
        elif kind == "redis":
            label = f"redis {mask_url(url)}"  # type: ignore[arg-type]
        else:
            label = f"replay {Path(kind[7:]).name}"
        session = Session(engine, acct, hub, simulated=simulated, feed_label=label, refresh_hz=refresh_hz)
        if not start:
            return session
        sources: list[Any] = []
        if kind == "sim":
            from .feed.sim import SimulatedMarket

            sources.append(SimulatedMarket(symbols, rate=rate, seed=0 if seed is None else seed))
        elif isinstance(kind, str) and kind.startswith("replay:"):
            from .feed.replay import Replay

            sources.append(Replay(kind[7:], speed=1.0))
        session.start(*sources)
        if kind == "redis":
            sub = RedisSubscriber(hub, url, symbols=symbols)
            sub.start()
            session.add_stopper(sub.stop)
        return session
    except BaseException:
        engine.close()
        raise
