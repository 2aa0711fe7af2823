"""Close, Close all, Cancel all and Reset from the panels: each asks first what it will do, checks its
input in Python (a forged click too), and shows the result or the error next to the control."""

from __future__ import annotations

import asyncio

from papernb.widgets import AccountBanner, PendingOrders, PositionsTable
from tests.widgets.conftest import live, text, texts


async def _hold(mk, *buys):
    for sym, bid, ask in buys:
        mk.quote(sym, bid=bid, ask=ask, last=(bid + ask) / 2)
        await mk.broker.submit(sym, "BUY", 10, type="MARKET")


def test_close_on_a_row_says_what_it_will_do_and_empties_the_position_after_the_confirm(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            await _hold(mk, ("AAPL", 189.9, 190.1))
            await mk.broker.submit("AAPL", "SELL", 10, type="LIMIT", limit="200.00", tif="GTC")  # holds the shares
            table = PositionsTable(mk.broker)
            assert not table.close_all_button.disabled
            table.table.click("AAPL", "close")
            await mk.settle(table)
            assert table.confirm.asking
            assert text(table.confirm.text.value, "papernb-confirm-text") == (
                "Close 10 AAPL at market? This cancels 1 open order on the closing side, then sells 10 shares at the "
                "bid (about $1,900.00 at the last mark).")
            assert table.confirm.yes.description == "Close AAPL"
            table.confirm.no.click()  # Keep: nothing happens
            await mk.settle(table)
            assert not table.confirm.asking and len(mk.broker.snapshot().positions) == 1
            table.confirm.yes.click()  # a forged Confirm with no question open: nothing either
            await mk.settle(table)
            assert len(mk.broker.snapshot().positions) == 1 and len(mk.broker.orders(status="open")) == 1

            table.table.click("AAPL", "close")
            await mk.settle(table)
            table.confirm.yes.click()
            await mk.settle(table)
            assert text(table.message.value, "papernb-ok") == "Closed AAPL: sold 10 @ $189.90"
            assert mk.broker.snapshot().positions == () and mk.broker.orders(status="open") == []
            assert text(table.table.html(), "papernb-positions-table-empty") == "No open positions."
            assert table.close_all_button.disabled
            table.close()

    asyncio.run(scenario())


def test_a_position_closed_elsewhere_meanwhile_gives_an_inline_error_not_a_traceback(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            await _hold(mk, ("AAPL", 189.9, 190.1))
            table = PositionsTable(mk.broker)
            table.table.click("AAPL", "close")
            await mk.settle(table)
            await mk.broker.submit("AAPL", "SELL", 10, type="MARKET")  # sold from another cell
            table.confirm.yes.click()
            await mk.settle(table)
            assert text(table.message.value, "papernb-error") == "There is no open position in AAPL to close"
            table.ask_close("MSFT")  # what a forged Close on a row that is gone reaches
            assert text(table.message.value, "papernb-error") == "There is no open position in MSFT to close"
            table.ask_close_all()
            assert text(table.message.value, "papernb-error") == "There are no open positions to close"
            assert not table.confirm.asking
            table.close()

    asyncio.run(scenario())


def test_close_all_closes_every_position_in_one_command(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            await _hold(mk, ("AAPL", 189.9, 190.1), ("MSFT", 374.5, 374.7))
            table = PositionsTable(mk.broker)
            table.close_all_button.click()
            await mk.settle(table)
            assert text(table.confirm.text.value, "papernb-confirm-text") == (
                "Close all 2 positions (AAPL, MSFT) at market? This places one market order per position.")
            table.confirm.yes.click()
            await mk.settle(table)
            assert text(table.message.value, "papernb-ok") == "Closed AAPL: sold 10 @ $189.90; MSFT: sold 10 @ $374.50"
            assert mk.broker.snapshot().positions == () and len(mk.broker.trades()) == 2
            table.close()

    asyncio.run(scenario())


def test_pending_rows_say_what_they_hold_and_cancel_all_cancels_them(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            await _hold(mk, ("AAPL", 189.9, 190.1))
            pending = PendingOrders(mk.broker)
            assert pending.cancel_all_button.disabled
            pending.cancel_all_button.click()  # forged: disabled on screen, checked here
            await mk.settle(pending)
            assert text(pending.message.value, "papernb-error") == "There are no open orders to cancel"
            buy = await mk.broker.submit("AAPL", "BUY", 10, type="LIMIT", limit="189.90", tif="GTC")
            sell = await mk.broker.submit("AAPL", "SELL", 10, type="LIMIT", limit="200.00", tif="GTC")
            mk.refresh()
            assert texts(pending.header.value, "papernb-order-head") == [
                "IdSymbolSideQtyFilledTypeLimitStopTIFStatusHoldsReview"]
            assert text(pending.row(buy.id).cells.value, "papernb-col-holds") == "holds $1,899.00"
            assert text(pending.row(sell.id).cells.value, "papernb-col-holds") == "holds 10 shares"
            assert not pending.cancel_all_button.disabled
            pending.cancel_all_button.click()
            await mk.settle(pending)
            assert text(pending.message.value, "papernb-ok") == "Cancelled 2 orders"
            assert pending.rows == {} and mk.broker.orders(status="open") == []
            assert pending.cancel_all_button.disabled
            pending.close()

    asyncio.run(scenario())


def test_reset_says_what_it_does_and_starts_over_with_the_same_cash(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            await _hold(mk, ("AAPL", 189.9, 190.1), ("MSFT", 374.5, 374.7))
            await mk.broker.submit("AAPL", "BUY", 1, type="LIMIT", limit="150.00", tif="GTC")
            banner = AccountBanner(mk.broker)
            banner.confirm.yes.click()  # forged: no question open
            await mk.settle(banner)
            assert mk.broker.snapshot().epoch == 1
            banner.reset_button.click()
            await mk.settle(banner)
            assert text(banner.confirm.text.value, "papernb-confirm-text") == (
                "Reset account alice? This cancels 1 open order, closes 2 positions at their last marks (each "
                "round trip keeps its verdict in the journal) and starts over with $100,000.00 cash. Order history "
                "and the journal of epoch 1 are kept (see them with epoch='all'); listings then show the new epoch.")
            banner.confirm.yes.click()
            await mk.settle(banner)
            snap = mk.broker.snapshot()
            assert (snap.epoch, snap.cash, snap.positions, snap.open_orders) == (2, 100_000, (), ())
            assert text(banner.message.value, "papernb-ok") == "Account reset: epoch 2 starts with $100,000.00"
            assert text(banner.html.value, "papernb-equity") == "$100,000.00"
            banner.close()

    asyncio.run(scenario())
