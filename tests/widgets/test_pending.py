"""Pending orders: a limit buy below the market, edited, then cancelled, through the widgets."""

from __future__ import annotations

import asyncio

from papernb.widgets import AccountBanner, OrderTicket, PendingOrders
from tests.widgets.conftest import live, text, texts


async def _limit_buy(mk, ticket: OrderTicket, qty: str = "10", limit: str = "180.00") -> None:
    ticket.symbol.value = "AAPL"
    ticket.qty.value = qty
    ticket.type.value = "LIMIT"
    ticket.limit.value = limit
    await ticket.settle()
    ticket.submit_button.click()
    await mk.settle(ticket)


def test_limit_buy_edit_cancel_rows_and_reserved_follow(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            ticket, pending, banner = OrderTicket(mk.broker), PendingOrders(mk.broker), AccountBanner(mk.broker)
            assert text(pending.body.children[0].value, "papernb-empty") == "No pending orders."

            await _limit_buy(mk, ticket)
            assert text(ticket.message.value, "papernb-ok") == (
                "Order 1 accepted: PENDING — Buy 10 AAPL Limit $180.00 Day")
            row = pending.row(1)
            assert row is not None and "papernb-order-1" in row._dom_classes
            assert pending.body.children == (row,)
            cells = row.cells.value
            assert [text(cells, f"papernb-col-{c}") for c in ("id", "symbol", "side", "qty", "filled", "type",
                                                                 "limit", "stop", "tif", "status", "review")] == [
                "1", "AAPL", "Buy", "10", "0", "Limit", "$180.00", "", "Day", "Pending", ""]
            assert text(banner.html.value, "papernb-reserved") == "$1,800.00"
            assert text(banner.html.value, "papernb-buying-power") == "$98,200.00"

            # Edit -> new limit
            row.edit_button.click()
            await pending.settle()
            assert row.editing
            assert (row.qty.value, row.limit.value) == ("10", "180.00")
            assert row.limit.layout.display is None and row.stop.layout.display == "none"
            row.limit.value = "181.50"
            row.save_button.click()
            await mk.settle(pending)
            assert not row.editing
            assert row.error.value == ""
            assert pending.row(1) is row  # the same row widget, redrawn in place
            assert text(row.cells.value, "papernb-col-limit") == "$181.50"
            assert text(banner.html.value, "papernb-reserved") == "$1,815.00"
            assert text(banner.html.value, "papernb-buying-power") == "$98,185.00"

            # Cancel -> row gone, nothing reserved
            row.cancel_button.click()
            await mk.settle(pending)
            assert pending.row(1) is None
            assert text(pending.body.children[0].value, "papernb-empty") == "No pending orders."
            assert text(banner.html.value, "papernb-reserved") == "$0.00"
            assert text(banner.html.value, "papernb-buying-power") == "$100,000.00"
            assert [o.status.value for o in mk.broker.orders()] == ["CANCELLED"]
            for p in (ticket, pending, banner):
                p.close()

    asyncio.run(scenario())


def test_edit_with_bad_or_unaffordable_values_shows_error_next_to_row(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            ticket, pending = OrderTicket(mk.broker), PendingOrders(mk.broker)
            await _limit_buy(mk, ticket)
            row = pending.row(1)
            row.edit_button.click()
            await pending.settle()
            row.qty.value = "abc"
            row.save_button.click()
            await mk.settle(pending)
            assert text(row.error.value, "papernb-error") == (
                "Quantity must be a whole number of shares, like 10; you typed 'abc'")
            assert row.editing
            row.qty.value = "1000"  # $180,000 > buying power
            row.save_button.click()
            await mk.settle(pending)
            assert text(row.error.value, "papernb-error") == (
                "Order 1 was not changed: not enough buying power: this order needs $180,000.00, "
                "you have $100,000.00")
            assert text(row.cells.value, "papernb-col-qty") == "10"
            assert mk.broker.snapshot().reserved == 1800
            row.qty.value = "10"
            row.limit.value = "180.001"
            row.save_button.click()
            await mk.settle(pending)
            assert text(row.error.value, "papernb-error") == (
                "Limit price must be in whole cents at or above $1, was '180.001'")
            ticket.close()
            pending.close()

    asyncio.run(scenario())


def test_cancel_of_an_already_filled_order_shows_error_in_row(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            ticket, pending = OrderTicket(mk.broker), PendingOrders(mk.broker)
            await _limit_buy(mk, ticket)
            row = pending.row(1)
            # the market comes down to the limit before the trader's click arrives
            row.cancel_button.click()
            mk.quote("AAPL", bid=179.9, ask=180.0, last=180.0)
            await pending.settle()
            assert text(row.error.value, "papernb-error") == "Order 1 is already FILLED"
            mk.refresh()
            assert pending.row(1) is None
            ticket.close()
            pending.close()

    asyncio.run(scenario())


def test_review_window_countdown_shown_while_waiting(tmp_path):
    async def scenario():
        async with live(tmp_path, review_seconds=30) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            await mk.broker.submit("AAPL", "BUY", 10, type="MARKET")
            pending = PendingOrders(mk.broker)
            row = pending.row(1)
            assert text(row.cells.value, "papernb-col-review") == "30 s"
            assert text(row.cells.value, "papernb-col-type") == "Market"
            pending.close()

    asyncio.run(scenario())


def test_stop_limit_editor_offers_both_prices(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            await mk.broker.submit("AAPL", "BUY", 5, type="STOP_LIMIT", stop="200.00", limit="201.00", tif="gtc")
            pending = PendingOrders(mk.broker)
            row = pending.row(1)
            assert [text(row.cells.value, f"papernb-col-{c}") for c in ("type", "limit", "stop", "tif")] == [
                "Stop-limit", "$201.00", "$200.00", "GTC"]
            row.edit_button.click()
            await pending.settle()
            assert row.limit.layout.display is None and row.stop.layout.display is None
            row.stop.value = "199"
            row.save_button.click()
            await mk.settle(pending)
            assert row.error.value == ""
            assert text(row.cells.value, "papernb-col-stop") == "$199.00"
            assert texts(pending.row(1).cells.value, "papernb-sym") == ["AAPL"]
            pending.close()

    asyncio.run(scenario())
