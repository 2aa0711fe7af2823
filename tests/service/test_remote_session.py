"""pn.connect(service=...): the same dashboard against the service; two windows see each other's orders;
the session survives the service restarting (disconnected, then resumed with nothing lost)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

import papernb as pn
from papernb.widgets import dashboard

from .conftest import Service, add_user, free_port


async def _until(cond, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        await asyncio.sleep(0.05)
    return cond()


def test_two_windows_of_one_user_see_each_others_orders_within_a_second(service: Service,
                                                                         tokens: dict[str, str]) -> None:
    httpx.post(service.url + "/v1/quotes", headers={"Authorization": f"Bearer {tokens['admin']}"},
               json=[{"symbol": "AAPL", "bid": "189.90", "ask": "190.10", "last": "190.00"}])

    async def scenario() -> None:
        one = pn.connect(service=service.url, token=tokens["alice"])
        two = pn.connect(service=service.url, token=tokens["alice"])
        other = pn.connect(service=service.url, token=tokens["bob"])
        try:
            d1, d2 = dashboard(one), dashboard(two)
            t = d1.ticket
            t.symbol.value, t.qty.value, t.type.value, t.limit.value = "AAPL", "5", "LIMIT", "185.00"
            await t.settle()
            t0 = time.monotonic()
            t.submit_button.click()
            assert await _until(lambda: [o.status.value for o in two.broker.orders(status="open")] == ["PENDING"])
            assert time.monotonic() - t0 < 1.0
            assert await _until(lambda: d2.banner.snapshot is not None and d2.banner.snapshot.reserved == 925)
            assert other.broker.orders() == []  # bob's window sees nothing of alice's
            d1.close()
            d2.close()
        finally:
            for s in (one, two, other):
                await s.aclose()

    asyncio.run(scenario())


def test_the_remote_session_survives_a_service_restart_with_nothing_lost(tmp_path: Path) -> None:
    book = tmp_path / "book.duckdb"
    admin, alice = add_user(book, "admin", admin=True), add_user(book, "alice")
    port = free_port()
    svc = Service(book, port, "--feed", "none").start()

    def quote(s: Service) -> None:
        httpx.post(s.url + "/v1/quotes", headers={"Authorization": f"Bearer {admin}"},
                   json=[{"symbol": "AAPL", "bid": "189.90", "ask": "190.10", "last": "190.00"}])

    quote(svc)

    async def scenario() -> None:
        global svc2
        session = pn.connect(service=svc.url, token=alice)
        heard: list[str] = []
        session.broker.subscribe_events(lambda u: heard.append(f"{u.event}:{u.order.id}"))
        try:
            a = await session.broker.submit("AAPL", "buy", 1, type="limit", limit="180.00")
            assert await _until(lambda: f"accepted:{a.id}" in heard)
            svc.stop()
            assert await _until(lambda: not session.broker.feed_health().connected, 5)
            try:
                await session.broker.submit("AAPL", "buy", 1, type="market")
            except pn.PaperError as e:
                assert "cannot be reached" in str(e)
            else:
                raise AssertionError("a command while the service was away did not say so")
            svc2 = Service(book, port, "--feed", "none").start()  # back, same book
            quote(svc2)
            # meanwhile another client changed the account: the session hears it after reconnecting
            with svc2.client(alice) as c:
                b = c.post("/v1/orders", json={"symbol": "AAPL", "side": "buy", "qty": 2}).json()
            assert await _until(lambda: f"filled:{b['id']}" in heard, 10)
            assert heard.count(f"accepted:{a.id}") == 1  # nothing doubled
            assert session.broker.feed_health().connected
            assert [o.id for o in session.broker.orders()] == [a.id, b["id"]]
        finally:
            await session.aclose()

    try:
        asyncio.run(scenario())
    finally:
        if "svc2" in globals():
            globals()["svc2"].stop()
