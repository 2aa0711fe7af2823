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

import importlib
from typing import Any

# Names are imported on first use: engine-only users (``import papernb``, a backtest reading a
# Parquet file) never load redis or the Excel reader.
_WHERE = {
    "ExcelSource": "excel", "LiveWorkbook": "excel", "ParsedBlock": "excel", "open_live": "excel",
    "parse_block": "excel", "read_saved": "excel",
    "FeedHealth": "hub", "Hub": "hub",
    "Recorder": "record",
    "RedisPublisher": "redis_bus", "RedisSubscriber": "redis_bus", "asnapshot": "redis_bus", "mask_url": "redis_bus",
    "redis_url": "redis_bus", "snapshot": "redis_bus",
    "Replay": "replay", "load_quotes": "replay",
    "DEFAULT_SYMBOLS": "sim", "SimulatedMarket": "sim",
    "build": "wire", "decode": "wire", "encode": "wire", "normalize": "wire",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'papernb.feed' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


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
