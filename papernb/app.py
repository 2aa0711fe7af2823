"""The trader's app: ``papernb app`` serves notebooks/trader.ipynb with Voila on 127.0.0.1.

Two halves: :func:`main` (the command) finds the notebook as package data and starts
Voila with the settings passed as ``PAPERNB_*`` environment variables; :func:`start`
runs inside the notebook's kernel, connects the session, shows the dashboard, and
watches the page heartbeat so that a closed page stops streaming and releases the book.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("papernb.app")

#: Seconds without a ping from the page after which the app releases the book.
PAGE_GONE_AFTER = 12.0
LOCK_WAIT = 20.0


def notebook_path(name: str = "trader.ipynb") -> Path:
    """The app notebook: package data in a wheel, ``notebooks/`` in a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "notebooks" / name, here.parent / "notebooks" / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"papernb cannot find its app notebook {name}; reinstall papernb")


def log_dir() -> Path:
    d = Path(os.environ.get("PAPERNB_HOME", Path.home() / ".papernb")) / "logs"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _setup_logging() -> None:
    root = logging.getLogger("papernb")
    if any(isinstance(h, logging.FileHandler) for h in root.handlers):
        return
    h = logging.FileHandler(log_dir() / "app.log")
    h.setFormatter(logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"))
    root.addHandler(h)
    root.setLevel(logging.INFO)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def voila_command(port: int, *, no_browser: bool = True, notebook: Path | None = None) -> list[str]:
    """The Voila command line the app runs (also used by the browser tests)."""
    nb = notebook or notebook_path()
    return [
        sys.executable, "-m", "voila", str(nb), f"--port={port}", "--Voila.ip=127.0.0.1",
        *(["--no-browser"] if no_browser else []),
        "--theme=light", "--show_tracebacks=False",
        # a closed page's kernel goes quiet (heartbeat watchdog); then culling removes it
        "--MappingKernelManager.cull_idle_timeout=120", "--MappingKernelManager.cull_interval=30",
    ]


_ACCOUNT_OK = re.compile(r"[A-Za-z0-9_-]{1,32}", re.ASCII).fullmatch


def _checked(args: argparse.Namespace, environ: dict[str, str]) -> None:
    """The app's command line, checked before Voila starts: one line and exit 2 (usage) or 1."""
    from .cli import UsageError
    from .errors import ConfigError, InvalidInput
    from .feed.redis_bus import check_url, ping

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 1 and 65535 (0: any free port), was {args.port}")
    if args.account is not None and not _ACCOUNT_OK(args.account.strip()):
        raise UsageError(f"--account {args.account!r}: an account name is 1-32 of a-z, 0-9, _ and - "
                         f"(case does not matter)")
    if args.book:
        book = Path(args.book).expanduser()
        if book.is_dir():
            raise InvalidInput(f"--book {book} is a folder; give a book file such as {book / 'paper.duckdb'}")
        if not book.parent.is_dir():
            raise InvalidInput(f"--book {book}: the folder {book.parent} does not exist")
    feed = args.feed or environ.get("PAPERNB_FEED") or ("redis" if args.redis or environ.get("PAPERNB_REDIS_URL")
                                                        else "sim")
    if feed.startswith("replay:"):
        if not Path(feed[7:]).expanduser().is_file():
            raise InvalidInput(f"--feed {feed}: no such quotes file {feed[7:]}")
    elif feed not in ("sim", "redis"):
        raise UsageError(f"--feed must be sim, redis or replay:PATH, was {feed!r}")
    url = args.redis or environ.get("PAPERNB_REDIS_URL")
    if feed == "redis":
        if not url:
            raise UsageError("--feed redis needs a Redis URL: pass --redis redis://host:6379 or set PAPERNB_REDIS_URL")
        try:
            check_url(url, "--redis" if args.redis else "PAPERNB_REDIS_URL")
        except ConfigError as e:
            raise UsageError(str(e)) from None
        ping(url)  # an app that would only show "disconnected": say so now, with the URL and the cause
    elif args.redis:
        try:
            check_url(args.redis, "--redis")
        except ConfigError as e:
            raise UsageError(str(e)) from None


def main(argv: Sequence[str] | None = None) -> int:
    """``papernb app``: the embedded default (local book + simulated market) unless told otherwise.

    A bad argument, an unreachable Redis or a missing file is one line on stderr (through
    :func:`papernb.cli.run_command`) before Voila starts.
    """
    from .cli import ArgParser
    from .errors import PaperError

    ap = ArgParser(prog="papernb app", description="Serve the papernb trading app with Voila.")
    ap.add_argument("--port", type=int, default=8866)
    ap.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    ap.add_argument("--account", help="account name (PAPERNB_ACCOUNT, default 'trader')")
    ap.add_argument("--book", help="book file (PAPERNB_DB)")
    ap.add_argument("--feed", help="sim | redis | replay:PATH (PAPERNB_FEED)")
    ap.add_argument("--redis", help="Redis URL (PAPERNB_REDIS_URL); implies --feed redis; must be reachable")
    ap.add_argument("--service", help="a running papernb serve to trade through (PAPERNB_SERVICE): the book lives "
                                      "there, shared with every other window")
    ap.add_argument("--token", help="your API token for --service (PAPERNB_TOKEN)")
    args = ap.parse_args(argv)
    if args.service:
        _check_service(args.service, args.token or os.environ.get("PAPERNB_TOKEN"))
    env = dict(os.environ)
    _checked(args, env)
    for flag, var in (("account", "PAPERNB_ACCOUNT"), ("book", "PAPERNB_DB"), ("feed", "PAPERNB_FEED"),
                      ("redis", "PAPERNB_REDIS_URL"), ("service", "PAPERNB_SERVICE"), ("token", "PAPERNB_TOKEN")):
        value = getattr(args, flag)
        if value:
            env[var] = str(Path(value).expanduser()) if flag == "book" else value
    if args.redis and not args.feed:
        env["PAPERNB_FEED"] = "redis"
    if shutil.which("voila") is None and not _has_module("voila"):
        raise PaperError("papernb app needs Voila: pip install 'papernb[app]'")
    port = args.port or _free_port()
    print(f"papernb app on http://127.0.0.1:{port}/  (Ctrl-C to stop; logs in {log_dir()})", flush=True)
    return serve(voila_command(port, no_browser=args.no_browser), env)


#: seconds Voila gets to shut down after SIGTERM/SIGINT before it (and what is left of its kernels) is killed
STOP_GRACE = 2.5


def serve(cmd: list[str], env: dict[str, str]) -> int:
    """Run Voila as a child until it exits, or until this process is told to stop.

    SIGTERM, SIGINT (Ctrl-C) and SIGHUP are forwarded to Voila, which shuts its kernels down;
    whatever still runs :data:`STOP_GRACE` seconds later (Voila, a kernel holding the book) is
    killed, so the port and the book are free within about 5 seconds.  Voila runs in its own
    session, so a Ctrl-C in the terminal reaches it only through here (once, not twice).
    Returns Voila's exit code, or 130 when stopped by a signal.
    """
    import signal
    import time

    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    stopping: dict[str, Any] = {"signal": None, "at": 0.0, "family": []}

    def stop(signum: int, _frame: Any) -> None:
        if stopping["signal"] is None:
            stopping["signal"], stopping["at"] = signum, time.monotonic()
            stopping["family"] = _descendants(proc.pid)  # its kernels: they outlive a killed Voila
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)

    handled = [s for s in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", None)) if s is not None]
    previous = {s: signal.signal(s, stop) for s in handled}
    try:
        while True:
            try:
                code = proc.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                if stopping["signal"] is not None and time.monotonic() - stopping["at"] > STOP_GRACE:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
        if stopping["signal"] is not None:
            _finish(stopping["family"], deadline=stopping["at"] + STOP_GRACE + 1.5)
            log.info("papernb app stopped by signal %s", stopping["signal"])
            return 130
        return code
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (Linux /proc; elsewhere none are known)."""
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{p}/task/{task}/children") as f:
                    kids = [int(k) for k in f.read().split()]
            except (OSError, ValueError):
                continue
            out.extend(kids)
            todo.extend(kids)
    return out


def _finish(pids: list[int], deadline: float) -> None:
    """Voila is gone: give its kernels until ``deadline`` to go after a SIGTERM, then kill them."""
    import signal
    import time

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        try:  # a zombie is gone for our purposes (its locks and sockets are released)
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return True

    left = [p for p in pids if alive(p)]
    for p in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, signal.SIGTERM)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if alive(p)]
    for p in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, signal.SIGKILL)


def _check_service(url: str, token: str | None) -> None:
    """--service must answer, and accept the token, before Voila starts (one line otherwise)."""
    from .cli import UsageError
    from .errors import PaperError

    if not token:
        raise UsageError("--service needs --token TOKEN (or PAPERNB_TOKEN): papernb users add NAME prints one")
    import httpx

    try:
        r = httpx.get(url.rstrip("/") + "/v1/account", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    except httpx.HTTPError as e:
        raise PaperError(f"--service {url}: cannot reach it ({e})") from None
    if r.status_code == 401:
        raise PaperError(f"--service {url}: the token was refused (papernb users token NAME makes a new one)")
    if r.status_code != 200:
        raise PaperError(f"--service {url}: answered {r.status_code}")


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


# ---------------------------------------------------------------------------------------- kernel side
def _panel_html(title: str, body: str, kind: str = "info") -> str:
    colour = {"info": "#1f4e79", "warn": "#8a5a00", "error": "#8b1a1a"}[kind]
    return (f'<div class="papernb-panel-{kind}" style="border:1px solid {colour};border-radius:6px;'
            f'padding:14px;max-width:720px"><h3 style="margin:0 0 6px 0;color:{colour}">{html.escape(title)}</h3>'
            f'<div>{html.escape(body)}</div></div>')


class AppView:
    """What :func:`start` displays: a status panel that becomes the dashboard once the book is open."""

    def __init__(self, kwargs: dict[str, Any]) -> None:
        import ipywidgets as w

        from .widgets.heartbeat import Heartbeat

        self.kwargs = kwargs
        self.session: Any = None
        self.dashboard: Any = None
        self.error: str | None = None
        self.status = w.HTML(_panel_html("Opening your paper account…", "Connecting to the quote feed and the book."))
        self.heartbeat = Heartbeat()
        self.root = w.VBox([self.status, self.heartbeat])
        self.root.add_class("papernb-app")
        self._task: asyncio.Task | None = None

    def say(self, title: str, body: str, kind: str = "info") -> None:
        self.status.value = _panel_html(title, body, kind)
        if kind == "error":
            self.error = body

    def show(self, session: Any) -> None:
        from .widgets import dashboard

        self.session = session
        self.dashboard = dashboard(session)
        self.status.layout.display = "none"
        self.root.children = (self.status, self.dashboard, self.heartbeat)
        task = asyncio.get_running_loop().create_task(_watch(session, self.heartbeat, self.dashboard),
                                                      name="papernb-heartbeat")
        session.add_stopper(task.cancel)
        log.info("app started: %r", session)


def start(**kwargs: Any) -> AppView:
    """Run in the app notebook: connect, show the dashboard, watch the page heartbeat.

    Never blocks the cell and never shows a traceback: a locked book is retried for up to
    20 s in the background ("waiting for the previous window to close"), then explained.
    """
    from IPython.display import display

    from . import connect
    from .errors import BookLocked

    _setup_logging()
    view = AppView(kwargs)
    display(view.root)
    try:
        view.show(connect(**kwargs))
    except BookLocked:
        view.say("Waiting for the previous window to close…",
                 f"This account is still open in another window or kernel; papernb waits up to {LOCK_WAIT:.0f} "
                 "seconds for it to let go.", "warn")
        view._task = asyncio.get_running_loop().create_task(_wait_for_book(view), name="papernb-wait-book")
    except Exception as e:  # never a traceback in the trader's face; the log has it
        _explain(view, e)
    return view


def _explain(view: AppView, e: BaseException) -> None:
    from .errors import BookLocked, PaperError

    if isinstance(e, BookLocked):
        log.warning("book locked: %s", e)
        view.say("This account is open somewhere else",
                 f"The book {e.path} is in use by {e.owner}. Close the other window (or wait a few seconds after "
                 "closing it) and reload this page.", "error")
    elif isinstance(e, PaperError):
        log.warning("could not start: %s", e)
        view.say("papernb could not start", str(e), "error")
    else:
        log.exception("could not start", exc_info=e)
        view.say("papernb could not start", f"{type(e).__name__}: {e}. Details are in {log_dir() / 'app.log'}.",
                 "error")


async def _wait_for_book(view: AppView) -> None:
    from . import connect
    from .errors import BookLocked

    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOCK_WAIT
    while True:
        await asyncio.sleep(0.5)
        try:
            view.show(connect(**view.kwargs))
            return
        except BookLocked as e:
            if loop.time() >= deadline:
                _explain(view, e)
                return
        except Exception as e:
            _explain(view, e)
            return


async def _watch(session: Any, heartbeat: Any, dash: Any) -> None:
    """Release the book when the page says goodbye (closed, reloaded) or stops pinging (crashed browser)."""
    while not session.closed:
        await asyncio.sleep(0.25)
        if heartbeat.gone or heartbeat.seconds_since_ping() > PAGE_GONE_AFTER:
            why = "it said goodbye" if heartbeat.gone else f"no heartbeat for {heartbeat.seconds_since_ping():.0f} s"
            log.info("page gone (%s): closing %r", why, session)
            try:
                close = getattr(dash, "close", None)
                if close is not None:
                    close()
            finally:
                await session.aclose()
            return
