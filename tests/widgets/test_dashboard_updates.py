"""The dashboard as a whole: composition, one update per panel per refresh, nothing when nothing changed."""

from __future__ import annotations

import asyncio

import pytest

import papernb as pn
from papernb.widgets import (
    AccountBanner,
    Dashboard,
    EquityChart,
    ExportPanel,
    Notifications,
    OrderHistory,
    OrderTicket,
    PendingOrders,
    PositionsTable,
    QuoteBoard,
    TradeJournal,
    dashboard,
)
from tests.widgets.conftest import UpdateCounter, descendants, live, text


def test_dashboard_from_session_composes_every_panel(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            d = dashboard(mk.session)
            assert isinstance(d, Dashboard)
            assert d.broker is mk.broker
            assert "papernb-dashboard" in d._dom_classes
            kinds = [type(p) for p in d.panels]
            assert kinds == [AccountBanner, QuoteBoard, OrderTicket, PendingOrders, PositionsTable, OrderHistory,
                             TradeJournal, EquityChart, Notifications, ExportPanel]
            classes = {c for w in descendants(d) for c in getattr(w, "_dom_classes", ())}
            for cls in ("papernb-banner", "papernb-positions", "papernb-pending", "papernb-ticket",
                        "papernb-ticket-symbol", "papernb-ticket-side", "papernb-ticket-qty", "papernb-ticket-type",
                        "papernb-ticket-limit", "papernb-ticket-stop", "papernb-ticket-tif", "papernb-ticket-submit",
                        "papernb-ticket-message", "papernb-history", "papernb-history-filter", "papernb-journal",
                        "papernb-chart", "papernb-board", "papernb-notifications", "papernb-export",
                        "papernb-close-all", "papernb-cancel-all", "papernb-reset", "papernb-toasts-widget"):
                assert cls in classes, cls
            assert text(d.banner.html.value, "papernb-equity") == "$100,000.00"
            d.close()

    asyncio.run(scenario())


def test_dashboard_refuses_what_is_not_a_broker():
    with pytest.raises(TypeError, match="expected a papernb Broker or Session"):
        dashboard(object())


def _panels(broker):
    return [AccountBanner(broker), PositionsTable(broker), PendingOrders(broker), OrderTicket(broker),
            OrderHistory(broker), TradeJournal(broker), EquityChart(broker), QuoteBoard(broker),
            Notifications(broker)]


def test_thousand_quotes_between_refreshes_at_most_one_update_per_panel(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            await mk.broker.submit("AAPL", "BUY", 10, type="MARKET")
            await mk.broker.submit("AAPL", "BUY", 10, type="LIMIT", limit="150.00")
            panels = _panels(mk.broker)
            ticket = panels[3]
            ticket.symbol.value = "AAPL"
            ticket.qty.value = "10"
            await mk.settle(ticket)
            counters = [UpdateCounter(p) for p in panels]
            for i in range(1000):
                last = pn.Quote("AAPL", bid=f"{190.9 + i / 100:.2f}", ask=f"{191.1 + i / 100:.2f}",
                                last=f"{191 + i / 100:.2f}")
                mk.hub.publish(last)
            mk.refresh()
            counts = {type(p).__name__: c.count for p, c in zip(panels, counters, strict=True)}
            assert all(n <= 1 for n in counts.values()), counts
            # what moved is on screen, once
            assert counts["AccountBanner"] == counts["PositionsTable"] == counts["OrderTicket"] == 1
            assert counts["QuoteBoard"] == 1
            assert counts["PendingOrders"] == counts["OrderHistory"] == counts["Notifications"] == 0
            assert "$200.99" in panels[1].table.html()  # the last of the 1,000 quotes
            assert "$200.99" in panels[7].table.html()  # on the board too
            for p in panels:
                p.close()

    asyncio.run(scenario())


def test_equal_snapshots_send_nothing(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            await mk.broker.submit("AAPL", "BUY", 10, type="MARKET")
            await mk.broker.submit("AAPL", "BUY", 10, type="LIMIT", limit="150.00")
            panels = _panels(mk.broker)
            mk.refresh()
            counters = [UpdateCounter(p) for p in panels]
            for _ in range(3):
                mk.refresh()
            assert {type(p).__name__: c.count for p, c in zip(panels, counters, strict=True)} == {
                "AccountBanner": 0, "PositionsTable": 0, "PendingOrders": 0, "OrderTicket": 0,
                "OrderHistory": 0, "TradeJournal": 0, "EquityChart": 0, "QuoteBoard": 0, "Notifications": 0}
            for p in panels:
                p.close()

    asyncio.run(scenario())


def test_clicks_from_another_thread_run_on_the_loop(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            import threading

            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            t = OrderTicket(mk.broker)
            t.symbol.value = "AAPL"
            t.qty.value = "3"
            await t.settle()
            loop_thread = threading.get_ident()
            seen = []
            real = mk.broker.submit

            async def spy(*args, **kwargs):
                seen.append(threading.get_ident())
                return await real(*args, **kwargs)

            t.broker = type("Spy", (), {})()  # a broker that records the thread of the call
            for name in ("quote", "now", "snapshot"):
                setattr(t.broker, name, getattr(mk.broker, name))
            t.broker.submit = spy
            clicker = threading.Thread(target=t.submit_button.click)  # ipykernel 7 subshell thread
            clicker.start()
            clicker.join()
            await mk.settle(t)
            assert seen == [loop_thread]
            assert text(t.message.value, "papernb-ok") == "Order 1 filled 3 @ $190.10 — Buy 3 AAPL Market Day"
            t.close()

    asyncio.run(scenario())
