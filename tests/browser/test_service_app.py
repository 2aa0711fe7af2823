"""The Voila app against the engine service (papernb app --service): two windows of one trader share
one book and see each other's orders; another trader's window sees only their own."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from papernb.app import voila_command

from ..service.conftest import Service, add_user
from ..service.conftest import free_port as service_port
from .conftest import ARTIFACTS
from .test_app import ticket


class ServiceApp:
    """One Voila server whose kernels trade through the service with one user's token."""

    def __init__(self, tmp: Path, service: Service, token: str, name: str) -> None:
        self.port = service_port()
        self.log = open(tmp / f"voila-{name}.log", "w")  # noqa: SIM115 - closed in stop()
        env = dict(os.environ, PAPERNB_SERVICE=service.url, PAPERNB_TOKEN=token, PAPERNB_HOME=str(tmp / name))
        env.pop("PAPERNB_DB", None)
        self.proc = subprocess.Popen(voila_command(self.port), env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "api", timeout=1).status_code < 500:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("voila did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture
def two_traders(tmp_path: Path) -> Iterator[tuple[Service, dict[str, str], ServiceApp, ServiceApp]]:
    book = tmp_path / "book.duckdb"
    tokens = {"admin": add_user(book, "admin", admin=True), "alice": add_user(book, "alice"),
              "bob": add_user(book, "bob")}
    svc = Service(book, service_port(), "--feed", "none").start()
    apps = [ServiceApp(tmp_path, svc, tokens["alice"], "alice"), ServiceApp(tmp_path, svc, tokens["bob"], "bob")]
    try:
        httpx.post(svc.url + "/v1/quotes", headers={"Authorization": f"Bearer {tokens['admin']}"},
                   json=[{"symbol": "AAPL", "bid": "189.90", "ask": "190.10", "last": "190.00"}])
        yield svc, tokens, apps[0], apps[1]
    finally:
        for a in apps:
            a.stop()
        svc.stop()


def test_two_windows_share_a_book_through_the_service_and_another_trader_sees_none_of_it(
        browser: Browser, two_traders: tuple[Service, dict[str, str], ServiceApp, ServiceApp]) -> None:
    svc, tokens, alice_app, bob_app = two_traders
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(3)]
    one, two, bob = (c.new_page() for c in contexts)
    try:
        for page, app in ((one, alice_app), (two, alice_app), (bob, bob_app)):
            page.goto(app.url, wait_until="domcontentloaded", timeout=90_000)
            expect(page.locator(".papernb-banner .papernb-equity")).to_have_text("$100,000.00", timeout=90_000)
        ticket(one, symbol="AAPL", qty="10", type_="Limit", limit="185.00")
        one.locator(".papernb-ticket-submit").click()
        expect(one.locator(".papernb-order-1")).to_contain_text("185.00")
        # the other window of the same trader: the order and what it holds, within a couple of seconds
        expect(two.locator(".papernb-order-1")).to_contain_text("185.00", timeout=3_000)
        expect(two.locator(".papernb-banner .papernb-reserved")).to_have_text("$1,850.00", timeout=3_000)
        two.locator(".papernb-order-1 .papernb-cancel").click()
        expect(one.locator(".papernb-order-1")).to_have_count(0, timeout=3_000)
        # bob's window saw nothing of it
        expect(bob.locator(".papernb-order-row")).to_have_count(0)
        expect(bob.locator(".papernb-banner .papernb-reserved")).to_have_text("$0.00")
        with svc.client(tokens["alice"]) as c:
            assert [o["status"] for o in c.get("/v1/orders", params={"status": "all"}).json()] == ["CANCELLED"]
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for name, page in (("service_window_one", one), ("service_window_two", two), ("service_bob", bob)):
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        for c in contexts:
            c.close()
