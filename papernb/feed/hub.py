"""The in-process hub: every source publishes here, every consumer subscribes here.

With no Redis configured, sources publish straight into a :class:`Hub`.  With Redis, a
``RedisSubscriber`` publishes into the hub instead, so the session reads quotes and
health from the same object whichever bus is underneath.  Callbacks run synchronously
on the publisher's thread (the event loop), in subscription order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..quote import Quote

__all__ = ["FeedHealth", "Hub"]

log = logging.getLogger(__name__)

Callback = Callable[[list[Quote]], object]


@dataclass(frozen=True)
class FeedHealth:
    """What the UI shows about the feed; an immutable snapshot taken by :meth:`Hub.health`.

    ``ages`` is seconds since the last live message per symbol, measured on this machine's
    monotonic clock, so a skewed clock on the publishing PC cannot make quotes look fresh;
    quotes only known from a snapshot (Redis resync) have no age yet.  ``quotes`` counts
    live quotes.
    """

    connected: bool
    link: str
    quotes: int
    dropped: int
    gaps: int
    reconnects: int = 0
    last_error: str | None = None
    ages: dict[str, float] = field(default_factory=dict)
    #: quotes refused because their ordering could not be real (a seq far past the source's)
    suspicious: int = 0
    #: quote subscribers that raised (logged; the feed went on for the others)
    subscriber_errors: int = 0

    @property
    def age(self) -> float | None:
        """Seconds since the newest message on any symbol (None before the first)."""
        return min(self.ages.values()) if self.ages else None



class Hub:
    """Fan quotes out to subscribers and remember the latest quote per symbol."""

    def __init__(self, link: str = "in-process") -> None:
        self._subs: list[Callback] = []
        self.latest: dict[str, Quote] = {}
        self._seen: dict[str, int] = {}
        self.quotes = 0
        self.dropped = 0
        self.gaps = 0
        self.suspicious = 0
        self.reconnects = 0
        self.errors = 0
        self.connected = True
        self.link = link
        self.last_error: str | None = None
        self._had_link = True
        self.in_snapshot = False
        self._link_subs: list[Callable[[bool], object]] = []

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        """Call ``callback(list_of_quotes)`` for every batch; returns the unsubscribe function."""
        self._subs.append(callback)

        def unsubscribe() -> None:
            if callback in self._subs:
                self._subs.remove(callback)

        return unsubscribe

    def publish(self, quotes: Iterable[Quote] | Quote, *, snapshot: bool = False) -> None:
        """Hand one batch to every subscriber.  A failing subscriber is logged, not fatal.

        ``snapshot=True`` marks a batch read back from a latest-quote table (a Redis resync):
        those quotes may be old, so they do not count as signs of life in :meth:`health`,
        and subscribers can check ``hub.in_snapshot`` (e.g. not to restamp them as fresh).
        """
        if isinstance(quotes, Quote):  # a Quote is a tuple: never iterate its fields
            batch = [quotes]
        else:
            batch = quotes if isinstance(quotes, list) else list(quotes)
        if not batch:
            return
        latest = self.latest
        if snapshot:
            for q in batch:
                latest[q._sym] = q
        else:
            now = time.monotonic_ns()
            seen = self._seen
            for q in batch:
                latest[q._sym] = q
                seen[q._sym] = now
            self.quotes += len(batch)
        self.in_snapshot = snapshot
        try:
            for cb in tuple(self._subs):
                try:
                    cb(batch)
                except Exception:  # one broken consumer must not stop the feed for the others
                    self.errors += 1
                    log.exception("quote subscriber %r failed", cb)
        finally:
            self.in_snapshot = False

    def on_link(self, callback: Callable[[bool], object]) -> Callable[[], None]:
        """Call ``callback(connected)`` whenever the bus underneath connects or disconnects."""
        self._link_subs.append(callback)

        def unsubscribe() -> None:
            if callback in self._link_subs:
                self._link_subs.remove(callback)

        return unsubscribe

    def _link_changed(self, was: bool) -> None:
        if self.connected != was:
            for cb in tuple(self._link_subs):
                try:
                    cb(self.connected)
                except Exception:
                    log.exception("link subscriber %r failed", cb)

    def count_dropped(self, n: int = 1) -> None:
        """Sources and the Redis subscriber report refused quotes here, so the UI sees them."""
        self.dropped += n

    def count_suspicious(self, n: int = 1) -> None:
        """Quotes whose seq cannot be real (injected, or a broken publisher): refused, not gaps."""
        self.suspicious += n

    def attach(self, link: str) -> None:
        """A bus (Redis subscriber) takes over: disconnected until it first connects."""
        was = self.connected
        self.link, self.connected, self._had_link = link, False, False
        self._link_changed(was)

    def set_link(self, connected: bool, link: str | None = None, error: str | None = None) -> None:
        """Called by the bus underneath (Redis subscriber) when the connection changes."""
        if connected and not self.connected and self._had_link:
            self.reconnects += 1
        was = self.connected
        self._had_link = self._had_link or connected
        self.connected = connected
        if link is not None:
            self.link = link
        if error is not None or connected:
            self.last_error = error
        self._link_changed(was)

    def health(self) -> FeedHealth:
        """An immutable snapshot for the UI (cheap: call it at the UI's refresh rate)."""
        now = time.monotonic_ns()
        ages = {s: (now - t) / 1e9 for s, t in self._seen.items()}
        return FeedHealth(self.connected, self.link, self.quotes, self.dropped, self.gaps,
                          self.reconnects, self.last_error, ages, self.suspicious, self.errors)
