"""The feed commands, run as a trader would: ``python -m papernb.cli ...`` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import redis
from openpyxl import Workbook

from papernb.feed import Replay, SimulatedMarket, load_quotes, snapshot

from .redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def papernb(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k != "PAPERNB_REDIS_URL"}
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "papernb.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=e, cwd=ROOT)


def popen(*args: str) -> subprocess.Popen:
    e = {k: v for k, v in os.environ.items() if k != "PAPERNB_REDIS_URL"}
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return subprocess.Popen([sys.executable, "-m", "papernb.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=e, cwd=ROOT)


def test_feed_sim_without_redis_prints_the_seeded_tape_as_json_lines() -> None:
    r = papernb("feed", "sim", "--symbols", "AAPL,MSFT", "--rate", "20", "--seed", "3", "--duration", "0.05")
    assert r.returncode == 0, r.stderr
    assert "no Redis configured" in r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]  # one tick: 20 quotes/s x 0.1 s
    expected = SimulatedMarket(["AAPL", "MSFT"], rate=20, seed=3).step(2)
    assert [(d["symbol"], Decimal(d["bid"]), Decimal(d["ask"]), Decimal(d["last"]), d["src"], d["seq"])
            for d in lines] == [(q.symbol, q.bid, q.ask, q.last, "sim", i + 1) for i, q in enumerate(expected)]


def test_feed_sim_to_redis_then_quotes_prints_the_latest(redis_url: str) -> None:
    r = papernb("feed", "sim", "--symbols", "AAPL,MSFT", "--rate", "40", "--duration", "0.3", "--redis", redis_url)
    assert r.returncode == 0, r.stderr
    assert "publishing sim quotes to redis://127.0.0.1:" in r.stderr
    q = papernb("quotes", "AAPL", "msft", "--json", env={"PAPERNB_REDIS_URL": redis_url})
    assert q.returncode == 0, q.stderr
    rows = [json.loads(x) for x in q.stdout.splitlines()]
    assert [d["symbol"] for d in rows] == ["AAPL", "MSFT"]
    assert set(rows[0]) == {"symbol", "bid", "ask", "last", "change_pct", "bid_size", "ask_size", "ts", "src", "seq"}
    snap = snapshot(["AAPL"], redis_url)["AAPL"]
    assert rows[0]["last"] == str(snap.last) and rows[0]["seq"] == snap.seq
    text = papernb("quotes", "AAPL", "--redis", redis_url)
    assert text.stdout.startswith("AAPL      last ") and "(sim)" in text.stdout


def test_quotes_for_a_symbol_never_quoted_says_so_and_exits_1(redis_url: str) -> None:
    r = papernb("quotes", "ZZZ", "--redis", redis_url)
    assert (r.returncode, r.stdout, r.stderr.strip()) == (1, "", "ZZZ: no quote")


def test_quotes_and_record_without_redis_exit_2_with_a_clear_message() -> None:
    r = papernb("quotes", "AAPL")
    assert r.returncode == 2 and "no Redis configured" in r.stderr and "PAPERNB_REDIS_URL" in r.stderr
    r = papernb("record", "--to", "x.parquet", "--duration", "1")
    assert r.returncode == 2 and "no Redis configured" in r.stderr


def test_feed_sim_to_an_unreachable_redis_is_an_error_naming_it_and_publishes_nothing() -> None:
    port = free_port()
    r = papernb("feed", "sim", "--rate", "50", "--duration", "0.5", "--redis", f"redis://:secret@127.0.0.1:{port}")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr.strip() == (f"papernb feed sim: cannot reach Redis at redis://:***@127.0.0.1:{port}: "
                                f"Error 111 connecting to 127.0.0.1:{port}. Connection refused.")


def test_feed_excel_once_publishes_the_workbook_rows(redis_url: str, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Quotes"
    for row in (["SYMBOL", "LAST", "BID", "ASK"], ["AAPL", 189.5, 189.49, 189.51], ["/ZB", "111'16", None, None],
                ["MSFT", "Loading", None, None]):
        ws.append(row)
    wb.save(tmp_path / "tos.xlsx")
    r = papernb("feed", "excel", str(tmp_path / "tos.xlsx"), "--once", "--redis", redis_url)
    assert r.returncode == 0, r.stderr
    assert "reading the saved file" in r.stderr and "published 2 quotes" in r.stderr
    snap = snapshot(["AAPL", "/ZB", "MSFT"], redis_url)
    assert {s: (q.last, q.bid, q.ask, q.src) for s, q in snap.items()} == {
        "AAPL": (Decimal("189.5"), Decimal("189.49"), Decimal("189.51"), "excel"),
        "/ZB": (Decimal("111.5"), None, None, "excel")}


def test_feed_excel_on_a_sheet_without_header_exits_1(tmp_path: Path) -> None:
    wb = Workbook()
    wb.active.append(["AAPL", 1])
    wb.save(tmp_path / "x.xlsx")
    r = papernb("feed", "excel", str(tmp_path / "x.xlsx"), "--once")
    assert r.returncode == 1 and "no header row found" in r.stderr


def test_record_cli_captures_a_replayed_file_in_order(redis_url: str, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    lines = ["symbol,bid,ask,last,ts"]
    for i in range(300):
        lines.append(f"{['AAPL', 'MSFT', 'SPY'][i % 3]},{100 + i / 100:.2f},{100.02 + i / 100:.2f},"
                     f"{100.01 + i / 100:.2f},{1_732_550_400_000_000_000 + i}")
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.parquet"
    rec = popen("record", "--to", str(out), "--duration", "6", "--redis", redis_url)  # margin for a busy CI
    r = redis.Redis.from_url(redis_url)
    for _ in range(1000):  # wait until the recorder has subscribed
        if r.pubsub_numsub("papernb:batch")[0][1] >= 1:
            break
        time.sleep(0.01)
    r.close()
    feed = papernb("feed", "replay", str(src), "--speed", "max", "--redis", redis_url)
    assert feed.returncode == 0, feed.stderr
    _, err = rec.communicate(timeout=30)
    assert rec.returncode == 0, err
    assert "recorded 300 quotes" in err
    recorded, dropped = load_quotes(out)
    original = Replay(src).quotes
    assert dropped == 0
    key = lambda q: (q.symbol, q.bid, q.ask, q.last, q.ts)  # noqa: E731
    assert [key(q) for q in recorded] == [key(q) for q in original]
    assert [q.seq for q in recorded] == list(range(1, 301)) and {q.src for q in recorded} == {"replay"}
