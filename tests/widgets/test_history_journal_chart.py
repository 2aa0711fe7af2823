"""Order history with its filter, the trade journal with verdicts and stats, the equity chart."""

from __future__ import annotations

import asyncio

from papernb.widgets import EquityChart, OrderHistory, TradeJournal
from papernb.widgets.chart import thin
from tests.widgets.conftest import live, text, texts


def test_history_lists_every_order_and_filters_by_status(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            history = OrderHistory(mk.broker)
            assert text(history.html.value, "papernb-empty") == "No orders yet."
            b = mk.broker
            o1 = await b.submit("AAPL", "BUY", 10, type="LIMIT", limit="180.00")
            await b.cancel(o1.id)
            await b.submit("AAPL", "BUY", 5, type="MARKET")
            await b.submit("MSFT", "BUY", 1, type="MARKET")
            await b.submit("AAPL", "SELL", 5, type="LIMIT", limit="250.00", tif="gtc")
            mk.refresh()
            html = history.html.value
            assert texts(html, "papernb-col-id")[1:] == ["4", "3", "2", "1"]  # newest first
            assert texts(html, "papernb-col-status")[1:] == ["Pending", "Rejected", "Filled", "Cancelled"]
            assert texts(html, "papernb-col-avg")[1:] == ["", "", "$190.10", ""]
            assert texts(html, "papernb-col-reason")[1:3] == ["", "no quote for MSFT"]

            for value, ids in (("open", ["4"]), ("FILLED", ["2"]), ("CANCELLED", ["1"]), ("REJECTED", ["3"]),
                               ("all", ["4", "3", "2", "1"])):
                history.filter.value = value
                await history.settle()
                assert texts(history.html.value, "papernb-col-id")[1:] == ids, value
            history.filter.value = "EXPIRED"
            await history.settle()
            assert text(history.html.value, "papernb-empty") == "No orders with this status."
            assert "papernb-history-filter" in history.filter._dom_classes
            history.close()

    asyncio.run(scenario())


def test_round_trips_show_verdict_and_stats(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            b = mk.broker
            journal = TradeJournal(mk.broker)
            assert text(journal.table.html(), "papernb-empty") == "No closed trades yet."
            assert text(journal.stats.value, "papernb-stat-trades") == "0"
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            await b.submit("AAPL", "BUY", 10, type="MARKET")  # at 190.10
            mk.quote("AAPL", bid=195.0, ask=195.2, last=195.1)
            await b.submit("AAPL", "SELL", 10, type="MARKET")  # at 195.00: +$49.00
            mk.quote("MSFT", bid=99.9, ask=100.0, last=100.0)
            await b.submit("MSFT", "BUY", 10, type="MARKET")  # at 100.00
            mk.quote("MSFT", bid=98.0, ask=98.1, last=98.0)
            await b.submit("MSFT", "SELL", 10, type="MARKET")  # at 98.00: -$20.00
            mk.refresh()
            html = journal.stats.value + journal.table.html()
            assert texts(html, "papernb-sym")[1:] == ["MSFT", "AAPL"]  # newest first
            assert texts(html, "papernb-col-verdict")[1:] == ["didn't work", "worked"]
            assert texts(html, "papernb-col-net")[1:] == ["-$20.00", "+$49.00"]
            assert texts(html, "papernb-col-entry")[1:] == ["$100.00", "$190.10"]
            assert texts(html, "papernb-col-exit")[1:] == ["$98.00", "$195.00"]
            assert texts(html, "papernb-col-return")[1:] == ["-2.00%", "+2.58%"]
            assert 'class="papernb-col-verdict papernb-verdict papernb-up">worked' in html
            assert text(html, "papernb-stat-trades") == "2"
            assert text(html, "papernb-stat-win-rate") == "50.00%"
            assert text(html, "papernb-stat-avg-win") == "+$49.00"
            assert text(html, "papernb-stat-avg-loss") == "-$20.00"
            assert text(html, "papernb-stat-profit-factor") == "2.45"
            assert text(html, "papernb-stat-expectancy") == "+$14.50"
            assert text(html, "papernb-stat-total-return") == "+0.03%"
            assert texts(html, "papernb-stats") != []
            journal.close()

    asyncio.run(scenario())


def test_equity_chart_draws_history_and_caps_points(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            chart = EquityChart(mk.broker)
            assert list(chart.lines.y) == [100000.0]
            assert "papernb-chart" in chart._dom_classes
            chart.close()

    asyncio.run(scenario())
    pts = list(range(10_000))
    thinned = thin(pts, 1500)
    assert len(thinned) == 1500 and thinned[0] == 0 and thinned[-1] == 9999
    assert thinned == sorted(thinned)
    assert thin(pts[:1500], 1500) == pts[:1500]


def test_equity_chart_appends_at_most_once_a_second(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            chart = EquityChart(mk.broker)
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            await mk.broker.submit("AAPL", "BUY", 10, type="MARKET")
            chart.interval = 3600.0  # nothing new within the interval
            mk.refresh()
            assert list(chart.lines.y) == [100000.0]
            chart.interval = 0.0  # the interval has passed
            mk.refresh()
            assert list(chart.lines.y)[-1] == 99999.0
            assert len(chart.lines.x) == len(chart.lines.y) >= 2
            chart.close()

    asyncio.run(scenario())


def test_order_refused_at_submission_appears_at_the_next_refresh(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            history = OrderHistory(mk.broker)
            mk.refresh()
            assert text(history.html.value, "papernb-empty") == "No orders yet."
            await mk.broker.submit("MSFT", "BUY", 1, type="MARKET")  # rejected: cash and positions unchanged
            mk.refresh()
            assert texts(history.html.value, "papernb-col-status")[1:] == ["Rejected"]
            assert texts(history.html.value, "papernb-col-reason")[1:] == ["no quote for MSFT"]
            before = history.html.value
            mk.refresh()  # nothing happened in the book: the list is not rebuilt
            assert history.html.value is before
            history.close()

    asyncio.run(scenario())
