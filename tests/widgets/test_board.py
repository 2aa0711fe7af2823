"""The quote board: the watchlist with live prices, picking a row for the ticket, adding and removing
symbols, price alerts; one message per refresh however many quotes came."""

from __future__ import annotations

import asyncio

import papernb as pn
from papernb.widgets import Dashboard, OrderTicket, QuoteBoard
from tests.widgets.conftest import UpdateCounter, live, text, texts


def _cells(board: QuoteBoard, col: str) -> list[str]:
    return texts(board.table.html(), f"papernb-col-{col}")[1:]


def test_a_new_account_watches_the_feeds_symbols_with_live_prices(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            board = QuoteBoard(mk.broker)
            assert text(board.table.html(), "papernb-board-table-empty").startswith("No symbols on the watchlist")
            mk.quote("MSFT", bid=374.5, ask=374.7, last=374.6)
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0, change_pct=1.25)
            mk.refresh()
            assert board.table.row_keys == ["AAPL", "MSFT"]  # the feed's symbols, until the trader sets a list
            assert _cells(board, "last") == ["$190.00", "$374.60"]
            assert _cells(board, "bid") == ["$189.90", "$374.50"] and _cells(board, "ask") == ["$190.10", "$374.70"]
            assert _cells(board, "change-pct") == ["+1.25%", "—"]
            assert _cells(board, "change") == ["+2.35", "—"]  # 190.00 - 190.00 / 1.0125
            assert board.table.row("AAPL")["change-pct"][1] == "papernb-up"
            assert mk.broker.watchlist() == ["AAPL", "MSFT"]
            board.close()

    asyncio.run(scenario())


def test_prices_change_in_place_and_colour_by_tick_one_message_per_refresh(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            syms = [f"S{i:03d}" for i in range(200)]
            mk.hub.publish([pn.Quote(s, bid=99.9, ask=100.1, last=100.0) for s in syms])
            board = QuoteBoard(mk.broker)
            mk.refresh()
            assert len(board.table.row_keys) == 200
            counter = UpdateCounter(board)
            for i in range(25):  # 5,000 quotes between two refreshes
                mk.hub.publish([pn.Quote(s, bid=99.9 + i / 100, ask=100.1 + i / 100, last=f"{100 + i / 100:.2f}")
                                for s in syms])
            mk.refresh()
            assert counter.count == 1  # one message for the whole board
            assert set(_cells(board, "last")) == {"$100.24"}
            assert board.table.row("S007")["last"] == ("$100.24", "papernb-up")
            mk.hub.publish(pn.Quote("S007", bid=99.0, ask=99.2, last=99.1))
            counter.reset()
            mk.refresh()
            assert counter.count == 1 and board.table.row("S007")["last"] == ("$99.10", "papernb-down")
            counter.reset()
            mk.refresh()
            assert counter.count == 0  # nothing moved: nothing sent
            board.close()

    asyncio.run(scenario())


def test_the_trend_samples_the_last_minutes_of_prices(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            board = QuoteBoard(mk.broker)
            for p in (190.0, 191.0, 190.5):
                mk.quote("AAPL", bid=p - 0.1, ask=p + 0.1, last=p)
                board._next_sample = 0.0  # as if trend_every seconds had passed
                mk.refresh()
            assert board.table.row("AAPL")["trend"] == ("", "", [190.0, 191.0, 190.5])
            assert len(board._trend["AAPL"]) <= board.trend_points
            board.close()

    asyncio.run(scenario())


def test_clicking_a_row_fills_the_ticket_and_buy_sell_set_the_side(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            mk.quote("MSFT", bid=374.5, ask=374.7, last=374.6)
            d = Dashboard(mk.broker, chart=False)
            d.board.table.click("MSFT")
            await mk.settle(d.board, d.ticket)
            assert (d.ticket.symbol.value, d.ticket.side.value) == ("MSFT", "BUY")
            assert text(d.ticket.summary.value, "papernb-ticket-quote").startswith("MSFT · bid $374.50")
            assert d.board.alert_symbol.value == "MSFT"
            assert "papernb-row-selected" in d.board.table.html()
            d.board.table.click("AAPL", "sell")
            await mk.settle(d.board, d.ticket)
            assert (d.ticket.symbol.value, d.ticket.side.value) == ("AAPL", "SELL")
            # forged messages: an unknown row or action, a row of no symbol: nothing happens
            d.board.table.click("<img src=x>")
            d.board.table.click("AAPL", "delete_account")
            d.board.table._on_msg(None, {"kind": "click", "key": 7}, [])
            d.board.table._on_msg(None, "not a dict", [])
            await mk.settle(d.board, d.ticket)
            assert (d.ticket.symbol.value, d.ticket.side.value) == ("AAPL", "SELL")
            assert mk.broker.watchlist() == ["AAPL", "MSFT"]
            d.close()

    asyncio.run(scenario())


def test_add_and_remove_symbols_and_the_book_keeps_the_watchlist(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            mk.quote("MSFT", bid=374.5, ask=374.7, last=374.6)
            board = QuoteBoard(mk.broker)
            mk.refresh()
            assert board.add_symbol.options == ()  # every feed symbol is on the board already
            board.table.click("MSFT", "remove")
            await mk.settle(board)
            assert board.table.row_keys == ["AAPL"] and mk.broker.watchlist() == ["AAPL"]
            assert board.add_symbol.options == ("MSFT",)  # suggested again
            for typed, shown in (("", "Type a symbol to add, like AAPL"),
                                 ("AA PL", "'AA PL' is not a valid symbol (letters, digits and ./$^_- , 1-32 characters)"),
                                 ("aapl", "AAPL is on the watchlist already")):
                board.add_symbol.value = typed
                board.add_button.click()
                await mk.settle(board)
                assert texts(board.message.value, "papernb-error") + texts(board.message.value, "papernb-muted") \
                    == [shown]
            board.add_symbol.value = "zzz"
            board.add_button.click()
            await mk.settle(board)
            assert texts(board.message.value, "papernb-muted") == [
                "Added ZZZ; no quotes for ZZZ yet: the feed carries AAPL, MSFT"]
            board.add_symbol.value = "msft"
            board.add_button.click()
            await mk.settle(board)
            assert board.table.row_keys == ["AAPL", "ZZZ", "MSFT"]
            assert _cells(board, "last") == ["$190.00", "—", "$374.60"]
            board.close()
        async with live(tmp_path) as mk:  # the same book, a new session: the watchlist is there
            board = QuoteBoard(mk.broker)
            assert board.table.row_keys == ["AAPL", "ZZZ", "MSFT"]
            board.close()

    asyncio.run(scenario())


def test_a_price_alert_from_the_board_is_listed_fires_and_can_be_removed(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            board = QuoteBoard(mk.broker)
            board.alert_button.click()
            await mk.settle(board)
            assert text(board.message.value, "papernb-error") == "Enter the symbol to watch, or click a row of the board"
            board.table.click("AAPL")
            await mk.settle(board)
            board.alert_above.value = "19O.00"
            board.alert_button.click()
            await mk.settle(board)
            assert text(board.message.value, "papernb-error") == "Price above must be a number, was '19O.00'"
            board.alert_above.value = ""
            board.alert_button.click()
            await mk.settle(board)
            assert text(board.message.value, "papernb-error") == "Enter a price above or below which AAPL should alert you"
            board.alert_above.value = "195.00"
            board.alert_below.value = "180"
            board.alert_button.click()
            await mk.settle(board)
            assert text(board.message.value, "papernb-ok") == "Alert set: AAPL above $195.00 or below $180.00"
            (a,) = mk.broker.alerts()
            assert texts(board.alerts_table.html(), "papernb-col-above")[1:] == ["$195.00"]
            mk.quote("AAPL", bid=195.0, ask=195.2, last=195.1)
            mk.refresh()
            assert mk.broker.alerts() == [] and text(board.alerts_table.html(), "papernb-alerts-table-empty")
            board.alert_above.value = "200"
            board.alert_button.click()
            await mk.settle(board)
            (b,) = mk.broker.alerts()
            board.alerts_table.click(str(b.id), "remove")
            await mk.settle(board)
            assert mk.broker.alerts() == [] and text(board.message.value, "papernb-muted") == f"Alert {b.id} removed"
            assert a.id != b.id
            board.close()

    asyncio.run(scenario())


def test_the_ticket_alone_suggests_the_feeds_symbols(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            t = OrderTicket(mk.broker)
            assert t.symbol.options == ("AAPL",)
            t.fill("AAPL", "SELL")
            await t.settle()
            assert (t.symbol.value, t.side.value) == ("AAPL", "SELL")
            t.fill("AAPL", "sideways")  # not a side: the side stays
            assert t.side.value == "SELL"
            t.close()

    asyncio.run(scenario())
