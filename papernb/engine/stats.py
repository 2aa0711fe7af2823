"""Composite statistics of an account: the numbers a trade journal is judged by."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..money import from_units
from .model import RoundTrip, Snapshot

_Q = Decimal("0.0001")


def account_stats(trips: list[RoundTrip], snap: Snapshot, drawdown: tuple[int, int],
                  waited_on_stale_quote: int) -> dict[str, Any]:
    """Trades, win rate, average win/loss, profit factor, expectancy, drawdown, return.

    ``drawdown`` is (deepest fall from a peak, that peak) in units.
    """
    wins = [t.net_pl for t in trips if t.net_pl > 0]
    losses = [t.net_pl for t in trips if t.net_pl < 0]
    n = len(trips)
    gross_win = sum(wins, Decimal(0))
    gross_loss = -sum(losses, Decimal(0))
    dd, peak = drawdown
    dd_pct = (Decimal(dd) * 100 / Decimal(peak)).quantize(_Q) if peak else Decimal(0)
    start = snap.starting_cash
    return {
        "trades": n,
        "wins": len(wins),
        "losses": len(losses),
        "win_rate": (Decimal(len(wins)) / n).quantize(_Q) if n else None,
        "avg_win": (gross_win / len(wins)).quantize(_Q) if wins else None,
        "avg_loss": (-gross_loss / len(losses)).quantize(_Q) if losses else None,
        "profit_factor": (gross_win / gross_loss).quantize(_Q) if gross_loss else None,
        "expectancy": (sum((t.net_pl for t in trips), Decimal(0)) / n).quantize(_Q) if n else None,
        "net_pl": sum((t.net_pl for t in trips), Decimal(0)),
        "largest_win": max(wins) if wins else None,
        "largest_loss": min(losses) if losses else None,
        "avg_holding_s": (sum(t.holding_ns for t in trips) / n / 1e9) if n else None,
        "realized_pl": snap.realized_pl,
        "unrealized_pl": snap.unrealized_pl,
        "fees": snap.fees,
        "equity": snap.equity,
        "max_drawdown": from_units(dd),
        "max_drawdown_pct": dd_pct,
        "total_return_pct": ((snap.equity - start) * 100 / start).quantize(_Q) if start else None,
        "waited_on_stale_quote": waited_on_stale_quote,
    }
