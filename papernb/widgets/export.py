"""Export: take the day home as CSV files (one per table) or one .xlsx workbook, from the page.

Each button says what it gives ("Orders CSV", ... "Workbook (.xlsx)").  A click asks the
kernel for the file (``broker.export(name)``: New York times named in the headers, exact
money); the bytes go back to the browser in one binary message and are saved there.  The
name a click asks for is checked against the list: a forged message gets nothing else.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as widgets
import traitlets

from ..broker import Snapshot
from ..errors import PaperError
from ._base import Panel, sentence
from ._format import _NY

__all__ = ["Downloads", "ExportPanel", "FILES"]

log = logging.getLogger(__name__)
_HERE = Path(__file__).resolve().parent

#: (export name, button label)
FILES = (("orders.csv", "Orders CSV"), ("fills.csv", "Fills CSV"), ("round_trips.csv", "Round trips CSV"),
         ("equity.csv", "Equity CSV"), ("workbook.xlsx", "Workbook (.xlsx)"))
_MIME = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class Downloads(anywidget.AnyWidget):
    """One button per file; ``fetch(name)`` gives (file name, bytes) for a click on it."""

    _esm = (_HERE / "downloads.js").read_text()
    files = traitlets.List().tag(sync=True)

    def __init__(self, panel: ExportPanel, **kwargs: Any) -> None:
        super().__init__(files=[list(f) for f in FILES], **kwargs)
        self._panel = panel
        self.sent: list[tuple[str, int]] = []  # (file name, bytes) sent to the browser
        self.on_msg(self._on_msg)

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        # may run on a comm thread: hand over to the loop
        if isinstance(content, dict) and content.get("kind") == "download":
            self._panel._soon(self.download, content.get("name"))

    def download(self, name: Any) -> tuple[str, bytes] | None:
        """What a click on the button of ``name`` does: the file goes to the browser (and is returned)."""
        try:
            filename, data = self._panel.fetch(name)
        except PaperError as e:
            self.send({"kind": "error", "message": sentence(str(e))})
            return None
        except Exception as e:  # never a traceback on the page; the log has it
            log.exception("export of %r failed", name)
            self.send({"kind": "error", "message": f"Export failed: {type(e).__name__}: {e}"})
            return None
        self.send({"kind": "file", "name": name, "filename": filename, "mime": _MIME[filename.rsplit(".", 1)[1]]},
                  [data])
        self.sent.append((filename, len(data)))
        return filename, data


class ExportPanel(Panel):
    """Download buttons: a CSV per table (orders, fills, round trips with notes and tags, equity) and a workbook."""

    css_class = "papernb-export"

    def _build(self) -> list[widgets.Widget]:
        self.downloads = Downloads(self)
        self.downloads.add_class("papernb-downloads-widget")
        title = widgets.HTML('<div class="papernb-title">Export</div>')
        note = widgets.HTML('<div class="papernb-muted">Times are New York time (the zone is named in each '
                            'header); money is exact. From Python: <code>acct.export("day.xlsx")</code>.</div>')
        return [title, note, self.downloads]

    def render(self, snap: Snapshot) -> None:
        pass  # nothing moves here: files are made when asked for

    def fetch(self, name: Any) -> tuple[str, bytes]:
        """(file name, bytes) of export ``name``; a name not on the list raises a PaperError."""
        if name not in {n for n, _ in FILES}:
            raise PaperError(f"there is no export {name!r}")
        data = self.broker.export(name)
        day = datetime.now(UTC).astimezone(_NY).strftime("%Y-%m-%d")
        stem, ext = str(name).rsplit(".", 1)
        return f"{self.broker.account_name}-{stem}-{day}.{ext}", data
