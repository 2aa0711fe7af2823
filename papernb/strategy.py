"""A strategy, normalised: the same object runs in ``pn.backtest`` and live with ``session.run``.

A strategy is a function ``on_quote(ctx, quote)`` or an object (or class) with ``on_quote``
and optional ``on_fill(ctx, fill)``, ``on_start(ctx)``, ``on_end(ctx)``.  ``ctx`` is the
:class:`~papernb.Account` it trades.  The runner hands it each quote right after the engine
matched on it, and every fill of its account before the next quote it sees, in both worlds.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from .engine import Account
from .errors import InvalidInput
from .quote import Quote

__all__ = ["Strategy", "StrategyRunner"]


class Strategy:
    """The user's strategy as four callables (``on_fill``, ``on_start``, ``on_end`` may be None)."""

    def __init__(self, strategy: Any) -> None:
        if isinstance(strategy, type):
            strategy = strategy()
        self.obj = strategy
        if callable(getattr(strategy, "on_quote", None)):
            self.on_quote = strategy.on_quote
        elif callable(strategy):
            self.on_quote = strategy
        else:
            raise InvalidInput("a strategy is a function on_quote(ctx, quote) or an object with on_quote")
        self.on_fill = getattr(strategy, "on_fill", None)
        self.on_start = getattr(strategy, "on_start", None)
        self.on_end = getattr(strategy, "on_end", None)


class StrategyRunner:
    """Drives one strategy on one account: start, a step per quote (fills first), end."""

    def __init__(self, strategy: Any, ctx: Account) -> None:
        self.strategy = strategy if isinstance(strategy, Strategy) else Strategy(strategy)
        self.ctx = ctx
        done = ctx.fills(epoch="all")
        self._last_fill = done[-1].id if done else 0

    def start(self) -> None:
        if self.strategy.on_start is not None:
            self.strategy.on_start(self.ctx)

    def end(self) -> None:
        if self.strategy.on_end is not None:
            self.strategy.on_end(self.ctx)

    def deliver_fills(self) -> None:
        """Hand the strategy every fill of its account it has not heard of, in order."""
        on_fill = self.strategy.on_fill
        if on_fill is None:
            return
        for f in self.ctx.fills_after(self._last_fill):
            self._last_fill = f.id
            on_fill(self.ctx, f)

    def step_function(self) -> Callable[[Quote], object]:
        """What the engine calls after matching each quote (``Engine.on_quotes(..., then=)``)."""
        strat, ctx = self.strategy, self.ctx
        if strat.on_fill is None:
            return partial(strat.on_quote, ctx)  # the common case: nothing between quotes to hand over
        deliver, on_quote = self.deliver_fills, strat.on_quote

        def step(q: Quote) -> None:
            deliver()
            on_quote(ctx, q)
            deliver()

        return step
