"""The trade journal: round trips with their verdict, the trader's notes and tags, and the stats.

The stats can be narrowed to a tag, a symbol and a range of New York days (``broker.stats(tag=...,
symbol=..., since=..., until=...)``); a table of the same figures per tag says "my breakouts work,
my news trades don't".  A Note button on each round trip opens an editor for its note and tags,
saved with ``broker.annotate`` (journalled: a reloaded page shows them).
"""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from typing import Any

import ipywidgets as widgets

from ..broker import RoundTrip, Snapshot
from ..errors import InvalidInput, PaperError
from ._base import Panel, message_html
from ._format import clock, duration, esc, money, pct, pl_class, price, ratio_pct
from .table import DataTable

__all__ = ["TradeJournal", "parse_tags", "stats_html", "tag_table_html"]

COLUMNS = (
    ("closed", "Closed"),
    ("symbol", "Symbol"),
    ("direction", "Side"),
    ("qty", "Qty"),
    ("entry", "Avg entry"),
    ("exit", "Avg exit"),
    ("net", "Net P/L"),
    ("return", "Return"),
    ("held", "Held"),
    ("mfe", "MFE"),
    ("mae", "MAE"),
    ("verdict", "Verdict"),
    ("tags", "Tags"),
    ("note", "Note"),
)

_VERDICT_CLASS = {"worked": "papernb-up", "didn't work": "papernb-down", "flat": "papernb-flat"}
_ALL = "__all__"


def _num(value: Any) -> str:
    return "—" if value is None else f"{Decimal(value):,.2f}"


def parse_tags(text: str) -> list[str]:
    """``"Breakout, news"`` -> ``["breakout", "news"]`` (the engine checks each word again)."""
    return [w.lower() for w in str(text or "").replace(",", " ").split()]


def stats_html(stats: dict[str, Any], *, filtered: bool = False) -> str:
    """The composite stats as labelled values (each value classed ``papernb-stat-<name>``).

    ``filtered``: the trade figures of a subset of round trips, with their net P/L in place of the
    account's drawdown and return.
    """
    dd = stats.get("max_drawdown")
    dd_pct = stats.get("max_drawdown_pct")
    items = [
        ("trades", "Trades", str(stats.get("trades", 0)), ""),
        ("win-rate", "Win rate", ratio_pct(stats.get("win_rate")), ""),
        ("avg-win", "Avg win", money(stats.get("avg_win"), sign=True), pl_class(stats.get("avg_win"))),
        ("avg-loss", "Avg loss", money(stats.get("avg_loss"), sign=True), pl_class(stats.get("avg_loss"))),
        ("profit-factor", "Profit factor", _num(stats.get("profit_factor")), ""),
        ("expectancy", "Expectancy", money(stats.get("expectancy"), sign=True), pl_class(stats.get("expectancy"))),
    ]
    if filtered:
        items.append(("net-pl", "Net P/L", money(stats.get("net_pl"), sign=True), pl_class(stats.get("net_pl"))))
    else:
        items += [
            ("max-drawdown", "Max drawdown",
             money(dd) + ("" if dd_pct is None else f" ({pct(dd_pct, sign=False)})"), ""),
            ("total-return", "Total return", pct(stats.get("total_return_pct")),
             pl_class(stats.get("total_return_pct"))),
        ]
    cells = "".join(
        f'<div class="papernb-metric"><span class="papernb-metric-label">{esc(title)}</span>'
        f'<span class="papernb-metric-value papernb-stat-{key} {cls}">{esc(text)}</span></div>'
        for key, title, text, cls in items)
    return f'<div class="papernb-stats papernb-stats-grid">{cells}</div>'


def tag_table_html(by_tag: list[tuple[str, dict[str, Any]]]) -> str:
    """One row per tag: trades, win rate, average win and loss, profit factor, expectancy, net P/L."""
    if not by_tag:
        return ""
    head = ("Tag", "Trades", "Win rate", "Avg win", "Avg loss", "Profit factor", "Expectancy", "Net P/L")
    rows = []
    for tag, st in by_tag:
        rows.append(
            f'<tr class="papernb-row papernb-tag-row" data-tag="{esc(tag)}"><td class="papernb-col-tag">{esc(tag)}</td>'
            f'<td class="papernb-col-trades">{st["trades"]}</td>'
            f'<td class="papernb-col-win-rate">{esc(ratio_pct(st["win_rate"]))}</td>'
            f'<td class="papernb-col-avg-win">{esc(money(st["avg_win"], sign=True))}</td>'
            f'<td class="papernb-col-avg-loss">{esc(money(st["avg_loss"], sign=True))}</td>'
            f'<td class="papernb-col-profit-factor">{esc(_num(st["profit_factor"]))}</td>'
            f'<td class="papernb-col-expectancy {pl_class(st["expectancy"])}">'
            f'{esc(money(st["expectancy"], sign=True))}</td>'
            f'<td class="papernb-col-net-pl {pl_class(st["net_pl"])}">{esc(money(st["net_pl"], sign=True))}</td></tr>')
    ths = "".join(f"<th>{esc(h)}</th>" for h in head)
    return (f'<div class="papernb-subtitle">By tag</div><table class="papernb-table papernb-tags-table">'
            f'<thead><tr>{ths}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def trip_cells(t: RoundTrip) -> dict[str, tuple[str, str]]:
    return {
        "closed": (clock(t.closed_at, date=True), ""),
        "symbol": (t.symbol, ""),
        "direction": (t.direction, ""),
        "qty": (f"{t.qty:,}", ""),
        "entry": (price(t.avg_entry), ""),
        "exit": (price(t.avg_exit), ""),
        "net": (money(t.net_pl, sign=True), pl_class(t.net_pl)),
        "return": (pct(t.return_pct), pl_class(t.return_pct)),
        "held": (duration(t.holding_ns), ""),
        "mfe": (money(t.mfe, sign=True), ""),
        "mae": (money(t.mae, sign=True), ""),
        "verdict": (t.verdict, f"papernb-verdict {_VERDICT_CLASS.get(t.verdict, '')}"),
        "tags": (", ".join(t.tags), "papernb-tags"),
        "note": (t.note if len(t.note) <= 80 else t.note[:79] + "…", "papernb-note-cell"),
    }


class TradeJournal(Panel):
    """Round trips (``broker.trades()``, newest first) with notes and tags, the stats, and stats by tag.

    The stats move with open P/L; they are recomputed at most once a second unless a trade
    closed, a note changed or a filter moved, and sent only when their text changes.
    """

    css_class = "papernb-journal"
    stats_interval = 1.0
    #: most round trips listed (newest first)
    max_rows = 500

    def _build(self) -> list[widgets.Widget]:
        self.tag_filter = widgets.Dropdown(options=[("All tags", _ALL)], value=_ALL, description="Tag",
                                           layout=widgets.Layout(width="200px"))
        self.symbol_filter = widgets.Text(description="Symbol", placeholder="all",
                                          layout=widgets.Layout(width="170px"))
        self.since = widgets.DatePicker(description="From", layout=widgets.Layout(width="230px"))
        self.until = widgets.DatePicker(description="To", layout=widgets.Layout(width="230px"))
        self.clear_button = widgets.Button(description="All trades", layout=widgets.Layout(width="auto"))
        for w in (self.tag_filter, self.symbol_filter, self.since, self.until):
            w.style.description_width = "52px"
            w.observe(lambda _c: self._soon(self.redraw), names="value")
        self.clear_button.on_click(lambda _b: self._soon(self.clear_filters))
        self.filter_message = widgets.HTML()
        self.stats = widgets.HTML()
        self.by_tag = widgets.HTML()
        self.table = DataTable(columns=COLUMNS, actions=(("note", "Note", "write a note and tags"),),
                               dispatch=self._soon, table_class="papernb-trips",
                               row_class="papernb-row papernb-trip-row", empty="No closed trades yet.")
        self.table.on_row(self._row_clicked)
        # the editor of one round trip's note and tags
        self.editing: RoundTrip | None = None
        self.edit_title = widgets.HTML()
        self.note = widgets.Textarea(placeholder="why it worked, or why not", layout=widgets.Layout(width="100%",
                                                                                                    max_width="520px"))
        self.tags = widgets.Text(placeholder="tags: breakout, news", layout=widgets.Layout(width="100%",
                                                                                          max_width="520px"))
        self.save_button = widgets.Button(description="Save note", button_style="primary",
                                          layout=widgets.Layout(width="auto"))
        self.cancel_button = widgets.Button(description="Cancel", layout=widgets.Layout(width="auto"))
        self.edit_message = widgets.HTML()
        self.editor = widgets.VBox([self.edit_title, self.note, self.tags,
                                    widgets.HBox([self.save_button, self.cancel_button]), self.edit_message],
                                   layout=widgets.Layout(display="none", border="1px solid #d0d7de", padding="6px",
                                                         margin="4px 0"))
        self.save_button.on_click(lambda _b: self._soon(self.save_note))
        self.cancel_button.on_click(lambda _b: self._soon(self.close_editor))
        for w, cls in ((self.tag_filter, "papernb-journal-tag"), (self.symbol_filter, "papernb-journal-symbol"),
                       (self.since, "papernb-journal-since"), (self.until, "papernb-journal-until"),
                       (self.clear_button, "papernb-journal-clear"), (self.stats, "papernb-journal-stats"),
                       (self.by_tag, "papernb-journal-by-tag"), (self.editor, "papernb-note-editor"),
                       (self.note, "papernb-note-text"), (self.tags, "papernb-note-tags"),
                       (self.save_button, "papernb-note-save"), (self.cancel_button, "papernb-note-cancel"),
                       (self.edit_message, "papernb-note-message"), (self.filter_message, "papernb-journal-error")):
            w.add_class(cls)
        self._key: tuple | None = None
        self._stats_at = 0.0
        self._tags_shown: tuple[str, ...] = ()
        title = widgets.HTML('<div class="papernb-title">Trade journal</div>')
        filters = widgets.HBox([self.tag_filter, self.symbol_filter, self.since, self.until, self.clear_button],
                               layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        filters.add_class("papernb-journal-filters")
        scroller = widgets.Box([self.table], layout=widgets.Layout(overflow="auto", max_height="480px"))
        return [title, filters, self.filter_message, self.stats, self.by_tag, self.editor, scroller]

    # -- filters ------------------------------------------------------------------------------------
    def filters(self) -> dict[str, Any]:
        """The filters as broker keywords (validated here; the broker checks again)."""
        tag = self.tag_filter.value
        sym = self.symbol_filter.value.strip()
        since, until = self.since.value, self.until.value
        for name, v in (("From", since), ("To", until)):
            if v is not None and not isinstance(v, date):
                raise InvalidInput(f"{name} must be a date")
        if since is not None and until is not None and until < since:
            raise InvalidInput("the To date is before the From date")
        return {"tag": None if tag in (None, _ALL) else str(tag), "symbol": sym or None, "since": since,
                "until": until}

    def clear_filters(self) -> None:
        with self.hold_sync():
            self.tag_filter.value = _ALL
            self.symbol_filter.value = ""
            self.since.value = None
            self.until.value = None
        self.redraw()

    # -- drawing --------------------------------------------------------------------------------------
    def render(self, snap: Snapshot) -> None:
        try:
            f = self.filters()
            trips = self.broker.trades(**f)
            error = ""
        except PaperError as e:
            f, trips, error = None, [], str(e)
        self._set(self.filter_message, value=message_html(error, "error"))
        everything = self.broker.trades() if f is not None and any(v is not None for v in f.values()) else trips
        trips_key = (snap.epoch, len(trips), tuple(trips[-1:]), len(everything), _notes_key(everything),
                     None if f is None else tuple(f.items()))
        key = (trips_key, snap.equity, snap.realized_pl, snap.fees)
        if key == self._key:
            return
        now = time.monotonic()
        if self._key is not None and self._key[0] == trips_key and now - self._stats_at < self.stats_interval:
            return  # only marks moved: wait for the next second
        self._key, self._stats_at = key, now
        self._draw_tag_options(everything)
        if f is None:
            return
        filtered = any(v is not None for v in f.values())
        self._set(self.stats, value=stats_html(self.broker.stats(**f), filtered=filtered))
        rest = {k: v for k, v in f.items() if k != "tag"}
        tags = sorted({t for trip in trips for t in trip.tags})
        self._set(self.by_tag, value=tag_table_html([(t, self.broker.stats(tag=t, **rest)) for t in tags]))
        newest = trips[::-1][: self.max_rows]
        self.table.update([(str(t.id), trip_cells(t)) for t in newest])

    def _draw_tag_options(self, trips: list[RoundTrip]) -> None:
        tags = tuple(sorted({t for trip in trips for t in trip.tags}))
        if tags != self._tags_shown:
            self._tags_shown = tags
            current = self.tag_filter.value
            options = [("All tags", _ALL), *((t, t) for t in tags)]
            if current not in (_ALL, *tags):
                options.append((str(current), current))  # keep a filter the trader chose
            self.tag_filter.options = options

    # -- notes ------------------------------------------------------------------------------------------
    def _row_clicked(self, key: str, action: str | None) -> None:
        if action == "note":
            self.open_editor(int(key))

    def open_editor(self, trip_id: int) -> None:
        """Note pressed on a round trip: its note and tags in the editor."""
        trip = next((t for t in self.broker.trades() if t.id == trip_id), None)
        if trip is None:
            self._set(self.filter_message, value=message_html(f"there is no round trip {trip_id} to annotate",
                                                               "error"))
            return
        self.editing = trip
        with self.hold_sync():
            self.edit_title.value = (f'<b>Round trip {trip.id}</b> · {esc(trip.symbol)} {esc(trip.direction)} '
                                     f'{trip.qty:,} · <span class="{pl_class(trip.net_pl)}">'
                                     f'{esc(money(trip.net_pl, sign=True))}</span> · {esc(trip.verdict)}')
            self.note.value = trip.note
            self.tags.value = ", ".join(trip.tags)
            self.edit_message.value = ""
        self.editor.layout.display = None

    def close_editor(self) -> None:
        self.editing = None
        self.editor.layout.display = "none"

    def save_note(self) -> None:
        """Save pressed: send the note and tags (a forged click with no editor open does nothing)."""
        trip = self.editing
        if trip is None:
            return
        note, tags = self.note.value, parse_tags(self.tags.value)

        def done(result: RoundTrip | None, error: str | None) -> None:
            if error is not None or result is None:
                self._set(self.edit_message, value=message_html(error or "no answer from the broker", "error"))
                return
            self.close_editor()
            self._key = None
            self.redraw()

        self._run(lambda: self.broker.annotate(trip.id, note=note, tags=tags), done)


def _notes_key(trips: list[RoundTrip]) -> int:
    """Changes when any note or tag changes (annotating does not change the count of trips)."""
    return hash(tuple((t.id, t.note, t.tags) for t in trips if t.note or t.tags))
