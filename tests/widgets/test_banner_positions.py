"""Account banner and positions table, as a trader reads them."""

from __future__ import annotations

import asyncio

import papernb as pn
from papernb.widgets import AccountBanner, OrderTicket, PositionsTable
from papernb.widgets.banner import feed_status
from tests.widgets.conftest import live, text, texts


def test_new_account_banner_shows_100k_everywhere(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            banner = AccountBanner(mk.broker)
            html = banner.html.value
            assert "papernb-banner" in banner._dom_classes
            assert text(html, "papernb-account") == "alice"
            assert text(html, "papernb-equity") == "$100,000.00"
            assert text(html, "papernb-cash") == "$100,000.00"
            assert text(html, "papernb-buying-power") == "$100,000.00"
            assert text(html, "papernb-reserved") == "$0.00"
            assert text(html, "papernb-day-pl") == "$0.00"
            assert text(html, "papernb-unrealized") == "$0.00"
            assert text(html, "papernb-realized") == "$0.00"
            assert text(html, "papernb-feed-status") == "stale · no quotes yet"
            assert texts(html, "papernb-simulated") == []  # a Hub we feed is not the simulated market
            banner.close()

    asyncio.run(scenario())


def test_first_quote_feed_status_live(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            banner = AccountBanner(mk.broker)
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            mk.refresh()
            assert text(banner.html.value, "papernb-feed-status") == "live · quote <1 s old"
            assert "papernb-feed-live" in banner.html.value
            banner.close()

    asyncio.run(scenario())


def test_feed_status_rules_stale_after_5s_and_disconnected():
    from papernb.feed.hub import FeedHealth

    assert feed_status(FeedHealth(True, "hub", 1, 0, 0, ages={"A": 0.2}), 5.0) == ("live", "live · quote <1 s old")
    assert feed_status(FeedHealth(True, "hub", 1, 0, 0, ages={"A": 5.0, "B": 9.0}), 5.0) == (
        "live", "live · last quote 5 s old")
    assert feed_status(FeedHealth(True, "hub", 1, 0, 0, ages={"A": 12.4}), 5.0) == ("stale", "stale · last quote 12 s old")
    assert feed_status(FeedHealth(False, "redis", 1, 0, 0, ages={"A": 3.0}), 5.0) == (
        "disconnected", "disconnected · last quote 3 s old")
    # the engine's own threshold: with stale_after=30 (or None) a 12 s old quote is live
    assert feed_status(FeedHealth(True, "hub", 1, 0, 0, ages={"A": 12.4}), 30.0)[0] == "live"
    assert feed_status(FeedHealth(True, "hub", 1, 0, 0, ages={"A": 12.4}), None)[0] == "live"


def test_simulated_session_banner_shows_badge(tmp_path):
    async def scenario():
        session = pn.connect("bob", db=str(tmp_path / "sim.duckdb"), feed="sim", start=False)
        try:
            banner = AccountBanner(session)  # a Session works as well as its broker
            assert text(banner.html.value, "papernb-simulated") == "SIMULATED"
            banner.close()
        finally:
            await session.aclose()

    asyncio.run(scenario())


def test_market_buy_then_new_quote_position_row_and_pl_update(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            ticket = OrderTicket(mk.broker)
            table = PositionsTable(mk.broker)
            banner = AccountBanner(mk.broker)
            assert text(table.table.html(), "papernb-empty") == "No open positions."
            ticket.symbol.value = "AAPL"
            ticket.qty.value = "10"
            await ticket.settle()
            ticket.submit_button.click()
            await mk.settle(ticket)
            assert text(ticket.message.value, "papernb-ok") == "Order 1 filled 10 @ $190.10 — Buy 10 AAPL Market Day"
            html = table.table.html()
            assert texts(html, "papernb-sym") == ["Symbol", "AAPL"]
            assert texts(html, "papernb-col-qty")[1] == "10"
            assert texts(html, "papernb-col-avg")[1] == "$190.10"
            assert texts(html, "papernb-col-last")[1] == "$190.00"
            assert texts(html, "papernb-col-value")[1] == "$1,900.00"
            assert texts(html, "papernb-col-upl")[1] == "-$1.00"
            assert texts(html, "papernb-col-upl-pct")[1] == "-0.05%"
            assert text(banner.html.value, "papernb-cash") == "$98,099.00"
            assert text(banner.html.value, "papernb-equity") == "$99,999.00"

            mk.quote("AAPL", bid=190.9, ask=191.1, last=191.0, change_pct=1.25)
            mk.refresh()
            html = table.table.html()
            assert texts(html, "papernb-col-last")[1] == "$191.00"
            assert texts(html, "papernb-col-value")[1] == "$1,910.00"
            assert texts(html, "papernb-col-upl")[1] == "+$9.00"
            assert "papernb-up" in html
            assert texts(html, "papernb-col-upl-pct")[1] == "+0.47%"
            assert texts(html, "papernb-col-day")[1] == "+1.25%"
            assert text(banner.html.value, "papernb-unrealized") == "+$9.00"
            assert text(banner.html.value, "papernb-equity") == "$100,009.00"
            for p in (ticket, table, banner):
                p.close()

    asyncio.run(scenario())


def test_positions_sorted_by_symbol(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            for sym in ("MSFT", "AAPL", "IBM"):
                mk.quote(sym, bid=99.9, ask=100.0, last=100.0)
                await mk.broker.submit(sym, "BUY", 1, type="MARKET")
            table = PositionsTable(mk.broker)
            assert texts(table.table.html(), "papernb-sym") == ["Symbol", "AAPL", "IBM", "MSFT"]
            table.close()

    asyncio.run(scenario())


def test_closed_panel_stops_redrawing(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            banner = AccountBanner(mk.broker)
            before = banner.html.value
            banner.close()
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            await mk.broker.submit("AAPL", "BUY", 10, type="LIMIT", limit="180.00")
            mk.refresh()
            assert banner.html.value == before

    asyncio.run(scenario())
