"""The banner's market state and trading-hours badge, at exact New York times (the session's clock is set)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import papernb as pn
import papernb.session
from papernb.widgets import AccountBanner
from tests.widgets.conftest import live, text, texts

NY = ZoneInfo("America/New_York")


class Clock:
    """The session's wall clock, set by the test."""

    def __init__(self, when: str) -> None:
        self.set(when)

    def set(self, when: str) -> None:
        self.ns = int(datetime.fromisoformat(when).replace(tzinfo=NY).timestamp()) * 1_000_000_000

    def __call__(self) -> int:
        return self.ns


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock("2024-11-28 10:00")
    monkeypatch.setattr(papernb.session, "wall_ns", c)
    return c


def test_banner_names_the_holiday_and_shows_no_hours_badge_when_orders_fill_at_any_hour(tmp_path, clock):
    async def scenario():
        async with live(tmp_path) as mk:
            banner = AccountBanner(mk.broker)
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            mk.refresh()
            html = banner.html.value
            assert text(html, "papernb-market-state") == "Holiday: Thanksgiving Day"
            assert texts(html, "papernb-market-holiday") == ["Holiday: Thanksgiving Day"]
            assert texts(html, "papernb-trading-hours") == []  # "always": nothing to say
            clock.set("2024-11-29 10:00")
            mk.refresh()
            assert text(banner.html.value, "papernb-market-state") == "Early close 13:00"
            banner.close()

    asyncio.run(scenario())


def test_banner_says_regular_hours_and_when_the_market_opens(tmp_path, clock):
    async def scenario():
        clock.set("2024-11-30 11:00")  # a Saturday
        async with live(tmp_path, trading_hours="regular") as mk:
            banner = AccountBanner(mk.broker)
            mk.quote("AAPL", bid=189.9, ask=190.1, last=190.0)
            mk.refresh()
            html = banner.html.value
            assert text(html, "papernb-market-state") == "Market closed until Mon 09:30"
            assert text(html, "papernb-trading-hours") == "Regular hours"
            o = mk.session.account.buy("AAPL", 10)
            assert (o.status, o.reason) == (pn.OrderStatus.PENDING, "market closed: waits for the open Mon 09:30")
            clock.set("2024-12-02 08:00")
            mk.refresh()
            assert text(banner.html.value, "papernb-market-state") == "Pre-market"
            clock.set("2024-12-02 09:30")
            mk.quote("AAPL", bid=190.4, ask=190.6, last=190.5)
            mk.refresh()
            assert text(banner.html.value, "papernb-market-state") == "Market open"
            assert o.status is pn.OrderStatus.FILLED
            clock.set("2024-12-02 16:30")
            mk.refresh()
            assert text(banner.html.value, "papernb-market-state") == "After hours"
            banner.close()

    asyncio.run(scenario())


def test_banner_sends_nothing_while_the_market_state_stays_the_same(tmp_path, clock):
    async def scenario():
        async with live(tmp_path, trading_hours="extended") as mk:
            banner = AccountBanner(mk.broker)
            mk.refresh()
            before = banner.html.value
            assert text(before, "papernb-trading-hours") == "Extended hours"
            clock.set("2024-11-28 10:00:30")
            mk.refresh()
            assert banner.html.value == before
            banner.close()

    asyncio.run(scenario())
