"""A live session: batches from the feed go through the engine's quote loop, and a strategy
written for backtests runs on them (``session.run``)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from decimal import Decimal as D
from pathlib import Path

import papernb as pn
from papernb.feed.hub import Hub

OLD = 1_704_205_800_000_000_000  # a 2024 stamp, as a replay file played live would carry


def _session(tmp_path: Path, hub: Hub) -> pn.Session:
    return pn.connect("alice", db=str(tmp_path / "b.duckdb"), feed=hub, start=False)


def test_a_live_strategy_sees_every_quote_of_a_batch_in_order_after_the_engine(tmp_path: Path) -> None:
    async def scenario() -> None:
        hub = Hub()
        session = _session(tmp_path, hub)
        seen: list[tuple[str, D | None, int]] = []

        def strategy(ctx: pn.Account, q: pn.Quote) -> None:
            # the engine has already taken this quote: its price is the one the account knows
            assert ctx.quote(q.symbol) == q
            seen.append((q.symbol, q.last, len(ctx.orders())))
            if q.symbol == "AAPL" and not ctx.orders():
                ctx.buy("AAPL", 5)  # fills at once, on this quote's ask

        session.run(strategy)
        before = time.time_ns()
        hub.publish([pn.Quote("AAPL", bid="189.90", ask="190.10", last="190.00", ts=OLD),
                     pn.Quote("MSFT", bid="419.90", ask="420.10", last="420.00", ts=OLD + 1),
                     pn.Quote("AAPL", bid="190.40", ask="190.60", last="190.50", ts=OLD + 2)])
        assert seen == [("AAPL", D("190.00"), 0), ("MSFT", D("420.00"), 1), ("AAPL", D("190.50"), 1)]
        (o,) = session.account.orders()
        assert (o.status, o.avg_fill_price) == (pn.OrderStatus.FILLED, D("190.10"))
        q = session.engine.quote("AAPL")
        # restamped with this kernel's receive time; the source's 2024 stamp kept as src_ts
        assert q is not None and q.ts >= before and q.src_ts == OLD + 2
        assert session.account.snapshot().positions[0].market_value == D("952.50")
        await session.aclose()

    asyncio.run(scenario())


def test_a_strategy_that_raises_is_stopped_and_the_session_keeps_its_quotes(tmp_path: Path) -> None:
    async def scenario() -> None:
        hub = Hub()
        session = _session(tmp_path, hub)
        calls: list[str] = []

        def flaky(ctx: pn.Account, q: pn.Quote) -> None:
            calls.append(q.symbol)
            if q.symbol == "MSFT":
                raise RuntimeError("strategy bug")

        session.run(flaky)
        hub.publish([pn.Quote("AAPL", last="190.00"), pn.Quote("MSFT", last="420.00"),
                     pn.Quote("SPY", last="560.00")])
        assert calls == ["AAPL", "MSFT"]  # stopped at its bug, in the middle of the batch
        assert session.engine.quote("SPY") is not None  # the rest of the batch still reached the engine
        hub.publish(pn.Quote("AAPL", last="191.00"))
        assert calls == ["AAPL", "MSFT"] and session.engine.quote("AAPL").last == D("191.00")
        o = session.account.buy("AAPL", 1)  # trading goes on without the strategy
        assert o.status is pn.OrderStatus.FILLED
        await session.aclose()

    asyncio.run(scenario())


def test_a_live_strategy_hears_of_its_fills_as_a_backtest_does(tmp_path: Path) -> None:
    async def scenario() -> None:
        hub = Hub()
        session = _session(tmp_path, hub)
        heard: list[tuple[str, int, D]] = []

        class Dip:
            def on_quote(self, ctx: pn.Account, q: pn.Quote) -> None:
                if not ctx.orders():
                    ctx.buy(q.symbol, 5, limit="189.50", tif="gtc")

            def on_fill(self, ctx: pn.Account, f: pn.Fill) -> None:
                heard.append((f.symbol, f.qty, f.price))

        session.run(Dip)
        hub.publish(pn.Quote("AAPL", bid="189.90", ask="190.10", last="190.00"))
        assert heard == []
        hub.publish(pn.Quote("AAPL", bid="189.20", ask="189.40", last="189.30"))  # reaches the limit
        assert heard == [("AAPL", 5, D("189.50"))]
        res = pn.backtest([pn.Quote("AAPL", bid="189.90", ask="190.10", last="190.00", ts=OLD),
                           pn.Quote("AAPL", bid="189.20", ask="189.40", last="189.30", ts=OLD + 10**9)],
                          Dip, progress=False)
        assert len(res.fills) == 1  # the same strategy, the same one fill in a backtest
        await session.aclose()

    asyncio.run(scenario())


def test_ticker_publishes_between_once_and_ten_times_a_second(tmp_path: Path) -> None:
    async def scenario() -> None:
        hub = Hub()
        session = pn.connect("alice", db=str(tmp_path / "b.duckdb"), feed=hub, start=True, refresh_hz=4)
        got: list[float] = []
        session.subscribe(lambda s: got.append(time.monotonic()))
        got.clear()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.0:  # quotes every 20 ms: something changes all the time
            hub.publish(pn.Quote("AAPL", last=f"{190 + (len(got) % 7) / 100:.2f}"))
            await asyncio.sleep(0.02)
        busy = len(got) / (time.monotonic() - t0)
        got.clear()
        t1 = time.monotonic()
        await asyncio.sleep(2.2)  # nothing changes: still at least once a second
        quiet = len(got) / (time.monotonic() - t1)
        await session.aclose()
        assert 1.0 <= busy <= 10.0, busy
        assert 0.5 <= quiet <= 10.0, quiet  # >= 1 per second, give or take one tick at the edges

    asyncio.run(scenario())


def test_connect_picks_its_feed_and_says_which(tmp_path: Path) -> None:
    async def scenario() -> None:
        s = pn.connect("alice", db=str(tmp_path / "a.duckdb"), feed="sim", start=False)
        assert (s.simulated, s.feed_label) == (True, "SIMULATED")
        await s.aclose()
        hub = Hub()
        s = pn.connect("alice", db=str(tmp_path / "b.duckdb"), feed=hub, start=False)
        assert (s.simulated, s.feed_label, s.feed) == (False, "your feed", hub)
        await s.aclose()
        csv = tmp_path / "q.csv"
        csv.write_text("ts,symbol,bid,ask,last\n2024-01-02T14:30:00Z,AAPL,189.9,190.1,190.0\n")
        s = pn.connect("alice", db=str(tmp_path / "c.duckdb"), feed=f"replay:{csv}", start=False)
        assert (s.simulated, s.feed_label) == (False, "replay q.csv")
        await s.aclose()
        for bad in ("carrier-pigeon", "redis"):
            try:
                pn.connect("alice", db=str(tmp_path / "d.duckdb"), feed=bad, redis=None, start=False)
            except pn.ConfigError as e:
                assert bad in str(e) or "needs a URL" in str(e)
            else:
                raise AssertionError(f"feed {bad!r} was accepted")
        # a refused connect leaves no book open: the file can be opened at once
        pn.Engine(str(tmp_path / "d.duckdb")).close()

    asyncio.run(scenario())


def test_sync_close_releases_the_book_for_the_next_window(tmp_path: Path) -> None:
    async def scenario() -> None:
        path = str(tmp_path / "b.duckdb")
        s = pn.connect("alice", db=path, feed=Hub(), start=True)
        try:
            pn.Engine(path)
        except pn.BookLocked as e:
            assert "this process" in str(e)
        else:
            raise AssertionError("a second Engine opened a book the session holds")
        s.close()
        assert s.closed
        again = pn.Engine(path)
        assert again.accounts() == ["alice"]
        again.close()
        with contextlib.suppress(pn.BookClosed):
            s.account.buy("AAPL", 1)
            raise AssertionError("a closed session's account still trades")

    asyncio.run(scenario())


def test_connect_in_a_plain_script_says_how_to_run_it(tmp_path: Path) -> None:
    try:
        pn.connect("alice", db=str(tmp_path / "b.duckdb"), feed=Hub())
    except pn.ConfigError as e:
        assert "asyncio.run(main())" in str(e) and "pn.Engine(path)" in str(e)
    else:
        raise AssertionError("connect without a loop did not explain itself")
    pn.Engine(str(tmp_path / "b.duckdb")).close()  # and left no book open


def test_nothing_fills_while_the_feed_is_disconnected_however_fresh_its_quotes(tmp_path: Path) -> None:
    async def scenario() -> None:
        hub = Hub()
        session = _session(tmp_path, hub)
        hub.publish(pn.Quote("AAPL", bid="189.90", ask="190.10", last="190.00"))
        hub.set_link(False, error="Connection refused")  # the Redis subscriber lost its server
        o = session.account.buy("AAPL", 10)
        assert (o.status, o.reason) == (pn.OrderStatus.PENDING, "feed disconnected")
        hub.set_link(True)
        assert o.status is pn.OrderStatus.PENDING  # back, but it waits for a quote from the live feed
        hub.publish(pn.Quote("AAPL", bid="190.40", ask="190.60", last="190.50"))
        assert (o.status, o.avg_fill_price) == (pn.OrderStatus.FILLED, D("190.60"))
        await session.aclose()

    asyncio.run(scenario())


def test_real_quotes_follow_regular_hours_unless_chosen(tmp_path: Path, monkeypatch) -> None:
    """pn.connect on the Redis feed (where the Excel reader publishes) trades regular hours; the simulated
    market, a replay and a hub of your own fill at any hour; an explicit setting always wins."""
    from papernb.session import hours_for_feed

    monkeypatch.delenv("PAPERNB_TRADING_HOURS", raising=False)
    url = "redis://127.0.0.1:9"  # never dialled: start=False

    def hours(**kw) -> str:
        s = pn.connect("alice", db=str(tmp_path / "b.duckdb"), start=False, **kw)
        try:
            return s.engine.config.trading_hours
        finally:
            s.close()

    assert hours(feed="redis", redis=url) == "regular"
    assert hours(feed="redis", redis=url, trading_hours="always") == "always"
    assert hours(feed="sim") == "always"
    assert hours(feed=Hub()) == "always"
    monkeypatch.setenv("PAPERNB_TRADING_HOURS", "extended")
    assert hours(feed="redis", redis=url) == "extended"
    assert hours_for_feed("excel", {}, {}) == {"trading_hours": "regular"}
    assert hours_for_feed("excel", {"trading_hours": "always"}, {}) == {}
    assert hours_for_feed("sim", {}, {}) == {}
