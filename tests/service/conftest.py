"""A real ``papernb serve`` subprocess on a free port with a real DuckDB book, and real HTTP clients."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def papernb(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "papernb.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, check=check, timeout=60)


def add_user(book: Path, name: str, admin: bool = False) -> str:
    out = papernb("users", "add", name, "--book", str(book), *(["--admin"] if admin else []))
    return out.stdout.strip().splitlines()[-1]


class Service:
    def __init__(self, book: Path, port: int, *extra: str) -> None:
        self.book, self.port, self.extra = book, port, extra
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None
        self.log = book.with_suffix(".log")

    def start(self, timeout: float = 30) -> Service:
        self._log = open(self.log, "ab")  # noqa: SIM115 - kept open for the life of the process
        self.proc = subprocess.Popen([sys.executable, "-m", "papernb.cli", "serve", "--book", str(self.book),
                                      "--port", str(self.port), *self.extra], cwd=ROOT, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"papernb serve exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"papernb serve did not start: {self.log.read_text()[-2000:]}")

    def client(self, token: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._log.close()


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return tmp_path / "book.duckdb"


@pytest.fixture
def tokens(book: Path) -> dict[str, str]:
    return {"admin": add_user(book, "admin", admin=True), "alice": add_user(book, "alice"),
            "bob": add_user(book, "bob")}


@pytest.fixture
def service(book: Path, tokens: dict[str, str]) -> Iterator[Service]:
    s = Service(book, free_port(), "--feed", "none").start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def shared_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, dict[str, str]]]:
    """One service for a table of cases that each leave the book as they found it."""
    book = tmp_path_factory.mktemp("shared") / "book.duckdb"
    toks = {"admin": add_user(book, "admin", admin=True), "alice": add_user(book, "alice")}
    s = Service(book, free_port(), "--feed", "none").start()
    try:
        yield s, toks
    finally:
        s.stop()
