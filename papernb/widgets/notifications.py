"""Notifications: fills, partial fills, rejections, expiries, the engine's cancels, price alerts and the feed.

They come from the broker's typed updates (``subscribe_events``), so an order placed from
Python in another cell, or by a strategy, notifies exactly as one placed from the ticket,
and the engine service's RemoteBroker gives the same.  Each shows as a toast for about 5 s
(a corner of the page, never taking the focus) and stays in the day's list.  What arrived
between two refreshes is sent together: at most one message per refresh.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as widgets
import traitlets

from ..broker import AlertUpdate, OrderUpdate, Snapshot
from ._base import Panel
from ._format import _NY, clock, esc, label, price
from .banner import feed_status

__all__ = ["Notifications", "Toasts", "describe_update"]

_HERE = Path(__file__).resolve().parent
_EVENTS = {"FILLED": "filled", "PARTIALLY_FILLED": "partially_filled", "REJECTED": "rejected", "EXPIRED": "expired",
           "CANCELLED": "cancelled"}  # an order's status -> the update that brought it there
_ESM = (_HERE / "toasts.js").read_text()
_NS = 1_000_000_000


class Toasts(anywidget.AnyWidget):
    """Short notifications in a corner of the page for ``seconds``; they never take the focus."""

    _esm = _ESM
    seconds = traitlets.Float(5.0).tag(sync=True)
    #: messages sent so far (not synced)
    revision = traitlets.Int(0)

    def show(self, items: Sequence[tuple[str, str]]) -> None:
        """Show (level, text) items, in one message."""
        if items:
            self.revision += 1
            self.send({"kind": "toasts", "items": [{"level": lv, "text": tx} for lv, tx in items]})


def _order_words(o: Any) -> str:
    return f"{label(o.side)} {o.qty:,} {o.symbol} {label(o.type).lower()}"


def describe_update(update: Any) -> tuple[str, str] | None:
    """(level, text) for an order or alert update worth a notification, or None.

    Levels: ``ok`` (fills), ``error`` (rejections), ``warn`` (expiries, the engine's cancels),
    ``info`` (alerts).  A cancel the trader asked for is not news; accepted, rested, replaced
    and triggered orders are shown where they were placed.
    """
    if isinstance(update, OrderUpdate):
        o = update.order
        if update.event == "filled":
            return "ok", f"Filled: {label(o.side)} {o.filled_qty:,} {o.symbol} @ {price(o.avg_fill_price)} (order {o.id})"
        if update.event == "partially_filled":
            return "ok", (f"Partially filled: {label(o.side)} {o.filled_qty:,} of {o.qty:,} {o.symbol}, avg "
                          f"{price(o.avg_fill_price)} (order {o.id})")
        if update.event == "rejected":
            return "error", f"Rejected: {_order_words(o)} (order {o.id}): {o.reason or 'no reason given'}"
        if update.event == "expired":
            return "warn", f"Expired: {_order_words(o)} (order {o.id}), {o.reason or 'at the session close'}"
        if update.event == "cancelled" and o.reason and o.reason != "cancelled by you":
            return "warn", f"Cancelled: {_order_words(o)} (order {o.id}): {o.reason}"
        return None
    if isinstance(update, AlertUpdate) and update.event == "triggered":
        a = update.alert
        level = a.above if a.direction == "above" else a.below
        return "info", f"Alert: {a.symbol} at {price(a.price)}, {a.direction} {price(level)} (alert {a.id})"
    return None


class Notifications(Panel):
    """The day's notifications (newest first) and their toasts; ``items`` holds (ts ns, level, text).

    A page opened mid-day starts the list with the day's orders so far (fills, rejections, expiries, the
    engine's cancels); alerts and feed changes from before it opened are not kept anywhere to show.
    """

    css_class = "papernb-notifications"
    max_items = 500

    def __init__(self, broker: Any, *, toasts_inside: bool = True, **kwargs: Any) -> None:
        self._toasts_inside = toasts_inside  # the dashboard shows the toasts outside its tabs
        super().__init__(broker, **kwargs)

    def _build(self) -> list[widgets.Widget]:
        self.toasts = Toasts()
        self.toasts.add_class("papernb-toasts-widget")
        self.list = widgets.HTML()
        self.list.add_class("papernb-notifications-list")
        self.items: list[tuple[int, str, str]] = []
        self._pending: list[tuple[str, str]] = []
        self._feed: str | None = None
        self._feed_was_live = False
        self._drawn: tuple[int, int] | None = None
        self._listen_events(self._on_update)
        self._seed()
        title = widgets.HTML('<div class="papernb-title">Notifications</div>')
        return [title, self.toasts, self.list] if self._toasts_inside else [title, self.list]

    def _seed(self) -> None:
        """The day so far, for a page opened (or reloaded) mid-day: today's fills, rejections, expiries and
        the engine's cancels from the order list (in the list only: old news makes no toast)."""
        now = self.broker.now()
        if not now:
            return
        day = datetime.fromtimestamp(now / 1e9, UTC).astimezone(_NY)
        midnight = int(datetime(day.year, day.month, day.day, tzinfo=_NY).timestamp()) * _NS
        past = []
        for o in self.broker.orders():
            event = _EVENTS.get(o.status.value)
            if event is not None and o.updated_at >= midnight:
                said = describe_update(OrderUpdate(event, o, 0, o.updated_at))
                if said is not None:
                    past.append((o.updated_at, *said))
        self.items = sorted(past, key=lambda item: item[0])[-self.max_items:]

    def _on_update(self, update: Any) -> None:
        said = describe_update(update)
        if said is not None:
            self.notify(*said, ts=getattr(update, "ts", None))

    def notify(self, level: str, text: str, ts: int | None = None) -> None:
        """Add a notification: a toast at the next refresh and a line in the day's list."""
        self.items.append((ts or time.time_ns(), level, text))
        if len(self.items) > self.max_items:
            del self.items[: len(self.items) - self.max_items]
        self._pending.append((level, text))

    def _watch_feed(self) -> None:
        state, text = feed_status(self.broker.feed_health(), self.broker.stale_after)
        was, self._feed = self._feed, state
        if state == "live":
            if was in ("stale", "disconnected") and self._feed_was_live:
                self.notify("ok", f"Quotes are live again ({text})")
            self._feed_was_live = True
        elif state != was and self._feed_was_live:  # not at start-up, before the first live quote
            self.notify("error" if state == "disconnected" else "warn", f"Feed {text}")

    def render(self, snap: Snapshot) -> None:
        self._watch_feed()
        pending, self._pending = self._pending, []
        self.toasts.show(pending)
        key = (len(self.items), self.items[-1][0] if self.items else 0)
        if key == self._drawn:
            return
        self._drawn = key
        if not self.items:
            html = '<div class="papernb-empty">No notifications yet today.</div>'
        else:
            lines = "".join(f'<li class="papernb-note papernb-note-{esc(lv)}"><span class="papernb-note-time">'
                            f'{esc(clock(ts))}</span> <span class="papernb-note-text">{esc(tx)}</span></li>'
                            for ts, lv, tx in reversed(self.items))
            html = f'<ul class="papernb-notes">{lines}</ul>'
        self._set(self.list, value=html)

    def close(self) -> None:
        self.toasts.close()
        super().close()
