"""The equity chart: a bqplot line of the account's equity, about once a second.

bqplot re-sends a mark's whole series when it changes, so the line is capped at
``max_points`` (evenly thinned, first and last point kept) and redrawn at most once per
``interval`` seconds, however often snapshots arrive.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import ipywidgets as widgets

from ..broker import Snapshot
from ._base import Panel

__all__ = ["EquityChart", "thin"]


def thin(points: list[Any], cap: int) -> list[Any]:
    """At most ``cap`` points of ``points``, evenly spaced, keeping the first and the last."""
    n = len(points)
    if n <= cap:
        return list(points)
    if cap < 2:
        return list(points[-cap:]) if cap else []
    step = (n - 1) / (cap - 1)
    return [points[round(i * step)] for i in range(cap)]


class EquityChart(Panel):
    """``broker.equity_history()`` (plus the live equity) as a bqplot ``Lines`` on a date axis."""

    css_class = "papernb-chart"
    max_points = 1500
    interval = 1.0

    def _build(self) -> list[widgets.Widget]:
        import bqplot as bq  # lazily: the rest of papernb.widgets works without it

        self._x_scale = bq.DateScale()
        self._y_scale = bq.LinearScale()
        self.lines = bq.Lines(x=[], y=[], scales={"x": self._x_scale, "y": self._y_scale},
                              colors=["#0969da"], stroke_width=2)
        ax_x = bq.Axis(scale=self._x_scale, label="time", grid_lines="none")
        ax_y = bq.Axis(scale=self._y_scale, side="left", label="equity ($)", tick_format="$,.2f",
                       grid_lines="dashed")
        self.figure = bq.Figure(marks=[self.lines], axes=[ax_x, ax_y], title="Equity",
                                fig_margin={"top": 40, "bottom": 40, "left": 80, "right": 20},
                                layout=widgets.Layout(width="100%", max_width="100%", height="320px"))
        self.figure.add_class("papernb-chart-figure")
        self.layout.overflow = "hidden"  # the figure resizes to its box; a pixel over while it does is clipped
        self._drawn: tuple[tuple[float, ...], tuple[float, ...]] | None = None
        self._drawn_at = 0.0
        return [self.figure]

    def points(self, snap: Snapshot) -> list[tuple[int, Decimal]]:
        """The series to draw: the recorded history, plus the live equity if it moved since."""
        pts = list(self.broker.equity_history(max_points=self.max_points))
        if snap.ts and (not pts or (snap.equity != pts[-1][1] and snap.ts > pts[-1][0])):
            pts.append((snap.ts, snap.equity))
        return thin(pts, self.max_points)

    def render(self, snap: Snapshot) -> None:
        now = time.monotonic()
        if self._drawn is not None and now - self._drawn_at < self.interval:
            return
        pts = self.points(snap)
        # epoch milliseconds: bqplot's DateScale reads numbers as JavaScript times
        xs = tuple(ts / 1e6 for ts, _ in pts)
        ys = tuple(float(eq) for _, eq in pts)
        self._drawn_at = now
        if (xs, ys) == self._drawn:
            return
        self._drawn = (xs, ys)
        with self.lines.hold_sync():
            self.lines.x = list(xs)
            self.lines.y = list(ys)

    def close(self) -> None:
        for w in (self.lines, self.figure, *self.figure.axes, self._x_scale, self._y_scale):
            w.close()
        super().close()
