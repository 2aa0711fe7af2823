"""The trader's app: ``papernb app`` serves notebooks/trader.ipynb with Voila on 127.0.0.1.

Two halves: :func:`main` (the command) finds the notebook as package data and starts
Voila with the settings passed as ``PAPERNB_*`` environment variables; :func:`start`
runs inside the notebook's kernel, connects the session, shows the dashboard, and
watches the page heartbeat so that a closed page stops streaming and releases the book.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import logging
import os
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


def main(argv: Sequence[str] | None = None) -> int:
    """``papernb app``: the embedded default (local book + simulated market) unless told otherwise."""
    ap = argparse.ArgumentParser(prog="papernb app", description="Serve the papernb trading app with Voila.")
    ap.add_argument("--port", type=int, default=8866)
    ap.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    ap.add_argument("--account", help="account name (PAPERNB_ACCOUNT, default 'trader')")
    ap.add_argument("--book", help="book file (PAPERNB_DB)")
    ap.add_argument("--feed", help="sim | redis | replay:PATH (PAPERNB_FEED)")
    ap.add_argument("--redis", help="Redis URL (PAPERNB_REDIS_URL); implies --feed redis")
    args = ap.parse_args(argv)
    env = dict(os.environ)
    for flag, var in (("account", "PAPERNB_ACCOUNT"), ("book", "PAPERNB_DB"), ("feed", "PAPERNB_FEED"),
                      ("redis", "PAPERNB_REDIS_URL")):
        value = getattr(args, flag)
        if value:
            env[var] = str(Path(value).expanduser()) if flag == "book" else value
    if args.redis and not args.feed:
        env["PAPERNB_FEED"] = "redis"
    if shutil.which("voila") is None and not _has_module("voila"):
        print("papernb app needs Voila: pip install 'papernb[app]'", file=sys.stderr)
        return 2
    port = args.port or _free_port()
    print(f"papernb app on http://127.0.0.1:{port}/  (Ctrl-C to stop; logs in {log_dir()})", flush=True)
    try:
        return subprocess.call(voila_command(port, no_browser=args.no_browser), env=env)
    except KeyboardInterrupt:
        return 0


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


# ---------------------------------------------------------------------------------------- kernel side
def _panel(title: str, body: str, kind: str = "info") -> Any:
    import ipywidgets as w

    colour = {"info": "#1f4e79", "warn": "#8a5a00", "error": "#8b1a1a"}[kind]
    box = w.HTML(f'<div style="border:1px solid {colour};border-radius:6px;padding:14px;max-width:720px">'
                 f'<h3 style="margin:0 0 6px 0;color:{colour}">{html.escape(title)}</h3>'
                 f'<div>{html.escape(body)}</div></div>')
    box.add_class(f"papernb-panel-{kind}")
    return box


def start(**kwargs: Any) -> Any:
    """Run in the app notebook: connect, show the dashboard, watch the page heartbeat.

    Returns the session (or None when the book could not be opened; a friendly panel is
    shown instead of a traceback).
    """
    from IPython.display import display

    from . import connect
    from .errors import BookLocked, PaperError
    from .widgets import dashboard
    from .widgets.heartbeat import Heartbeat

    _setup_logging()
    status = _panel("Opening your paper account…", "Connecting to the quote feed and the book.")
    display(status)
    try:
        try:
            session = connect(**kwargs)
        except BookLocked:
            status.value = _panel("Waiting for the previous window to close…",
                                  "This account is still open in another window or kernel; papernb waits up "
                                  f"to {LOCK_WAIT:.0f} seconds for it to let go.", "warn").value
            session = connect(wait=LOCK_WAIT, **kwargs)
    except BookLocked as e:
        log.warning("book locked: %s", e)
        status.value = _panel("This account is open somewhere else",
                              f"The book {e.path} is in use by {e.owner}. Close the other window (or wait a few "
                              "seconds after closing it) and reload this page.", "error").value
        return None
    except PaperError as e:
        log.warning("could not start: %s", e)
        status.value = _panel("papernb could not start", str(e), "error").value
        return None
    except Exception as e:  # never a traceback in the trader's face; the log has it
        log.exception("could not start")
        status.value = _panel("papernb could not start", f"{type(e).__name__}: {e}. Details are in "
                                                          f"{log_dir() / 'app.log'}.", "error").value
        return None
    status.layout.display = "none"
    heartbeat = Heartbeat()
    dash = dashboard(session)
    display(dash, heartbeat)
    task = asyncio.get_running_loop().create_task(_watch(session, heartbeat, dash), name="papernb-heartbeat")
    session.add_stopper(task.cancel)
    log.info("app started: %r", session)
    return session


async def _watch(session: Any, heartbeat: Any, dash: Any) -> None:
    """Release the book when the page stops pinging (closed tab, crashed browser)."""
    while not session.closed:
        await asyncio.sleep(1.0)
        if heartbeat.seconds_since_ping() > PAGE_GONE_AFTER:
            log.info("page gone (no heartbeat for %.0f s): closing %r", heartbeat.seconds_since_ping(), session)
            try:
                close = getattr(dash, "close", None)
                if close is not None:
                    close()
            finally:
                await session.aclose()
            return
