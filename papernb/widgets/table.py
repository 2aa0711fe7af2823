"""One table widget with cell updates: the quote board, positions, the journal, alerts.

An anywidget (``table.js`` is plain ESM shipped as package data: no JS build).  Python keeps
the rows; :meth:`DataTable.update` sends one custom message with only the cells that changed
(and the row order when rows came, went or moved), so a 200-symbol board that refreshes 4
times a second is at most 4 comm messages a second, whatever the quote rate.  A view that
appears later (a page reload, a second display) asks for everything with ``hello``.

Clicks come back as messages: a row (``click``) or one of its action buttons (``action``).
They may arrive on a comm thread and may be forged, so they are handed to ``dispatch`` (the
panel's loop) and checked there: an unknown row or action is dropped.  Cell text is shown
with ``textContent`` in the browser: a symbol or a note can never become markup.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ._format import esc

__all__ = ["Cell", "DataTable"]

log = logging.getLogger(__name__)
_HERE = Path(__file__).resolve().parent

#: (text, extra css classes) or (text, classes, points for a sparkline)
Cell = tuple[str, str] | tuple[str, str, list[float]]


class DataTable(anywidget.AnyWidget):
    """``DataTable(columns=[(key, title)...], actions=[(name, label, tooltip)...])``; rows by key."""

    _esm = (_HERE / "table.js").read_text()
    columns = traitlets.List().tag(sync=True)
    actions = traitlets.List().tag(sync=True)
    table_class = traitlets.Unicode("").tag(sync=True)
    row_class = traitlets.Unicode("papernb-row").tag(sync=True)
    empty = traitlets.Unicode("Nothing yet.").tag(sync=True)
    #: messages sent so far (not synced: tests and benches count it)
    revision = traitlets.Int(0)

    def __init__(self, *, columns: Sequence[tuple[str, str]], actions: Sequence[tuple[str, str, str]] = (),
                 dispatch: Callable[..., None] | None = None, **kwargs: Any) -> None:
        super().__init__(columns=[list(c) for c in columns], actions=[list(a) for a in actions], **kwargs)
        self._dispatch = dispatch or (lambda fn, *args: fn(*args))
        self._order: list[str] = []
        self._rows: dict[str, dict[str, tuple]] = {}
        self._row_css: dict[str, str] = {}
        self._handlers: list[Callable[[str, str | None], None]] = []
        self.on_msg(self._on_msg)

    # -- Python -> browser ------------------------------------------------------------------------
    @property
    def row_keys(self) -> list[str]:
        """The row keys, in order."""
        return list(self._order)

    def row(self, key: str) -> dict[str, tuple] | None:
        """The cells of one row (column -> cell), or None."""
        r = self._rows.get(key)
        return None if r is None else dict(r)

    def update(self, rows: Iterable[tuple[str, dict[str, Cell]]], *, row_css: dict[str, str] | None = None) -> bool:
        """Show ``rows`` ((key, {column: cell}) in order) and send what changed in one message.

        ``row_css`` gives rows extra classes (a selected row).  Returns True when a message was sent.
        """
        cols = {c[0] for c in self.columns}
        changed: dict[str, dict[str, list]] = {}
        new_rows: dict[str, dict[str, tuple]] = {}
        order: list[str] = []
        for key, cells in rows:
            key = str(key)
            old = self._rows.get(key)
            merged: dict[str, tuple] = {}
            diff: dict[str, list] = {}
            for col, cell in cells.items():
                if col not in cols:
                    continue
                cell = tuple(cell)
                merged[col] = cell
                if old is None or old.get(col) != cell:
                    diff[col] = list(cell)
            new_rows[key] = merged
            order.append(key)
            if diff:
                changed[key] = diff
        row_changes: dict[str, str] = {}
        if row_css is not None:
            for key in order:
                css = row_css.get(key, "")
                if self._row_css.get(key, "") != css:
                    row_changes[key] = css
            self._row_css = {k: v for k, v in row_css.items() if k in new_rows}
        msg: dict[str, Any] = {"kind": "update"}
        if order != self._order:
            msg["order"] = order
        if changed:
            msg["cells"] = changed
        if row_changes:
            msg["rows"] = row_changes
        self._rows, self._order = new_rows, order
        if len(msg) == 1:
            return False
        self._send_msg(msg)
        return True

    def _send_full(self) -> None:
        self._send_msg({"kind": "full", "order": list(self._order),
                        "cells": {k: {c: list(v) for c, v in r.items()} for k, r in self._rows.items()},
                        "rows": {k: v for k, v in self._row_css.items() if v}})

    def _send_msg(self, msg: dict[str, Any]) -> None:
        self.revision += 1
        self.send(msg)

    # -- browser -> Python ------------------------------------------------------------------------
    def on_row(self, callback: Callable[[str, str | None], None]) -> None:
        """``callback(key, action)`` on the loop for a row click (action None) or an action button."""
        self._handlers.append(callback)

    def click(self, key: str, action: str | None = None) -> None:
        """What a click in the browser does (tests, notebooks): the same checks, the same handlers."""
        content = {"kind": "click", "key": key} if action is None else {"kind": "action", "key": key,
                                                                         "action": action}
        self._on_msg(self, content, [])

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        # may run on a comm thread: only hand over to the loop
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        if kind == "hello":
            self._dispatch(self._send_full)
        elif kind in ("click", "action"):
            self._dispatch(self._clicked, content.get("key"), content.get("action") if kind == "action" else None)

    def _clicked(self, key: Any, action: Any) -> None:
        if not isinstance(key, str) or key not in self._rows:
            log.info("table %s: click on an unknown row %r dropped", self.table_class, key)
            return
        if action is not None and action not in {a[0] for a in self.actions}:
            log.info("table %s: unknown action %r dropped", self.table_class, action)
            return
        for cb in tuple(self._handlers):
            cb(key, action)

    # -- text (tests, notebooks) -------------------------------------------------------------------
    def html(self) -> str:
        """The table as the browser shows it, as HTML (each cell classed ``papernb-col-<column>``)."""
        if not self._order:
            return f'<div class="papernb-empty {esc(self.table_class)}-empty">{esc(self.empty)}</div>'
        heads = "".join(f'<th class="papernb-col-{esc(k)}{" papernb-sym" if k == "symbol" else ""}">{esc(t)}</th>'
                        for k, t in self.columns)
        body = []
        for key in self._order:
            r = self._rows[key]
            tds = []
            for k, _ in self.columns:
                cell = r.get(k, ("", ""))
                cls = f"papernb-col-{k}" + (" papernb-sym" if k == "symbol" else "") + (f" {cell[1]}" if cell[1] else "")
                tds.append(f'<td class="{esc(cls)}">{esc(cell[0])}</td>')
            css = f"{self.row_class} {self._row_css.get(key, '')}".strip()
            body.append(f'<tr class="{esc(css)}" data-key="{esc(key)}">{"".join(tds)}</tr>')
        return (f'<table class="papernb-table {esc(self.table_class)}"><thead><tr>{heads}</tr></thead>'
                f'<tbody>{"".join(body)}</tbody></table>')
