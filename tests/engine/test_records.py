"""The trader's own records: a watchlist, notes and tags on round trips, price alerts, filtered stats, export.

They are durable like orders and cash: typed events in the journal, applied by the ledger, so a
reopened (or rebuilt) book has them and its state hash is the same.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D
from pathlib import Path

import pandas as pd
import pytest

import papernb as pn
from papernb.engine import events as ev

from .conftest import SEC, T0, Market


def _round_trip(m: Market, acct: pn.Account, sym: str = "AAPL", buy: float = 190.10, sell: float = 191.90) -> pn.RoundTrip:
    m.quote(sym, buy - 0.20, buy, buy - 0.10)
    acct.buy(sym, 10)
    m.quote(sym, sell, sell + 0.20, sell + 0.10)
    acct.sell(sym, 10)
    return acct.trades()[-1]


# -- watchlist ---------------------------------------------------------------------------------------
def test_a_new_account_has_no_watchlist_and_a_set_one_is_normalized_and_deduplicated(acct: pn.Account) -> None:
    assert acct.watchlist() is None
    assert acct.set_watchlist([" aapl", "MSFT", "AAPL", "brk/b"]) == ["AAPL", "MSFT", "BRK/B"]
    assert acct.watchlist() == ["AAPL", "MSFT", "BRK/B"]
    assert acct.set_watchlist([]) == [] and acct.watchlist() == []  # cleared is not "never set"


@pytest.mark.parametrize("bad", ["AAPL", 7, ["AAPL", 3], ["ÄAPL"], [f"S{i}" for i in range(501)]])
def test_a_bad_watchlist_is_refused_and_changes_nothing(book: pn.Engine, acct: pn.Account, bad: object) -> None:
    acct.set_watchlist(["MSFT"])
    seq = book.seq
    with pytest.raises(pn.InvalidInput):
        acct.set_watchlist(bad)  # type: ignore[arg-type]
    assert acct.watchlist() == ["MSFT"] and book.seq == seq


def test_setting_the_same_watchlist_again_journals_nothing(book: pn.Engine, acct: pn.Account) -> None:
    acct.set_watchlist(["AAPL"])
    seq = book.seq
    acct.set_watchlist(["aapl"])
    assert book.seq == seq


# -- notes and tags -----------------------------------------------------------------------------------
def test_a_round_trip_takes_a_note_and_tags_and_keeps_them_until_changed(market: Market, acct: pn.Account) -> None:
    t = _round_trip(market, acct)
    assert (t.note, t.tags) == ("", ())
    a = acct.annotate(t.id, note="  clean breakout over 190  ", tags=["Breakout", "news", "breakout"])
    assert (a.id, a.note, a.tags, a.net_pl) == (t.id, "clean breakout over 190", ("breakout", "news"), t.net_pl)
    assert acct.trades()[-1] == a and acct.trip(t.id) == a
    assert acct.annotate(t, tags="fomo, late").tags == ("fomo", "late")  # text of words; the note stays
    assert acct.trip(t.id).note == "clean breakout over 190"
    cleared = acct.annotate(t.id, note="", tags=[])
    assert (cleared.note, cleared.tags) == ("", ())


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"note": 5}, "a note is text"),
    ({"note": "x" * 2001}, "at most 2,000 characters"),
    ({"note": "bell\x07"}, "control characters"),
    ({"tags": ["two words"]}, "tag 'two words' must be"),
    ({"tags": ["#hash"]}, "must be 1-32 of a-z"),
    ({"tags": [3]}, "a tag is a word"),
    ({"tags": [f"t{i}" for i in range(11)]}, "at most 10 tags"),
])
def test_a_bad_note_or_tag_is_refused_in_plain_words(market: Market, acct: pn.Account, kwargs: dict,
                                                     error: str) -> None:
    t = _round_trip(market, acct)
    with pytest.raises(pn.InvalidInput, match=error):
        acct.annotate(t.id, **kwargs)
    assert acct.trip(t.id) == t


def test_another_accounts_round_trip_is_unknown(book: pn.Engine, market: Market, acct: pn.Account) -> None:
    t = _round_trip(market, acct)
    bob = book.account("bob")
    with pytest.raises(pn.UnknownTrip, match=f"there is no round trip {t.id} in account bob"):
        bob.annotate(t.id, note="not mine")
    with pytest.raises(pn.UnknownTrip, match="round trip id must be an int"):
        acct.annotate("first", note="x")
    assert acct.trip(t.id).note == ""


def test_stats_filter_by_tag_symbol_and_the_new_york_day_they_closed(market: Market, acct: pn.Account) -> None:
    win = _round_trip(market, acct, "AAPL", 190.10, 191.90)  # +18.00
    loss = _round_trip(market, acct, "MSFT", 374.70, 373.70)  # -10.00
    late = _round_trip(market, acct, "AAPL", 190.10, 190.60)  # +5.00
    acct.annotate(win.id, tags=["breakout"])
    acct.annotate(loss.id, tags=["news"])
    acct.annotate(late.id, tags=["breakout", "news"])
    assert acct.stats()["trades"] == 3 and acct.stats()["net_pl"] == D("13.00")
    br = acct.stats(tag="Breakout")
    assert (br["trades"], br["win_rate"], br["net_pl"], br["profit_factor"]) == (2, D("1"), D("23.00"), None)
    news = acct.stats(tag="news")
    assert (news["trades"], news["wins"], news["losses"], news["expectancy"]) == (2, 1, 1, D("-2.5000"))
    assert news["avg_loss"] == D("-10.0000") and news["profit_factor"] == D("0.5000")
    assert [t.id for t in acct.trades(symbol="aapl")] == [win.id, late.id]
    assert acct.stats(tag="news", symbol="MSFT")["trades"] == 1
    day = datetime.fromtimestamp(T0 / 1e9, UTC).date()  # 09:30 New York, the same calendar day
    assert acct.stats(since=day, until=day)["trades"] == 3
    assert acct.stats(since="2024-01-03")["trades"] == 0 and acct.stats(until=date(2024, 1, 1))["trades"] == 0
    assert acct.stats(since=loss.closed_at)["trades"] == 2 and acct.stats(until=loss.closed_at)["trades"] == 2
    assert acct.stats(tag="fomo")["trades"] == 0
    for bad in ({"since": "yesterday"}, {"since": "2024-01-03", "until": "2024-01-02"}, {"tag": ""},
                {"since": datetime(2024, 1, 2)}):
        with pytest.raises(pn.InvalidInput):
            acct.stats(**bad)


# -- alerts --------------------------------------------------------------------------------------------
def test_an_alert_fires_once_when_the_mark_reaches_it_then_is_gone(book: pn.Engine, market: Market,
                                                                    acct: pn.Account) -> None:
    heard: list[ev.Event] = []
    book.subscribe(heard.extend)
    market.quote("AAPL", 189.90, 190.10, 190.00)
    al = acct.alert("aapl", above="195.00", below=185)
    assert (al.symbol, al.above, al.below, al.status) == ("AAPL", D("195.00"), D("185"), "open")
    assert acct.alerts() == [al]
    market.quote("AAPL", 194.80, 195.00, 194.99)  # not yet
    market.quote("AAPL", 194.90, 195.10, 195.00)  # the mark reaches 195.00
    market.quote("AAPL", 199.90, 200.10, 200.00)  # already gone: nothing more
    fired = [e for e in heard if isinstance(e, ev.AlertTriggered)]
    assert [(e.alert_id, e.price, e.direction) for e in fired] == [(al.id, 1_950_000, "above")]
    assert acct.alerts() == []
    low = acct.alert("AAPL", below="199.00")
    market.quote("AAPL", None, None, 198.50)
    assert [e.direction for e in heard if isinstance(e, ev.AlertTriggered)] == ["above", "below"]
    assert low.id == al.id + 1 and acct.alerts() == []
    book.check_invariants()


def test_an_alert_can_be_removed_once_and_bad_alerts_are_refused(book: pn.Engine, market: Market,
                                                                 acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    al = acct.alert("AAPL", above=200)
    gone = acct.remove_alert(al.id)
    assert gone.status == "removed" and acct.alerts() == []
    with pytest.raises(pn.UnknownAlert, match=f"no open alert {al.id} in account alice \\(it removed already\\)"):
        acct.remove_alert(al.id)
    with pytest.raises(pn.UnknownAlert):
        book.account("bob").remove_alert(acct.alert("AAPL", below=1).id)
    for args, kwargs, error in ((("AAPL",), {}, "needs a price"),
                                (("AAPL",), {"above": 180, "below": 185}, "must be under its above price"),
                                (("AAPL",), {"above": -1}, "positive"),
                                (("AAPL",), {"above": "1,9"}, "alert above price"),
                                (("ZZZ",), {"above": 1}, "no quotes for ZZZ"),
                                ((7,), {"above": 1}, "symbol must be text")):
        with pytest.raises(pn.InvalidInput, match=error):
            acct.alert(*args, **kwargs)
    market.quote("AAPL", 180.00, 180.20, 180.10)  # fires the one below 1? no: 180.10 > 1
    assert [a.below for a in acct.alerts()] == [D("1")]
    book.check_invariants()


def test_alerts_cost_nothing_to_a_book_without_them(book: pn.Engine, market: Market, acct: pn.Account) -> None:
    market.quote("AAPL", 189.90, 190.10, 190.00)
    assert book.ledger.open_alerts == 0
    al = acct.alert("AAPL", above=191)
    assert book.ledger.open_alerts == 1 and [a.id for a in book.ledger.symbols["AAPL"].alerts] == [al.id]
    acct.remove_alert(al.id)
    assert book.ledger.open_alerts == 0 and book.ledger.symbols["AAPL"].alerts == []


def test_a_strategy_may_set_an_alert_in_a_backtest_and_it_fires_on_a_later_quote() -> None:
    ts = [T0 + i * SEC for i in range(4)]
    tape = [pn.Quote("AAPL", bid=p - 0.1, ask=p + 0.1, last=p, ts=t) for p, t in zip((190, 191, 192, 193), ts,
                                                                                    strict=True)]
    seen: list[str] = []

    def strategy(ctx: pn.Account, q: pn.Quote) -> None:
        if not ctx.alerts() and not seen:
            ctx.alert("AAPL", above=192)
            seen.append("set")

    res = pn.backtest(tape, strategy, progress=False)
    fired = [al for al in res.engine.ledger.alerts.values() if al.status == "triggered"]
    assert seen == ["set"] and [(a.price, a.closed_at) for a in fired] == [(1_920_000, ts[2])]


# -- durable: a reopened book has all of it -----------------------------------------------------------
def test_a_reopened_file_book_has_the_watchlist_notes_and_alerts_with_the_same_hash(tmp_path: Path) -> None:
    path = str(tmp_path / "records.duckdb")
    b = pn.Engine(path)
    m = Market(b)
    alice = b.account("alice")
    alice.set_watchlist(["MSFT", "AAPL"])
    t = _round_trip(m, alice)
    alice.annotate(t.id, note="waited for the pullback", tags=["pullback"])
    kept = alice.alert("AAPL", above=250)
    fired = alice.alert("AAPL", below=191)
    removed = alice.alert("AAPL", below=100)
    alice.remove_alert(removed)
    m.quote("AAPL", 189.90, 190.10, 190.00)  # fires the one below 191
    h = b.state_hash()
    b.check_invariants()
    b.close()

    again = pn.Engine(path)
    alice = again.account("alice")
    assert again.state_hash() == h
    assert alice.watchlist() == ["MSFT", "AAPL"]
    assert (alice.trip(t.id).note, alice.trip(t.id).tags) == ("waited for the pullback", ("pullback",))
    assert [a.id for a in alice.alerts()] == [kept.id]
    assert {al.id: al.status for al in again.ledger.alerts.values()} == {
        kept.id: "open", fired.id: "triggered", removed.id: "removed"}
    assert alice.stats(tag="pullback")["trades"] == 1
    again.check_invariants()
    m2 = Market(again, t=m.t)
    m2.quote("AAPL", 259.90, 260.10, 260.00)  # the kept alert still works after the reopen
    assert alice.alerts() == [] and again.ledger.alerts[kept.id].direction == "above"
    nxt = alice.alert("AAPL", above=300)
    assert nxt.id == removed.id + 1  # ids go on from the journal
    again.close()


def test_a_failed_write_rebuilds_the_records_as_they_were(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = pn.Engine(str(tmp_path / "b.duckdb"))
    m = Market(b)
    alice = b.account("alice")
    alice.set_watchlist(["AAPL"])
    m.quote("AAPL", 189.90, 190.10, 190.00)
    al = alice.alert("AAPL", above=195)
    h = b.state_hash()

    def broken(rows: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(b._store, "append", broken)
    with pytest.raises(pn.BookWriteFailed):
        alice.set_watchlist(["MSFT"])
    with pytest.raises(pn.BookWriteFailed):
        alice.remove_alert(al.id)
    assert b.state_hash() == h and alice.watchlist() == ["AAPL"] and [a.id for a in alice.alerts()] == [al.id]
    assert [a.id for a in b.ledger.symbols["AAPL"].alerts] == [al.id]
    b.check_invariants()
    monkeypatch.undo()
    b.close()


# -- export ----------------------------------------------------------------------------------------------
def test_export_writes_four_csv_files_with_new_york_times_and_exact_money(tmp_path: Path, market: Market,
                                                                          acct: pn.Account) -> None:
    t = _round_trip(market, acct)
    acct.annotate(t.id, note='said "wait", then\nwent', tags=["breakout", "news"])
    files = acct.export(tmp_path / "day")
    assert [f.name for f in files] == ["orders.csv", "fills.csv", "round_trips.csv", "equity.csv"]
    trips = pd.read_csv(files[2], dtype=str)
    assert trips.loc[0, "closed_at (America/New_York)"] == "2024-01-02 09:30:02"  # T0 is 09:30 New York
    assert (trips.loc[0, "net_pl"], trips.loc[0, "avg_entry"]) == ("18.00", "190.1")
    assert (trips.loc[0, "note"], trips.loc[0, "tags"]) == ('said "wait", then\nwent', "breakout, news")
    fills = pd.read_csv(files[1], dtype=str)
    assert list(fills["price"]) == ["190.10", "191.90"]
    assert "ts (America/New_York)" in fills.columns and "ts" not in fills.columns
    orders = pd.read_csv(files[0], dtype=str)
    assert list(orders["status"]) == ["FILLED", "FILLED"]
    assert pd.read_csv(files[3], dtype=str).columns.tolist() == ["ts (America/New_York)", "equity"]


def test_export_to_xlsx_is_one_workbook_with_a_sheet_per_table(tmp_path: Path, market: Market,
                                                               acct: pn.Account) -> None:
    import openpyxl

    t = _round_trip(market, acct)
    acct.annotate(t.id, tags=["breakout"])
    (out,) = acct.export(tmp_path / "day.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["orders", "fills", "round_trips", "equity"]
    ws = wb["round_trips"]
    head = [c.value for c in ws[1]]
    row = dict(zip(head, [c.value for c in ws[2]], strict=True))
    assert row["closed_at (America/New_York)"] == datetime(2024, 1, 2, 9, 30, 2)
    assert D(str(row["net_pl"])) == D("18.00") and row["tags"] == "breakout" and row["verdict"] == "worked"


def test_trades_df_to_excel_works_although_excel_has_no_time_zones(tmp_path: Path, market: Market,
                                                                   acct: pn.Account) -> None:
    _round_trip(market, acct)
    df = acct.trades_df()
    assert str(df["closed_at"].dt.tz) == "UTC"  # the frame itself stays in UTC
    df.to_excel(tmp_path / "t.xlsx", index=False)
    acct.fills_df().to_excel(tmp_path / "f.xlsx")
    back = pd.read_excel(tmp_path / "t.xlsx", engine="openpyxl")
    assert back.loc[0, "closed_at (America/New_York)"] == pd.Timestamp("2024-01-02 09:30:02")
    assert df[df["net_pl"] > 0].to_excel(tmp_path / "wins.xlsx") is None  # a filtered frame too


@pytest.mark.parametrize("bad", [7, "day.csv", "day.parquet"])
def test_export_refuses_what_it_cannot_write(tmp_path: Path, acct: pn.Account, bad: object) -> None:
    with pytest.raises(pn.InvalidInput):
        acct.export(bad if not isinstance(bad, str) else tmp_path / bad)
    with pytest.raises(pn.InvalidInput, match="does not exist"):
        acct.export(tmp_path / "no" / "such" / "day.xlsx")


def test_a_finished_backtests_account_takes_no_notes_alerts_or_watchlist() -> None:
    tape = [pn.Quote("AAPL", bid=p - 0.1, ask=p + 0.1, last=p, ts=T0 + i * SEC) for i, p in enumerate((190, 192))]

    def strategy(ctx: pn.Account, q: pn.Quote) -> None:
        if q.last == 190:
            ctx.buy("AAPL", 1)
        else:
            ctx.sell("AAPL", 1)

    res = pn.backtest(tape, strategy, progress=False)
    (t,) = res.account.trades()
    h = res.journal_hash
    for call in (lambda: res.account.annotate(t.id, note="x"), lambda: res.account.alert("AAPL", above=1),
                 lambda: res.account.set_watchlist(["AAPL"])):
        with pytest.raises(pn.BacktestFinished):
            call()
    assert res.journal_hash == h


def test_a_book_with_events_of_a_newer_papernb_is_unreadable_and_left_alone(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "newer.duckdb"
    b = pn.Engine(str(path))
    b.account("alice").set_watchlist(["AAPL"])
    b.close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO journal VALUES (99, 1, 'alice', 'SomethingNew', NULL, NULL, NULL, '{\"e\":{}}')")
    con.close()
    before = path.read_bytes()
    with pytest.raises(pn.BookUnreadable, match="holds SomethingNew events, written by a newer papernb"):
        pn.Engine(str(path))
    assert path.read_bytes() == before
