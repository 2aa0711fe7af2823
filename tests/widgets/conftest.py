"""Helpers for headless widget scenarios: a real session on a Hub we publish into.

Each scenario runs inside ``asyncio.run``: ``pn.connect`` needs a running loop, and the
panels queue their commands onto it.  Widgets are driven as a trader would (``.value``,
``.click()``) and read back as text from their HTML, by CSS class.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from html.parser import HTMLParser
from pathlib import Path

import ipywidgets as widgets

import papernb as pn
from papernb.feed.hub import Hub


class Live:
    """A running session, its hub, and shortcuts for the scenarios."""

    def __init__(self, session: pn.Session, hub: Hub) -> None:
        self.session = session
        self.hub = hub
        self.broker = session.broker

    def quote(self, symbol: str, **prices: object) -> None:
        self.hub.publish(pn.Quote(symbol, **prices))

    def refresh(self) -> None:
        assert self.session.refresh(force=True)

    async def settle(self, *panels: object) -> None:
        """Let queued clicks and their broker commands run, then push a snapshot."""
        for _ in range(3):
            for p in panels:
                await p.settle()  # type: ignore[attr-defined]
            await asyncio.sleep(0.01)
        self.refresh()


@contextlib.asynccontextmanager
async def live(tmp_path: Path, **settings: object) -> AsyncIterator[Live]:
    hub = Hub()
    session = pn.connect("alice", db=str(tmp_path / "b.duckdb"), feed=hub, start=True, **settings)
    try:
        yield Live(session, hub)
    finally:
        await session.aclose()


class _Texts(HTMLParser):
    def __init__(self, cls: str) -> None:
        super().__init__()
        self.cls = cls
        self.depth = 0  # >0 while inside a matching element
        self.found: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self.depth:
            self.depth += 1
        elif self.cls in classes:
            self.depth = 1
            self.found.append([])

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.found[-1].append(data)


def texts(html: str, cls: str) -> list[str]:
    """The text of every element with CSS class ``cls`` in ``html`` (entities decoded)."""
    p = _Texts(cls)
    p.feed(html)
    p.close()
    return ["".join(parts).strip() for parts in p.found]


def text(html: str, cls: str) -> str:
    """The text of the one element with class ``cls``."""
    found = texts(html, cls)
    assert len(found) == 1, f"expected one .{cls}, found {found!r} in {html[:300]!r}"
    return found[0]


def descendants(root: widgets.Widget) -> list[widgets.Widget]:
    out: list[widgets.Widget] = []
    stack = [root]
    while stack:
        w = stack.pop()
        out.append(w)
        stack.extend(getattr(w, "children", ()) or ())
    return out


def html_values(roots: Iterable[widgets.Widget]) -> list[str]:
    return [w.value for r in roots for w in descendants(r) if isinstance(w, widgets.HTML)]


class UpdateCounter:
    """Counts changes of the HTML values (and chart series) of one panel's widgets."""

    def __init__(self, panel: widgets.Widget) -> None:
        self.count = 0
        self._watched: list[tuple[widgets.Widget, str]] = []
        self.watch(panel)

    def watch(self, panel: widgets.Widget) -> None:
        for w in descendants(panel):
            if isinstance(w, widgets.HTML):
                w.observe(self._bump, names="value")
                self._watched.append((w, "value"))
            if hasattr(w, "revision"):  # a DataTable or Toasts: each custom message bumps it
                w.observe(self._bump, names="revision")
                self._watched.append((w, "revision"))
        for extra in (getattr(panel, "toasts", None),):  # outside the panel's children in a dashboard
            if extra is not None and (extra, "revision") not in self._watched:
                extra.observe(self._bump, names="revision")
                self._watched.append((extra, "revision"))
        lines = getattr(panel, "lines", None)
        if lines is not None:
            lines.observe(self._bump, names="x")  # x and y are sent together (hold_sync)
            self._watched.append((lines, "x"))

    def _bump(self, change: object) -> None:
        self.count += 1

    def reset(self) -> None:
        self.count = 0
