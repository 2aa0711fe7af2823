"""The order ticket: symbol (with its live quote), side, qty, type, prices, time in force, Submit.

Besides market / limit / stop / stop-limit it places trailing stops (``Trail``: dollars, or a percent
like ``2.5%``), brackets (optional ``Take profit`` / ``Stop loss``: the engine places them when the
entry fills) and IOC / FOK orders (market and limit only).
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import ipywidgets as widgets

from ..broker import OrderStatus, OrderType, OrderView, Side, Snapshot
from ..errors import InvalidOrder, PaperError
from ..money import from_units, read_decimal, to_units
from ..quote import normalize_symbol
from ._base import Panel, parse_price, parse_qty
from ._format import esc, label, money, price, some_symbols

__all__ = ["OrderTicket"]

_TYPES = (("Market", "MARKET"), ("Limit", "LIMIT"), ("Stop", "STOP"), ("Stop-limit", "STOP_LIMIT"),
          ("Trailing stop", "TRAILING_STOP"))
_HAS_LIMIT = ("LIMIT", "STOP_LIMIT")
_HAS_STOP = ("STOP", "STOP_LIMIT")
_TIFS = (("Day", "DAY"), ("GTC", "GTC"), ("IOC", "IOC"), ("FOK", "FOK"))
_ONCE = ("IOC", "FOK")  # act once at eligibility: market and limit orders only


def parse_trail(text: object) -> tuple[Decimal | None, Decimal | None]:
    """A typed trail -> (dollars, None) for ``1.00`` / ``$1``, (None, percent) for ``2.5%``."""
    s = str(text if text is not None else "").strip()
    if not s:
        raise InvalidOrder("enter a trail: dollars like 1.00, or a percent like 2.5%")
    if s.endswith("%"):
        try:
            pct = read_decimal(s[:-1].strip(), "trail percent")
        except PaperError as e:
            raise InvalidOrder(str(e)) from None
        if not 0 < pct < 100:
            raise InvalidOrder(f"a trail percent must be more than 0 and less than 100, was {s!r}")
        return None, pct
    try:
        return from_units(to_units(s, "trail", positive=True)), None
    except PaperError as e:
        raise InvalidOrder(str(e)) from None


class OrderTicket(Panel):
    """Place an order.  Every input is validated here (a forged click too) and by the broker.

    A click gets a ``client_order_id``; a second click on the same, unchanged ticket within
    ``double_click_window`` seconds reuses it, so a double click places one order.
    """

    css_class = "papernb-ticket"
    double_click_window = 1.0

    def _build(self) -> list[widgets.Widget]:
        def wide() -> widgets.Layout:  # one Layout per widget: a shared one would hide them together
            return widgets.Layout(width="100%", max_width="300px")

        # suggests the symbols the feed carries (``broker.feed_symbols()``); any symbol may be typed
        self.symbol = widgets.Combobox(description="Symbol", placeholder="AAPL", layout=wide(), continuous_update=True,
                                       ensure_option=False)
        self.side = widgets.ToggleButtons(options=[("Buy", "BUY"), ("Sell", "SELL")], value="BUY",
                                          style={"button_width": "76px"})
        self.qty = widgets.Text(description="Qty", placeholder="shares, e.g. 10", layout=wide())
        self.type = widgets.Dropdown(options=_TYPES, value="MARKET", description="Type", layout=wide())
        self.limit = widgets.Text(description="Limit", placeholder="e.g. 189.50", layout=wide())
        self.stop = widgets.Text(description="Stop", placeholder="e.g. 185.00", layout=wide())
        self.trail = widgets.Text(description="Trail", placeholder="e.g. 1.00 or 2.5%", layout=wide())
        self.take_profit = widgets.Text(description="Take profit", placeholder="optional, e.g. 195.00", layout=wide())
        self.stop_loss = widgets.Text(description="Stop loss", placeholder="optional, e.g. 185.00", layout=wide())
        self.tif = widgets.Dropdown(options=_TIFS, value="DAY", description="Time in force", layout=wide())
        self.summary = widgets.HTML()
        self.submit_button = widgets.Button(description="Submit order", button_style="primary", disabled=True,
                                            layout=widgets.Layout(width="100%", max_width="300px"))
        self.message = widgets.HTML()
        for w in (self.symbol, self.qty, self.type, self.limit, self.stop, self.trail, self.take_profit, self.stop_loss,
                  self.tif):
            w.style.description_width = "90px"
        side_label = widgets.Label("Side", layout=widgets.Layout(width="90px", justify_content="flex-end",
                                                                 margin="0 8px 0 2px"))
        side_row = widgets.HBox([side_label, self.side], layout=widgets.Layout(align_items="center"))
        for w, cls in ((self.symbol, "papernb-ticket-symbol"), (self.side, "papernb-ticket-side"),
                       (self.qty, "papernb-ticket-qty"), (self.type, "papernb-ticket-type"),
                       (self.limit, "papernb-ticket-limit"), (self.stop, "papernb-ticket-stop"),
                       (self.trail, "papernb-ticket-trail"), (self.take_profit, "papernb-ticket-take-profit"),
                       (self.stop_loss, "papernb-ticket-stop-loss"),
                       (self.tif, "papernb-ticket-tif"), (self.summary, "papernb-ticket-summary"),
                       (self.submit_button, "papernb-ticket-submit"), (self.message, "papernb-ticket-message")):
            w.add_class(cls)
        self._last_key: tuple | None = None
        self._last_coid: str | None = None
        self._last_click = 0.0
        self.last_order: OrderView | None = None
        self._order_seq = 0  # the journal seq of the last update shown for ``last_order``
        self._options: tuple[str, ...] = ()
        self._listen_events(self._order_update)
        for w in (self.symbol, self.side, self.qty, self.type, self.limit, self.stop, self.trail, self.take_profit,
                  self.stop_loss, self.tif):
            w.observe(lambda _change: self._soon(self._form_changed), names="value")
        self.submit_button.on_click(lambda _b: self._soon(self.submit))
        self._show_price_fields()
        title = widgets.HTML('<div class="papernb-title">New order</div>')
        return [title, self.symbol, side_row, self.qty, self.type, self.limit, self.stop, self.trail, self.tif,
                self.take_profit, self.stop_loss, self.summary, self.submit_button, self.message]

    # -- the form ------------------------------------------------------------------------------
    def _show_price_fields(self) -> None:
        t = self.type.value
        self._set(self.limit.layout, display=None if t in _HAS_LIMIT else "none")
        self._set(self.stop.layout, display=None if t in _HAS_STOP else "none")
        self._set(self.trail.layout, display=None if t == "TRAILING_STOP" else "none")

    def _form_changed(self) -> None:
        self._show_price_fields()
        try:
            self.request()
            ok = True
        except PaperError:
            ok = False
        self._set(self.submit_button, disabled=not ok)
        self._draw_summary()

    def request(self) -> dict[str, Any]:
        """The order the ticket describes, validated; raises a PaperError with a plain message."""
        symbol = normalize_symbol(self.symbol.value) if self.symbol.value.strip() else None
        if symbol is None:
            raise InvalidOrder("enter a symbol, like AAPL")
        side = str(self.side.value)
        if side not in (Side.BUY.value, Side.SELL.value):
            raise InvalidOrder(f"side must be Buy or Sell, was {side!r}")
        qty = parse_qty(self.qty.value)
        typ = str(self.type.value)
        if typ not in {v for _, v in _TYPES}:
            raise InvalidOrder(f"order type must be Market, Limit, Stop or Stop-limit, was {typ!r}")
        limit = parse_price(self.limit.value, "limit price") if typ in _HAS_LIMIT else None
        stop = parse_price(self.stop.value, "stop price") if typ in _HAS_STOP else None
        trail, trail_pct = parse_trail(self.trail.value) if typ == "TRAILING_STOP" else (None, None)
        tif = str(self.tif.value)
        if tif not in {v for _, v in _TIFS}:
            raise InvalidOrder(f"time in force must be Day, GTC, IOC or FOK, was {tif!r}")
        if tif in _ONCE and typ not in ("MARKET", "LIMIT"):
            raise InvalidOrder(f"{tif} is for market and limit orders")
        tp = parse_price(self.take_profit.value, "take-profit price") if self.take_profit.value.strip() else None
        sl = parse_price(self.stop_loss.value, "stop-loss price") if self.stop_loss.value.strip() else None
        return {"symbol": symbol, "side": side, "qty": qty, "type": typ, "limit": limit, "stop": stop, "tif": tif,
                "trail": trail, "trail_pct": trail_pct, "take_profit": tp, "stop_loss": sl}

    def fill(self, symbol: str, side: str | None = None) -> None:
        """Put ``symbol`` (and ``side``: "BUY" / "SELL") on the ticket: a click on the quote board."""
        with self.hold_sync():
            self.symbol.value = symbol
            if side in ("BUY", "SELL"):
                self.side.value = side

    # -- live quote and estimate ----------------------------------------------------------------
    def render(self, snap: Snapshot) -> None:
        options = tuple(self.broker.feed_symbols())
        if options != self._options:
            self._options = options
            self.symbol.options = options
        self._draw_summary()

    def _quote_html(self) -> tuple[str, Any]:
        text = self.symbol.value.strip()
        if not text:
            return '<span class="papernb-muted">Type a symbol to see its quote.</span>', None
        try:
            sym = normalize_symbol(text)
            q = self.broker.quote(sym)
        except PaperError as e:
            return f'<span class="papernb-error">{esc(e)}</span>', None
        if q is None:
            carried = self._options or tuple(self.broker.feed_symbols())
            if sym not in carried:
                return (f'<span class="papernb-error papernb-unknown-symbol">No quotes for {esc(sym)}: the feed '
                        f'carries {esc(some_symbols(carried))}</span>'), None
            return f'<span class="papernb-muted">No quote for {esc(sym)} yet.</span>', None
        parts = [f'<b class="papernb-sym">{esc(sym)}</b>',
                 f'bid <span class="papernb-quote-bid">{esc(price(q.bid))}</span>',
                 f'ask <span class="papernb-quote-ask">{esc(price(q.ask))}</span>',
                 f'last <span class="papernb-quote-last">{esc(price(q.last))}</span>']
        age = self.broker.quote_age(sym)  # the engine's own stale rule, on the quote as it restamped it
        if age is not None and age[1]:
            parts.append(f'<span class="papernb-feed-stale">{int(age[0] / 1e9)} s old</span>')
        return " · ".join(parts), q

    def _estimate_html(self, q: Any) -> str:
        try:
            req = self.request()
        except PaperError as e:
            why = str(e)
            if why.startswith("enter a"):  # a field not filled in yet: nothing to complain about
                return '<span class="papernb-muted">Estimated cost: —</span>'
            return f'<span class="papernb-error">{esc(why[:1].upper() + why[1:])}</span>'
        try:  # what the engine itself would hold and check for this order, now
            est = self.broker.estimate(req["symbol"], req["side"], req["qty"], type=req["type"],
                                       limit=req["limit"], stop=req["stop"], trail=req["trail"],
                                       trail_pct=req["trail_pct"])
        except PaperError as e:
            return f'<span class="papernb-error">{esc(_sentence(str(e)))}</span>'
        if est.refusal is not None:
            return f'<span class="papernb-error papernb-est-refusal">Would be rejected: {esc(est.refusal)}</span>'
        if est.price is None:
            return '<span class="papernb-muted">Estimated cost: — (no quote yet)</span>'
        amount = est.price * req["qty"]
        fee = f" + {esc(money(est.commission))} commission" if est.commission else ""
        if req["side"] == "BUY":
            held = f" · reserves {esc(money(est.reserve_cash))}" if est.reserve_cash != amount + est.commission \
                else ""
            cls = "papernb-down" if est.buying_power_after < 0 else ""
            return (f'Estimated cost <b class="papernb-est-cost">{esc(money(amount))}</b>{fee}{held} · buying power '
                    f'after <b class="papernb-est-bp {cls}">{esc(money(est.buying_power_after))}</b>')
        held = f" · reserves {esc(money(est.reserve_cash))}" if est.reserve_cash else ""
        return (f'Estimated proceeds <b class="papernb-est-cost">{esc(money(amount))}</b>{fee}{held} · buying power '
                f'<b class="papernb-est-bp">{esc(money(est.buying_power))}</b>')

    def _draw_summary(self) -> None:
        quote, q = self._quote_html()
        html = (f'<div class="papernb-ticket-quote">{quote}</div>'
                f'<div class="papernb-ticket-estimate">{self._estimate_html(q)}</div>')
        self._set(self.summary, value=html)

    # -- submit -------------------------------------------------------------------------------
    def _say(self, text: str, ok: bool) -> None:
        cls = "papernb-ok" if ok else "papernb-error"
        self._set(self.message, value=f'<span class="{cls}">{esc(text)}</span>' if text else "")

    def submit(self) -> None:
        """Validate the ticket and send it (runs on the loop; the button only enqueues this)."""
        try:
            req = self.request()
        except PaperError as e:
            self._say(_sentence(str(e)), ok=False)
            return
        key = tuple(req.items())
        now = time.monotonic()
        if key == self._last_key and now - self._last_click < self.double_click_window and self._last_coid:
            coid = self._last_coid
        else:
            coid = uuid.uuid4().hex
        self._last_key, self._last_coid, self._last_click = key, coid, now
        self._say("Sending…", ok=True)
        self._run(lambda: self.broker.submit(req["symbol"], req["side"], req["qty"], type=req["type"],
                                             limit=req["limit"], stop=req["stop"], tif=req["tif"],
                                             client_order_id=coid, trail=req["trail"], trail_pct=req["trail_pct"],
                                             take_profit=req["take_profit"], stop_loss=req["stop_loss"]),
                  self._submitted)

    def _submitted(self, o: OrderView | None, error: str | None) -> None:
        if error is not None or o is None:
            self._say(_sentence(error or "no answer from the broker"), ok=False)
            return
        if self.last_order is None or self.last_order.id != o.id:
            self._order_seq = 0
        self.last_order = o
        self._show_order(o)
        self._draw_summary()

    def _order_update(self, update: Any) -> None:
        """The ticket's message follows its order: "accepted: PENDING" becomes "filled 10 @ $190.24"."""
        o = getattr(update, "order", None)
        last = self.last_order
        if o is None or last is None or o.id != last.id or update.seq <= self._order_seq:
            return
        self._order_seq = update.seq
        self.last_order = o
        self._show_order(o)

    def _show_order(self, o: OrderView) -> None:
        text = describe_result(o)
        if o.status is OrderStatus.REJECTED:
            kind = "papernb-error"
        elif o.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
            kind = "papernb-muted"
        else:
            kind = "papernb-ok"
        self._set(self.message, value=f'<span class="{kind} papernb-order-status-{o.status.value.lower()}">'
                                      f'{esc(text)}</span>')


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text



def describe_result(o: OrderView) -> str:
    """The ticket's message for its order, as it stands now:

    ``Order 3 accepted: PENDING — Buy 10 AAPL Limit $180.00 Day``, then ``Order 3 filled 10 @ $190.24 — ...``,
    ``Order 3 partially filled 4 of 10 @ $190.24 — ...``, ``Order 3 cancelled: <reason> — ...``,
    ``Order 3 expired: <reason> — ...`` or ``Order 4 rejected: <reason>``.
    """
    if o.status is OrderStatus.REJECTED:
        return f"Order {o.id} rejected: {o.reason or 'no reason given'}"
    what = _order_text(o)
    if o.status is OrderStatus.FILLED:
        return f"Order {o.id} filled {o.filled_qty:,} @ {price(o.avg_fill_price)} — {what}"
    if o.status is OrderStatus.PARTIALLY_FILLED:
        head = f"Order {o.id} partially filled {o.filled_qty:,} of {o.qty:,} @ {price(o.avg_fill_price)} — {what}"
        return head + (f" ({o.reason})" if o.reason else "")
    if o.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
        filled = f"; {o.filled_qty:,} filled @ {price(o.avg_fill_price)}" if o.filled_qty else ""
        return f"Order {o.id} {o.status.value.lower()}: {o.reason or 'no reason given'} — {what}{filled}"
    text = f"Order {o.id} accepted: {o.status.value} — {what}"
    if o.reason:
        text += f" ({o.reason})"
    return text


def _order_text(o: OrderView) -> str:
    """``Buy 10 AAPL Limit $180.00 Day``."""
    if o.type is OrderType.STOP_LIMIT:
        px = f" stop {price(o.stop)} limit {price(o.limit)}"
    elif o.type is OrderType.LIMIT:
        px = f" {price(o.limit)}"
    elif o.type is OrderType.STOP:
        px = f" {price(o.stop)}"
    elif o.type is OrderType.TRAILING_STOP:
        trail = f"{o.trail_pct}%" if o.trail_pct is not None else price(o.trail)
        px = f" trail {trail}" + (f" (stop {price(o.stop)})" if o.stop is not None else "")
    else:
        px = ""
    if o.take_profit is not None:
        px += f" take profit {price(o.take_profit)}"
    if o.stop_loss is not None:
        px += f" stop loss {price(o.stop_loss)}"
    return f"{label(o.side)} {o.qty:,} {o.symbol} {label(o.type)}{px} {label(o.tif)}"
