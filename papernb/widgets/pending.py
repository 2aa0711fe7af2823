"""Pending orders: every open order with what it holds, inline Edit (qty / limit / stop), Cancel, Cancel all."""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets

from ..broker import OrderType, OrderView, Snapshot
from ..errors import InvalidOrder
from ._base import Panel, message_html, parse_price, parse_qty
from ._format import esc, label, money, price

__all__ = ["PendingOrders"]

_HEAD = (("id", "Id"), ("symbol", "Symbol"), ("side", "Side"), ("qty", "Qty"), ("filled", "Filled"), ("type", "Type"),
         ("limit", "Limit"), ("stop", "Stop"), ("tif", "TIF"), ("status", "Status"), ("holds", "Holds"),
         ("review", "Review"))
_HAS_LIMIT = (OrderType.LIMIT, OrderType.STOP_LIMIT)
_HAS_STOP = (OrderType.STOP, OrderType.STOP_LIMIT)


def countdown(order: OrderView, now: int) -> str:
    """Seconds left in the review window (``3 s``), or "" once the order may fill."""
    left = order.eligible_at - now
    return f"{math.ceil(left / 1e9)} s" if left > 0 else ""


def holds(o: OrderView) -> str:
    """What an open order holds: ``holds $1,899.00`` (cash) or ``holds 10 shares`` (or both)."""
    parts = []
    if o.reserved_cash:
        parts.append(money(o.reserved_cash))
    if o.reserved_shares:
        parts.append(f"{o.reserved_shares:,} share{'s' if o.reserved_shares != 1 else ''}")
    return "holds " + " + ".join(parts) if parts else ""


def order_cells(o: OrderView, now: int) -> str:
    """One order as a row of grid cells (classes ``papernb-col-<column>``; symbol ``papernb-sym``)."""
    cells = (
        ("id", str(o.id)),
        ("symbol", o.symbol),
        ("side", label(o.side)),
        ("qty", f"{o.qty:,}"),
        ("filled", f"{o.filled_qty:,}"),
        ("type", label(o.type)),
        ("limit", price(o.limit) if o.limit is not None else ""),
        ("stop", price(o.stop) if o.stop is not None else ""),
        ("tif", label(o.tif)),
        ("status", label(o.status)),
        ("holds", holds(o)),
        ("review", countdown(o, now)),
    )
    spans = "".join(
        f'<span class="papernb-col-{k}{" papernb-sym" if k == "symbol" else ""}">{esc(v)}</span>' for k, v in cells)
    note = f'<div class="papernb-order-note papernb-col-reason">{esc(o.reason)}</div>' if o.reason else ""
    return f'<div class="papernb-order-cells">{spans}</div>{note}'


class _OrderRow(widgets.VBox):
    """One pending order: cells, Edit, Cancel, its error, and the inline editor."""

    def __init__(self, panel: PendingOrders, order: OrderView) -> None:
        self.panel = panel
        self.order = order
        self.cells = widgets.HTML(layout=widgets.Layout(flex="0 1 auto", min_width="0"))
        self.edit_button = widgets.Button(description="Edit", layout=widgets.Layout(width="56px"),
                                          tooltip="change quantity or price")
        self.cancel_button = widgets.Button(description="Cancel", layout=widgets.Layout(width="64px"),
                                            button_style="warning", tooltip="cancel this order")
        self.error = widgets.HTML()
        self.qty = widgets.Text(description="Qty", layout=widgets.Layout(width="150px"))
        self.limit = widgets.Text(description="Limit", layout=widgets.Layout(width="160px"))
        self.stop = widgets.Text(description="Stop", layout=widgets.Layout(width="160px"))
        for w in (self.qty, self.limit, self.stop):
            w.style.description_width = "40px"
        self.save_button = widgets.Button(description="Save", button_style="primary",
                                          layout=widgets.Layout(width="60px"))
        self.close_button = widgets.Button(description="Close", layout=widgets.Layout(width="60px"))
        self.editor = widgets.HBox([self.qty, self.limit, self.stop, self.save_button, self.close_button],
                                   layout=widgets.Layout(display="none"))
        for b in (self.edit_button, self.cancel_button):
            b.layout.flex = "0 0 auto"
        self.line = widgets.HBox([self.cells, self.edit_button, self.cancel_button],
                                 layout=widgets.Layout(align_items="center"))
        super().__init__([self.line, self.error, self.editor])
        self.add_class("papernb-order-row")
        self.add_class(f"papernb-order-{order.id}")
        self.cells.add_class("papernb-order-html")
        self.edit_button.add_class("papernb-edit")
        self.cancel_button.add_class("papernb-cancel")
        self.error.add_class("papernb-row-error")
        self.qty.add_class("papernb-edit-qty")
        self.limit.add_class("papernb-edit-limit")
        self.stop.add_class("papernb-edit-stop")
        self.save_button.add_class("papernb-save")
        self.close_button.add_class("papernb-edit-close")
        self.editor.add_class("papernb-editor")
        # callbacks only enqueue onto the loop
        self.edit_button.on_click(lambda _b: panel._soon(self.open_editor))
        self.close_button.on_click(lambda _b: panel._soon(self.close_editor))
        self.save_button.on_click(lambda _b: panel._soon(self.save))
        self.cancel_button.on_click(lambda _b: panel._soon(self.cancel))

    def close(self) -> None:
        for w in (self.cells, self.edit_button, self.cancel_button, self.error, self.qty, self.limit, self.stop,
                  self.save_button, self.close_button, self.editor, self.line):
            w.close()
        super().close()

    @property
    def editing(self) -> bool:
        return self.editor.layout.display != "none"

    def update(self, order: OrderView, now: int) -> None:
        self.order = order
        Panel._set(self.cells, value=order_cells(order, now))

    def show_error(self, message: str | None) -> None:
        text = f'<span class="papernb-error">{esc(message[:1].upper() + message[1:])}</span>' if message else ""
        Panel._set(self.error, value=text)

    # -- edit ------------------------------------------------------------------------------
    def open_editor(self) -> None:
        o = self.order
        self.qty.value = str(o.qty)
        self.limit.value = "" if o.limit is None else str(o.limit)
        self.stop.value = "" if o.stop is None else str(o.stop)
        self.limit.layout.display = None if o.type in _HAS_LIMIT else "none"
        self.stop.layout.display = None if o.type in _HAS_STOP else "none"
        self.editor.layout.display = None
        self.show_error(None)

    def close_editor(self) -> None:
        self.editor.layout.display = "none"

    def changes(self) -> dict[str, Any]:
        """The replace arguments from the editor fields (only what changed); raises InvalidOrder."""
        o = self.order
        kw: dict[str, Any] = {}
        qty = parse_qty(self.qty.value)
        if qty != o.qty:
            kw["qty"] = qty
        for name, field, types in (("limit", self.limit, _HAS_LIMIT), ("stop", self.stop, _HAS_STOP)):
            if o.type in types:
                value = parse_price(field.value, f"{name} price")
                if value != getattr(o, name):
                    kw[name] = value
            elif field.value.strip():
                raise InvalidOrder(f"a {label(o.type).lower()} order has no {name} price")
        return kw

    def save(self) -> None:
        try:
            kw = self.changes()
        except InvalidOrder as e:
            self.show_error(str(e))
            return
        if not kw:
            self.close_editor()
            self.show_error(None)
            return
        oid = self.order.id
        self.panel._run(lambda: self.panel.broker.replace(oid, **kw), self._saved)

    def _saved(self, result: OrderView | None, error: str | None) -> None:
        if error is not None:
            self.show_error(error)
            return
        self.close_editor()
        self.show_error(None)
        self.panel.redraw()

    # -- cancel ----------------------------------------------------------------------------
    def cancel(self) -> None:
        oid = self.order.id
        self.panel._run(lambda: self.panel.broker.cancel(oid), self._cancelled)

    def _cancelled(self, result: OrderView | None, error: str | None) -> None:
        if error is not None:
            self.show_error(error)
            return
        self.show_error(None)
        self.panel.redraw()


class PendingOrders(Panel):
    """Every PENDING / PARTIALLY_FILLED order with Edit and Cancel and the review countdown.

    Rows are kept in a dict by order id and rebuilt only when the set of open orders
    changes; a row's cells are re-sent only when that order (or its countdown) changes.
    """

    css_class = "papernb-pending"

    def _build(self) -> list[widgets.Widget]:
        self.rows: dict[int, _OrderRow] = {}
        title = widgets.HTML('<div class="papernb-title">Pending orders</div>')
        head = "".join(f'<span class="papernb-col-{k}">{esc(h)}</span>' for k, h in _HEAD)
        self.header = widgets.HTML(f'<div class="papernb-order-cells papernb-order-head">{head}</div>')
        self.empty = widgets.HTML('<div class="papernb-empty">No pending orders.</div>')
        self.body = widgets.VBox()
        self.body.add_class("papernb-pending-rows")
        self.cancel_all_button = widgets.Button(description="Cancel all", disabled=True, button_style="warning",
                                                tooltip="cancel every open order", layout=widgets.Layout(width="auto"))
        self.cancel_all_button.add_class("papernb-cancel-all")
        self.cancel_all_button.on_click(lambda _b: self._soon(self.cancel_all))
        self.message = widgets.HTML()
        self.message.add_class("papernb-pending-message")
        table = widgets.VBox([self.header, self.body], layout=widgets.Layout(overflow="auto"))
        table.add_class("papernb-pending-table")
        return [title, table, widgets.HBox([self.cancel_all_button]), self.message]

    def render(self, snap: Snapshot) -> None:
        now = self.broker.now()
        seen = []
        for o in snap.open_orders:
            row = self.rows.get(o.id)
            if row is None:
                row = self.rows[o.id] = _OrderRow(self, o)
            row.update(o, now)
            seen.append(o.id)
        open_ids = set(seen)
        for oid in [oid for oid in self.rows if oid not in open_ids]:
            self.rows.pop(oid).close()
        children = tuple(self.rows[oid] for oid in seen) or (self.empty,)
        if self.body.children != children:
            self.body.children = children
        self._set(self.cancel_all_button, disabled=not seen)

    def cancel_all(self) -> None:
        """Cancel every open order in one command (checked here: a forged click with none open does nothing)."""
        if not self.broker.snapshot().open_orders:
            self._set(self.message, value=message_html("there are no open orders to cancel", "error"))
            return

        def done(orders: list[OrderView] | None, error: str | None) -> None:
            if error is not None or orders is None:
                self._set(self.message, value=message_html(error or "no answer from the broker", "error"))
                return
            n = len(orders)
            self._set(self.message, value=message_html(f"cancelled {n} order{'s' if n != 1 else ''}", "ok"))
            self.redraw()

        self._run(self.broker.cancel_all, done)

    def row(self, order_id: int) -> _OrderRow | None:
        """The row of an open order (tests, notebooks)."""
        return self.rows.get(order_id)

    def close(self) -> None:
        for row in self.rows.values():
            row.close()
        self.rows.clear()
        super().close()
