"""Shared helpers for engine scenarios: a fixed start time and a quote maker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import papernb as pn

T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC = 09:30 New York (a Tuesday)
SEC = 1_000_000_000


class Market:
    """Feeds quotes into a book with a clock that moves one second per quote by default."""

    def __init__(self, book: pn.Engine, t: int = T0) -> None:
        self.book = book
        self.t = t

    def quote(self, symbol: str, bid: object = None, ask: object = None, last: object = None,
              dt: float = 1.0, **kw: object) -> pn.Quote:
        self.t += int(dt * SEC)
        q = pn.Quote(symbol, bid=bid, ask=ask, last=last, ts=self.t, **kw)
        self.book.on_quote(q)
        return q

    def advance(self, seconds: float) -> None:
        self.t += int(seconds * SEC)
        self.book.advance(self.t)


@pytest.fixture
def book() -> Iterator[pn.Engine]:
    b = pn.Engine(":memory:")
    yield b
    b.close()


@pytest.fixture
def market(book: pn.Engine) -> Market:
    return Market(book)


@pytest.fixture
def acct(book: pn.Engine) -> pn.Account:
    return book.account("alice")
