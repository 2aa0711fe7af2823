"""The one writer of the book: every command and quote batch, in arrival order, group-committed.

Requests, quote batches and the clock all enqueue here.  The sequencer takes everything that is
waiting, applies it to the engine in order (in memory, on the event loop: the engine is
synchronous and fast), then writes the journal rows of the whole group in one transaction on a
writer thread, so the loop stays free for other clients while the disk syncs; one fsync
acknowledges many commands.  Only then are the callers answered and the events streamed.  If
the write fails, the engine rebuilds from its journal and every command of the group is
answered with the error (ARCHITECTURE.md, service contracts: acknowledged means durable).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..engine import Engine
from ..errors import BookWriteFailed, PaperError
from ..quote import Quote

log = logging.getLogger("papernb.service")

__all__ = ["Sequencer"]

_STOP = object()


class Sequencer:
    """Owns ``engine`` (switched to group commits) until :meth:`stop`."""

    def __init__(self, engine: Engine, *, max_group: int = 512) -> None:
        self.engine = engine
        self.max_group = max_group
        self._queue: asyncio.Queue[tuple[str, Any, asyncio.Future | None]] = asyncio.Queue()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="papernb-writer")
        self._cursor: Any = None
        self._task: asyncio.Task | None = None
        self._accepting = True
        self.groups = 0
        self.commands = 0
        self.quotes = 0
        self.last_write_ms = 0.0
        engine.group_commits(True)

    # -- the outside -------------------------------------------------------------------------
    def start(self) -> asyncio.Task:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="papernb-sequencer")
        return self._task

    async def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn()`` (a command on the engine) in order; its result once its events are durable."""
        if not self._accepting:
            raise ServiceStopping("the service is shutting down; try again when it is back")
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(("call", fn, fut))
        return await fut

    def feed(self, quotes: list[Quote]) -> None:
        """Quotes for the engine (already restamped), applied in order with the commands."""
        if self._accepting:
            self._queue.put_nowait(("quotes", quotes, None))

    def tick(self, ns: int) -> None:
        """Engine time moves without quotes (review windows end, DAY orders expire)."""
        if self._accepting:
            self._queue.put_nowait(("tick", ns, None))

    async def stop(self) -> None:
        """Stop accepting, finish what is queued, write it, checkpoint; the engine is then closed by the owner."""
        self._accepting = False
        if self._task is not None and not self._task.done():
            self._queue.put_nowait(("stop", None, None))
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.engine.group_commits(False)
        self._writer.shutdown(wait=True)

    # -- the inside --------------------------------------------------------------------------
    def _write(self, rows: list[tuple]) -> None:
        store = self.engine.store
        if self._cursor is None:  # made in the writer thread: one DuckDB cursor per thread
            self._cursor = store.writer()
        store.append(rows, con=self._cursor)

    def _write_checkpoint(self, payload: tuple) -> None:
        store = self.engine.store
        if self._cursor is None:
            self._cursor = store.writer()
        store.checkpoint(*payload[0], con=self._cursor)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        engine = self.engine
        stopping = False
        while not stopping:
            items = [await self._queue.get()]
            while len(items) < self.max_group and not self._queue.empty():
                items.append(self._queue.get_nowait())
            answers: list[tuple[asyncio.Future, Any, BaseException | None]] = []
            for kind, payload, fut in items:
                if kind == "stop":
                    stopping = True
                    continue
                try:
                    if kind == "call":
                        self.commands += 1
                        answers.append((fut, payload(), None))  # type: ignore[arg-type]
                    elif kind == "quotes":
                        self.quotes += len(payload)
                        engine.on_quotes(payload)
                    else:
                        engine.advance(payload)
                except PaperError as e:  # refused: nothing changed (the engine saw to that)
                    if fut is not None:
                        answers.append((fut, None, e))
                    else:
                        log.warning("%s batch refused: %s", kind, e)
                except Exception as e:  # a bug: the engine rebuilt what the command had applied
                    log.exception("%s failed in the sequencer", kind)
                    if fut is not None:
                        answers.append((fut, None, e))
            rows = engine.take_group()
            failure: BaseException | None = None
            if rows:
                t0 = time.perf_counter()
                try:
                    await loop.run_in_executor(self._writer, self._write, rows)
                except Exception as exc:
                    engine.group_failed()
                    failure = exc if isinstance(exc, BookWriteFailed) else engine.store.write_failed(exc)
                    log.error("%s", failure)
                else:
                    self.last_write_ms = (time.perf_counter() - t0) * 1000
                    self.groups += 1
                    engine.group_written(rows)
            for fut, result, err in answers:
                if fut.done():
                    continue
                if err is None and failure is not None:
                    err = failure
                if err is not None:
                    fut.set_exception(err)
                else:
                    fut.set_result(result)
            if engine.checkpoint_due and not engine.take_group():
                payload = engine.checkpoint_payload()
                try:
                    await loop.run_in_executor(self._writer, self._write_checkpoint, payload)
                except Exception as exc:  # the journal is intact: next second
                    log.warning("checkpoint failed (the journal is intact): %s", exc)
                else:
                    engine.checkpoint_written(payload)


class ServiceStopping(PaperError):
    """A command arrived while the service was shutting down."""
