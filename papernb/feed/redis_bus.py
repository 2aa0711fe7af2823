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
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ..errors import ConfigError, PaperError
from ..quote import Quote, normalize_symbol
from .hub import Hub
from .wire import decode, encode_many

__all__ = ["DEFAULT_PREFIX", "RedisPublisher", "RedisSubscriber", "RedisUnavailable", "asnapshot", "check_url",
           "mask_url", "ping", "redis_url", "snapshot"]

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "papernb"
_MAX_MESSAGE = 16 * 1024 * 1024  # a batch of 10k quotes is ~2 MB; anything far bigger is not ours
_ERRORS = (redis.RedisError, OSError, asyncio.TimeoutError)


class RedisUnavailable(PaperError, ConnectionError):
    """A configured Redis that cannot be reached (or refuses us); the message names it, password masked."""


def redis_url(url: str | None = None) -> str | None:
    """The Redis URL to use: the argument, else ``PAPERNB_REDIS_URL``, else None (in-process)."""
    return url or os.environ.get("PAPERNB_REDIS_URL") or None


_SCHEMES = ("redis", "rediss", "unix")


def check_url(url: str, what: str = "the Redis URL") -> str:
    """``url`` if it is a Redis URL papernb can use, else ``ConfigError`` naming it (password masked).

    ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` (TLS) or ``unix:///path``.
    """
    shown = mask_url(url) if isinstance(url, str) else repr(url)
    hint = "use redis://[:password@]host[:port][/db], rediss://... (TLS) or unix:///path/to/redis.sock"
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"{what} is empty: {hint}")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as e:
        raise ConfigError(f"{what} {shown} is not a Redis URL ({e}): {hint}") from None
    if parts.scheme.lower() not in _SCHEMES:
        raise ConfigError(f"{what} {shown} is not a Redis URL (scheme {parts.scheme or 'missing'!r}): {hint}")
    if parts.scheme.lower() == "unix":
        if not parts.path:
            raise ConfigError(f"{what} {shown} names no socket: {hint}")
        return url
    if not parts.hostname:
        raise ConfigError(f"{what} {shown} names no host: {hint}")
    if port is not None and not 0 < port < 65536:
        raise ConfigError(f"{what} {shown} has no valid port: {hint}")
    db = parts.path.strip("/")
    if db and not (db.isascii() and db.isdigit()):
        raise ConfigError(f"{what} {shown}: the database after the host must be a number like /0, was {db!r}")
    return url


def ping(url: str, timeout: float = 3.0) -> None:
    """Connect, authenticate and PING once; ``RedisUnavailable`` with the URL and the cause if that fails.

    For commands that must not start against a Redis that is not there (a recorder that
    records nothing and exits 0 helps no one).  Long-running readers still retry.
    """
    check_url(url)
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=None)
    try:
        client.ping()
    except (redis.RedisError, OSError) as e:
        raise RedisUnavailable(f"cannot reach Redis at {mask_url(url)}: {_cause(e)}") from None
    finally:
        with contextlib.suppress(Exception):
            client.close()


def _cause(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 200 else text[:200] + "..."


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***``, fit for logs and the UI."""
    try:
        parts = urlsplit(url)
        password, port = parts.password, parts.port
    except ValueError:  # a malformed URL: hide everything between "//" and "@", if there is one
        head, sep, tail = url.partition("@")
        return ("***@" + tail if "//" not in head else head.split("//", 1)[0] + "//***@" + tail) if sep else url
    if password is None:
        return url
    host = parts.hostname or ""
    if port:
        host += f":{port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _need_url(url: str | None) -> str:
    u = redis_url(url)
    if u is None:
        raise ConfigError("no Redis configured: pass a URL (redis://host:6379) or set PAPERNB_REDIS_URL")
    return check_url(u, "the Redis URL" if url else "PAPERNB_REDIS_URL")


#: A seq further than this past the last one seen on the all-symbols stream of a (src, epoch)
#: is suspicious, not a gap: a papernb publisher numbers every quote and loses at most a
#: batch (10,000 quotes at the highest sim rate) per failed send, so a real gap is far smaller.
MAX_SEQ_JUMP = 1_000_000
#: ... and a seq above (seconds since its epoch + a day of clock skew) x this rate cannot be real
#: (no publisher sends a million quotes a second): 10^18 injected with a real src and epoch.
MAX_SEQ_RATE = 1_000_000
_SKEW_SECONDS = 86_400
#: A source that goes on from a suspicious jump for this many quotes, with nothing in between
#: from where it was, is followed: that publisher really jumped.
FOLLOW_JUMP_AFTER = 100


def _reraise_if_cancelled() -> None:
    """Raise CancelledError if this task has a cancellation pending that redis-py swallowed.

    A cancellation that lands while redis-py (8.1, Python 3.11) is mid-command can be
    swallowed: ``Connection.send_packed_command`` returns normally, or the command fails
    with one of redis-py's errors, and the task runs on (seen in the test suite about one
    run in ten: a sim feed cancelled just after a Redis restart published on forever, and
    the test waited for it forever).  So the publisher looks at the task's pending
    cancellation before it sends a batch and when a send failed, and the subscriber after
    every read: stopping a feed always stops it.  A batch that did go out is still reported
    as sent; the cancellation takes effect at the next batch, before anything goes out.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


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


# Per batch, one EVALSHA of this script in two steps.  Step "latest": the latest quote per
# symbol into the hash (HSET in order, so the last one wins), then the batch array on the batch
# channel (what every papernb kernel reads).  Step "symbols": a PUBLISH per quote on its
# symbol's channel.  The hash is written before anything is published, in one atomic step, so a
# subscriber that subscribes first and then reads the hash never misses a quote.  The
# per-symbol fan-out is a second call on purpose: Redis writes to subscribers only once the
# command in hand has finished, and ~100 PUBLISHes inside the first step would hold every
# kernel's batch back by about 0.2 ms.  The quotes travel once per call, inside the batch array;
# ARGV[4] is an index "SYM LEN SYM LEN ..." of the objects in it.  (A redis-py pipeline of
# per-quote PUBLISH costs ~25 us a quote in the client, an HSET with a field per quote ~2.6 us,
# and this ~1 us.)
_PUBLISH_LUA = """
local prefix, batch, step, index = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local pos, fields = 2, {}
for sym, len in string.gmatch(index, '(%S+) (%d+)') do
  local quote = string.sub(batch, pos, pos + len - 1)
  pos = pos + len + 1
  if step == 'symbols' then
    redis.call('PUBLISH', prefix .. 'quote:' .. sym, quote)
  else
    fields[#fields + 1] = sym
    fields[#fields + 1] = quote
    if #fields >= 1000 then redis.call('HSET', KEYS[1], unpack(fields)); fields = {} end
  end
end
if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
if step == 'latest' then redis.call('PUBLISH', prefix .. 'batch', batch) end
return (pos - 2)
"""


class RedisPublisher:
    """Publish batches of quotes; never blocks a source for long when Redis is away.

    Each batch is two calls of a short Lua script (see ``_PUBLISH_LUA``): the hash and the
    batch channel together, then the per-symbol channels, so kernels get the batch without
    waiting for that fan-out, and the hash always holds what the batch channel has sent.

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
        self._script = self._client.register_script(_PUBLISH_LUA)
        self._backoff = 0.0
        self._max_backoff = max_backoff
        self._retry_at = 0.0

    async def publish(self, quotes: Iterable[Quote] | Quote) -> int:
        """Send one batch; returns how many quotes went out (0 when Redis is away)."""
        _reraise_if_cancelled()
        if isinstance(quotes, Quote):  # a Quote is a tuple: never iterate its fields
            quotes = [quotes]
        elif not isinstance(quotes, list | tuple):
            quotes = list(quotes)
        if not quotes:
            return 0
        if self.connected is False and time.monotonic() < self._retry_at:
            self.lost += len(quotes)
            return 0
        parts = encode_many(quotes, src=self.src, epoch=self.epoch, seq=self.seq)
        self.seq += len(parts)
        # wire JSON is ASCII (json.dumps escapes the rest), so len() counts the bytes Lua sees
        batch = "[" + ",".join(parts) + "]"
        index = " ".join([f"{q._sym} {len(text)}" for q, text in zip(quotes, parts, strict=True)])
        keys, prefix = [self.names.hash], self.names.prefix + ":"
        try:
            await self._script(keys=keys, args=[prefix, batch, "latest", index])
        except _ERRORS as e:
            self.lost += len(quotes)
            self._went_away(e)
            _reraise_if_cancelled()
            return 0
        if self.connected is False:
            log.warning("Redis %s reachable again", mask_url(self.url))
        self.connected, self._backoff = True, 0.0
        self.published += len(quotes)
        if self.per_symbol:
            try:
                await self._script(keys=keys, args=[prefix, batch, "symbols", index])
            except _ERRORS as e:  # kernels and the hash have the batch; per-symbol readers missed it
                self._went_away(e)
        return len(quotes)

    def _went_away(self, e: BaseException) -> None:
        self._backoff = min(self._max_backoff, max(0.1, self._backoff * 2))
        self._retry_at = time.monotonic() + self._backoff
        if self.connected is not False:
            log.warning("Redis %s unreachable (%s); retrying", mask_url(self.url), e)
        self.connected, self.last_error = False, f"{type(e).__name__}: {e}"

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
                 prefix: str = DEFAULT_PREFIX, backoff: float = 0.1, max_backoff: float = 5.0,
                 epoch_silent: float = 10.0, monotonic: Callable[[], float] = time.monotonic,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.hub = hub
        self.url = _need_url(url)
        self.names = _Names(prefix)
        self.symbols = None if symbols is None else sorted({normalize_symbol(s) for s in symbols})
        self._wanted = None if self.symbols is None else frozenset(self.symbols)
        self.backoff, self.max_backoff = backoff, max_backoff
        self.epoch_silent = epoch_silent  # seconds before a silent publisher epoch counts as gone
        self.monotonic, self.clock = monotonic, clock
        self.stale = 0  # quotes older than what was already applied (normal around a resync)
        self._jumps: dict[tuple[str | None, int], tuple[int, int]] = {}  # (src, epoch) -> (seq, run length)
        self.resyncs = 0
        self._order: dict[str | None, dict[str, tuple[int, int]]] = {}  # src -> symbol -> (epoch, seq)
        self._epoch_seen: dict[tuple[str | None, int], float] = {}  # (src, epoch) -> last seen
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
                task = asyncio.current_task()
                while True:
                    msg = await get(ignore_subscribe_messages=True, timeout=1.0)
                    if task is not None and task.cancelling():
                        raise asyncio.CancelledError  # see _reraise_if_cancelled
                    if msg is not None:
                        on_message(msg["data"])
            except _ERRORS as e:
                self._ready.clear()
                _reraise_if_cancelled()
                if self.hub.connected:
                    log.warning("Redis %s lost (%s); reconnecting", mask_url(self.url), e)
                self.hub.set_link(False, error=f"{type(e).__name__}: {e}")
            except Exception as e:  # a bug must not end the feed silently: log it, reconnect, resync
                self._ready.clear()
                _reraise_if_cancelled()
                log.exception("Redis subscriber failed; reconnecting")
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
        self.hub.publish(self._accept(good, stream=False), snapshot=True)

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
        # runs for every quote a kernel receives: the bookkeeping of one (src, epoch) run of
        # quotes (a batch is one) is looked up once per run, not once per quote
        order, streams, wanted, seen = self._order, self._stream, self._wanted, self._epoch_seen
        now = self.monotonic()
        wall = self.clock()
        run_src: object = self  # no quote's src: the first quote starts a run
        run_epoch = -1
        last: dict[str, tuple[int, int]] = {}
        st_seq: int | None = None
        limit = 0
        suspicious = 0
        out = []
        for epoch, q in pairs:
            seq = q._seq
            if seq is None:  # a foreign publisher without ordering: latest wins
                if wanted is None or q._sym in wanted:
                    out.append(q)
                continue
            src = q._src
            if src != run_src or epoch != run_epoch:
                if stream and run_src is not self and st_seq is not None:
                    streams[run_src] = (run_epoch, st_seq)  # type: ignore[index]
                run_src, run_epoch = src, epoch
                last = order.get(src) or order.setdefault(src, {})
                # the most quotes a publisher can have sent since its epoch (its start time)
                limit = (max(0, wall - epoch) // 1_000_000_000 + _SKEW_SECONDS) * MAX_SEQ_RATE
                if stream:
                    seen[(src, epoch)] = now
                    st = streams.get(src)
                    st_seq = None if st is None or st[0] != epoch else st[1]
            if seq > limit:
                suspicious += 1
                continue
            if stream:
                if st_seq is None:
                    st_seq = seq - 1
                if seq > st_seq:
                    jump = seq - st_seq - 1
                    if jump > MAX_SEQ_JUMP:
                        if not self._follow(src, epoch, seq):
                            suspicious += 1
                            continue
                    else:
                        if jump:
                            self.hub.gaps += jump
                        if self._jumps:
                            self._jumps.pop((src, epoch), None)  # back on track: a lone jump was noise
                    st_seq = seq
            sym = q._sym
            if wanted is not None and sym not in wanted:
                continue
            prev = last.get(sym)
            if prev is not None and (epoch < prev[0] or epoch == prev[0] and seq <= prev[1]):
                # older: normal around a resync.  But a publisher restarted on a PC whose clock
                # went back has a lower epoch; once the old epoch is silent, the new one wins.
                if epoch == prev[0] or now - seen.get((src, prev[0]), now) < self.epoch_silent:
                    self.stale += 1
                    continue
            last[sym] = (epoch, seq)
            out.append(q)
        if stream and run_src is not self and st_seq is not None:
            streams[run_src] = (run_epoch, st_seq)  # type: ignore[index]
        if suspicious:
            self.hub.count_suspicious(suspicious)
        return out

    def _follow(self, src: str | None, epoch: int, seq: int) -> bool:
        """A seq far past the stream's: suspicious, unless the source keeps going on from it."""
        key = (src, epoch)
        prev = self._jumps.get(key)
        run = prev[1] + 1 if prev is not None and 0 < seq - prev[0] <= MAX_SEQ_JUMP else 1
        if run >= FOLLOW_JUMP_AFTER:
            del self._jumps[key]
            log.warning("Redis source %s jumped to seq %d; following it", src, seq)
            return True
        if len(self._jumps) > 1000:
            self._jumps.clear()
        self._jumps[key] = (seq, run)
        return False


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
    except (redis.RedisError, OSError) as e:
        raise RedisUnavailable(f"cannot read quotes from Redis at {mask_url(u)}: {_cause(e)}") from None
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
        raise RedisUnavailable(f"cannot read quotes from Redis at {mask_url(u)}: {_cause(e)}") from None
    finally:
        with contextlib.suppress(*_ERRORS):
            await client.aclose()
    return _decode_values(values)
