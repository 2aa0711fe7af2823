"""The trader's app end to end: real Voila, real Chromium, quotes over a real Redis.

Screenshots of every test land in artifacts/screenshots/.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .conftest import App, Quotes


def field(page: Page, cls: str):  # noqa: ANN201 - a Playwright locator
    return page.locator(f".{cls} input, .{cls} select").first


def ticket(page: Page, *, symbol: str, qty: str, type_: str = "Market", limit: str | None = None,
           side: str = "Buy") -> None:
    field(page, "papernb-ticket-symbol").fill(symbol)
    page.locator(".papernb-ticket-side button", has_text=side).click()
    field(page, "papernb-ticket-type").select_option(label=type_)
    field(page, "papernb-ticket-qty").fill(qty)
    if limit is not None:
        field(page, "papernb-ticket-limit").fill(limit)
    field(page, "papernb-ticket-qty").press("Tab")


def open_app(page: Page, app: App) -> None:
    page.goto(app.url, wait_until="domcontentloaded", timeout=90_000)
    expect(page.locator(".papernb-banner .papernb-equity")).to_have_text("$100,000.00", timeout=90_000)


def test_trader_places_edits_cancels_and_buys_with_live_quotes(page: Page, app: App, quotes: Quotes) -> None:
    open_app(page, app)
    expect(page.locator(".papernb-banner .papernb-feed-status")).to_contain_text(re.compile("live|stale", re.I))
    quotes.publish(("AAPL", 189.90, 190.10, 190.00))

    # a limit buy below the market rests, holding 10 x 185.00
    ticket(page, symbol="AAPL", qty="10", type_="Limit", limit="185.00")
    expect(page.locator(".papernb-ticket-summary")).to_contain_text("190.10")
    page.locator(".papernb-ticket-submit").click()
    row = page.locator(".papernb-order-1")
    expect(row).to_contain_text("185.00")
    expect(page.locator(".papernb-banner .papernb-reserved")).to_have_text("$1,850.00")
    expect(page.locator(".papernb-banner .papernb-buying-power")).to_have_text("$98,150.00")

    # edit its price: the row and the buying power follow
    row.locator(".papernb-edit").click()
    field(row, "papernb-edit-limit").fill("186.00")
    row.locator(".papernb-save").click()
    expect(row).to_contain_text("186.00")
    expect(page.locator(".papernb-banner .papernb-reserved")).to_have_text("$1,860.00")

    # cancel it: the row goes, nothing is held any more
    row.locator(".papernb-cancel").click()
    expect(page.locator(".papernb-order-1")).to_have_count(0)
    expect(page.locator(".papernb-banner .papernb-reserved")).to_have_text("$0.00")

    # a market buy makes a position
    quotes.publish(("AAPL", 189.90, 190.10, 190.00))
    ticket(page, symbol="AAPL", qty="10", type_="Market")
    page.locator(".papernb-ticket-submit").click()
    pos = page.locator(".papernb-positions tr", has=page.locator(".papernb-sym", has_text="AAPL"))
    expect(pos.locator(".papernb-col-qty")).to_have_text("10")
    expect(page.locator(".papernb-banner .papernb-cash")).to_have_text("$98,099.00")

    # new quotes move last, P/L and equity on screen
    quotes.publish(("AAPL", 195.00, 195.20, 195.10))
    expect(pos.locator(".papernb-col-last")).to_contain_text("195.10", timeout=2_000)
    expect(pos.locator(".papernb-col-upl")).to_contain_text("$50.00", timeout=2_000)
    expect(page.locator(".papernb-banner .papernb-equity")).to_have_text("$100,050.00", timeout=2_000)


def test_a_bad_quantity_shows_an_error_and_places_no_order(page: Page, app: App, quotes: Quotes) -> None:
    open_app(page, app)
    quotes.publish(("AAPL", 189.90, 190.10, 190.00))
    ticket(page, symbol="AAPL", qty="abc", type_="Market")
    expect(page.locator(".papernb-ticket-summary .papernb-error")).to_have_text(
        "Quantity must be a whole number of shares, like 10; you typed 'abc'")
    expect(page.locator(".papernb-ticket-submit")).to_be_disabled()
    page.locator(".papernb-ticket-submit").click(force=True)  # a click on the disabled button does nothing
    field(page, "papernb-ticket-qty").fill("0")
    field(page, "papernb-ticket-qty").press("Tab")
    expect(page.locator(".papernb-ticket-summary .papernb-error")).to_have_text(
        "Quantity must be at least 1 share, was 0")
    expect(page.locator(".papernb-order-row")).to_have_count(0)
    page.locator(".papernb-tabs .lm-TabBar-tab, .papernb-tabs .p-TabBar-tab", has_text="Order history").click()
    expect(page.locator(".papernb-history")).not_to_contain_text("AAPL")
