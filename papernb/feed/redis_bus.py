"""The Redis bus: a publisher for sources, a resynchronising subscriber for kernels.

Layout (ARCHITECTURE.md, "Redis layout"): every quote is PUBLISHed on
``<prefix>:quote:<SYMBOL>``; each batch also goes out as one JSON array on
``<prefix>:batch`` (what papernb's all-symbols subscriber reads: one message per batch
is what makes tens of thousands of quotes a second cheap); and ``<prefix>:quotes`` is a
hash of the latest quote per symbol, so a (re)connecting subscriber starts from a full
snapshot.  Pub/sub is at-most-once; that is fine for latest-wins quotes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ..errors import ConfigError
from ..quote import Quote, normalize_symbol
from .hub import Hub
from .wire import decode, encode

__all__ = ["DEFAULT_PREFIX", "RedisPublisher", "RedisSubscriber", "asnapshot", "mask_url", "redis_url",
           "snapshot"]

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "papernb"
_MAX_MESSAGE = 16 * 1024 * 1024  # a batch of 10k quotes is ~2 MB; anything far bigger is not ours
_ERRORS = (redis.RedisError, OSError, asyncio.TimeoutError)


def redis_url(url: str | None = None) -> str | None:
    """The Redis URL to use: the argument, else ``PAPERNB_REDIS_URL``, else None (in-process)."""
    return url or os.environ.get("PAPERNB_REDIS_URL") or None


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***``, fit for logs and the UI."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _need_url(url: str | None) -> str:
    u = redis_url(url)
    if u is None:
        raise ConfigError("no Redis configured: pass a URL (redis://host:6379) or set PAPERNB_REDIS_URL")
    return u


def _client(url: str, **kw: object) -> aredis.Redis:
    # no hidden retries: callers decide (the publisher drops and backs off, the subscriber
    # reconnects and resynchronises); redis-py's default would block for tens of seconds
    return aredis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=3, **kw)


class _Names:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.batch = f"{prefix}:batch"
        self.hash = f"{prefix}:quotes"
        self.quote = f"{prefix}:quote:"


class RedisPublisher:
    """Publish batches of quotes; never blocks a source for long when Redis is away.

    ``epoch`` is this publisher's start time in ns and ``seq`` counts its quotes, so
    subscribers order quotes per ``src`` and a restarted publisher is newer, not older.
    While Redis is unreachable, batches are dropped (counted in ``lost``) and the
    connection is retried with backoff; the latest-quote hash heals on the next batch.
    """

    def __init__(self, url: str | None = None, *, prefix: str = DEFAULT_PREFIX, src: str = "papernb",
                 per_symbol: bool = True, max_backoff: float = 5.0) -> None:
        self.url = _need_url(url)
        self.names = _Names(prefix)
        self.src = src
        self.per_symbol = per_symbol
        self.epoch = time.time_ns()
        self.seq = 0
        self.published = 0
        self.lost = 0
        self.connected: bool | None = None  # None until the first publish
        self.last_error: str | None = None
        self._client = _client(self.url)
        self._backoff = 0.0
        self._max_backoff = max_backoff
        self._retry_at = 0.0

    async def publish(self, quotes: Sequence[Quote]) -> int:
        """Send one batch; returns how many quotes went out (0 when Redis is away)."""
        if not quotes:
            return 0
        if self.connected is False and time.monotonic() < self._retry_at:
            self.lost += len(quotes)
            return 0
        names, src, epoch = self.names, self.src, self.epoch
        seq = self.seq
        parts = []
        latest: dict[str, str] = {}
        pipe = self._client.pipeline(transaction=False)
        chan = names.quote
        for q in quotes:
            seq += 1
            s = encode(q, src=src, epoch=epoch, seq=seq)
            parts.append(s)
            latest[q._sym] = s
            if self.per_symbol:
                pipe.publish(chan + q._sym, s)
        self.seq = seq
        pipe.publish(names.batch, "[" + ",".join(parts) + "]")
        pipe.hset(names.hash, mapping=latest)
        try:
            await pipe.execute()
        except _ERRORS as e:
            self.lost += len(quotes)
            self._backoff = min(self._max_backoff, max(0.1, self._backoff * 2))
            self._retry_at = time.monotonic() + self._backoff
            if self.connected is not False:
                log.warning("Redis %s unreachable (%s); retrying", mask_url(self.url), e)
            self.connected, self.last_error = False, f"{type(e).__name__}: {e}"
            return 0
        if self.connected is False:
            log.warning("Redis %s reachable again", mask_url(self.url))
        self.connected, self._backoff = True, 0.0
        self.published += len(quotes)
        return len(quotes)

    async def aclose(self) -> None:
        with contextlib.suppress(*_ERRORS):
            await self._client.aclose()


class RedisSubscriber:
    """Feed a :class:`Hub` from Redis: subscribe, load the hash, then apply newer quotes.

    All symbols (``symbols=None``) read the batch channel; a list of symbols reads their
    per-symbol channels.  A quote is applied only if its ``(epoch, seq)`` is newer than
    the last one applied for that symbol from that ``src``, so the snapshot and the
    stream can overlap safely.  Gaps in ``seq`` are counted on the all-symbols stream
    (per-symbol channels skip seqs by design).  When the connection drops, the hub shows
    disconnected with the error, and the subscriber reconnects with backoff and
    resynchronises from the hash.  Nothing a publisher sends can crash it.
    """

    def __init__(self, hub: Hub, url: str | None = None, *, symbols: Iterable[str] | None = None,
                 prefix: str = DEFAULT_PREFIX, backoff: float = 0.1, max_backoff: float = 5.0) -> None:
        self.hub = hub
        self.url = _need_url(url)
        self.names = _Names(prefix)
        self.symbols = None if symbols is None else sorted({normalize_symbol(s) for s in symbols})
        self.backoff, self.max_backoff = backoff, max_backoff
        self.stale = 0  # quotes older than what was already applied (normal around a resync)
        self.resyncs = 0
        self._order: dict[tuple[str | None, str], tuple[int, int]] = {}
        self._stream: dict[str | None, tuple[int, int]] = {}
        self._task: asyncio.Task | None = None
        self._ready = asyncio.Event()
        hub.attach(f"redis {mask_url(self.url)}")

    def start(self) -> asyncio.Task:
        """Run on the current event loop (e.g. the kernel's); keep the returned task."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="papernb-redis-subscriber")
        return self._task

    async def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until subscribed and resynchronised; False on timeout."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _channels(self) -> list[str]:
        if self.symbols is None:
            return [self.names.batch]
        return [self.names.quote + s for s in self.symbols]

    async def run(self) -> None:
        """Subscribe and apply quotes until cancelled, reconnecting forever."""
        delay = self.backoff
        while True:
            client = _client(self.url, health_check_interval=10)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*self._channels())  # first subscribe, then read the hash
                await self._resync(client)
                self._stream.clear()  # missed messages are covered by the resync, not gaps
                self.hub.set_link(True)
                self._ready.set()
                delay = self.backoff
                on_message = self.on_message
                get = pubsub.get_message
                while True:
                    msg = await get(ignore_subscribe_messages=True, timeout=1.0)
                    if msg is not None:
                        on_message(msg["data"])
            except _ERRORS as e:
                self._ready.clear()
                if self.hub.connected:
                    log.warning("Redis %s lost (%s); reconnecting", mask_url(self.url), e)
                self.hub.set_link(False, error=f"{type(e).__name__}: {e}")
            finally:
                with contextlib.suppress(*_ERRORS, RuntimeError):
                    await pubsub.aclose()
                    await client.aclose()
            await asyncio.sleep(delay)
            delay = min(self.max_backoff, delay * 2)

    async def _resync(self, client: aredis.Redis) -> None:
        if self.symbols is None:
            values = list((await client.hgetall(self.names.hash)).values())
        else:
            values = [v for v in await client.hmget(self.names.hash, self.symbols) if v is not None]
        self.resyncs += 1
        good = []
        dropped = 0
        for v in values:
            pairs, d = decode(v)
            dropped += d
            good.extend(pairs)
        if dropped:
            self.hub.count_dropped(dropped)
        self.hub.publish(self._accept(good, stream=False))

    def on_message(self, data: bytes | str) -> None:
        """One pub/sub payload: decode, drop what is bad or old, publish the rest to the hub."""
        if not isinstance(data, bytes | str) or len(data) > _MAX_MESSAGE:
            self.hub.count_dropped()
            return
        pairs, dropped = decode(data)
        if dropped:
            self.hub.count_dropped(dropped)
        if pairs:
            batch = self._accept(pairs, stream=self.symbols is None)
            if batch:
                self.hub.publish(batch)

    def _accept(self, pairs: list[tuple[int, Quote]], stream: bool) -> list[Quote]:
        order, streams, wanted = self._order, self._stream, self.symbols
        out = []
        for epoch, q in pairs:
            seq = q._seq
            if seq is None:  # a foreign publisher without ordering: latest wins
                if wanted is None or q._sym in wanted:
                    out.append(q)
                continue
            src = q._src
            if stream:
                st = streams.get(src)
                if st is None or epoch > st[0]:
                    streams[src] = (epoch, seq)
                elif epoch == st[0] and seq > st[1]:
                    if seq > st[1] + 1:
                        self.hub.gaps += seq - st[1] - 1
                    streams[src] = (epoch, seq)
            if wanted is not None and q._sym not in wanted:
                continue
            key = (src, q._sym)
            cur = (epoch, seq)
            prev = order.get(key)
            if prev is not None and cur <= prev:
                self.stale += 1
                continue
            order[key] = cur
            out.append(q)
        return out


def _decode_values(values: Iterable[bytes | None]) -> dict[str, Quote]:
    out: dict[str, Quote] = {}
    for v in values:
        if v is None:
            continue
        pairs, _ = decode(v)
        for _, q in pairs:
            out[q._sym] = q
    return out


def snapshot(symbols: Iterable[str], url: str | None = None, *, prefix: str = DEFAULT_PREFIX) -> dict[str, Quote]:
    """The latest quote per symbol from the hash (symbols never quoted are absent).

    Synchronous, for scripts and the ``papernb quotes`` command; use :func:`asnapshot` on
    an event loop.  Raises ``ConnectionError`` naming the server when it is unreachable.
    """
    u = _need_url(url)
    syms = [normalize_symbol(s) for s in symbols]
    if not syms:
        return {}
    client = redis.Redis.from_url(u, socket_connect_timeout=3, socket_timeout=5, retry=None)
    try:
        values = client.hmget(f"{prefix}:quotes", syms)
    except redis.RedisError as e:
        raise ConnectionError(f"cannot read quotes from Redis {mask_url(u)}: {e}") from None
    finally:
        client.close()
    return _decode_values(values)


async def asnapshot(symbols: Iterable[str], url: str | None = None, *,
                    prefix: str = DEFAULT_PREFIX) -> dict[str, Quote]:
    """:func:`snapshot` for code running on an event loop."""
    u = _need_url(url)
    syms = [normalize_symbol(s) for s in symbols]
    if not syms:
        return {}
    client = _client(u)
    try:
        values = await client.hmget(f"{prefix}:quotes", syms)
    except _ERRORS as e:
        raise ConnectionError(f"cannot read quotes from Redis {mask_url(u)}: {e}") from None
    finally:
        with contextlib.suppress(*_ERRORS):
            await client.aclose()
    return _decode_values(values)
