"""One conformance suite for every Broker: what a widget may rely on, whoever serves the book.

Each scenario runs against each broker factory in ``BROKERS`` (today the in-kernel LocalBroker;
the engine service's RemoteBroker joins this list).  A factory gives a ``Rig``: the broker,
a way to publish quotes into its feed, and a way to make it publish a snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

import papernb as pn
from papernb.broker import AlertUpdate, Broker, OrderUpdate
from papernb.feed.hub import Hub


class Rig:
    def __init__(self, broker: Broker, publish: Callable[[pn.Quote], None], refresh: Callable[[], Any],
                 settle: Callable[[], Any] | None = None) -> None:
        self.broker = broker
        self.publish = publish
        self.refresh = refresh
        self._settle = settle

    async def settle(self) -> None:
        """Until what the book committed has reached the broker (a remote one hears it on its stream)."""
        if self._settle is not None:
            await self._settle()
        else:
            await asyncio.sleep(0.05)

    def quote(self, symbol: str, bid: str, ask: str, last: str) -> None:
        self.publish(pn.Quote(symbol, bid=bid, ask=ask, last=last))


@contextlib.asynccontextmanager
async def local_broker(tmp_path: Path) -> AsyncIterator[Rig]:
    hub = Hub()
    session = pn.connect("alice", db=str(tmp_path / "book.duckdb"), feed=hub, start=False)
    try:
        yield Rig(session.broker, hub.publish, lambda: session.refresh(force=True))
    finally:
        await session.aclose()


@pytest.fixture(scope="module")
def remote_service(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.service.conftest import Service, add_user, free_port

    book = tmp_path_factory.mktemp("remote") / "book.duckdb"
    admin = add_user(book, "admin", admin=True)
    svc = Service(book, free_port(), "--feed", "none", "--rate-limit", "0").start()
    yield svc, admin
    svc.stop()


_USERS = iter(range(10**6))


@contextlib.asynccontextmanager
async def remote_broker(tmp_path: Path, remote_service: Any) -> AsyncIterator[Rig]:
    """A RemoteBroker against a real ``papernb serve``; a new user (so a new account) per scenario."""
    import httpx

    from papernb.service.remote import RemoteBroker

    svc, admin = remote_service
    with svc.client(admin) as c:
        token = c.post("/v1/users", json={"name": f"u{next(_USERS)}"}).json()["token"]

    def publish(q: pn.Quote) -> None:
        r = httpx.post(svc.url + "/v1/quotes", headers={"Authorization": f"Bearer {admin}"},
                       json=[{"symbol": q.symbol, "bid": str(q.bid) if q.bid is not None else None,
                              "ask": str(q.ask) if q.ask is not None else None,
                              "last": str(q.last) if q.last is not None else None}])
        assert r.status_code == 200, r.text

    broker = await RemoteBroker(svc.url, token).start()
    try:
        yield Rig(broker, publish, lambda: None, broker.settle)
    finally:
        await broker.aclose()


BROKERS = {"local": local_broker, "remote": remote_broker}


@pytest.fixture(params=sorted(BROKERS))
def make_rig(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Any]:
    if request.param == "remote":
        svc = request.getfixturevalue("remote_service")
        return lambda: remote_broker(tmp_path, svc)
    return lambda: local_broker(tmp_path)


def run(scenario: Callable[[Rig], Any], make_rig: Callable[[], Any]) -> None:
    async def main() -> None:
        async with make_rig() as rig:
            await scenario(rig)

    asyncio.run(main())


def test_it_is_a_broker_of_one_account_with_100000_dollars(make_rig: Callable[[], Any]) -> None:
    async def scenario(rig: Rig) -> None:
        assert isinstance(rig.broker, Broker)
        assert rig.broker.account_name and rig.broker.snapshot().account == rig.broker.account_name
        snap = rig.broker.snapshot()
        assert (snap.cash, snap.buying_power, snap.equity, snap.positions, snap.open_orders) == (
            D("100000"), D("100000"), D("100000"), (), ())

    run(scenario, make_rig)


def test_market_buy_fills_at_the_ask_and_every_read_agrees(make_rig: Callable[[], Any]) -> None:
    async def scenario(rig: Rig) -> None:
        rig.quote("AAPL", "189.90", "190.10", "190.00")
        o = await rig.broker.submit("AAPL", "buy", 10, type="market")
        assert isinstance(o, pn.OrderView)
        assert (o.status, o.filled_qty, o.avg_fill_price) == (pn.OrderStatus.FILLED, 10, D("190.10"))
        (f,) = rig.broker.fills()
        assert (f.order_id, f.qty, f.price) == (o.id, 10, D("190.10"))
        snap = rig.broker.snapshot()
        assert snap.cash == D("98099.00") and snap.positions[0].qty == 10
        assert [v.id for v in rig.broker.orders(status="FILLED")] == [o.id]
        assert rig.broker.orders(status="open") == []
        assert rig.broker.quote("aapl").last == D("190.00")
        age = rig.broker.quote_age("AAPL")
        assert age is not None and age[1] is False and age[0] >= 0
        assert rig.broker.equity_history()[-1][1] == snap.equity
        assert rig.broker.stats()["trades"] == 0 and rig.broker.trades() == []

    run(scenario, make_rig)


def test_limit_order_rests_is_edited_in_place_and_cancelled_once(make_rig: Callable[[], Any]) -> None:
    async def scenario(rig: Rig) -> None:
        rig.quote("AAPL", "189.90", "190.10", "190.00")
        o = await rig.broker.submit("AAPL", "BUY", 10, type="limit", limit="185.00", tif="gtc")
        assert (o.status, o.reserved_cash) == (pn.OrderStatus.PENDING, D("1850.00"))
        r = await rig.broker.replace(o.id, limit="186.00", qty=5)
        assert (r.id, r.qty, r.limit, r.reserved_cash) == (o.id, 5, D("186.00"), D("930.00"))
        assert [v.id for v in rig.broker.orders(status="open")] == [o.id]
        c = await rig.broker.cancel(o.id)
        assert c.status is pn.OrderStatus.CANCELLED
        with pytest.raises(pn.OrderNotOpen, match=f"order {o.id} is already CANCELLED"):
            await rig.broker.cancel(o.id)
        with pytest.raises(pn.UnknownOrder):
            await rig.broker.cancel(999)

    run(scenario, make_rig)


def test_bad_input_raises_a_paper_error_and_places_nothing(make_rig: Callable[[], Any]) -> None:
    async def scenario(rig: Rig) -> None:
        rig.quote("AAPL", "189.90", "190.10", "190.00")
        for kwargs in ({"qty": 0}, {"qty": -5}, {"type": "limit"}, {"type": "teleport"}):
            args = {"qty": 1, "type": "market", **kwargs}
            with pytest.raises(pn.PaperError):
                await rig.broker.submit("AAPL", "buy", args.pop("qty"), **args)
        assert rig.broker.orders() == []

    run(scenario, make_rig)


def test_business_refusal_is_a_rejected_order_with_its_reason(make_rig: Callable[[], Any]) -> None:
    async def scenario(rig: Rig) -> None:
        o = await rig.broker.submit("ZZZ", "buy", 1, type="market")
        assert (o.status, o.reason) == (pn.OrderStatus.REJECTED, "no quote for ZZZ")

    run(scenario, make_rig)


def test_estimate_is_the_engines_reservation_and_refusal(make_rig: Callable[[], Any]) -> None:
    async def scenario(rig: Rig) -> None:
        rig.quote("AAPL", "189.90", "190.10", "190.00")
        est = rig.broker.estimate("AAPL", "buy", 10, type="market")
        assert (est.price, est.reserve_cash, est.refusal) == (D("190.10"), D("1996.05"), None)
        assert est.buying_power_after == D("98003.95")
        o = await rig.broker.submit("AAPL", "buy", 10, type="limit", limit="180.00")
        assert o.reserved_cash == rig.broker.estimate("AAPL", "buy", 10, type="limit", limit="180.00").reserve_cash
        big = rig.broker.estimate("AAPL", "buy", 1000, type="market")
        assert big.refusal is not None and big.refusal.startswith("not enough buying power")
        refused = await rig.broker.submit("AAPL", "buy", 1000, type="market")
        assert refused.status is pn.OrderStatus.REJECTED and refused.reason == big.refusal

    run(scenario, make_rig)


def test_order_events_arrive_once_each_in_order_after_they_are_durable(make_rig: Callable[[], Any]) -> None:
    async def scenario(rig: Rig) -> None:
        seen: list[OrderUpdate] = []
        stop = rig.broker.subscribe_events(seen.append)
        rig.quote("AAPL", "189.90", "190.10", "190.00")
        o = await rig.broker.submit("AAPL", "buy", 10, type="limit", limit="189.00", tif="gtc")
        await rig.broker.replace(o.id, limit="189.50")
        rig.quote("AAPL", "189.00", "189.40", "189.20")  # reaches the limit
        rej = await rig.broker.submit("ZZZ", "buy", 1, type="market")
        await rig.settle()
        stop()
        await rig.broker.submit("AAPL", "buy", 1, type="market")  # after unsubscribe: not heard
        assert [(u.event, u.order.id) for u in seen] == [
            ("accepted", o.id), ("replaced", o.id), ("rested", o.id), ("filled", o.id), ("rejected", rej.id)]
        assert seen[3].order.status is pn.OrderStatus.FILLED and seen[3].order.avg_fill_price == D("189.50")
        assert [u.seq for u in seen] == sorted(u.seq for u in seen)

    run(scenario, make_rig)


def test_snapshots_reach_subscribers_and_stop_after_unsubscribe(make_rig: Callable[[], Any]) -> None:
    async def scenario(rig: Rig) -> None:
        snaps: list[pn.Snapshot] = []
        stop = rig.broker.subscribe(snaps.append)
        rig.quote("AAPL", "189.90", "190.10", "190.00")
        await rig.broker.submit("AAPL", "buy", 10, type="market")
        rig.refresh()
        await rig.settle()
        assert snaps and snaps[-1].positions[0].qty == 10
        n = len(snaps)
        stop()
        rig.quote("AAPL", "190.90", "191.10", "191.00")
        rig.refresh()
        assert len(snaps) == n

    run(scenario, make_rig)


def test_feed_health_and_time_are_there(make_rig: Callable[[], Any]) -> None:
    async def scenario(rig: Rig) -> None:
        rig.quote("AAPL", "189.90", "190.10", "190.00")
        assert rig.broker.now() > 1_700_000_000 * 10**9
        assert rig.broker.feed_health() is not None

    run(scenario, make_rig)


def test_market_state_says_where_the_market_is_in_its_day(make_rig: Callable[[], Any]) -> None:
    """``market_state()``: one of the states, the banner's sentence for it, the hours setting, the next
    open and close.  The state depends on the wall clock here: the pair must agree, whatever it is."""
    sentences = {"open": "Market open", "pre-market": "Pre-market", "after hours": "After hours",
                 "closed": "Market closed until ", "holiday": "Holiday: ", "early close": "Early close "}

    async def scenario(rig: Rig) -> None:
        rig.quote("AAPL", "189.90", "190.10", "190.00")
        ms = rig.broker.market_state()
        assert isinstance(ms, pn.MarketState)
        assert ms.state in sentences and ms.text.startswith(sentences[ms.state]), ms
        assert (ms.trading_hours, ms.trading) == ("always", True)  # a feed of your own: fills at any hour
        assert abs(ms.ts - rig.broker.now()) <= 5 * 10**9
        assert ms.next_open > ms.ts and ms.next_close > ms.ts  # type: ignore[operator]
        assert ms.next_close - ms.ts <= 5 * 86_400 * 10**9  # type: ignore[operator]

    run(scenario, make_rig)


# -- Broker v2: one-click commands, the trader's records, export ---------------------------------------
def test_close_cancels_the_closing_side_and_sells_the_position_at_market(make_rig: Callable[[], Any]) -> None:
    async def scenario(rig: Rig) -> None:
        rig.quote("AAPL", "189.90", "190.10", "190.00")
        await rig.broker.submit("AAPL", "buy", 10, type="market")
        held = await rig.broker.submit("AAPL", "sell", 10, type="limit", limit="200.00", tif="gtc")
        keep = await rig.broker.submit("AAPL", "buy", 1, type="limit", limit="150.00", tif="gtc")
        out = await rig.broker.close("aapl")
        assert [(o.id, o.status) for o in out][0] == (held.id, pn.OrderStatus.CANCELLED)
        sale = out[-1]
        assert (sale.side, sale.type, sale.qty, sale.status, sale.avg_fill_price) == (
            pn.Side.SELL, pn.OrderType.MARKET, 10, pn.OrderStatus.FILLED, D("189.90"))
        assert rig.broker.snapshot().positions == ()
        assert [o.id for o in rig.broker.orders(status="open")] == [keep.id]
        with pytest.raises(pn.InvalidOrder, match="there is no open position in AAPL to close"):
            await rig.broker.close("AAPL")

    run(scenario, make_rig)


def test_the_quants_order_types_through_the_broker_and_their_events(make_rig: Callable[[], Any]) -> None:
    async def scenario(rig: Rig) -> None:
        seen: list[OrderUpdate] = []
        stop = rig.broker.subscribe_events(seen.append)
        rig.quote("AAPL", "189.90", "190.10", "190.00")
        entry = await rig.broker.submit("AAPL", "buy", 10, type="market", take_profit="195.00", stop_loss="185.00")
        assert (entry.status, entry.take_profit, entry.stop_loss) == (pn.OrderStatus.FILLED, D("195.00"),
                                                                      D("185.00"))
        tp_id, sl_id = entry.child_ids
        tp, sl = (next(v for v in rig.broker.orders(status="open") if v.id == i) for i in (tp_id, sl_id))
        assert (tp.oco_id, sl.oco_id, tp.parent_id) == (sl_id, tp_id, entry.id)
        assert rig.broker.snapshot().positions[0].reserved_qty == 10
        await rig.broker.replace(sl_id, stop="186.00")
        trail = await rig.broker.submit("AAPL", "sell", 5, type="trailing_stop", trail="1.00", tif="gtc")
        assert (trail.status, trail.stop, trail.reason) == (pn.OrderStatus.REJECTED, D("189.00"),
                                                            "not enough shares: you hold 10 AAPL, 10 already held "
                                                            "for open sell orders")
        ioc = await rig.broker.submit("AAPL", "buy", 5, type="limit", limit="189.00", tif="ioc")
        assert (ioc.status, ioc.filled_qty) == (pn.OrderStatus.CANCELLED, 0)
        a, b = await rig.broker.oco(pn.OrderRequest("AAPL", "buy", 5, limit="180.00"),
                                    pn.OrderRequest("AAPL", "buy", 5, limit="181.00"))
        assert (a.oco_id, b.oco_id, rig.broker.snapshot().reserved) == (b.id, a.id, D("905.00"))
        est = rig.broker.estimate("AAPL", "buy", 10, type="trailing_stop", trail="1.00")
        assert est.reserve_cash == D("2005.50")  # 10 x max(stop 191.00, ask 190.10) x 1.05
        rig.quote("AAPL", "195.00", "195.10", "195.05")  # the take-profit fills, the stop-loss goes
        await rig.settle()
        stop()
        events = [(u.event, u.order.id) for u in seen]
        assert events[:4] == [("accepted", entry.id), ("filled", entry.id), ("accepted", tp_id),
                              ("accepted", sl_id)]
        assert ("linked", tp_id) in events and ("linked", a.id) in events
        assert events[-2:] == [("filled", tp_id), ("cancelled", sl_id)]
def test_close_all_and_cancel_all_each_take_one_command(make_rig: Callable[[], Any]) -> None:
    async def scenario(rig: Rig) -> None:
        rig.quote("AAPL", "189.90", "190.10", "190.00")
        rig.quote("MSFT", "374.50", "374.70", "374.60")
        await rig.broker.submit("AAPL", "buy", 10, type="market")
        await rig.broker.submit("MSFT", "buy", 2, type="market")
        rest = [await rig.broker.submit("AAPL", "buy", 1, type="limit", limit=str(150 + i), tif="gtc")
                for i in range(3)]
        cancelled = await rig.broker.cancel_all()
        assert sorted(o.id for o in cancelled) == [o.id for o in rest]
        assert all(o.status is pn.OrderStatus.CANCELLED for o in cancelled)
        assert rig.broker.orders(status="open") == [] and await rig.broker.cancel_all() == []
        closed = await rig.broker.close_all()
        assert [(o.symbol, o.side, o.qty, o.status) for o in closed] == [
            ("AAPL", pn.Side.SELL, 10, pn.OrderStatus.FILLED), ("MSFT", pn.Side.SELL, 2, pn.OrderStatus.FILLED)]
        assert rig.broker.snapshot().positions == () and len(rig.broker.trades()) == 2

    run(scenario, make_rig)


def test_reset_cancels_closes_at_the_marks_and_starts_a_new_epoch(make_rig: Callable[[], Any]) -> None:
    async def scenario(rig: Rig) -> None:
        rig.quote("AAPL", "189.90", "190.10", "190.00")
        await rig.broker.submit("AAPL", "buy", 10, type="market")
        o = await rig.broker.submit("AAPL", "buy", 1, type="limit", limit="150.00", tif="gtc")
        snap = await rig.broker.reset(50_000)
        assert (snap.epoch, snap.cash, snap.positions, snap.open_orders) == (2, D("50000.00"), (), ())
        assert rig.broker.orders() == [] and rig.broker.trades() == []  # listings show the new epoch
        assert rig.broker.snapshot().equity == D("50000.00")
        with pytest.raises(pn.OrderNotOpen):
            await rig.broker.cancel(o.id)

    run(scenario, make_rig)


def test_the_watchlist_starts_as_the_feeds_symbols_and_is_kept_once_set(make_rig: Callable[[], Any]) -> None:
    async def scenario(rig: Rig) -> None:
        rig.quote("MSFT", "374.50", "374.70", "374.60")
        rig.quote("AAPL", "189.90", "190.10", "190.00")
        assert {"AAPL", "MSFT"} <= set(rig.broker.feed_symbols())
        assert rig.broker.watchlist() == rig.broker.feed_symbols()
        assert await rig.broker.set_watchlist(["nvda", "AAPL", "NVDA"]) == ["NVDA", "AAPL"]
        assert rig.broker.watchlist() == ["NVDA", "AAPL"]
        assert await rig.broker.set_watchlist([]) == [] and rig.broker.watchlist() == []
        with pytest.raises(pn.InvalidInput):
            await rig.broker.set_watchlist(["AA PL"])
        assert rig.broker.watchlist() == []

    run(scenario, make_rig)


def test_a_round_trip_is_annotated_and_stats_filter_by_its_tags(make_rig: Callable[[], Any]) -> None:
    async def scenario(rig: Rig) -> None:
        ids = []
        for bid, ask, tags in (("189.90", "190.10", ["breakout"]), ("185.00", "185.20", ["news"])):
            rig.quote("AAPL", bid, ask, ask)
            await rig.broker.submit("AAPL", "buy", 10, type="market")
            rig.quote("AAPL", "190.50", "190.70", "190.60")
            await rig.broker.submit("AAPL", "sell", 10, type="market")
            t = rig.broker.trades()[-1]
            a = await rig.broker.annotate(t.id, note=f"trade {t.id}", tags=tags)
            assert (a.id, a.note, a.tags) == (t.id, f"trade {t.id}", tuple(tags))
            ids.append(t.id)  # round-trip ids are book-wide: another account's trips may come between
        assert [(t.note, t.tags) for t in rig.broker.trades()] == [(f"trade {ids[0]}", ("breakout",)),
                                                                  (f"trade {ids[1]}", ("news",))]
        assert [t.id for t in rig.broker.trades(tag="news")] == [ids[1]] and rig.broker.trades(symbol="MSFT") == []
        assert rig.broker.stats(tag="breakout")["net_pl"] == D("4.00")
        assert rig.broker.stats(tag="news")["net_pl"] == D("53.00") and rig.broker.stats()["trades"] == 2
        with pytest.raises(pn.UnknownTrip):
            await rig.broker.annotate(10**6, note="nope")
        with pytest.raises(pn.InvalidInput):
            await rig.broker.annotate(ids[0], tags=["not a tag"])

    run(scenario, make_rig)


def test_a_price_alert_is_set_fires_once_on_the_event_stream_and_is_gone(make_rig: Callable[[], Any]) -> None:
    async def scenario(rig: Rig) -> None:
        seen: list[Any] = []
        stop = rig.broker.subscribe_events(seen.append)
        rig.quote("AAPL", "189.90", "190.10", "190.00")
        up = await rig.broker.alert("AAPL", above="195.00")
        gone = await rig.broker.alert("AAPL", below="150.00")
        assert [a.id for a in rig.broker.alerts()] == [up.id, gone.id]
        assert (await rig.broker.remove_alert(gone.id)).status == "removed"
        rig.quote("AAPL", "195.00", "195.20", "195.10")
        rig.quote("AAPL", "196.00", "196.20", "196.10")
        await rig.settle()
        stop()
        alerts = [(u.event, u.alert.id) for u in seen if isinstance(u, AlertUpdate)]
        assert alerts == [("set", up.id), ("set", gone.id), ("removed", gone.id), ("triggered", up.id)]
        fired = [u.alert for u in seen if isinstance(u, AlertUpdate) and u.event == "triggered"][0]
        assert (fired.status, fired.price, fired.direction) == ("triggered", D("195.10"), "above")
        assert rig.broker.alerts() == []
        with pytest.raises(pn.UnknownAlert):
            await rig.broker.remove_alert(up.id)
        with pytest.raises(pn.InvalidInput):
            await rig.broker.alert("AAPL")

    run(scenario, make_rig)


def test_export_gives_csv_per_table_and_a_workbook_that_open(make_rig: Callable[[], Any]) -> None:
    async def scenario(rig: Rig) -> None:
        import io

        import openpyxl
        import pandas as pd

        rig.quote("AAPL", "189.90", "190.10", "190.00")
        await rig.broker.submit("AAPL", "buy", 10, type="market")
        await rig.broker.submit("AAPL", "sell", 10, type="market")
        await rig.broker.annotate(rig.broker.trades()[0].id, tags=["scalp"])
        trips = pd.read_csv(io.BytesIO(rig.broker.export("round_trips.csv")), dtype=str)
        assert (trips.loc[0, "net_pl"], trips.loc[0, "tags"]) == ("-2.00", "scalp")
        assert "closed_at (America/New_York)" in trips.columns
        fills = pd.read_csv(io.BytesIO(rig.broker.export("fills.csv")), dtype=str)
        assert list(fills["price"]) == ["190.10", "189.90"]
        wb = openpyxl.load_workbook(io.BytesIO(rig.broker.export("workbook.xlsx")))
        assert wb.sheetnames == ["orders", "fills", "round_trips", "equity"]
        with pytest.raises(pn.InvalidInput, match="there is no export"):
            rig.broker.export("../secrets.csv")

    run(scenario, make_rig)
