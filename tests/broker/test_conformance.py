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
from papernb.broker import Broker, OrderUpdate
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

    run(scenario, make_rig)
