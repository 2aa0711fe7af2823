"""``papernb app`` as a process: told to stop, it leaves no Voila serving the port and no kernel holding the book."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import papernb as pn
from papernb.app import _descendants

from .feed.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _locked(path: Path) -> bool:
    """Some process holds a lock on ``path`` (Linux /proc/locks), without taking one ourselves."""
    ino = os.stat(path).st_ino
    return any(line.split()[5].endswith(f":{ino}") for line in Path("/proc/locks").read_text().splitlines()
               if len(line.split()) > 5)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_app_frees_its_port_and_its_book_within_5_seconds(tmp_path: Path, sig: signal.Signals) -> None:
    port, book = free_port(), tmp_path / "app.duckdb"
    env = dict(os.environ, PAPERNB_HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT))
    env.pop("PAPERNB_FEED", None)
    env.pop("PAPERNB_REDIS_URL", None)
    app = subprocess.Popen([sys.executable, "-m", "papernb.cli", "app", "--port", str(port), "--book", str(book),
                            "--no-browser"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    family: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            assert app.poll() is None, app.communicate()
            assert time.monotonic() < deadline, "papernb app did not listen within 60 s"
            time.sleep(0.1)
        # a page view starts a kernel, which runs the app notebook and opens the book
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=90) as r:
            assert r.status == 200 and b"papernb" in r.read()
        while not (book.exists() and _locked(book)):
            assert time.monotonic() < deadline, "no kernel opened the book"
            time.sleep(0.1)

        family = _descendants(app.pid)  # Voila and its kernel: killed below if the app left them behind
        told = time.monotonic()
        app.send_signal(sig)
        code = app.wait(timeout=15)
        while _listening(port):
            assert time.monotonic() - told < 5, "the port is still served 5 s after the signal"
            time.sleep(0.05)
        while True:
            try:
                b = pn.Engine(str(book))
                break
            except pn.BookLocked:
                assert time.monotonic() - told < 5, "the book is still held 5 s after the signal"
                time.sleep(0.05)
        freed = time.monotonic() - told
        assert b.account("trader").snapshot().cash == 100_000
        b.close()
        out, err = app.communicate(timeout=5)
        assert code == 130, (code, err[-2000:])
        assert "Traceback" not in err
        assert freed < 5
    finally:
        if app.poll() is None:
            family = _descendants(app.pid)
            app.kill()
            app.wait()
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
