"""Voila kernels and the book: a closed page lets go of it, a second window waits politely."""

from __future__ import annotations

import time

from playwright.sync_api import Browser, expect

import papernb as pn

from .conftest import App


def _open(browser: Browser, app: App):  # noqa: ANN202 - (context, page)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.goto(app.url, wait_until="domcontentloaded", timeout=90_000)
    return ctx, page


def test_closing_the_page_releases_the_book_within_15_seconds(browser: Browser, app: App) -> None:
    ctx, page = _open(browser, app)
    expect(page.locator(".papernb-banner .papernb-equity")).to_have_text("$100,000.00", timeout=90_000)
    page.locator(".papernb-heartbeat").wait_for(state="attached")
    closed = time.monotonic()
    ctx.close()  # no beacon, no goodbye: like a crashed browser
    while True:
        try:
            book = pn.Engine(str(app.book))
        except pn.BookLocked:
            assert time.monotonic() - closed < 25, "the kernel of a closed page still holds the book"
            time.sleep(0.5)
            continue
        released = time.monotonic() - closed
        assert book.account("alice").snapshot().cash == 100_000
        book.close()
        break
    assert released < 20


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
