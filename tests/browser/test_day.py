"""A trader's day in the app, end to end: the quote board, one-click close, notifications, journal notes,
downloads, a phone-width page.  Real Voila, Debian Chromium, quotes over a real redis-server.

Each test polls for what the trader would see (no fixed sleeps); screenshots land in artifacts/screenshots/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import openpyxl
import pandas as pd
from playwright.sync_api import Browser, Page, expect

import papernb as pn

from .conftest import ARTIFACTS, CHROMIUM_ARGS, App, Quotes  # noqa: F401 - CHROMIUM_ARGS documents the setup
from .test_app import field, open_app, ticket


def board_row(page: Page, symbol: str):  # noqa: ANN201 - a Playwright locator
    return page.locator(f'.papernb-board-row[data-key="{symbol}"]')


def open_with(page: Page, app: App, equity: str) -> None:
    page.goto(app.url, wait_until="domcontentloaded", timeout=90_000)
    expect(page.locator(".papernb-banner .papernb-equity")).to_have_text(equity, timeout=90_000)


def tab(page: Page, title: str) -> None:
    page.locator(".papernb-tabs .lm-TabBar-tab, .papernb-tabs .p-TabBar-tab", has_text=title).click()


_SIDEWAYS = """() => {
  // every element a trader could scroll sideways (the page itself included), and by how much
  const out = [];
  for (const el of [document.scrollingElement, ...document.querySelectorAll("body *")]) {
    const cs = getComputedStyle(el);
    const scrolls = el === document.scrollingElement || ["auto", "scroll"].includes(cs.overflowX);
    if (scrolls && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
      out.push(`${el.tagName}.${String(el.className).slice(0, 60)}: ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  return out;
}"""


def _sideways(page: Page) -> list[str]:
    return page.evaluate(_SIDEWAYS)


def _book_with_a_round_trip(path: Path) -> None:
    """The book as a trader left it yesterday: one AAPL round trip (+$18.00), written before the page opens."""
    book = pn.Engine(str(path))
    acct = book.account("alice")
    now = time.time_ns()
    book.on_quote(pn.Quote("AAPL", bid=189.90, ask=190.10, last=190.00, ts=now))
    acct.buy("AAPL", 10)
    book.on_quote(pn.Quote("AAPL", bid=191.90, ask=192.10, last=192.00, ts=now + 1))
    acct.sell("AAPL", 10)
    book.close()


def test_the_board_moves_a_row_fills_the_ticket_a_fill_notifies_and_close_empties_the_position(
        page: Page, app: App, quotes: Quotes) -> None:
    quotes.publish(("AAPL", 189.90, 190.10, 190.00), ("MSFT", 374.50, 374.70, 374.60))
    open_app(page, app)
    # the board is there with the feed's symbols, and moves with no click
    expect(board_row(page, "AAPL").locator(".papernb-col-last")).to_have_text("$190.00")
    expect(board_row(page, "MSFT").locator(".papernb-col-last")).to_have_text("$374.60")
    quotes.publish(("AAPL", 191.13, 191.33, 191.23))
    expect(board_row(page, "AAPL").locator(".papernb-col-last")).to_have_text("$191.23", timeout=2_000)
    expect(board_row(page, "AAPL").locator(".papernb-col-last")).to_have_class(re.compile("papernb-up"))

    # a click on a row fills the ticket; Sell on a row fills the side too
    board_row(page, "MSFT").locator(".papernb-col-symbol").click()
    expect(field(page, "papernb-ticket-symbol")).to_have_value("MSFT")
    expect(page.locator(".papernb-ticket-summary")).to_contain_text("374.70")
    board_row(page, "AAPL").locator(".papernb-action-sell").click()
    expect(field(page, "papernb-ticket-symbol")).to_have_value("AAPL")
    expect(page.locator(".papernb-ticket-side button.mod-active")).to_have_text("Sell")

    # a resting limit buy; when the market comes down to it, a notification and the ticket's message say so
    ticket(page, symbol="AAPL", qty="10", type_="Limit", limit="190.00", side="Buy")
    page.locator(".papernb-ticket-submit").click()
    message = page.locator(".papernb-ticket-message")
    expect(message).to_have_text("Order 1 accepted: PENDING — Buy 10 AAPL Limit $190.00 Day")
    expect(page.locator(".papernb-order-1")).to_contain_text("holds $1,900.00")
    quotes.publish(("AAPL", 189.80, 189.95, 189.90))
    expect(page.locator(".papernb-toast")).to_contain_text("Filled: Buy 10 AAPL @ $190.00 (order 1)")
    expect(message).to_have_text("Order 1 filled 10 @ $190.00 — Buy 10 AAPL Limit $190.00 Day")

    # Close on the position row asks first, then empties it
    pos = page.locator('.papernb-positions .papernb-position-row[data-key="AAPL"]')
    expect(pos.locator(".papernb-col-qty")).to_have_text("10")
    pos.locator(".papernb-action-close").click()
    confirm = page.locator(".papernb-positions-confirm")
    expect(confirm).to_contain_text("Close 10 AAPL at market? This sells 10 shares at the bid")
    confirm.locator(".papernb-confirm-yes").click()
    expect(page.locator(".papernb-positions .papernb-position-row")).to_have_count(0)
    expect(page.locator(".papernb-positions-message")).to_have_text("Closed AAPL: sold 10 @ $189.80")
    expect(page.locator(".papernb-banner .papernb-cash")).to_have_text("$99,998.00")


def test_a_note_survives_a_reload_and_the_downloads_hold_the_trades(page: Page, app: App, quotes: Quotes,
                                                                     tmp_path: Path) -> None:
    _book_with_a_round_trip(app.book)
    quotes.publish(("AAPL", 191.90, 192.10, 192.00))
    open_with(page, app, "$100,018.00")
    tab(page, "Trade journal")
    trip = page.locator('.papernb-trip-row[data-key="1"]')
    expect(trip.locator(".papernb-col-net")).to_have_text("+$18.00")
    trip.locator(".papernb-action-note").click()
    page.locator(".papernb-note-text textarea").fill("bought the open, sold into strength")
    page.locator(".papernb-note-tags input").fill("Breakout, news")
    page.locator(".papernb-note-save").click()
    expect(trip.locator(".papernb-col-tags")).to_have_text("breakout, news")

    page.reload(wait_until="domcontentloaded")  # a new kernel; the old one lets go of the book as the page goes
    expect(page.locator(".papernb-banner .papernb-equity")).to_have_text("$100,018.00", timeout=60_000)
    tab(page, "Trade journal")
    trip = page.locator('.papernb-trip-row[data-key="1"]')
    expect(trip.locator(".papernb-col-note")).to_have_text("bought the open, sold into strength")
    expect(trip.locator(".papernb-col-tags")).to_have_text("breakout, news")
    expect(page.locator(".papernb-journal-by-tag")).to_contain_text("breakout")

    tab(page, "Export")
    expect(page.locator(".papernb-download")).to_have_text(
        ["Orders CSV", "Fills CSV", "Round trips CSV", "Equity CSV", "Workbook (.xlsx)"])
    with page.expect_download() as dl:
        page.locator(".papernb-download-round-trips-csv").click()
    csv = tmp_path / dl.value.suggested_filename
    dl.value.save_as(csv)
    assert re.fullmatch(r"alice-round_trips-\d{4}-\d\d-\d\d\.csv", csv.name)
    trips = pd.read_csv(csv, dtype=str)
    assert (trips.loc[0, "symbol"], trips.loc[0, "net_pl"], trips.loc[0, "tags"]) == ("AAPL", "18.00", "breakout, news")
    assert trips.loc[0, "note"] == "bought the open, sold into strength"
    assert "closed_at (America/New_York)" in trips.columns
    with page.expect_download() as dl:
        page.locator(".papernb-download-workbook-xlsx").click()
    xlsx = tmp_path / dl.value.suggested_filename
    dl.value.save_as(xlsx)
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == ["orders", "fills", "round_trips", "equity"]
    head = [c.value for c in wb["round_trips"][1]]
    row = dict(zip(head, [c.value for c in wb["round_trips"][2]], strict=True))
    assert (row["symbol"], float(row["net_pl"]), row["tags"]) == ("AAPL", 18.0, "breakout, news")
    assert [c.value for c in wb["fills"]["A"]][1:] == [1, 2]
    expect(page.locator(".papernb-download-message")).to_contain_text("Saved alice-workbook-")


def test_at_phone_width_the_panels_stack_with_no_horizontal_scroll(browser: Browser, app: App, quotes: Quotes) -> None:
    _book_with_a_round_trip(app.book)
    book = pn.Engine(str(app.book))  # and a position and a resting order
    acct = book.account("alice")
    book.on_quote(pn.Quote("MSFT", bid=374.50, ask=374.70, last=374.60, ts=time.time_ns()))
    acct.buy("MSFT", 3)
    acct.buy("MSFT", 1, limit=300, tif="gtc")
    book.close()
    quotes.publish(("AAPL", 191.90, 192.10, 192.00), ("MSFT", 374.50, 374.70, 374.60))
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                              has_touch=True)
    page = ctx.new_page()
    try:
        page.goto(app.url, wait_until="domcontentloaded", timeout=90_000)
        close = page.locator('.papernb-positions .papernb-position-row[data-key="MSFT"] .papernb-action-close')
        expect(close).to_be_visible()
        expect(page.locator(".papernb-order-4")).to_be_visible()
        expect(board_row(page, "MSFT")).to_be_visible()
        for title in ("Order history", "Trade journal", "Notifications", "Export", "Equity"):
            tab(page, title)  # every tab's content fits too
            assert _sideways(page) == [], f"horizontal scroll at 390 px in {title}: {_sideways(page)}"
        tab(page, "Order history")
        for loc in (close, page.locator(".papernb-ticket-submit"), field(page, "papernb-ticket-qty"),
                    board_row(page, "MSFT").locator(".papernb-action-buy")):
            box = loc.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        ticket_box = page.locator(".papernb-ticket").bounding_box()
        pending_box = page.locator(".papernb-pending").bounding_box()
        assert pending_box["y"] >= ticket_box["y"] + ticket_box["height"] - 1  # stacked, not side by side
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone_390px.png"), full_page=True)
        close.click()  # usable: the confirm comes up at this width too
        expect(page.locator(".papernb-positions-confirm")).to_contain_text("Close 3 MSFT at market?")
    finally:
        ctx.close()
