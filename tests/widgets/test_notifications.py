"""Notifications and the ticket's message follow the broker's typed updates, whoever placed the order."""

from __future__ import annotations

import asyncio

import papernb as pn
from papernb.widgets import Notifications, OrderTicket
from tests.widgets.conftest import UpdateCounter, live, text


def _notes(panel: Notifications) -> list[tuple[str, str]]:
    return [(lv, tx) for _, lv, tx in panel.items]


def test_a_resting_limit_that_fills_notifies_and_the_ticket_message_follows(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            ticket, notes = OrderTicket(mk.broker), Notifications(mk.broker)
            ticket.symbol.value = "AAPL"
            ticket.qty.value = "10"
            ticket.type.value = "LIMIT"
            ticket.limit.value = "189.50"
            await ticket.settle()
            ticket.submit_button.click()
            await mk.settle(ticket, notes)
            assert text(ticket.message.value, "papernb-ok") == "Order 1 accepted: PENDING — Buy 10 AAPL Limit $189.50 Day"
            assert notes.items == []  # placing and resting are not news
            toasts = UpdateCounter(notes.toasts)
            mk.quote("AAPL", bid=189.0, ask=189.4, last=189.2)  # reaches the limit
            await mk.settle(ticket, notes)
            assert text(ticket.message.value, "papernb-ok") == "Order 1 filled 10 @ $189.50 — Buy 10 AAPL Limit $189.50 Day"
            assert _notes(notes) == [("ok", "Filled: Buy 10 AAPL @ $189.50 (order 1)")]
            assert toasts.count == 1  # one toast message at the refresh
            assert text(notes.list.value, "papernb-note-text") == "Filled: Buy 10 AAPL @ $189.50 (order 1)"
            ticket.close()
            notes.close()

    asyncio.run(scenario())


def test_orders_from_python_rejections_expiries_and_engine_cancels_notify_but_your_cancels_do_not(tmp_path):
    async def scenario():
        async with live(tmp_path, review_seconds=0) as mk:
            notes = Notifications(mk.broker)
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            acct = mk.session.account
            acct.buy("AAPL", 5)  # another cell, straight to the account
            await mk.broker.submit("ZZZ", "BUY", 1, type="MARKET")
            o = await mk.broker.submit("AAPL", "BUY", 1, type="LIMIT", limit="150.00", tif="GTC")
            await mk.broker.cancel(o.id)  # the trader's own cancel
            await mk.broker.submit("AAPL", "SELL", 5, type="LIMIT", limit="250.00", tif="GTC")
            await mk.broker.close("AAPL")  # cancels the sell that held the shares, then sells
            mk.refresh()
            await mk.settle(notes)
            day = [
                ("ok", "Filled: Buy 5 AAPL @ $190.10 (order 1)"),
                ("error", "Rejected: Buy 1 ZZZ market (order 2): no quote for ZZZ"),
                ("warn", "Cancelled: Sell 5 AAPL limit (order 4): cancelled to close the position"),
                ("ok", "Filled: Sell 5 AAPL @ $189.90 (order 5)"),
            ]
            assert _notes(notes) == day
            later = Notifications(mk.broker)  # a page opened (or reloaded) later: the day so far, no toasts
            toasts = UpdateCounter(later.toasts)
            mk.refresh()
            assert _notes(later) == day and toasts.count == 0
            assert [t for t, _, _ in later.items] == sorted(t for t, _, _ in later.items)
            notes.close()
            later.close()

    asyncio.run(scenario())


def test_an_expired_day_order_and_a_price_alert_notify(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            notes = Notifications(mk.broker)
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            await mk.broker.alert("AAPL", above="195.00")
            o = await mk.broker.submit("AAPL", "BUY", 1, type="LIMIT", limit="150.00")  # DAY
            mk.quote("AAPL", bid=195.0, ask=195.2, last=195.1)
            mk.session.engine.advance(mk.broker.orders(status="open")[0].expires_at + 1)  # past the close
            mk.refresh()
            await mk.settle(notes)
            assert _notes(notes) == [
                ("info", "Alert: AAPL at $195.10, above $195.00 (alert 1)"),
                ("warn", f"Expired: Buy 1 AAPL limit (order {o.id}), expired at the session close"),
            ]
            notes.close()

    asyncio.run(scenario())


def test_feed_state_changes_notify_after_the_first_live_quote(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            notes = Notifications(mk.broker)
            mk.refresh()
            assert notes.items == []  # "no quotes yet" at start-up is not news
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            mk.refresh()
            mk.hub.set_link(False, error="connection refused")
            mk.refresh()
            mk.hub.set_link(True)
            mk.refresh()
            mk.hub._seen["AAPL"] -= 30 * 10**9  # the last quote is 30 s old now
            mk.refresh()
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            mk.refresh()
            assert _notes(notes) == [
                ("error", "Feed disconnected · quote <1 s old"),
                ("ok", "Quotes are live again (live · quote <1 s old)"),
                ("warn", "Feed stale · last quote 30 s old"),
                ("ok", "Quotes are live again (live · quote <1 s old)"),
            ]
            notes.close()

    asyncio.run(scenario())


def test_a_partial_fill_then_the_rest_cancelled_at_the_fill(tmp_path):
    async def scenario():
        async with live(tmp_path, fill_model="size") as mk:
            notes = Notifications(mk.broker)
            ticket = OrderTicket(mk.broker)
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0, bid_size=100, ask_size=4)
            ticket.symbol.value = "AAPL"
            ticket.qty.value = "10"
            await ticket.settle()
            ticket.submit_button.click()
            await mk.settle(ticket, notes)
            assert text(ticket.message.value, "papernb-ok") == (
                "Order 1 partially filled 4 of 10 @ $190.10 — Buy 10 AAPL Market Day")
            await mk.broker.cancel(1)
            await mk.settle(ticket, notes)
            assert text(ticket.message.value, "papernb-muted") == (
                "Order 1 cancelled: cancelled by you — Buy 10 AAPL Market Day; 4 filled @ $190.10")
            assert _notes(notes) == [("ok", "Partially filled: Buy 4 of 10 AAPL, avg $190.10 (order 1)")]
            ticket.close()
            notes.close()

    asyncio.run(scenario())


def test_the_toasts_widget_sends_one_message_per_batch():
    from papernb.widgets.notifications import Toasts

    t = Toasts()
    t.show([])
    assert t.revision == 0
    t.show([("ok", "a"), ("error", "b")])
    assert t.revision == 1
    t.close()


def test_describe_update_ignores_what_is_not_news():
    from papernb.broker import OrderUpdate
    from papernb.widgets.notifications import describe_update

    b = pn.Engine(":memory:")
    a = b.account("x")
    b.on_quote(pn.Quote("AAPL", bid=1, ask=1.1, last=1.05, ts=1_704_205_800_000_000_000))
    o = a.buy("AAPL", 1, limit="0.5").view()
    for event in ("accepted", "rested", "replaced", "triggered"):
        assert describe_update(OrderUpdate(event, o, 1, 0)) is None
    assert describe_update("not an update") is None
    b.close()
