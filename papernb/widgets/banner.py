"""The account banner: who, how much, whether the quotes are live, and whether the market is open."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from ..broker import Snapshot
from ._base import ConfirmBar, Panel, message_html
from ._format import esc, money, pl_class

__all__ = ["AccountBanner", "feed_status", "market_html"]

#: The badge shown when orders fill only in some hours (``trading_hours``), with what it means.
_HOURS_BADGES = {
    "regular": ("Regular hours", "orders fill from the open to the close on trading days (New York); "
                                 "outside them they wait for the open"),
    "extended": ("Extended hours", "orders fill 04:00-20:00 New York on trading days (17:00 on early-close "
                                   "days); outside them they wait"),
}


def market_html(state: Any) -> str:
    """The market state (a ``MarketState``) and, unless orders fill at any hour, the trading-hours badge.

    Its text changes only when the market opens, closes or its next open changes, so the banner
    sends nothing more between those.
    """
    slug = state.state.replace(" ", "-")
    out = f'<span class="papernb-market-state papernb-market-{slug}">{esc(state.text)}</span>'
    badge = _HOURS_BADGES.get(state.trading_hours)
    if badge is not None:
        out += (f'<span class="papernb-badge papernb-trading-hours" title="{esc(badge[1])}">'
                f"{esc(badge[0])}</span>")
    return out


def feed_status(health: Any, stale_after: float | None) -> tuple[str, str]:
    """(state, text) from a FeedHealth: state is ``live``, ``stale`` or ``disconnected``.

    ``stale_after`` is the engine's own threshold (``broker.stale_after``): the banner calls the
    feed stale exactly when the engine stops filling on its quotes.

    The age is shown in whole seconds ("<1 s" under a second), so a healthy feed shows
    the same text refresh after refresh and the banner sends nothing.
    """
    age = health.age
    if age is None:
        age_text = "no quotes yet"
    elif age < 1:
        age_text = "quote <1 s old"
    else:
        age_text = f"last quote {int(age)} s old"
    if not health.connected:
        return "disconnected", f"disconnected · {age_text}"
    if age is None or (stale_after is not None and age > stale_after):
        return "stale", f"stale · {age_text}"
    return "live", f"live · {age_text}"


_METRICS = (
    ("equity", "Equity", False),
    ("cash", "Cash", False),
    ("buying-power", "Buying power", False),
    ("reserved", "Reserved", False),
    ("day-pl", "Day P/L", True),
    ("unrealized", "Unrealized P/L", True),
    ("realized", "Realized P/L", True),
)


def reset_question(snap: Snapshot) -> str:
    """What Reset will do, in the words of Engine 2's reset."""
    n_orders, n_pos = len(snap.open_orders), len(snap.positions)
    steps = []
    if n_orders:
        steps.append(f"cancels {n_orders} open order{'s' if n_orders != 1 else ''}")
    if n_pos:
        steps.append(f"closes {n_pos} position{'s' if n_pos != 1 else ''} at {'their' if n_pos != 1 else 'its'} last "
                     f"mark{'s' if n_pos != 1 else ''} (each round trip keeps its verdict in the journal)")
    steps.append(f"starts over with {money(snap.starting_cash)} cash")
    did = ", ".join(steps[:-1]) + (" and " if len(steps) > 1 else "") + steps[-1]
    return (f"Reset account {snap.account}? This {did}. Order history and the journal of epoch {snap.epoch} are "
            f"kept (see them with epoch='all'); listings then show the new epoch.")


class AccountBanner(Panel):
    """Account name, equity, cash, buying power, reserved, day / unrealized / realized P/L, feed status,
    market state ("Market open", "Market closed until Mon 09:30", "Holiday: Thanksgiving Day", ...)
    and, when orders fill only in regular (or extended) hours, a badge that says so.

    One ``HTML`` child, so a refresh is at most one message; each number sits in an
    element with its own class (``papernb-equity``, ``papernb-cash``, ...).
    """

    css_class = "papernb-banner"

    def _build(self) -> list[widgets.Widget]:
        self.html = widgets.HTML()
        self.html.add_class("papernb-banner-html")
        self.reset_button = widgets.Button(description="Reset account…", tooltip="start over with fresh cash",
                                           layout=widgets.Layout(width="auto"))
        self.reset_button.add_class("papernb-reset")
        self.reset_button.on_click(lambda _b: self._soon(self.ask_reset))
        self.confirm = ConfirmBar(self, "papernb-reset-confirm")
        self.message = widgets.HTML()
        self.message.add_class("papernb-banner-message")
        actions = widgets.HBox([self.reset_button, self.message], layout=widgets.Layout(align_items="center",
                                                                                         flex_flow="row wrap"))
        return [self.html, actions, self.confirm]

    def ask_reset(self) -> None:
        """Reset pressed: say what reset does (Engine 2's reset); Confirm sends ``broker.reset``."""
        snap = self.broker.snapshot()
        cash = snap.starting_cash
        self._set(self.message, value="")
        self.confirm.ask(reset_question(snap), "Reset account", lambda: self._reset(cash))

    def _reset(self, cash: Any) -> None:
        def done(snap: Snapshot | None, error: str | None) -> None:
            if error is not None or snap is None:
                self._set(self.message, value=message_html(error or "no answer from the broker", "error"))
                return
            self._set(self.message, value=message_html(
                f"account reset: epoch {snap.epoch} starts with {money(snap.cash)}", "ok"))
            self.redraw()

        self._run(lambda: self.broker.reset(cash), done)

    def render(self, snap: Snapshot) -> None:
        values = {
            "equity": snap.equity,
            "cash": snap.cash,
            "buying-power": snap.buying_power,
            "reserved": snap.reserved,
            "day-pl": snap.day_pl,
            "unrealized": snap.unrealized_pl,
            "realized": snap.realized_pl,
        }
        state, text = feed_status(self.broker.feed_health(), self.broker.stale_after)
        badge = '<span class="papernb-badge papernb-simulated">SIMULATED</span>' if self.broker.simulated else ""
        market = getattr(self.broker, "market_state", None)  # a Broker from before Broker v2 has none
        if market is not None:
            badge += market_html(market())
        parts = [
            '<div class="papernb-banner-box">',
            '<div class="papernb-metric">',
            f'<span class="papernb-account">{esc(self.broker.account_name)}</span>',
            f'<span class="papernb-feed-status papernb-feed-{state}">{esc(text)}</span>',
            f"{badge}</div>",
        ]
        for key, title, is_pl in _METRICS:
            v = values[key]
            cls = f"papernb-{key} " + (pl_class(v) if is_pl else "")
            shown = money(v, sign=is_pl)
            parts.append(f'<div class="papernb-metric"><span class="papernb-metric-label">{esc(title)}</span>'
                         f'<span class="papernb-metric-value {cls.strip()}">{esc(shown)}</span></div>')
        parts.append("</div>")
        self._set(self.html, value="".join(parts))
