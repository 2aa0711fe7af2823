"""Voila kernels and the book: a closed page lets go of it, a second window waits politely."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, WebSocketRoute, expect

import papernb as pn

from .conftest import App


def _open(browser: Browser, app: App):  # noqa: ANN202 - (context, page)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.goto(app.url, wait_until="domcontentloaded", timeout=90_000)
    return ctx, page


def _released_after(app: App, closed: float, limit: float) -> float:
    """Seconds from ``closed`` until this process can open the book (the page's kernel let go)."""
    while True:
        try:
            book = pn.Engine(str(app.book))
        except pn.BookLocked:
            assert time.monotonic() - closed < limit, "the kernel of a closed page still holds the book"
            time.sleep(0.2)
            continue
        released = time.monotonic() - closed
        assert book.account("alice").snapshot().cash == 100_000
        book.close()
        return released


def test_a_page_closed_normally_says_goodbye_and_releases_the_book_at_once(browser: Browser, app: App) -> None:
    ctx, page = _open(browser, app)
    expect(page.locator(".papernb-banner .papernb-equity")).to_have_text("$100,000.00", timeout=90_000)
    page.locator(".papernb-heartbeat").wait_for(state="attached")
    closed = time.monotonic()
    ctx.close()  # the page goes: pagehide says "bye" to the kernel
    assert _released_after(app, closed, 10) < 5


def test_closing_the_page_releases_the_book_within_15_seconds(browser: Browser, app: App) -> None:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    cut = {"off": False}

    def relay(ws: WebSocketRoute) -> None:  # the page's websocket to the kernel, through a switch
        server = ws.connect_to_server()
        ws.on_message(lambda message: None if cut["off"] else server.send(message))

    page.route_web_socket(re.compile(".*"), relay)
    page.goto(app.url, wait_until="domcontentloaded", timeout=90_000)
    expect(page.locator(".papernb-banner .papernb-equity")).to_have_text("$100,000.00", timeout=90_000)
    page.locator(".papernb-heartbeat").wait_for(state="attached")
    closed = time.monotonic()
    cut["off"] = True  # like a crashed browser: from now on nothing the page says arrives, not even goodbye
    ctx.close()
    assert _released_after(app, closed, 20) > 5  # it took the missing pings, not a goodbye


def test_a_second_window_waits_for_the_first_to_close(browser: Browser, app: App) -> None:
    first_ctx, first = _open(browser, app)
    expect(first.locator(".papernb-banner .papernb-equity")).to_have_text("$100,000.00", timeout=90_000)
    second_ctx, second = _open(browser, app)
    try:
        expect(second.locator(".papernb-panel-warn")).to_contain_text("Waiting for the previous window to close",
                                                                      timeout=60_000)
        first_ctx.close()
        expect(second.locator(".papernb-banner .papernb-equity")).to_have_text("$100,000.00", timeout=40_000)
    finally:
        second_ctx.close()


def test_a_book_held_elsewhere_gets_a_friendly_panel_not_a_traceback(browser: Browser, app: App) -> None:
    holder = pn.Engine(str(app.book))  # this test process owns the book for the whole test
    try:
        ctx, page = _open(browser, app)
        try:
            panel = page.locator(".papernb-panel-error")
            expect(panel).to_contain_text("This account is open somewhere else", timeout=90_000)
            expect(panel).to_contain_text(str(app.book))
            expect(page.locator("body")).not_to_contain_text("Traceback")
        finally:
            ctx.close()
    finally:
        holder.close()
