"""A simulated market: a seeded random walk per symbol, on the cent tick.

It is the embedded default feed (no Excel, no Redis, no data files), so it aims to look
like a real tape to a trader: spreads of a cent or a few basis points, round-lot sizes,
a last price that trades at the bid or the ask.  The same seed gives the same sequence
of prices; only the timestamps come from the clock.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
import zlib
from collections.abc import Callable, Sequence
from decimal import Decimal

from ..errors import ConfigError
from ..quote import Quote, normalize_symbol
from .wire import build

__all__ = ["DEFAULT_SYMBOLS", "MAX_RATE", "SimulatedMarket", "publish_batch"]

#: The highest ``rate`` (quotes a second over all symbols).  One Python process makes and
#: publishes a few hundred thousand simulated quotes a second at best, and one papernb kernel
#: takes tens of thousands a second from Redis: beyond this a feed only builds up memory
#: (1e9 quotes/s once grew to 15 GB) and starves its own stop and signal handling.
MAX_RATE = 100_000.0

DEFAULT_SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "SPY", "QQQ", "IWM")
_START = {"AAPL": 190.0, "MSFT": 420.0, "NVDA": 130.0, "AMZN": 185.0, "GOOGL": 170.0, "META": 500.0,
          "TSLA": 250.0, "SPY": 560.0, "QQQ": 480.0, "IWM": 215.0}
_CENT = 100  # units of $0.0001
_PCT = Decimal("0.01")


async def publish_batch(publish: Callable[[list[Quote]], object], batch: list[Quote]) -> None:
    """Call a hub's ``publish`` or await a Redis publisher's: sources accept either."""
    r = publish(batch)
    if inspect.isawaitable(r):
        await r


class SimulatedMarket:
    """``step()`` makes one batch; ``run(publish)`` makes ``rate`` quotes a second.

    ``rate`` counts quotes (not batches) over all symbols; each step moves the symbols it
    picks by a Gaussian step of ``vol`` (daily-ish volatility spread over the rate).
    """

    def __init__(self, symbols: Sequence[str] | None = None, *, rate: float = 50.0, seed: int = 0,
                 interval: float = 0.1, vol: float = 0.0002, src: str = "sim",
                 clock: Callable[[], int] = time.time_ns) -> None:
        syms = [normalize_symbol(s) for s in (symbols or DEFAULT_SYMBOLS)]
        self.symbols = list(dict.fromkeys(syms))
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= MAX_RATE:
            raise ConfigError(f"rate must be more than 0 and at most {MAX_RATE:,.0f} quotes a second, was {rate!r}")
        if isinstance(interval, bool) or not isinstance(interval, int | float) or not 0.001 <= interval <= 60:
            raise ConfigError(f"interval must be between 0.001 and 60 seconds, was {interval!r}")
        self.rate, self.interval, self.vol, self.src, self.clock = float(rate), float(interval), vol, src, clock
        self._rng = random.Random(seed)
        self._mid: dict[str, int] = {}
        self._open: dict[str, int] = {}
        for s in self.symbols:
            start = _START.get(s) or 20 + zlib.crc32(s.encode()) % 480  # stable across runs and platforms
            units = round(start * 100) * _CENT
            self._mid[s] = self._open[s] = units
        self._carry = 0.0
        self._next = 0  # round-robin position, so every symbol quotes even at low rates

    def quote(self, symbol: str, ts: int | None) -> Quote:
        """Move ``symbol`` one step and quote it."""
        rng = self._rng
        mid = self._mid[symbol]
        step = rng.gauss(0.0, self.vol) * mid
        mid = max(_CENT, mid + round(step / _CENT) * _CENT)
        self._mid[symbol] = mid
        half = max(1, round(mid * 0.00005 / _CENT)) * _CENT  # ~1 bp of spread each side, at least a cent
        if rng.random() < 0.5:
            half = _CENT if half > _CENT else half
        bid, ask = mid - half, mid + half
        if bid <= 0:
            bid = None
        last = ask if rng.random() < 0.5 else (bid or ask)
        bsz = rng.randint(1, 20) * 100
        asz = rng.randint(1, 20) * 100
        op = self._open[symbol]
        chg = (Decimal(last - op) * 100 / Decimal(op)).quantize(_PCT)
        return build(symbol, bid, ask, last, ts, change_pct=chg, bid_size=bsz, ask_size=asz, src=self.src)

    def step(self, n: int | None = None, ts: int | None = None) -> list[Quote]:
        """One batch of ``n`` quotes (default: what ``rate`` gives per ``interval``)."""
        if n is None:
            self._carry += self.rate * self.interval
            n = int(self._carry)
            self._carry -= n
        if ts is None:
            ts = self.clock()
        out = []
        syms = self.symbols
        for _ in range(n):
            s = syms[self._next]
            self._next = (self._next + 1) % len(syms)
            out.append(self.quote(s, ts))
        return out

    async def run(self, publish: Callable[[list[Quote]], object], *, duration: float | None = None) -> int:
        """Publish until cancelled or ``duration`` seconds have passed; returns the quote count.

        Ticks follow a fixed grid, so slow publishes do not lower the rate; a tick that runs
        late is not made up for (the quotes it would owe are not piled up), so a slow
        consumer sees a lower rate, never a growing backlog.
        """
        loop = asyncio.get_running_loop()
        start = loop.time()
        tick = 0
        count = 0
        while duration is None or loop.time() - start < duration:
            batch = self.step()
            if batch:
                await publish_batch(publish, batch)
                count += len(batch)
            tick += 1
            now = loop.time()
            behind = now - (start + tick * self.interval)
            if behind > self.interval:  # more than a tick late: skip the missed ticks
                tick += int(behind / self.interval)
            wait = start + tick * self.interval - now
            if duration is not None:
                wait = min(wait, start + duration - now)
            await asyncio.sleep(max(0.0, wait))
        return count
