"""The quote feed: sources -> a bus (in-process hub or Redis) -> whoever subscribes.

Typical embedded use (no Redis)::

    hub = Hub()
    hub.subscribe(engine_callback)                  # gets list[Quote] per batch
    task = asyncio.get_running_loop().create_task(SimulatedMarket(seed=1).run(hub.publish))

With Redis, ``RedisSubscriber(hub, url).start()`` fills the same hub from the bus.
"""

from __future__ import annotations

from .excel import ExcelSource, LiveWorkbook, ParsedBlock, open_live, parse_block, read_saved
from .hub import FeedHealth, Hub
from .record import Recorder
from .redis_bus import RedisPublisher, RedisSubscriber, asnapshot, mask_url, redis_url, snapshot
from .replay import Replay, load_quotes
from .sim import DEFAULT_SYMBOLS, SimulatedMarket
from .wire import build, decode, encode, normalize

__all__ = [
    "DEFAULT_SYMBOLS",
    "ExcelSource",
    "FeedHealth",
    "Hub",
    "LiveWorkbook",
    "ParsedBlock",
    "Recorder",
    "RedisPublisher",
    "RedisSubscriber",
    "Replay",
    "SimulatedMarket",
    "asnapshot",
    "build",
    "decode",
    "encode",
    "load_quotes",
    "mask_url",
    "normalize",
    "open_live",
    "parse_block",
    "read_saved",
    "redis_url",
    "snapshot",
]
