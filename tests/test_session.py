"""A live session: batches from the feed go through the engine's quote loop, and a strategy
written for backtests runs on them (``session.run``)."""

from __future__ import annotations

import asyncio
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
