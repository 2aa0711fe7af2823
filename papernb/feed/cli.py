"""``papernb feed sim|replay|excel``, ``papernb quotes`` and ``papernb record``.

Feed commands publish to Redis when a URL is given (``--redis`` or ``PAPERNB_REDIS_URL``);
without one they print each quote as a wire-format JSON line on stdout, so a trader can
check a workbook or a file without a server, and scripts can pipe the tape.  ``quotes``
and ``record`` read from Redis and need a URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Coroutine, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import PaperError
from ..quote import Quote
from .excel import ExcelSource, open_live, read_saved
from .hub import Hub
from .record import Recorder
from .redis_bus import RedisPublisher, RedisSubscriber, mask_url, redis_url, snapshot
from .replay import Replay
from .sim import SimulatedMarket
from .wire import encode

__all__ = ["main"]


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class _Printer:
    """The publisher used when no Redis is configured: wire JSON lines on stdout."""

    def __init__(self, src: str) -> None:
        self.src, self.epoch, self.seq, self.published, self.lost = src, time.time_ns(), 0, 0, 0

    def publish(self, quotes: Sequence[Quote]) -> int:
        lines = []
        for q in quotes:
            self.seq += 1
            lines.append(encode(q, src=self.src, epoch=self.epoch, seq=self.seq))
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        self.published += len(quotes)
        return len(quotes)

    async def aclose(self) -> None:
        return None


def _publisher(args: argparse.Namespace, src: str) -> RedisPublisher | _Printer:
    url = redis_url(args.redis)
    if url is None:
        _say("papernb: no Redis configured (--redis URL or PAPERNB_REDIS_URL): printing quotes on stdout")
        return _Printer(src)
    _say(f"papernb: publishing {src} quotes to {mask_url(url)} (prefix {args.prefix}); Ctrl-C stops")
    return RedisPublisher(url, prefix=args.prefix, src=src)


async def _feed(args: argparse.Namespace) -> int:
    src = args.src or args.source
    pub = _publisher(args, src)
    try:
        if args.source == "sim":
            symbols = [s for s in args.symbols.split(",") if s.strip()] if args.symbols else None
            market = SimulatedMarket(symbols, rate=args.rate, seed=args.seed, src=src)
            await market.run(pub.publish, duration=args.duration)
        elif args.source == "replay":
            speed = None if args.speed.strip().lower() == "max" else float(args.speed)
            replay = Replay(args.file, speed=speed, table=args.table, tz=args.tz)
            if replay.dropped:
                _say(f"papernb: {replay.dropped} bad rows in {args.file} skipped")
            await replay.run(pub.publish)
        else:
            try:
                reader: Any = open_live(args.workbook, args.sheet)
                _say(f"papernb: reading {args.workbook} live from Excel every {args.interval}s")
            except PaperError as e:
                _say(f"papernb: {e}; reading the saved file {args.workbook}")
                reader = _SavedReader(args.workbook, args.sheet)
            source = ExcelSource(reader, interval=args.interval, src=src)
            await source.run(pub.publish, once=args.once)
            if source.dropped:
                _say(f"papernb: {source.dropped} rows could not be read as quotes (see the warnings above)")
    finally:
        await pub.aclose()
        lost = f", lost {pub.lost} while Redis was away" if pub.lost else ""
        _say(f"papernb: published {pub.published} quotes{lost}")
    return 0


class _SavedReader:
    """Re-read a saved workbook only when the file changes (Excel saves, a sync tool copies)."""

    def __init__(self, path: str, sheet: str | None) -> None:
        self.path, self.sheet = Path(path), sheet
        self._stamp: tuple[int, int] | None = None
        self._rows: list[list[Any]] = []

    def __call__(self) -> list[list[Any]]:
        st = self.path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._rows = read_saved(self.path, self.sheet)
            self._stamp = stamp
        return self._rows


def _json_value(v: Any) -> Any:
    return str(v) if isinstance(v, Decimal) else v


def _quotes(args: argparse.Namespace) -> int:
    url = redis_url(args.redis)
    if url is None:
        _say("papernb quotes: no Redis configured: pass --redis redis://host:6379 or set PAPERNB_REDIS_URL")
        return 2
    try:
        found = snapshot(args.symbols, url, prefix=args.prefix)
    except ConnectionError as e:
        _say(f"papernb quotes: {e}")
        return 2
    now = time.time_ns()
    missing = 0
    for raw in args.symbols:
        sym = raw.strip().upper()
        q = found.get(sym)
        if q is None:
            missing += 1
            _say(f"{sym}: no quote")
            continue
        if args.json:
            print(json.dumps({k: _json_value(v) for k, v in q.to_dict().items()}))
        else:
            print(_line(q, now))
    return 1 if missing else 0


def _line(q: Quote, now: int) -> str:
    parts = [f"{q.symbol:<8}"]
    if q.last is not None:
        parts.append(f"last {q.last.normalize():f}")
    if q.bid is not None:
        parts.append(f"bid {q.bid.normalize():f}" + (f" x {q.bid_size}" if q.bid_size is not None else ""))
    if q.ask is not None:
        parts.append(f"ask {q.ask.normalize():f}" + (f" x {q.ask_size}" if q.ask_size is not None else ""))
    if q.change_pct is not None:
        parts.append(f"{q.change_pct:+.2f}%")
    if q.ts is not None:
        parts.append(f"{max(0, now - q.ts) / 1e9:.1f}s ago")
    if q.src:
        parts.append(f"({q.src})")
    return "  ".join(parts)


async def _record(args: argparse.Namespace) -> int:
    url = redis_url(args.redis)
    if url is None:
        _say("papernb record: no Redis configured: pass --redis redis://host:6379 or set PAPERNB_REDIS_URL")
        return 2
    symbols = [s for s in args.symbols.split(",") if s.strip()] if args.symbols else None
    recorder = Recorder(args.to)
    hub = Hub()
    hub.subscribe(recorder.write)
    sub = RedisSubscriber(hub, url, symbols=symbols, prefix=args.prefix)
    _say(f"papernb: recording {mask_url(url)} to {args.to}" + (f" for {args.duration}s" if args.duration else
                                                               "; Ctrl-C stops"))
    task = sub.start()
    try:
        if args.duration is None:
            await task
        else:
            await asyncio.sleep(args.duration)
    finally:
        await sub.stop()
        recorder.close()
        h = hub.health()
        _say(f"papernb: recorded {recorder.rows} quotes to {args.to} "
             f"(dropped {h.dropped}, gaps {h.gaps}, reconnects {h.reconnects})")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="papernb", description="papernb quote feed")
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--redis", metavar="URL", help="Redis URL (default: PAPERNB_REDIS_URL)")
        sp.add_argument("--prefix", default="papernb", help="Redis key prefix (default: papernb)")

    feed = sub.add_parser("feed", help="run a quote source")
    srcs = feed.add_subparsers(dest="source", required=True)
    sim = srcs.add_parser("sim", help="simulated market (seeded random walk)")
    sim.add_argument("--symbols", help="comma-separated, e.g. AAPL,MSFT")
    sim.add_argument("--rate", type=float, default=50.0, help="quotes per second over all symbols (default 50)")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long (default: run)")
    rep = srcs.add_parser("replay", help="replay a CSV/Parquet/DuckDB file of quotes")
    rep.add_argument("file")
    rep.add_argument("--speed", default="1", help="1 = real time, 10 = ten times faster, max = no pauses")
    rep.add_argument("--table", help="DuckDB table (default: quotes)")
    rep.add_argument("--tz", help="time zone of a ts column written without one, e.g. America/New_York")
    xl = srcs.add_parser("excel", help="ThinkOrSwim RTD workbook (live Excel, or the saved file)")
    xl.add_argument("workbook")
    xl.add_argument("--sheet", help="sheet name (default: 'Quotes', else the first)")
    xl.add_argument("--interval", type=float, default=0.25, metavar="SECONDS", help="poll interval (0.25)")
    xl.add_argument("--once", action="store_true", help="read one block, publish it and exit")
    for sp in (sim, rep, xl):
        common(sp)
        sp.add_argument("--src", help="source name on the wire (default: sim/replay/excel)")

    q = sub.add_parser("quotes", help="latest quotes from Redis")
    q.add_argument("symbols", nargs="+", metavar="SYMBOL")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    common(q)

    rec = sub.add_parser("record", help="record the live tape to Parquet or DuckDB")
    rec.add_argument("--to", required=True, metavar="FILE", help="a .parquet or .duckdb file")
    rec.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long (default: Ctrl-C)")
    rec.add_argument("--symbols", help="only these (comma-separated); default all")
    common(rec)
    return p


def _run(coro: Coroutine[Any, Any, int]) -> int:
    """asyncio.run, with SIGTERM treated like Ctrl-C so that files are closed properly."""

    async def main() -> int:
        task = asyncio.current_task()
        if task is not None and sys.platform != "win32":
            with contextlib.suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            return await coro
        except asyncio.CancelledError:
            return 130

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 130


def main(argv: Sequence[str]) -> int:
    """Entry point from papernb.cli; ``argv[0]`` is ``feed``, ``quotes`` or ``record``."""
    logging.basicConfig(level=logging.WARNING, format="papernb: %(message)s")
    args = _parser().parse_args(list(argv))
    try:
        if args.cmd == "quotes":
            return _quotes(args)
        if args.cmd == "record":
            return _run(_record(args))
        return _run(_feed(args))
    except PaperError as e:
        _say(f"papernb {args.cmd}: {e}")
        return 2
    except BrokenPipeError:  # `papernb feed sim | head`: the reader left, which is fine
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
