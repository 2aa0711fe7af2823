"""The quote feed: sources -> a bus (in-process hub or Redis) -> whoever subscribes.

The session always reads one :class:`Hub`; what fills it depends on configuration::

    hub = Hub()
    hub.subscribe(on_quotes)                      # on_quotes(list[Quote]), on the event loop
    url = redis_url()                             # argument or PAPERNB_REDIS_URL
    if url is None:                               # embedded: run a source into the hub
        task = asyncio.get_running_loop().create_task(SimulatedMarket(seed=1).run(hub.publish))
    else:                                         # Redis: never a silent fallback to the hub
        sub = RedisSubscriber(hub, url)
        task = sub.start()
    hub.health()                                  # connected, ages, quotes, dropped, gaps
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
