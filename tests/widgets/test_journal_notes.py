"""The journal: a note and tags on a round trip (kept in the book), stats filtered by tag, symbol and day,
stats per tag; and the export buttons give files that open."""

from __future__ import annotations

import asyncio
import io
from datetime import date

import openpyxl
import pandas as pd

from papernb.widgets import ExportPanel, TradeJournal
from tests.widgets.conftest import live, text, texts


async def _trips(mk):
    """+49.00 on AAPL, -20.00 on MSFT, +5.00 on AAPL."""
    for sym, (b1, a1), (b2, a2) in (("AAPL", (189.9, 190.1), (195.0, 195.2)), ("MSFT", (99.9, 100.0), (98.0, 98.1)),
                                    ("AAPL", (190.0, 190.1), (190.6, 190.7))):
        mk.quote(sym, bid=b1, ask=a1, last=a1)
        await mk.broker.submit(sym, "BUY", 10, type="MARKET")
        mk.quote(sym, bid=b2, ask=a2, last=b2)
        await mk.broker.submit(sym, "SELL", 10, type="MARKET")
    mk.refresh()


def test_a_note_and_tags_are_saved_from_the_journal_and_kept_in_the_book(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            await _trips(mk)
            j = TradeJournal(mk.broker)
            assert j.table.row_keys == ["3", "2", "1"]  # newest first
            j.save_button.click()  # forged: no editor open
            await mk.settle(j)
            assert all(t.note == "" for t in mk.broker.trades())
            j.table.click("1", "note")
            await mk.settle(j)
            assert j.editing is not None and j.editing.id == 1 and j.editor.layout.display is None
            assert "Round trip 1" in j.edit_title.value and "+$49.00" in j.edit_title.value
            j.note.value = "broke out of the morning range"
            j.tags.value = "breakout news"
            j.save_button.click()
            await mk.settle(j)
            assert j.editor.layout.display == "none"
            assert j.table.row("1")["tags"][0] == "breakout, news"
            assert j.table.row("1")["note"][0] == "broke out of the morning range"
            j.table.click("2", "note")
            await mk.settle(j)
            j.tags.value = "news, #fomo"
            j.save_button.click()
            await mk.settle(j)
            assert text(j.edit_message.value, "papernb-error") == (
                "Tag '#fomo' must be 1-32 of a-z, 0-9, _ and - (starting with a letter or digit)")
            j.tags.value = "news, fomo"
            j.save_button.click()
            await mk.settle(j)
            j.close()
        async with live(tmp_path) as mk:  # a new session on the same book: the notes are there
            j = TradeJournal(mk.broker)
            assert j.table.row("1")["tags"][0] == "breakout, news"
            assert j.table.row("2")["tags"][0] == "news, fomo"
            j.close()

    asyncio.run(scenario())


def test_stats_filter_by_tag_symbol_and_day_and_a_table_per_tag(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            await _trips(mk)
            await mk.broker.annotate(1, tags=["breakout"])
            await mk.broker.annotate(2, tags=["news"])
            await mk.broker.annotate(3, tags=["breakout", "news"])
            j = TradeJournal(mk.broker)
            assert [v for _, v in j.tag_filter.options] == ["__all__", "breakout", "news"]
            assert text(j.stats.value, "papernb-stat-trades") == "3"
            rows = texts(j.by_tag.value, "papernb-col-tag")
            assert rows == ["breakout", "news"]
            assert texts(j.by_tag.value, "papernb-col-net-pl") == ["+$54.00", "-$15.00"]
            assert texts(j.by_tag.value, "papernb-col-win-rate") == ["100.00%", "50.00%"]
            assert texts(j.by_tag.value, "papernb-col-expectancy") == ["+$27.00", "-$7.50"]
            j.tag_filter.value = "news"
            await mk.settle(j)
            assert j.table.row_keys == ["3", "2"]
            assert text(j.stats.value, "papernb-stat-trades") == "2"
            assert text(j.stats.value, "papernb-stat-net-pl") == "-$15.00"
            assert text(j.stats.value, "papernb-stat-profit-factor") == "0.25"
            j.symbol_filter.value = "msft"
            await mk.settle(j)
            assert j.table.row_keys == ["2"] and text(j.stats.value, "papernb-stat-avg-loss") == "-$20.00"
            j.clear_filters()
            today = date.today()
            j.since.value = date(today.year + 1, 1, 1)
            await mk.settle(j)
            assert j.table.row_keys == [] and text(j.stats.value, "papernb-stat-trades") == "0"
            j.until.value = date(today.year, 1, 1)
            await mk.settle(j)
            assert text(j.filter_message.value, "papernb-error") == "The To date is before the From date"
            j.clear_button.click()
            await mk.settle(j)
            assert j.table.row_keys == ["3", "2", "1"] and j.filter_message.value == ""
            j.close()

    asyncio.run(scenario())


def test_the_export_buttons_give_csv_and_xlsx_files_that_hold_the_trades(tmp_path):
    async def scenario():
        async with live(tmp_path) as mk:
            await _trips(mk)
            await mk.broker.annotate(1, note="first", tags=["breakout"])
            panel = ExportPanel(mk.broker)
            labels = [label for _, label in panel.downloads.files]
            assert labels == ["Orders CSV", "Fills CSV", "Round trips CSV", "Equity CSV", "Workbook (.xlsx)"]
            name, data = panel.downloads.download("round_trips.csv")
            assert name.startswith("alice-round_trips-") and name.endswith(".csv")
            trips = pd.read_csv(io.BytesIO(data), dtype=str)
            assert list(trips["net_pl"]) == ["49.00", "-20.00", "5.00"] and trips.loc[0, "note"] == "first"
            assert "closed_at (America/New_York)" in trips.columns
            name, data = panel.downloads.download("workbook.xlsx")
            wb = openpyxl.load_workbook(io.BytesIO(data))
            assert wb.sheetnames == ["orders", "fills", "round_trips", "equity"]
            assert wb["round_trips"].max_row == 4
            assert panel.downloads.download("../../etc/passwd") is None  # a forged name gets nothing
            assert [n.split("-")[:2] for n, _ in panel.downloads.sent] == [["alice", "round_trips"], ["alice", "workbook"]]
            panel.close()

    asyncio.run(scenario())
