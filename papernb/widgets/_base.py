"""What every panel shares: the broker, the snapshot subscription, and the command queue.

A panel is a composite widget (an ``ipywidgets.VBox`` that owns its children, like
bqplot's ``Radar(Figure)``).  It subscribes to the broker, renders each snapshot it is
given, and assigns a child's value only when the new text differs from the old, inside
``hold_sync()``: a refresh that changes nothing on screen sends nothing.

Widget callbacks (clicks, typed values) may arrive on a comm thread under ipykernel 7,
so they only enqueue: ``loop.call_soon_threadsafe`` onto the loop captured when the
panel was built.  There the input is validated and ``await broker.submit/replace/cancel``
runs in a task whose handle the panel keeps.  The result, or the ``PaperError`` message,
is shown next to the control that asked for it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..broker import Broker, Snapshot
from ..errors import InvalidOrder, PaperError
from ..money import from_units, price_units
from ._format import CSS, esc

if TYPE_CHECKING:
    from ..session import Session

log = logging.getLogger(__name__)

__all__ = ["ConfirmBar", "Panel", "as_broker", "message_html", "parse_price", "parse_qty", "sentence"]


def as_broker(source: Broker | Session | Any) -> Broker:
    """A Broker from a Broker or a Session (``session.broker``)."""
    if isinstance(source, Broker):
        return source
    broker = getattr(source, "broker", None)
    if broker is not None and isinstance(broker, Broker):
        return broker
    raise TypeError(f"expected a papernb Broker or Session, got {type(source).__name__}")


def _capture_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # built outside a running loop (a plain script): the thread's loop
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return asyncio.get_event_loop()


def parse_qty(text: object, what: str = "quantity") -> int:
    """What a trader typed as a quantity -> a positive int, or ``InvalidOrder`` in plain words."""
    if isinstance(text, bool):
        raise InvalidOrder(f"{what} must be a whole number of shares, like 10")
    if isinstance(text, int):
        n = text
    else:
        s = str(text if text is not None else "").strip().replace(",", "").replace("_", "")
        if not s:
            raise InvalidOrder(f"enter a {what} (a whole number of shares, like 10)")
        if not s.lstrip("+").isdigit() or not s.isascii():
            raise InvalidOrder(f"{what} must be a whole number of shares, like 10; you typed {str(text).strip()!r}")
        n = int(s)
    if n < 1:
        raise InvalidOrder(f"{what} must be at least 1 share, was {n}")
    if n > 1_000_000_000:
        raise InvalidOrder(f"{what} is absurdly large: {n:,}")
    return n


def parse_price(text: object, what: str) -> Decimal:
    """A typed price -> exact Decimal dollars, on the tick; ``InvalidOrder`` otherwise."""
    s = str(text if text is not None else "").strip()
    if not s:
        raise InvalidOrder(f"enter a {what}")
    try:
        return from_units(price_units(s, what))  # type: ignore[return-value]
    except PaperError as e:
        raise InvalidOrder(str(e)) from None


def sentence(text: str) -> str:
    """An engine message as a sentence on screen: first letter upper-case."""
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def message_html(text: str, kind: str = "ok") -> str:
    """An inline message next to a control: ``ok`` (green), ``error`` (red) or ``muted``; "" clears it."""
    if not text:
        return ""
    return f'<span class="papernb-{kind}">{esc(sentence(text))}</span>'


class ConfirmBar(widgets.HBox):
    """"Are you sure?" for a command that cannot be undone (Close, Close all, Reset).

    :meth:`ask` shows a sentence that says what will happen, with a button that does it and
    one that keeps things as they are.  The action runs only if the question is still open
    when Confirm is clicked, so a forged Confirm click with no question asked does nothing.
    """

    def __init__(self, panel: Panel, css: str) -> None:
        self.text = widgets.HTML(layout=widgets.Layout(flex="1 1 auto"))
        self.yes = widgets.Button(description="Confirm", button_style="danger",
                                  layout=widgets.Layout(width="auto", flex="0 0 auto"))
        self.no = widgets.Button(description="Keep", layout=widgets.Layout(width="auto", flex="0 0 auto"))
        super().__init__([self.text, self.yes, self.no],
                         layout=widgets.Layout(display="none", align_items="center", flex_flow="row wrap",
                                               grid_gap="4px 8px"))
        self.add_class("papernb-confirm")
        self.add_class(css)
        self.yes.add_class("papernb-confirm-yes")
        self.no.add_class("papernb-confirm-no")
        self._action: Callable[[], None] | None = None
        self.yes.on_click(lambda _b: panel._soon(self.confirm))
        self.no.on_click(lambda _b: panel._soon(self.dismiss))

    @property
    def asking(self) -> bool:
        return self._action is not None

    def ask(self, question: str, label: str, action: Callable[[], None]) -> None:
        self._action = action
        with self.hold_sync():
            self.text.value = f'<span class="papernb-confirm-text">{esc(question)}</span>'
            self.yes.description = label
        self.layout.display = None

    def confirm(self) -> None:
        action, self._action = self._action, None
        self.layout.display = "none"
        if action is not None:
            action()

    def dismiss(self) -> None:
        self._action = None
        self.layout.display = "none"

    def close(self) -> None:
        for w in (self.text, self.yes, self.no):
            w.close()
        super().close()


class Panel(widgets.VBox):
    """Base of every panel: ``Panel(broker)``; subclasses implement ``_build`` and ``render``."""

    #: the panel's own CSS class (browser tests find it by this)
    css_class = "papernb-panel"
    def __init__(self, broker: Broker | Session, *, subscribe: bool = True, css: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.broker: Broker = as_broker(broker)
        self._loop = _capture_loop()
        self._tasks: set[asyncio.Task] = set()
        self._queued = 0
        self._qlock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None
        self._unsub_events: Callable[[], None] | None = None
        self.snapshot: Snapshot | None = None
        self.add_class("papernb-root")
        self.add_class(self.css_class)
        parts = self._build()
        if css:
            parts = [widgets.HTML(CSS, layout=widgets.Layout(display="none")), *parts]
        self.children = tuple(parts)
        if subscribe:
            self._unsubscribe = self.broker.subscribe(self._on_snapshot)

    # -- to implement -----------------------------------------------------------------------
    def _build(self) -> list[widgets.Widget]:
        raise NotImplementedError

    def render(self, snap: Snapshot) -> None:
        """Redraw from ``snap`` (and broker reads); assign only what changed."""
        raise NotImplementedError

    # -- snapshots --------------------------------------------------------------------------
    def _on_snapshot(self, snap: Snapshot) -> None:
        self.snapshot = snap
        try:
            self.render(snap)
        except Exception:  # a drawing bug must not stop the other panels
            log.exception("%s failed to render", type(self).__name__)

    def redraw(self) -> None:
        """Render again from a fresh snapshot (after a command, or when a filter changes)."""
        self._on_snapshot(self.broker.snapshot())

    @staticmethod
    def _set(widget: widgets.Widget, **values: Any) -> bool:
        """Assign the traits that differ, in one message; True if anything changed."""
        changed = {k: v for k, v in values.items() if getattr(widget, k) != v}
        if not changed:
            return False
        with widget.hold_sync():
            for k, v in changed.items():
                setattr(widget, k, v)
        return True

    # -- commands ---------------------------------------------------------------------------
    def _soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the panel's loop (safe from any thread): all a callback does."""
        with self._qlock:
            self._queued += 1

        def call() -> None:
            try:
                fn(*args)
            except Exception:
                log.exception("%s: %r failed", type(self).__name__, fn)
            finally:
                self._done()

        try:
            self._loop.call_soon_threadsafe(call)
        except RuntimeError:  # the loop is closed: the session is gone
            self._done()
            log.warning("%s: the event loop is closed; command dropped", type(self).__name__)

    def _done(self) -> None:
        with self._qlock:
            self._queued -= 1

    def _run(self, make: Callable[[], Awaitable[Any]], done: Callable[[Any, str | None], None]) -> asyncio.Task:
        """On the loop: ``await make()`` in a task, then ``done(result, None)`` or ``done(None, message)``."""
        with self._qlock:
            self._queued += 1

        async def runner() -> None:
            try:
                try:
                    result = await make()
                except PaperError as e:
                    done(None, str(e))
                    return
                except Exception as e:  # not ours: still say something useful next to the control
                    log.exception("%s: command failed", type(self).__name__)
                    done(None, f"unexpected error: {type(e).__name__}: {e}")
                    return
                done(result, None)
            except Exception:
                log.exception("%s: showing a command result failed", type(self).__name__)
            finally:
                self._done()

        task = self._loop.create_task(runner())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def busy(self) -> bool:
        """A command is queued or running."""
        return self._queued > 0

    async def settle(self, max_steps: int = 1000) -> None:
        """Await until the queued commands of this panel have run (tests, notebooks)."""
        for _ in range(max_steps):
            if self._queued <= 0:
                return
            await asyncio.sleep(0)

    def _listen_events(self, callback: Callable[[Any], None]) -> None:
        """Hear the broker's typed order and alert updates (``subscribe_events``), on the panel's loop."""
        self._unsub_events = self.broker.subscribe_events(lambda update: self._soon(callback, update))

    # -- lifetime ---------------------------------------------------------------------------
    def close(self) -> None:
        """Stop listening to the broker and close the widgets (running commands finish)."""
        unsub, self._unsubscribe = self._unsubscribe, None
        if unsub is not None:
            unsub()
        unsub, self._unsub_events = self._unsub_events, None
        if unsub is not None:
            unsub()
        for child in self._descendants():
            child.close()
        super().close()

    def _descendants(self) -> list[widgets.Widget]:
        out: list[widgets.Widget] = []
        stack = list(self.children)
        while stack:
            w = stack.pop()
            out.append(w)
            stack.extend(getattr(w, "children", ()) or ())
        return out
