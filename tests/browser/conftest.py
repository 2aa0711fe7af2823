"""A real Voila server, a real redis-server and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

import papernb as pn
from papernb.app import voila_command
from papernb.feed.redis_bus import RedisPublisher

from ..feed.redis_server import RedisServer, free_port

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
expect.set_options(timeout=30_000)


@pytest.fixture(scope="package")
def redis_srv() -> Iterator[RedisServer]:
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    # package scope: Playwright's sync API runs an event loop on this thread while it is open,
    # and the tests after this package call asyncio.run()
    if not Path(CHROMIUM).exists():
        raise RuntimeError("Debian's chromium is missing: apt-get install -y chromium (scripts/test.sh does it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Quotes:
    """Publishes quotes into the app's Redis, as the Excel reader would on a trader's PC."""

    def __init__(self, url: str) -> None:
        self.url = url

    def publish(self, *quotes: tuple[str, float, float, float]) -> None:
        async def go() -> None:
            pub = RedisPublisher(self.url, src="test")
            await pub.publish([pn.Quote(s, bid=b, ask=a, last=la, ts=time.time_ns()) for s, b, a, la in quotes])
            await pub.aclose()

        # Playwright's sync API owns this thread's event loop: publish from another thread
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, go()).result(timeout=30)


class App:
    """One Voila server on a free port with its own book, account and Redis database."""

    def __init__(self, tmp: Path, redis_url: str, account: str = "alice") -> None:
        self.port = free_port()
        self.book = tmp / "app.duckdb"
        self.log = open(tmp / "voila.log", "w")  # noqa: SIM115 - closed in stop()
        env = dict(os.environ, PAPERNB_DB=str(self.book), PAPERNB_FEED="redis", PAPERNB_REDIS_URL=redis_url,
                   PAPERNB_ACCOUNT=account, PAPERNB_HOME=str(tmp / "home"))
        self.proc = subprocess.Popen(voila_command(self.port), env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"voila exited: {(tmp / 'voila.log').read_text()[-3000:]}")
            try:  # a GET of the page would start a kernel (and take the book): only knock
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture
def quotes(redis_srv: RedisServer) -> Quotes:
    redis_srv.flush()
    return Quotes(redis_srv.url)


@pytest.fixture
def app(tmp_path: Path, redis_srv: RedisServer, quotes: Quotes) -> Iterator[App]:
    a = App(tmp_path, redis_srv.url)
    try:
        yield a
    finally:
        a.stop()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    try:
        yield pg
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^a-z0-9_]+", "_", request.node.name.lower())
        try:
            pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        finally:
            ctx.close()


def money(text: str) -> str:
    return text.strip()


Poll = Callable[[], bool]
