"""papernb serve follows the exchange's regular hours on real quotes, as pn.connect does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from papernb.service.app import Service, ServiceConfig


@pytest.mark.parametrize(("feed", "settings", "env", "want"), [
    ("redis", {}, None, "regular"),
    ("redis", {"trading_hours": "always"}, None, "always"),
    ("redis", {}, "extended", "extended"),
    ("sim", {}, None, "always"),
    ("none", {}, None, "always"),
])
def test_serve_trading_hours_follow_the_feed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, feed: str,
                                             settings: dict, env: str | None, want: str) -> None:
    if env is None:
        monkeypatch.delenv("PAPERNB_TRADING_HOURS", raising=False)
    else:
        monkeypatch.setenv("PAPERNB_TRADING_HOURS", env)

    async def main() -> str:
        svc = Service(ServiceConfig(book=str(tmp_path / "b.duckdb"), feed=feed, redis="redis://127.0.0.1:9",
                                    settings=settings))
        await svc.start()
        try:
            return svc.engine.config.trading_hours  # type: ignore[union-attr]
        finally:
            await svc.stop()

    assert asyncio.run(main()) == want
