"""The order ticket: live quote, estimate, validation, results in plain English."""

from __future__ import annotations

import asyncio

from papernb.widgets import OrderTicket, dashboard, parse_price, parse_qty
from tests.widgets.conftest import html_values, live, text


def test_typing_symbol_shows_live_quote_and_estimate(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            t = OrderTicket(mk.broker)
            assert text(t.summary.value, "papernb-ticket-quote") == "Type a symbol to see its quote."
            t.symbol.value = "aapl"
            await t.settle()
            assert text(t.summary.value, "papernb-ticket-quote") == (
                "AAPL · bid $189.90 · ask $190.10 · last $190.00")
            assert text(t.summary.value, "papernb-ticket-estimate") == "Estimated cost: —"
            t.qty.value = "10"
            await t.settle()
            # the engine's own reservation: a market buy holds the ask plus the 5% buffer
            assert text(t.summary.value, "papernb-ticket-estimate") == (
                "Estimated cost $1,901.00 · reserves $1,996.05 · buying power after $98,003.95")
            t.type.value = "LIMIT"
            await t.settle()
            assert t.limit.layout.display is None and t.stop.layout.display == "none"
            assert t.submit_button.disabled  # a limit order needs its price
            t.limit.value = "180"
            await t.settle()
            assert not t.submit_button.disabled
            assert text(t.summary.value, "papernb-ticket-estimate") == (
                "Estimated cost $1,800.00 · buying power after $98,200.00")
            t.side.value = "SELL"
            await t.settle()
            assert text(t.summary.value, "papernb-ticket-estimate") == (
                "Would be rejected: not enough shares: you hold 0 AAPL")
            t.type.value = "STOP_LIMIT"
            await t.settle()
            assert t.limit.layout.display is None and t.stop.layout.display is None
            mk.quote("AAPL", bid=191.9, ask=192.1, last=192.0)
            mk.refresh()
            assert text(t.summary.value, "papernb-ticket-quote") == (
                "AAPL · bid $191.90 · ask $192.10 · last $192.00")
            t.close()

    asyncio.run(scenario())


def test_unknown_symbol_ticket_says_no_quote(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            t = OrderTicket(mk.broker)
            t.symbol.value = "MSFT"
            await t.settle()
            assert text(t.summary.value, "papernb-ticket-quote") == "No quotes for MSFT: the feed carries no symbols yet"
            for i, sym in enumerate(("AAPL", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "SPY")):
                mk.quote(sym, bid=99.9 + i, ask=100.1 + i, last=100.0 + i)
            mk.refresh()
            assert t.symbol.options == ("AAPL", "AMZN", "GOOGL", "META", "NVDA", "SPY", "TSLA")  # suggested
            assert text(t.summary.value, "papernb-ticket-quote") == (
                "No quotes for MSFT: the feed carries AAPL, AMZN, GOOGL, META, NVDA, SPY, … (7 symbols)")
            t.symbol.value = "AAPL"
            await t.settle()
            assert text(t.summary.value, "papernb-ticket-quote").startswith("AAPL · bid $99.90")
            t.close()

    asyncio.run(scenario())


def test_order_for_never_quoted_symbol_shows_rejected_reason(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            t = OrderTicket(mk.broker)
            t.symbol.value = "MSFT"
            t.qty.value = "5"
            await t.settle()
            t.submit_button.click()
            await mk.settle(t)
            assert text(t.message.value, "papernb-error") == "Order 1 rejected: no quote for MSFT"
            assert [o.status.value for o in mk.broker.orders()] == ["REJECTED"]
            t.close()

    asyncio.run(scenario())


def test_bad_quantities_show_error_and_create_no_order(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            t = OrderTicket(mk.broker)
            t.symbol.value = "AAPL"
            expected = {
                "abc": "Quantity must be a whole number of shares, like 10; you typed 'abc'",
                "0": "Quantity must be at least 1 share, was 0",
                "1.5": "Quantity must be a whole number of shares, like 10; you typed '1.5'",
                "-3": "Quantity must be a whole number of shares, like 10; you typed '-3'",
                "": "Enter a quantity (a whole number of shares, like 10)",
            }
            for qty, message in expected.items():
                t.qty.value = qty
                await t.settle()
                assert t.submit_button.disabled, qty
                if qty:  # the reason is shown as you type, before any click
                    assert text(t.summary.value, "papernb-ticket-estimate") == message
                t.submit_button.click()  # a forged click on the disabled button
                await mk.settle(t)
                assert text(t.message.value, "papernb-error") == message
            assert mk.broker.orders() == []
            assert "papernb-ticket-message" in t.message._dom_classes
            t.close()

    asyncio.run(scenario())


def test_bad_limit_price_shows_error_and_creates_no_order(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            t = OrderTicket(mk.broker)
            t.symbol.value = "AAPL"
            t.qty.value = "10"
            t.type.value = "LIMIT"
            for price, message in (("", "Enter a limit price"),
                                   ("abc", "Limit price must be a number, was 'abc'"),
                                   ("180.00001", "Limit price has more than 4 decimals: '180.00001'"),
                                   ("180.001", "Limit price must be in whole cents at or above $1, was '180.001'"),
                                   ("-5", "Limit price must be positive, was '-5'")):
                t.limit.value = price
                await t.settle()
                t.submit_button.click()
                await mk.settle(t)
                assert text(t.message.value, "papernb-error") == message
            assert mk.broker.orders() == []
            t.close()

    asyncio.run(scenario())


def test_forged_qty_text_is_refused_with_the_same_error(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            t = OrderTicket(mk.broker)
            t.symbol.value = "AAPL"
            t.qty.value = "10; DROP TABLE orders"  # anything a forged comm message can put in a Text
            await t.settle()
            t.submit_button.click()
            await mk.settle(t)
            assert text(t.message.value, "papernb-error") == (
                "Quantity must be a whole number of shares, like 10; you typed '10; DROP TABLE orders'")
            assert mk.broker.orders() == []
            t.close()

    asyncio.run(scenario())


def test_double_click_submit_places_one_order(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            t = OrderTicket(mk.broker)
            t.symbol.value = "AAPL"
            t.qty.value = "10"
            t.type.value = "LIMIT"
            t.limit.value = "180.00"
            await t.settle()
            t.submit_button.click()
            t.submit_button.click()
            await mk.settle(t)
            assert [(o.id, o.qty, o.limit) for o in mk.broker.orders()] == [(1, 10, t.last_order.limit)]
            assert text(t.message.value, "papernb-ok") == "Order 1 accepted: PENDING — Buy 10 AAPL Limit $180.00 Day"
            # a changed ticket is a new order
            t.qty.value = "5"
            await t.settle()
            t.submit_button.click()
            await mk.settle(t)
            assert [o.qty for o in mk.broker.orders()] == [10, 5]
            t.close()

    asyncio.run(scenario())


def test_html_in_symbol_is_shown_as_text(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            d = dashboard(mk.session)
            evil = "<img src=x onerror=alert(1)>"
            d.ticket.symbol.value = evil
            d.ticket.qty.value = "1"
            await d.ticket.settle()
            assert d.ticket.submit_button.disabled
            d.ticket.submit_button.click()
            await mk.settle(d.ticket)
            shown = f"{evil!r} is not a valid symbol (letters, digits and ./$^_- , 1-32 characters)"
            assert text(d.ticket.summary.value, "papernb-ticket-quote") == shown
            assert text(d.ticket.message.value, "papernb-error") == shown
            assert "&lt;img src=x onerror=alert(1)&gt;" in d.ticket.message.value
            assert all("<img" not in v for v in html_values([d]))
            assert mk.broker.orders() == []
            d.close()

    asyncio.run(scenario())


def test_parse_helpers_accept_what_traders_type():
    assert parse_qty(" 1,000 ") == 1000
    assert parse_qty("+7") == 7
    assert str(parse_price("$1,234.50", "limit price")) == "1234.50"
    assert str(parse_price("0.1234", "limit price")) == "0.1234"


def test_ticket_estimate_is_the_engines_own_reservation_and_says_what_it_would_refuse(tmp_path):
    async def scenario():
        async with live(tmp_path, starting_cash=1_000) as mk:
            mk.quote("AAPL", bid=989.9, ask=990.1, last=990.0)
            t = OrderTicket(mk.broker)
            t.symbol.value, t.qty.value = "AAPL", "100"
            await t.settle()
            # 100 x 990.10 x 1.05 = 103,960.50: the engine would reject it, and the ticket says so
            assert text(t.summary.value, "papernb-ticket-estimate") == (
                "Would be rejected: not enough buying power: this order needs $103,960.50, you have $1,000.00")
            t.close()

    asyncio.run(scenario())


def test_ticket_judges_a_quotes_age_as_the_engine_does_on_its_receive_time(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            # a replay file's 2024 stamp, played live: restamped on arrival, so it is fresh
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0, ts=1_704_205_800_000_000_000)
            t = OrderTicket(mk.broker)
            t.symbol.value = "AAPL"
            await t.settle()
            assert text(t.summary.value, "papernb-ticket-quote") == (
                "AAPL · bid $189.90 · ask $190.10 · last $190.00")
            t.close()

    asyncio.run(scenario())


def test_ticket_places_a_trailing_stop_a_bracket_and_refuses_ioc_on_a_stop(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            t = OrderTicket(mk.broker)
            t.symbol.value, t.qty.value = "AAPL", "10"
            t.take_profit.value, t.stop_loss.value = "195", "185"
            await t.settle()
            t.submit_button.click()
            await mk.settle(t)
            assert text(t.message.value, "papernb-ok") == (
                "Order 1 filled 10 @ $190.10 — Buy 10 AAPL Market take profit $195.00 stop loss $185.00 Day")
            assert [(o.type.value, o.parent_id, o.oco_id) for o in mk.broker.orders(status="open")] == [
                ("LIMIT", 1, 3), ("STOP", 1, 2)]
            t.take_profit.value = t.stop_loss.value = ""
            t.side.value, t.type.value = "BUY", "TRAILING_STOP"
            await t.settle()
            assert t.trail.layout.display is None and t.stop.layout.display == "none"
            assert t.submit_button.disabled  # a trailing stop needs its trail
            t.trail.value = "2.5%"
            await t.settle()
            # 10 x max(stop 194.75 (190.00 + 2.5 %), ask 190.10) x 1.05
            assert text(t.summary.value, "papernb-ticket-estimate") == (
                "Estimated cost $1,901.00 · reserves $2,044.88 · buying power after $96,054.12")
            t.submit_button.click()
            await mk.settle(t)
            assert text(t.message.value, "papernb-ok") == (
                "Order 4 accepted: PENDING — Buy 10 AAPL Trailing stop trail 2.5% (stop $194.75) Day")
            t.type.value, t.stop.value, t.tif.value = "STOP", "200", "IOC"
            await t.settle()
            assert t.submit_button.disabled
            assert text(t.summary.value, "papernb-ticket-estimate") == "IOC is for market and limit orders"
            t.close()

    asyncio.run(scenario())
