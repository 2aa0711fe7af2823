#!/usr/bin/env python3
"""UI under load (issue 4 §5, issue 13 §8): comm messages per panel, kernel CPU, quote -> on-screen latency.

Setup: a real redis-server on a free loopback port; a separate *publisher process*
(RedisPublisher, the same Lua batch publish as ``papernb feed``) sends ``--rate``
quotes/s over ``--symbols`` symbols in batches every ``--batch-ms`` ms; the account
holds ``--positions`` positions (market buys) and ``--pending`` resting limit buys far
below the market (they never fill).

A (headless, the session in this process): ``pn.connect(feed="redis")`` + the full
``pn.dashboard(session)`` on this process's asyncio loop, quote board included (the account never
set a watchlist, so the board shows every symbol the feed carries: ``--symbols`` rows).  There is no Jupyter kernel,
so every widget comm is ipywidgets' DummyComm; ``Widget._send`` is wrapped to count each
outgoing message by the panel owning the widget and to ``json.dumps`` it (roughly what
the kernel's session would serialise).  Figures: messages/s per panel (target <= 4),
and this process's CPU time / wall time over the load window (target < 50% of one
core): Redis receive + decode, engine, snapshots, rendering.  The publisher's and
redis-server's CPU are measured separately and are *not* in the kernel figure.

B (browser, the test setup of tests/browser): the book is prepared beforehand
(engine opened on the book file, quotes, market buys, limit buys; closed), then the
real Voila app (``papernb.app.voila_command``) serves it with ``PAPERNB_FEED=redis``
and Debian's Chromium opens it via Playwright.  With the background load running (the
probe symbol excluded from it), the bench publishes a distinctive last price for one
held symbol, over and over, and a MutationObserver in the page records ``Date.now()``
when the probe row's ``papernb-col-last`` cell shows it in the positions panel (and at the
next animation frame, i.e. when it is painted), and when the quote board's row shows it.  Latency = that time - wall time just before the publish.
Also printed: the real Voila kernel's CPU over the sampling window (from /proc), and
comm messages/s that reached the browser over its websocket.

C (session age): per-call costs of the renders that grow with the length of the session
(equity points, orders), on an in-memory book with no load.

Figures only; nothing is asserted.  About 1.5 minutes with the defaults.

    python bench/ui_load.py [--duration 20] [--rate 5000] [--symbols 200] [--samples 40] [--skip-browser]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import random
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PANELS = ("banner", "board", "ticket", "pending", "positions", "history", "journal", "chart", "notifications",
          "export")
CLK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------------ helpers
def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def proc_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` (Linux /proc); 0.0 if unknown."""
    if pid is None:
        return 0.0
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / CLK
    except (OSError, IndexError, ValueError):
        return 0.0


def children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                out += [int(x) for x in (task / "children").read_text().split()]
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def symbols(n: int) -> list[str]:
    return [f"S{i:03d}" for i in range(n)]


def base_units(i: int) -> int:
    """A starting price per symbol between $20 and $180 (units of $0.0001, on the cent)."""
    return (20 + (i * 37) % 160) * 10_000 + (i % 7) * 100


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def _kill(proc: subprocess.Popen | None, grace: float = 10.0) -> None:
    """Stop one process we started, by its PID only."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(timeout=10)


# ------------------------------------------------------------------------------ publisher process
async def _publisher_main(url: str, rate: float, n_symbols: int, exclude: list[str], seconds: float,
                          batch_ms: float) -> None:
    from papernb.feed.redis_bus import RedisPublisher
    from papernb.quote import Quote

    syms = [s for s in symbols(n_symbols) if s not in set(exclude)]
    px = {s: base_units(int(s[1:])) for s in syms}
    per_batch = max(1, round(rate * batch_ms / 1000))
    interval = per_batch / rate
    pub = RedisPublisher(url, src="load")
    trusted = Quote._trusted
    rnd = random.Random(7)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    start = loop.time()
    t_cpu = time.process_time()
    k = 0
    j = 0
    late = 0
    while not stop.is_set() and loop.time() - start < seconds:
        now = time.time_ns()
        batch = []
        for _ in range(per_batch):
            s = syms[j % len(syms)]
            j += 1
            p = px[s] + rnd.choice((-100, 0, 100))
            lo = base_units(int(s[1:]))
            p = min(max(p, lo * 95 // 100 // 100 * 100), lo * 105 // 100 // 100 * 100)
            px[s] = p
            batch.append(trusted(s, p - 100, p + 100, p, now))
        await pub.publish(batch)
        k += 1
        delay = start + k * interval - loop.time()
        if delay < 0:
            late += 1
        await asyncio.sleep(max(0.0, delay))
    elapsed = loop.time() - start
    await pub.aclose()
    print(json.dumps({"published": pub.published, "lost": pub.lost, "elapsed": elapsed, "batches": k,
                      "per_batch": per_batch, "late_batches": late, "cpu": time.process_time() - t_cpu}), flush=True)


class Publisher:
    """The background load: a separate process publishing ``rate`` quotes/s into Redis."""

    def __init__(self, url: str, rate: float, n_symbols: int, *, exclude: list[str] = (), seconds: float = 3600,
                 batch_ms: float = 20.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--publisher", "--redis", url, "--rate", str(rate),
             "--symbols", str(n_symbols), "--seconds", str(seconds), "--batch-ms", str(batch_ms),
             *(["--exclude", ",".join(exclude)] if exclude else [])],
            stdout=subprocess.PIPE, text=True, preexec_fn=_die_with_parent)
        self.stats: dict[str, Any] = {}

    def stop(self) -> dict[str, Any]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        with contextlib.suppress(ValueError, IndexError):
            self.stats = json.loads(out.strip().splitlines()[-1])
        return self.stats

    def describe(self) -> str:
        s = self.stats
        if not s:
            return "publisher: no stats"
        return (f"publisher process: {s['published']:,} quotes in {s['elapsed']:.1f} s = "
                f"{s['published'] / s['elapsed']:,.0f} quotes/s ({s['batches']:,} batches of {s['per_batch']}, "
                f"{s['late_batches']} late, {s['lost']} lost), its CPU {s['cpu'] / s['elapsed'] * 100:.0f}% "
                "of a core (not counted in the kernel figures)")


async def publish_once(url: str, quotes: list[Any], src: str = "setup") -> None:
    from papernb.feed.redis_bus import RedisPublisher

    pub = RedisPublisher(url, src=src)
    await pub.publish(quotes)
    await pub.aclose()


def setup_quotes(n_symbols: int) -> list[Any]:
    import papernb as pn

    now = time.time_ns()
    out = []
    for i, s in enumerate(symbols(n_symbols)):
        p = base_units(i) / 10_000
        out.append(pn.Quote(s, bid=f"{p - 0.01:.2f}", ask=f"{p + 0.01:.2f}", last=f"{p:.2f}", ts=now))
    return out


def place_orders(acct: Any, n_symbols: int, n_pos: int, n_pending: int) -> None:
    """Market-buy 10 of the first ``n_pos`` symbols; rest 10-share limit buys at half price on the next ones."""
    syms = symbols(n_symbols)
    for s in syms[:n_pos]:
        acct.buy(s, 10)
    for k in range(n_pending):
        i = (n_pos + k) % n_symbols
        limit = f"{base_units(i) / 10_000 / 2:.2f}"
        acct.buy(syms[i], 10, limit=limit, tif="gtc")


# -------------------------------------------------------------------------------- part 1: headless
class CommCounter:
    """Wrap ``ipywidgets.Widget._send``: count and size every outgoing message by owning panel."""

    def __init__(self) -> None:
        import ipywidgets

        self.W = ipywidgets.Widget
        self.orig = self.W._send
        self.owner: dict[int, str] = {}
        self.msgs: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self.per_widget: Counter[int] = Counter()
        self.json_s = 0.0
        self.active = False
        counter = self

        def _send(w: Any, msg: Any, buffers: Any = None) -> Any:
            if counter.active:
                t = time.thread_time()
                size = len(json.dumps(msg, default=str))
                counter.json_s += time.thread_time() - t
                name = counter.owner.get(id(w), "other")
                counter.msgs[name] += 1
                counter.bytes[name] += size + sum(len(b) for b in (buffers or ()))
                counter.per_widget[id(w)] += 1
            return counter.orig(w, msg, buffers)

        self.W._send = _send  # type: ignore[method-assign]

    def restore(self) -> None:
        self.W._send = self.orig  # type: ignore[method-assign]

    def map_dashboard(self, dash: Any) -> None:
        """id(widget) -> panel name, over every widget reachable through synced traits."""
        import ipywidgets

        def walk(root: Any, name: str) -> None:
            stack = [root]
            while stack:
                w = stack.pop()
                if id(w) in self.owner:
                    continue
                self.owner[id(w)] = name
                for key in getattr(w, "keys", ()):
                    with contextlib.suppress(Exception):
                        v = getattr(w, key)
                        vals = v if isinstance(v, list | tuple) else (v.values() if isinstance(v, dict) else (v,))
                        stack.extend(x for x in vals if isinstance(x, ipywidgets.Widget))

        for name in PANELS:
            p = getattr(dash, name, None)
            if p is not None:
                walk(p, name)
        toasts = getattr(getattr(dash, "notifications", None), "toasts", None)
        if toasts is not None:  # shown outside the tabs, but the notifications panel's
            walk(toasts, "notifications")
        walk(dash, "dashboard")

    def reset(self) -> None:
        self.msgs.clear()
        self.bytes.clear()
        self.per_widget.clear()
        self.json_s = 0.0


class Timer:
    def __init__(self) -> None:
        self.s: defaultdict[str, float] = defaultdict(float)
        self.n: Counter[str] = Counter()
        self.on = False

    def wrap(self, name: str, fn: Any) -> Any:
        def wrapped(*a: Any, **kw: Any) -> Any:
            if not self.on:
                return fn(*a, **kw)
            t = time.thread_time()  # CPU time of the loop's thread: comparable with the process CPU
            try:
                return fn(*a, **kw)
            finally:
                self.s[name] += time.thread_time() - t
                self.n[name] += 1

        return wrapped


async def headless(args: argparse.Namespace, url: str, tmp: Path, server_pid: int) -> dict[str, Any]:
    import papernb as pn
    from papernb.feed import redis_bus
    from papernb.widgets import dashboard

    timer = Timer()
    orig_on_message = redis_bus.RedisSubscriber.on_message
    redis_bus.RedisSubscriber.on_message = timer.wrap("redis decode + hub + engine", orig_on_message)
    counter = CommCounter()
    session = None
    pubp = None
    try:
        session = pn.connect("bench", db=str(tmp / "headless.duckdb"), feed="redis", redis=url,
                             refresh_hz=args.refresh_hz)
        hub = session.feed
        # live quotes only: quotes read back from the Redis hash at (re)subscribe count as stale
        # (market buys would wait), so publish once the subscriber is connected
        deadline = time.monotonic() + 15
        while not hub.connected and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        await publish_once(url, setup_quotes(args.symbols))
        while hub.quotes < args.symbols and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        place_orders(session.account, args.symbols, args.positions, args.pending)
        while time.monotonic() < deadline:
            snap = session.account.snapshot()
            if len(snap.positions) >= args.positions and len(snap.open_orders) <= args.pending:
                break
            await asyncio.sleep(0.05)
        snap = session.account.snapshot()
        dash = dashboard(session)
        counter.map_dashboard(dash)
        # a trader with a symbol typed in the ticket: its live quote and estimate follow the feed
        dash.ticket.symbol.value = symbols(args.symbols)[1]
        dash.ticket.qty.value = "10"
        await asyncio.sleep(0.3)
        # time the engine hand-off, snapshots and each panel's render
        hub._subs = [timer.wrap("session._on_quotes (engine)", cb) for cb in hub._subs]
        session.refresh = timer.wrap("session.refresh (total)", session.refresh)
        with contextlib.suppress(AttributeError):
            session.account.snapshot = timer.wrap("account.snapshot", session.account.snapshot)
        session._subs = [timer.wrap(f"render {getattr(getattr(cb, '__self__', None), 'css_class', '?')}", cb)
                         for cb in session._subs]
        pubp = Publisher(url, args.rate, args.symbols, seconds=args.duration + args.warmup + 30,
                         batch_ms=args.batch_ms)
        await asyncio.sleep(args.warmup)
        q0, pub0, srv0, ref0 = hub.quotes, proc_cpu(pubp.proc.pid), proc_cpu(server_pid), session.published
        eq0 = len(session.account._a.equity)
        counter.reset()
        counter.active = timer.on = True
        w0, c0 = time.monotonic(), time.process_time()
        await asyncio.sleep(args.duration)
        wall, cpu = time.monotonic() - w0, time.process_time() - c0
        counter.active = timer.on = False
        q1, pub1, srv1, ref1 = hub.quotes, proc_cpu(pubp.proc.pid), proc_cpu(server_pid), session.published
        eq_points = len(session.account._a.equity) - eq0
        pubp.stop()
        health = hub.health()
        return {"wall": wall, "cpu": cpu, "quotes": q1 - q0, "publisher_cpu": pub1 - pub0,
                "server_cpu": srv1 - srv0, "refreshes": ref1 - ref0, "msgs": dict(counter.msgs),
                "bytes": dict(counter.bytes), "json_s": counter.json_s, "timer": dict(timer.s),
                "timer_n": dict(timer.n), "positions": len(snap.positions), "open_orders": len(snap.open_orders),
                "dropped": health.dropped, "gaps": health.gaps, "pub": pubp.describe(),
                "max_widget": max(counter.per_widget.values(), default=0), "eq_points": eq_points,
                "ticket_symbol": dash.ticket.symbol.value, "board_rows": len(dash.board.table.row_keys)}
    finally:
        if pubp is not None and pubp.proc.poll() is None:
            pubp.stop()
        redis_bus.RedisSubscriber.on_message = orig_on_message
        counter.restore()
        if session is not None:
            await session.aclose()


def print_headless(r: dict[str, Any], args: argparse.Namespace) -> None:
    wall = r["wall"]
    print("\n== A. headless session (this process): pn.connect(feed='redis') + pn.dashboard(session) ==")
    print(f"account: {r['positions']} positions, {r['open_orders']} pending orders; load window {wall:.1f} s; "
          f"{r['quotes']:,} quotes received = {r['quotes'] / wall:,.0f} quotes/s (dropped {r['dropped']}, "
          f"seq gaps {r['gaps']}); {r['refreshes']} snapshots published = {r['refreshes'] / wall:.2f}/s")
    print(r["pub"])
    print(f"the ticket has {r['ticket_symbol']} typed in (its live quote and estimate follow the feed)")
    print("\ncomm messages per panel (target <= 4 per second per panel; counted at ipywidgets Widget._send):")
    print(f"  {'panel':<11}{'msgs':>7}{'msgs/s':>9}{'KB/s':>9}")
    rates = {}
    for name in (*PANELS, "dashboard", "other"):
        n = r["msgs"].get(name, 0)
        if n == 0 and name in ("dashboard", "other"):
            continue
        rates[name] = n / wall
        print(f"  {name:<11}{n:>7}{n / wall:>9.2f}{r['bytes'].get(name, 0) / wall / 1024:>9.1f}")
    total = sum(r["msgs"].values())
    worst = max(rates, key=rates.get) if rates else "-"
    print(f"  {'all':<11}{total:>7}{total / wall:>9.2f}{sum(r['bytes'].values()) / wall / 1024:>9.1f}")
    print(f"  max per panel: {rates.get(worst, 0):.2f} msgs/s ({worst}); busiest single widget "
          f"{r['max_widget'] / wall:.2f} msgs/s   [target <= 4]")
    print(f"\nkernel CPU (this process: Redis receive, decode, engine, snapshots, widget rendering, plus "
          f"json.dumps of each comm message): {r['cpu']:.2f} s CPU / {wall:.1f} s = "
          f"{r['cpu'] / wall * 100:.1f}% of one core   [target < 50%]")
    print(f"  not included: publisher process {r['publisher_cpu'] / wall * 100:.1f}%, redis-server "
          f"{r['server_cpu'] / wall * 100:.1f}% of a core")
    print("  where it goes (CPU time of the loop thread inside each, as % of one core; nested rows are part of "
          "the row above them):")
    t, n = r["timer"], r["timer_n"]
    order = ["redis decode + hub + engine", "session._on_quotes (engine)", "session.refresh (total)",
             "account.snapshot"] + sorted(k for k in t if k.startswith("render"))
    for k in order:
        if k in t:
            per = t[k] / n[k] * 1e3 if n[k] else 0
            print(f"    {k:<32}{t[k] / wall * 100:6.1f}%   {n[k]:>7} calls, {per:7.3f} ms/call")
    acc = t.get("redis decode + hub + engine", 0) + t.get("session.refresh (total)", 0)
    print(f"    {'comm json.dumps (in renders)':<32}{r['json_s'] / wall * 100:6.1f}%")
    print(f"    {'rest (redis-py read, asyncio, DuckDB threads)':<32}{max(0.0, r['cpu'] - acc) / wall * 100:6.1f}%"
          "  (process CPU - the two top rows)")
    print(f"  the account's equity history grew by {r['eq_points']} points in {wall:.1f} s "
          f"({r['eq_points'] / wall:.2f}/s: one a second while quotes move equity; see part C)")


# ------------------------------------------------------------------------ part 3: a long-running session
def _ms(fn: Any, n: int = 7) -> float:
    """Median wall time of ``n`` calls, in ms (after one warm-up call)."""
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


async def aging(args: argparse.Namespace) -> list[tuple[str, str, float, float]]:
    """Per-refresh costs that grow with the session's age: equity points and order count.

    An in-memory book on an in-process Hub (no load running); the account's private
    equity list is padded with synthetic points (one a second, as a streaming session
    records them) and real orders are placed and cancelled.  Returns rows of
    (what, size, ms per call, calls per second at which the panel makes it).
    """
    import papernb as pn
    from papernb.feed import Hub
    from papernb.widgets import dashboard

    hub = Hub()
    s = pn.connect("aged", db=":memory:", feed=hub, refresh_hz=args.refresh_hz)
    rows: list[tuple[str, str, float, float]] = []
    try:
        hub.publish(setup_quotes(args.symbols))
        place_orders(s.account, args.symbols, args.positions, args.pending)
        d = dashboard(s)
        a = s.account
        first, last = a._a.equity[0], a._a.equity[-1]
        for n_pts, label_ in ((0, "fresh"), (23_400, "6.5 h"), (86_400, "24 h")):
            a._a.equity = [first] + [(last[0] - (n_pts - k) * 1_000_000_000, last[1] + (k % 97) * 100)
                                     for k in range(n_pts)] + [last]
            snap = a.snapshot()

            def chart(snap: Any = snap) -> None:
                d.chart._drawn_at = 0.0
                d.chart._drawn = None
                d.chart.render(snap)

            def journal(snap: Any = snap) -> None:
                d.journal._key = None
                d.journal.render(snap)

            size = f"{len(a._a.equity):,} equity pts ({label_})"
            rows.append(("chart render (equity_history + thin)", size, _ms(chart), 1.0 / d.chart.interval))
            rows.append(("journal render (trades + stats)", size, _ms(journal), 1.0 / d.journal.stats_interval))
        a._a.equity = [first, last]
        for m in (1_000, 5_000):
            while len(a.orders(status=None)) < m:
                o = a.buy(symbols(args.symbols)[-1], 1, limit="1.00", tif="gtc")
                a.cancel(o.id)
            snap = a.snapshot()
            d.history.render(snap)

            def history_same(snap: Any = snap) -> None:  # nothing changed: the journal seq says so, no listing
                d.history.render(snap)

            def history_changed(snap: Any = snap) -> None:  # an order event: list and redraw the table
                d.history._snap_key = None
                d.history._orders = None
                d.history.render(snap)

            size = f"{m:,} orders"
            rows.append(("history render, nothing changed", size, _ms(history_same), args.refresh_hz))
            rows.append(("history render, after an order event", size, _ms(history_changed), 0.0))
            rows.append(("account.snapshot (every refresh)", size, _ms(a.snapshot, 20), args.refresh_hz))
        d.close()
    finally:
        await s.aclose()
    return rows


def print_aging(rows: list[tuple[str, str, float, float]]) -> None:
    print("\n== C. costs that grow with the session's age (in-memory book, no load; median ms per call) ==")
    print(f"  {'what':<40}{'size':<30}{'ms/call':>9}{'calls/s':>9}{'% core':>8}")
    for what, size, ms, hz in rows:
        share = f"{ms * hz / 10:7.1f}%" if hz else "      -"
        print(f"  {what:<40}{size:<30}{ms:>9.2f}{hz:>9.1f} {share}")
    print("  (a render runs on the kernel's event loop: its ms/call is also a stall of quote handling and of "
          "every other panel)")


# --------------------------------------------------------------------------------- part 2: browser
def prepare_book(path: Path, account: str, args: argparse.Namespace) -> tuple[int, int]:
    """The account the app will open: quotes, market buys (positions), resting limit buys."""
    import papernb as pn

    eng = pn.Engine(str(path), clock=time.time_ns)
    try:
        acct = eng.account(account)
        for q in setup_quotes(args.symbols):
            eng.on_quote(q)
        place_orders(acct, args.symbols, args.positions, args.pending)
        snap = acct.snapshot()
        return len(snap.positions), len(snap.open_orders)
    finally:
        eng.close()


_OBSERVER = """
(probe) => {
  // the probe's last price as the positions panel and the quote board show it: when each text first appeared
  window.__seen = {};
  window.__paint = {};
  window.__board = {};
  window.__muts = 0;
  const watch = (panel, seen, paint) => {
    let last = null;
    const check = () => {
      if (paint) window.__muts++;
      for (const tr of document.querySelectorAll(panel + ' tr')) {
        const sym = tr.querySelector('.papernb-sym');
        if (!sym || sym.textContent.trim() !== probe) continue;
        const cell = tr.querySelector('.papernb-col-last');
        const text = cell ? cell.textContent.trim() : null;
        if (text !== null && text !== last) {
          last = text;
          if (!(text in seen)) {
            seen[text] = Date.now();
            if (paint) requestAnimationFrame(() => { paint[text] = Date.now(); });
          }
        }
        return;
      }
    };
    const root = document.querySelector(panel) || document.body;
    new MutationObserver(check).observe(root, {subtree: true, childList: true, characterData: true});
    check();
  };
  watch('.papernb-positions', window.__seen, window.__paint);
  watch('.papernb-board', window.__board, null);
}
"""


def _ws_msg(payload: Any) -> tuple[str | None, str | None, str | None]:
    """(channel, msg_type, comm_id) of one Jupyter websocket frame (JSON text, or the v1 binary protocol)."""
    try:
        if isinstance(payload, str):
            m = json.loads(payload)
            return m.get("channel"), m.get("header", {}).get("msg_type"), (m.get("content") or {}).get("comm_id")
        b = bytes(payload)
        n = struct.unpack_from("<Q", b, 0)[0]
        if 2 <= n <= 64:  # v1.kernel.websocket.jupyter.org: offsets, then channel, header, parent, meta, content
            offs = struct.unpack_from(f"<{n}Q", b, 8)
            part = [b[offs[i]:offs[i + 1]] for i in range(n - 1)]
            header = json.loads(part[1])
            content = json.loads(part[4]) if len(part) > 4 and part[4] else {}
            return part[0].decode(), header.get("msg_type"), content.get("comm_id")
        nbufs = struct.unpack_from(">I", b, 0)[0]  # legacy binary: JSON message first
        off0 = struct.unpack_from(">I", b, 4)[0]
        off1 = struct.unpack_from(">I", b, 8)[0] if nbufs > 1 else len(b)
        m = json.loads(b[off0:off1])
        return m.get("channel"), m.get("header", {}).get("msg_type"), (m.get("content") or {}).get("comm_id")
    except Exception:
        return None, None, None


class WsCounter:
    def __init__(self) -> None:
        self.active = False
        self.comm: Counter[str] = Counter()
        self.other = 0
        self.bytes = 0

    def attach(self, page: Any) -> None:
        def on_ws(ws: Any) -> None:
            def on_frame(payload: Any) -> None:
                if not self.active:
                    return
                _ch, mtype, cid = _ws_msg(payload)
                self.bytes += len(payload)
                if mtype == "comm_msg" and cid:
                    self.comm[cid] += 1
                else:
                    self.other += 1

            ws.on("framereceived", on_frame)

        page.on("websocket", on_ws)


async def browser(args: argparse.Namespace, url: str, tmp: Path, server_pid: int) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    import papernb as pn
    from papernb.app import voila_command
    from papernb.feed.redis_bus import RedisPublisher

    t_setup = time.monotonic()
    book = tmp / "app.duckdb"
    npos, nord = prepare_book(book, "alice", args)
    probe = symbols(args.symbols)[0]  # held (market-bought) and excluded from the background load
    # latest-quote hash first (the kernel resyncs from it), then the load
    await publish_once(url, setup_quotes(args.symbols))
    pubp = Publisher(url, args.rate, args.symbols, exclude=[probe], batch_ms=args.batch_ms)
    port = free_port()
    log = open(tmp / "voila.log", "w")  # noqa: SIM115 - closed below
    env = dict(os.environ, PAPERNB_DB=str(book), PAPERNB_FEED="redis", PAPERNB_REDIS_URL=url,
               PAPERNB_ACCOUNT="alice", PAPERNB_HOME=str(tmp / "home"),
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    # (the kernel imports this checkout's papernb, as the bench itself does)
    voila = subprocess.Popen(voila_command(port), env=env, stdout=log, stderr=subprocess.STDOUT,
                             preexec_fn=_die_with_parent)
    kernel_pids: list[int] = []
    res: dict[str, Any] = {"positions_in_book": npos, "orders_in_book": nord, "probe": probe}
    try:
        deadline = time.monotonic() + 60
        while True:
            if voila.poll() is not None:
                raise RuntimeError(f"voila exited: {(tmp / 'voila.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("voila did not listen within 60 s") from None
                await asyncio.sleep(0.2)
        async with async_playwright() as p:
            b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                ctx = await b.new_context(viewport={"width": 1400, "height": 1000})
                page = await ctx.new_page()
                ws = WsCounter()
                ws.attach(page)
                await page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded", timeout=90_000)
                await page.wait_for_function(
                    "n => document.querySelectorAll('.papernb-positions .papernb-position-row').length >= n",
                    arg=args.positions, timeout=90_000)
                res["rows_on_screen"] = await page.locator(".papernb-positions .papernb-position-row").count()
                res["pending_on_screen"] = await page.locator(".papernb-order-row").count()
                res["setup_s"] = time.monotonic() - t_setup
                kernel_pids = [c for c in children(voila.pid) if "ipykernel" in cmdline(c) or "kernel" in cmdline(c)]
                await page.evaluate(_OBSERVER, probe)
                pub = RedisPublisher(url, src="probe")
                base = base_units(0)
                await asyncio.sleep(args.warmup)
                rnd = random.Random(11)
                lat: list[float] = []
                paint: list[float] = []
                board_lat: list[float] = []
                missed = 0
                k0 = {pid: proc_cpu(pid) for pid in kernel_pids}
                v0, s0, pub0 = proc_cpu(voila.pid), proc_cpu(server_pid), proc_cpu(pubp.proc.pid)
                ws.active = True
                w0 = time.monotonic()
                for i in range(args.samples):
                    # a price the probe never showed: base + 0.37 .. (distinct cents per sample)
                    last = base + 3700 + (i + 1) * 100 * (1 if i % 2 else -1) * (1 + i // 2)
                    text = pn.Quote(probe, last=f"{last / 10_000:.2f}").last
                    shown = f"${text:,.2f}"
                    t0 = time.time() * 1000
                    await pub.publish([pn.Quote(probe, bid=f"{(last - 100) / 10_000:.2f}",
                                                ask=f"{(last + 100) / 10_000:.2f}", last=f"{last / 10_000:.2f}",
                                                ts=time.time_ns())])
                    try:
                        h = await page.wait_for_function("t => window.__seen[t]", arg=shown, timeout=10_000,
                                                         polling=20)
                        seen = await h.json_value()
                        lat.append(seen - t0)
                        await asyncio.sleep(0.05)
                        pt = await page.evaluate("t => window.__paint[t] || null", shown)
                        if pt:
                            paint.append(pt - t0)
                        bt = await page.evaluate("t => window.__board[t] || null", shown)
                        if bt:
                            board_lat.append(bt - t0)
                    except Exception:
                        missed += 1
                    await asyncio.sleep(rnd.uniform(0.15, 0.45))  # decorrelate from the refresh phase
                wall = time.monotonic() - w0
                ws.active = False
                res.update(
                    wall=wall, lat=lat, paint=paint, board_lat=board_lat, missed=missed,
                    board_rows=await page.locator(".papernb-board .papernb-board-row").count(),
                    kernel_cpu=sum(proc_cpu(pid) - k0[pid] for pid in kernel_pids),
                    voila_cpu=proc_cpu(voila.pid) - v0, server_cpu=proc_cpu(server_pid) - s0,
                    publisher_cpu=proc_cpu(pubp.proc.pid) - pub0, kernel_pids=kernel_pids,
                    ws_comm=dict(ws.comm), ws_other=ws.other, ws_bytes=ws.bytes,
                    mutations=await page.evaluate("window.__muts"))
                await pub.aclose()
                with contextlib.suppress(Exception):
                    ARTIFACTS = ROOT / "artifacts" / "screenshots"
                    ARTIFACTS.mkdir(parents=True, exist_ok=True)
                    await page.screenshot(path=str(ARTIFACTS / "bench_ui_load.png"), full_page=True)
                await ctx.close()
            finally:
                await b.close()
    finally:
        pubp.stop()
        res["pub"] = pubp.describe()
        _kill(voila, grace=20)
        log.close()
    return res


def print_browser(r: dict[str, Any], args: argparse.Namespace) -> None:
    print("\n== B. browser: real Voila app (PAPERNB_FEED=redis) + Debian Chromium via Playwright ==")
    print(f"book prepared with {r['positions_in_book']} positions and {r['orders_in_book']} pending orders; page "
          f"showed {r.get('rows_on_screen')} position rows and {r.get('pending_on_screen')} pending rows after "
          f"{r.get('setup_s', 0):.1f} s of setup; probe symbol {r['probe']} (held, excluded from the load)")
    print(r["pub"])
    lat, paint = r.get("lat", []), r.get("paint", [])
    if not lat:
        print("no latency samples")
        return
    print(f"\nquote -> on-screen latency, {len(lat)} samples ({r['missed']} missed), publish in the bench process "
          f"-> Redis -> Voila kernel -> comm -> DOM (MutationObserver, Date.now()):")
    print(f"  in the DOM:   p50 {statistics.median(lat):6.0f} ms   p99 {pct(lat, 99):6.0f} ms   "
          f"min {min(lat):5.0f}   max {max(lat):5.0f}   mean {statistics.fmean(lat):5.0f} ms   [target p99 < 1500 ms]")
    if paint:
        print(f"  painted (next animation frame): p50 {statistics.median(paint):6.0f} ms   p99 {pct(paint, 99):6.0f} ms")
    blat = r.get("board_lat") or []
    if blat:
        print(f"  on the quote board ({r.get('board_rows')} rows): p50 {statistics.median(blat):6.0f} ms   "
              f"p99 {pct(blat, 99):6.0f} ms   ({len(blat)} of {len(lat)} samples seen there; the board's "
              f"cells are updated in place by one table widget)")
    print(f"  bound by the refresh: a snapshot every {1000 / args.refresh_hz:.0f} ms, so the expected wait is "
          f"~{500 / args.refresh_hz:.0f} ms on average and <= {1000 / args.refresh_hz:.0f} ms plus transport")
    wall = r["wall"]
    kp = r.get("kernel_pids") or []
    print(f"\nreal Voila kernel CPU over the {wall:.1f} s sampling window (pid {','.join(map(str, kp)) or '?'}, "
          f"from /proc): {r['kernel_cpu'] / wall * 100:.1f}% of one core   [target < 50%]")
    print(f"  voila server {r['voila_cpu'] / wall * 100:.1f}%, redis-server {r['server_cpu'] / wall * 100:.1f}%, "
          f"publisher {r['publisher_cpu'] / wall * 100:.1f}% of a core")
    comm = r["ws_comm"]
    tot = sum(comm.values())
    top = max(comm.values(), default=0)
    print(f"\ncomm messages that reached the browser (websocket frames, all widgets): {tot} = {tot / wall:.2f}/s "
          f"over {len(comm)} widget models; busiest model {top / wall:.2f}/s; other frames {r['ws_other']}; "
          f"{r['ws_bytes'] / wall / 1024:.1f} KB/s; DOM mutation callbacks in the positions panel "
          f"{r['mutations']}")


# ----------------------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=20.0, help="headless load window, seconds")
    ap.add_argument("--rate", type=float, default=5000.0, help="quotes per second from the publisher process")
    ap.add_argument("--symbols", type=int, default=200)
    ap.add_argument("--positions", type=int, default=50)
    ap.add_argument("--pending", type=int, default=20)
    ap.add_argument("--samples", type=int, default=40, help="latency samples in the browser")
    ap.add_argument("--batch-ms", type=float, default=20.0, help="publisher batch interval (ms)")
    ap.add_argument("--refresh-hz", type=float, default=4.0, help="Session refresh_hz for the headless part")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--skip-browser", action="store_true")
    ap.add_argument("--skip-headless", action="store_true")
    ap.add_argument("--skip-aging", action="store_true", help="skip part C (costs that grow with session age)")
    ap.add_argument("--redis", help="use this Redis (a test instance; papernb:* keys are overwritten, nothing is flushed) instead of starting a redis-server")
    # the publisher subprocess
    ap.add_argument("--publisher", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, default=3600, help=argparse.SUPPRESS)
    ap.add_argument("--exclude", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.publisher:
        asyncio.run(_publisher_main(args.redis, args.rate, args.symbols, [s for s in args.exclude.split(",") if s],
                                    args.seconds, args.batch_ms))
        return 0
    if args.positions + args.pending > args.symbols:
        ap.error("--positions + --pending must not exceed --symbols")

    import ipywidgets

    import papernb
    from tests.feed.redis_server import RedisServer

    t_start = time.monotonic()
    print("papernb UI under load (issue 4 §5); figures only, nothing asserted")
    print(f"config: {args.rate:,.0f} quotes/s over {args.symbols} symbols from a separate publisher process "
          f"(batches of {max(1, round(args.rate * args.batch_ms / 1000))} every {args.batch_ms:g} ms, over a real "
          f"redis-server), account with {args.positions} positions + {args.pending} resting limit buys; "
          f"headless window {args.duration:g} s after {args.warmup:g} s warm-up; refresh_hz {args.refresh_hz:g} "
          f"(headless; the Voila app uses the default 4); {args.samples} latency samples")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, ipywidgets {ipywidgets.__version__}, "
          f"papernb {getattr(papernb, '__version__', '?')}")
    server = None
    tmp = Path(tempfile.mkdtemp(prefix="papernb-ui-load-"))
    try:
        if args.redis:
            url, server_pid = args.redis, None
        else:
            server = RedisServer().start()
            url, server_pid = server.url, server.proc.pid
        summary: list[str] = []
        if not args.skip_headless:
            r = asyncio.run(headless(args, url, tmp, server_pid))
            print_headless(r, args)
            rates = {k: v / r["wall"] for k, v in r["msgs"].items()}
            worst = max(rates, key=rates.get)
            summary.append(f"1. comm messages per panel (headless count): max {rates[worst]:.2f}/s ({worst})"
                           "   target <= 4/s")
            board_ms = r["timer"].get("render papernb-board", 0.0)
            summary.append(f"1b. quote board ({r['board_rows']} symbols): {rates.get('board', 0):.2f} msgs/s, "
                           f"{r['bytes'].get('board', 0) / r['wall'] / 1024:.1f} KB/s, its render "
                           f"{board_ms / r['wall'] * 100:.1f}% of a core")
            summary.append(f"2. kernel CPU, headless session process: {r['cpu'] / r['wall'] * 100:.1f}% of one core"
                           "   target < 50%")
        if args.skip_browser:
            print("\n(browser part skipped: --skip-browser)")
        elif not Path(CHROMIUM).exists():
            print(f"\n(browser part skipped: {CHROMIUM} missing; apt-get install -y chromium)")
        else:
            if server is not None:
                server.flush()
            b = asyncio.run(browser(args, url, tmp, server_pid))
            print_browser(b, args)
            if b.get("lat"):
                w = b["wall"]
                summary.append(f"1'. comm messages reaching the browser: busiest widget model "
                               f"{max(b['ws_comm'].values(), default=0) / w:.2f}/s   target <= 4/s")
                summary.append(f"2'. kernel CPU, real Voila kernel: {b['kernel_cpu'] / w * 100:.1f}% of one core"
                               "   target < 50%")
                summary.append(f"3. quote -> on-screen latency: p50 {statistics.median(b['lat']):.0f} ms, "
                               f"p99 {pct(b['lat'], 99):.0f} ms ({len(b['lat'])} samples, {b['missed']} missed)"
                               "   target p99 < 1500 ms")
                if b.get("board_lat"):
                    summary.append(f"3b. on the quote board: p50 {statistics.median(b['board_lat']):.0f} ms, "
                                   f"p99 {pct(b['board_lat'], 99):.0f} ms ({len(b['board_lat'])} samples)")
        if not args.skip_aging:
            print_aging(asyncio.run(aging(args)))
        if summary:
            print(f"\n== summary ({args.rate:,.0f} quotes/s, {args.symbols} symbols, {args.positions} positions, "
                  f"{args.pending} pending, refresh_hz {args.refresh_hz:g}) ==")
            for line in summary:
                print("  " + line)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\ntotal bench time {time.monotonic() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
