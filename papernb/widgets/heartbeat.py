"""A page heartbeat: the browser pings the kernel every few seconds while the page is open.

Voila does not reliably shut a kernel down when its page closes, and a kernel that keeps
streaming widget updates is never culled.  The app watches ``last_ping``: when the pings
stop, it stops streaming and releases the book (see ``papernb.app``).  A page that is closed
or reloaded normally also says ``bye`` as it goes, so its book is free at once for the next
page; a crashed browser says nothing and is noticed by the missing pings.
"""

from __future__ import annotations

import time
from typing import Any

import anywidget
import traitlets

_ESM = """
function render({ model, el }) {
  el.classList.add("papernb-heartbeat");
  const ping = () => model.send({ kind: "ping", t: Date.now() });
  // the page is going away for good (closed, reloaded, navigated): say so, so the kernel lets go
  // of the book at once instead of after the missing pings (a page kept in the back/forward cache
  // is not gone: it keeps its kernel)
  const bye = (ev) => { if (!ev.persisted) model.send({ kind: "bye", t: Date.now() }); };
  ping();
  const id = setInterval(ping, model.get("interval_ms"));
  window.addEventListener("pagehide", bye);
  return () => { clearInterval(id); window.removeEventListener("pagehide", bye); };
}
export default { render };
"""


class Heartbeat(anywidget.AnyWidget):
    """Invisible; ``seconds_since_ping()`` tells how long ago the page last spoke."""

    _esm = _ESM
    interval_ms = traitlets.Int(3000).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.last_ping = time.monotonic()
        self.pings = 0
        self.gone = False  # the page said goodbye (pagehide)
        self.on_msg(self._on_msg)

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        # may run on a comm thread (ipykernel 7): only record the time
        if isinstance(content, dict) and content.get("kind") == "ping":
            self.last_ping = time.monotonic()
            self.pings += 1
        elif isinstance(content, dict) and content.get("kind") == "bye":
            self.gone = True

    def seconds_since_ping(self) -> float:
        return time.monotonic() - self.last_ping
