"""``papernb feed sim|replay|excel``, ``papernb quotes`` and ``papernb record``.

Feed commands publish to Redis when a URL is given (``--redis`` or ``PAPERNB_REDIS_URL``);
without one they print each quote as a wire-format JSON line on stdout, so a trader can
check a workbook or a file without a server, and scripts can pipe the tape.  ``quotes``
and ``record`` read from Redis and need a URL.

Every command checks its whole command line, reads its input and reaches Redis before it
publishes or writes anything: a bad argument is a usage error (exit 2), input it cannot
use or a Redis it cannot reach is a failure (exit 1), each one line on stderr (see
:mod:`papernb.cli`, which prints it).  Every command stops on time (``--duration``) and on
SIGTERM / SIGINT (exit 130).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..cli import ArgParser, UsageError
from ..errors import ConfigError, InvalidInput, PaperError
from ..quote import Quote, normalize_symbol
from .excel import ExcelSource, explain_no_quotes, open_live, parse_block, read_saved
from .hub import Hub
from .record import Recorder
from .redis_bus import RedisPublisher, RedisSubscriber, check_url, mask_url, ping, redis_url, snapshot
from .replay import Replay, check_tz
from .sim import MAX_RATE, SimulatedMarket
from .wire import encode

__all__ = ["main"]

log = logging.getLogger("papernb.feed")

#: after SIGTERM / Ctrl-C a feed command that has not stopped within this many seconds (a
#: write to a pipe nobody reads, a hung Excel) is ended without further ado
STOP_GRACE = 2.0
MIN_INTERVAL, MAX_INTERVAL = 0.1, 3600.0


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------- checks
def _positive(text: str, option: str, *, maximum: float | None = None, at_least: float | None = None,
              why: str = "") -> float:
    """A finite number above 0 (or at least ``at_least``), at most ``maximum``; else a UsageError."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    low_ok = value > 0 if at_least is None else value >= at_least
    if not (math.isfinite(value) and low_ok and (maximum is None or value <= maximum)):
        bound = "more than 0" if at_least is None else f"at least {at_least:g}"
        bound += f" and at most {maximum:,g}" if maximum is not None else ""
        raise UsageError(f"{option} must be a number {bound}{why}, was {text!r}")
    return value


def _symbols(text: str | None, option: str = "--symbols") -> list[str] | None:
    if text is None:
        return None
    out = []
    for s in text.split(","):
        if not s.strip():
            continue
        try:
            out.append(normalize_symbol(s))
        except InvalidInput as e:
            raise UsageError(f"{option}: {e}") from None
    if not out:
        raise UsageError(f"{option} names no symbol, was {text!r}")
    return out


def _url(args: argparse.Namespace, *, required: bool) -> str | None:
    url = redis_url(args.redis)
    if url is None:
        if required:
            raise UsageError("no Redis configured: pass --redis redis://host:6379 or set PAPERNB_REDIS_URL")
        return None
    try:
        return check_url(url, "--redis" if args.redis else "PAPERNB_REDIS_URL")
    except ConfigError as e:
        raise UsageError(str(e)) from None


def _check(args: argparse.Namespace) -> None:
    """Everything about the command line, before anything is read, reached or written."""
    if args.cmd == "feed":
        if args.source == "sim":
            args.rate = _positive(args.rate, "--rate", maximum=MAX_RATE,
                                  why=" (quotes a second; more only builds up memory: see --help)")
            args.symbol_list = _symbols(args.symbols)
            if args.duration is not None:
                args.duration = _positive(args.duration, "--duration")
        elif args.source == "replay":
            speed = args.speed.strip().lower()
            args.speed_value = None if speed == "max" else _positive(
                args.speed, "--speed", why=" (1 = real time, 10 = ten times faster) or max")
            try:
                check_tz(args.tz)
            except ConfigError as e:
                raise UsageError(f"--tz: {e}") from None
        else:
            args.interval = _positive(args.interval, "--interval", at_least=MIN_INTERVAL, maximum=MAX_INTERVAL,
                                      why=" seconds (polling Excel more often can freeze it)")
        _url(args, required=False)
    elif args.cmd == "quotes":
        _symbols(",".join(args.symbols), "SYMBOL")
        _url(args, required=True)
    else:  # record
        suffix = Path(args.to).suffix.lower()
        if suffix not in (".parquet", ".pq", ".duckdb", ".db", ".ddb"):
            raise UsageError(f"--to {args.to}: record to a .parquet or .duckdb file")
        args.symbol_list = _symbols(args.symbols)
        if args.duration is not None:
            args.duration = _positive(args.duration, "--duration")
        _url(args, required=True)


# ------------------------------------------------------------------------------------- feeds
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


def _publisher(args: argparse.Namespace, src: str) -> tuple[RedisPublisher | _Printer, str]:
    """The publisher (Redis reached, or stdout) and the line that says which."""
    url = _url(args, required=False)
    if url is None:
        return _Printer(src), "papernb: no Redis configured (--redis URL or PAPERNB_REDIS_URL): printing quotes on stdout"
    ping(url)  # an unreachable Redis is an error before anything is sent, not a feed that publishes nothing
    return (RedisPublisher(url, prefix=args.prefix, src=src),
            f"papernb: publishing {src} quotes to {mask_url(url)} (prefix {args.prefix}); Ctrl-C stops")


_Runner = Callable[[Callable[[list[Quote]], object]], Coroutine[Any, Any, Any]]


def _prepare_feed(args: argparse.Namespace, notes: list[str]) -> _Runner:
    """Read and check the feed's input (nothing published yet): a coroutine factory that runs it.

    What is worth saying about the input goes into ``notes``, said once everything is ready, so
    that a command that fails says one line: why.
    """
    src = args.src or args.source
    if args.source == "sim":
        market = SimulatedMarket(args.symbol_list, rate=args.rate, seed=args.seed, src=src)
        return lambda publish: market.run(publish, duration=args.duration)
    if args.source == "replay":
        replay = Replay(args.file, speed=args.speed_value, table=args.table, tz=args.tz)
        name = Path(args.file).name
        report = replay.report(name) if replay.dropped else None
        if report:
            notes.append(f"papernb: {report}")
        if replay.ts_unit not in (None, "nanoseconds"):
            notes.append(f"papernb: the times in {name} are read as {replay.ts_unit} since 1970 (by their size)")
        return replay.run
    return _prepare_excel(args, src, notes)


def _prepare_excel(args: argparse.Namespace, src: str, notes: list[str]) -> _Runner:
    path = Path(args.workbook)
    if not path.exists():
        raise InvalidInput(f"{path}: no such workbook")
    reader: Any = None
    try:
        reader = open_live(path, args.sheet)
        notes.append(f"papernb: reading {path} live from Excel every {args.interval:g}s")
    except ConfigError as e:
        notes.append(f"papernb: {e}; reading the saved file {path}")
    if reader is None:
        reader = _SavedReader(path, args.sheet)
        rows = reader()  # a file that is not a workbook, a sheet without a header: said now, once
        block = parse_block(rows)
        if not block.quotes:
            why = explain_no_quotes(path, args.sheet, rows)
            if why is not None:
                raise InvalidInput(why)
            if args.once:
                problems = f" ({block.dropped} rows dropped: {block.problems[0]})" if block.dropped else \
                    " (every row with a symbol is still loading: #N/A, Loading...)"
                raise InvalidInput(f"{path.name} has no quotes to publish{problems}")
    source = ExcelSource(reader, interval=args.interval, src=src)

    async def run(publish: Callable[[list[Quote]], object]) -> int:
        try:
            return await source.run(publish, once=args.once)
        finally:
            if source.dropped:
                _say(f"papernb: {source.dropped} rows could not be read as quotes (see the warnings above)")

    return run


async def _feed(args: argparse.Namespace) -> int:
    src = args.src or args.source
    notes: list[str] = []
    start = _prepare_feed(args, notes)  # the input first: a bad file publishes nothing
    pub, where = _publisher(args, src)
    for line in (*notes, where):
        _say(line)
    try:
        await start(pub.publish)
    finally:
        await pub.aclose()
        lost = f", lost {pub.lost} while Redis was away" if pub.lost else ""
        _say(f"papernb: published {pub.published} quotes{lost}")
    return 0


class _SavedReader:
    """Re-read a saved workbook only when the file changes (Excel saves, a sync tool copies)."""

    def __init__(self, path: str | Path, sheet: str | None) -> None:
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


# ------------------------------------------------------------------------------------- readers
def _json_value(v: Any) -> Any:
    return str(v) if isinstance(v, Decimal) else v


def _quotes(args: argparse.Namespace) -> int:
    url = _url(args, required=True)
    assert url is not None
    found = snapshot(args.symbols, url, prefix=args.prefix)  # RedisUnavailable: one line, exit 1
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


class _WriteFailed(PaperError):
    pass


def _check_target(to: Path) -> None:
    """What can be known about the file before recording into it (nothing is created here)."""
    if to.is_dir():
        raise InvalidInput(f"cannot record to {to}: it is a folder")
    if not to.parent.is_dir():
        raise InvalidInput(f"cannot record to {to}: the folder {to.parent} does not exist")
    if not to.exists():
        return
    if to.suffix.lower() in (".parquet", ".pq"):
        raise InvalidInput(f"{to} exists already: record to a new file (a .duckdb file is appended to instead)")
    import duckdb

    try:
        duckdb.connect(str(to), read_only=True).close()
    except duckdb.Error as e:
        msg = " ".join(str(e).split())
        why = ("it is open in another process" if "lock" in msg.lower() else
               "it is not a DuckDB file" if "not a valid DuckDB" in msg else msg[:160])
        raise InvalidInput(f"cannot record to {to}: {why}") from None


async def _record(args: argparse.Namespace) -> int:
    url = _url(args, required=True)
    assert url is not None
    to = Path(args.to)
    _check_target(to)
    ping(url)  # before the file: an unreachable Redis leaves nothing behind
    recorder = Recorder(to)
    hub = Hub()
    failed: list[BaseException] = []
    task = asyncio.current_task()

    def write(quotes: list[Quote]) -> None:
        if failed:
            return
        try:
            recorder.write(quotes)
        except Exception as e:  # disk full, a file that went away: stop, do not record holes
            failed.append(e)
            if task is not None:
                task.cancel()

    hub.subscribe(write)
    sub = RedisSubscriber(hub, url, symbols=args.symbol_list, prefix=args.prefix)
    _say(f"papernb: recording {mask_url(url)} to {to}" + (f" for {args.duration:g}s" if args.duration else
                                                         "; Ctrl-C stops"))
    reader = sub.start()
    try:
        if args.duration is None:
            await reader
        else:
            await asyncio.sleep(args.duration)
    except asyncio.CancelledError:
        if not failed:
            raise
    finally:
        await sub.stop()
        try:
            recorder.close()
        except Exception as e:
            failed.append(e)
        h = hub.health()
        _say(f"papernb: recorded {recorder.rows} quotes to {to} "
             f"(dropped {h.dropped}, gaps {h.gaps}, suspicious {h.suspicious}, reconnects {h.reconnects})")
    if failed:
        e = failed[0]
        raise _WriteFailed(f"writing {to} failed: {' '.join(str(e).split())[:160] or type(e).__name__}")
    return 0


# ------------------------------------------------------------------------------------- parser
_SIM_HELP = f"""quotes per second over all symbols (default 50; at most {MAX_RATE:,.0f}: one Python
process makes a few hundred thousand simulated quotes a second at best and a papernb kernel takes
tens of thousands a second from Redis, so a higher rate would only build up memory)"""

_EPILOG = """exit codes: 0 done; 1 the input cannot be used or Redis cannot be reached (one line on stderr
says why); 2 the command line is wrong; 130 stopped by Ctrl-C or SIGTERM.  --debug (or
PAPERNB_DEBUG=1) also prints the Python stack of a failure."""


def _parser() -> argparse.ArgumentParser:
    p = ArgParser(prog="papernb", description="papernb quote feed", epilog=_EPILOG)
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=ArgParser)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--redis", metavar="URL", help="Redis URL (default: PAPERNB_REDIS_URL); "
                                                       "an unreachable one is an error (exit 1)")
        sp.add_argument("--prefix", default="papernb", help="Redis key prefix (default: papernb)")

    feed = sub.add_parser("feed", help="run a quote source", epilog=_EPILOG)
    srcs = feed.add_subparsers(dest="source", required=True, parser_class=ArgParser)
    sim = srcs.add_parser("sim", help="simulated market (seeded random walk)", epilog=_EPILOG)
    sim.add_argument("--symbols", help="comma-separated, e.g. AAPL,MSFT")
    sim.add_argument("--rate", default="50", help=_SIM_HELP)
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--duration", metavar="SECONDS", help="stop after this long (default: run until stopped)")
    rep = srcs.add_parser("replay", help="replay a CSV/Parquet/DuckDB file of quotes", epilog=_EPILOG)
    rep.add_argument("file")
    rep.add_argument("--speed", default="1", help="1 = real time, 10 = ten times faster, max = no pauses")
    rep.add_argument("--table", help="DuckDB table (default: quotes)")
    rep.add_argument("--tz", help="time zone of a ts column written without one, e.g. America/New_York")
    xl = srcs.add_parser("excel", help="ThinkOrSwim RTD workbook (live Excel, or the saved file)", epilog=_EPILOG)
    xl.add_argument("workbook")
    xl.add_argument("--sheet", help="sheet name (default: 'Quotes', else the first)")
    xl.add_argument("--interval", default="0.25", metavar="SECONDS",
                    help="poll interval, 0.1 to 3600 (default 0.25)")
    xl.add_argument("--once", action="store_true", help="read one block, publish it and exit")
    for sp in (sim, rep, xl):
        common(sp)
        sp.add_argument("--src", help="source name on the wire (default: sim/replay/excel)")

    q = sub.add_parser("quotes", help="latest quotes from Redis", epilog=_EPILOG)
    q.add_argument("symbols", nargs="+", metavar="SYMBOL")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    common(q)

    rec = sub.add_parser("record", help="record the live tape to Parquet or DuckDB", epilog=_EPILOG)
    rec.add_argument("--to", required=True, metavar="FILE",
                     help="a new .parquet file, or a .duckdb file (appended to)")
    rec.add_argument("--duration", metavar="SECONDS", help="stop after this long (default: Ctrl-C)")
    rec.add_argument("--symbols", help="only these (comma-separated); default all")
    common(rec)
    return p


def _run(coro: Coroutine[Any, Any, int], *, hard_stop: bool) -> int:
    """asyncio.run, with SIGTERM and SIGINT cancelling the command so that files are closed properly.

    The handlers are plain Python signal handlers, so they run even while the command is
    stuck in a blocking call (a write to a pipe nobody reads); a second signal stops at once.
    With ``hard_stop`` (feeds: nothing to close but a connection) a command that has not
    ended :data:`STOP_GRACE` seconds after the first signal is ended without further ado.
    """
    finished = threading.Event()
    signals = 0

    def watchdog() -> None:
        if not finished.wait(STOP_GRACE):
            _say(f"papernb: did not stop within {STOP_GRACE:g} s of the signal; exiting")
            os._exit(130)

    async def main() -> int:
        nonlocal signals
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()

        def on_signal(signum: int, frame: object) -> None:
            nonlocal signals
            signals += 1
            if signals > 1:
                raise KeyboardInterrupt
            if task is not None and not task.done():
                task.cancel()
                loop.call_soon_threadsafe(lambda: None)  # wake the loop if it sleeps in select()
            if hard_stop:
                threading.Thread(target=watchdog, name="papernb-stop", daemon=True).start()

        old = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(ValueError, OSError):
                    old[sig] = signal.signal(sig, on_signal)
        try:
            return await coro
        except asyncio.CancelledError:
            if signals:
                return 130
            raise
        finally:
            for sig, handler in old.items():
                with contextlib.suppress(ValueError, OSError, TypeError):
                    signal.signal(sig, handler)

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 130
    finally:
        finished.set()


def main(argv: Sequence[str]) -> int:
    """Entry point from papernb.cli; ``argv[0]`` is ``feed``, ``quotes`` or ``record``.

    Errors propagate to :func:`papernb.cli.run_command`, which prints them as one line.
    """
    args = _parser().parse_args(list(argv))
    _check(args)
    if args.cmd == "quotes":
        return _quotes(args)
    if args.cmd == "record":
        return _run(_record(args), hard_stop=False)
    return _run(_feed(args), hard_stop=True)
