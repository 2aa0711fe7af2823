"""Every command-line door, run as a trader would (a real subprocess): bad input gets one line on
stderr naming the problem, a non-zero exit (2: usage, 1: failure), no traceback, and nothing
written or published.  Then: the feed commands stop on time and on SIGTERM / SIGINT, within
1 s, in under 200 MB.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import redis
from openpyxl import Workbook

from papernb.data import template_path

from .feed.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_732_550_400_000_000_000


def _env(**extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k not in ("PAPERNB_REDIS_URL", "PAPERNB_DEBUG", "PAPERNB_FEED")}
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    e.update(extra)
    return e


def papernb(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "papernb.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env or _env(), cwd=cwd)


# ------------------------------------------------------------------------------------- inputs
def _xlsx(path: Path, rows: list[list[object]], *, formulas: bool = False) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Quotes"
    for r in rows:
        ws.append(r)
    if formulas:  # openpyxl saves formulas without values, as a tool that does not compute them would
        for r in range(2, len(rows) + 1):
            ws.cell(row=r, column=2, value=f'=RTD("tos.rtd",,"LAST",$A{r})')
    wb.save(path)
    return path


def _make_inputs(d: Path) -> None:
    head = "symbol,last,ts\n"
    (d / "empty.csv").write_text("")
    (d / "y3000.csv").write_text(head + "AAPL,1,3000-01-01T00:00:00Z\n")
    (d / "overnight.csv").write_text(head + "ES,1,2024-11-03 00:30:00\nES,1,2024-11-03 01:30:00\n")
    (d / "spring.csv").write_text(head + "ES,1,2024-03-10 02:30:00\n")
    (d / "naive.csv").write_text(head + "ES,1,2024-03-10 03:30:00\n")
    (d / "dup.csv").write_text("symbol,last,last,ts\nAAPL,1,2,1732550400000000000\n")
    (d / "latin1.csv").write_bytes(head.encode() + b"Soci\xe9t\xe9,1,1732550400000000000\n")
    (d / "allbad.csv").write_text(head + "AAPL,abc,1732550400000000000\n")
    (d / "good.csv").write_text(head + "AAPL,189.5,1732550400000000000\n")
    (d / "corrupt.parquet").write_bytes(b"PAR1 but not really")
    buf = io.BytesIO()
    pq.write_table(pa.table({"symbol": ["A"], "last": [1.0], "ts": [T0]}), buf)
    (d / "corrupt.duckdb").write_bytes(b"not a database" * 100)
    con = duckdb.connect(str(d / "ticks.duckdb"))
    con.execute("CREATE TABLE ticks (symbol VARCHAR, last DOUBLE, ts BIGINT)")
    con.close()
    (d / "fake.xlsx").write_text("not a workbook")
    (d / "quotes.csv").write_text("SYMBOL,LAST\nAAPL,1\n")
    _xlsx(d / "noheader.xlsx", [["AAPL", 1]])
    _xlsx(d / "formulas.xlsx", [["SYMBOL", "LAST"], ["AAPL", None], ["MSFT", None], ["/ES", None]], formulas=True)
    _xlsx(d / "allbad.xlsx", [["SYMBOL", "LAST", "BID", "ASK"], ["AAPL", 1, 2, 1]])
    (d / "existing.parquet").write_bytes(buf.getvalue())


# id -> (arguments, exit code, what the one line must say); {redis}: a real server, {dead}: nothing listens.
# (The loaders' own refusals are all in tests/test_doors_loaders.py, in-process; here each door once.)
CASES: dict[str, tuple[list[str], int, str]] = {
    # the command line itself (exit 2)
    "no command": (["bogus"], 2, "unknown command 'bogus'"),
    "feed without a source": (["feed"], 2, "required: source"),
    "sim --rate 0": (["feed", "sim", "--rate", "0"], 2, "--rate must be a number more than 0 and at most 100,000"),
    "sim --rate 1e9": (["feed", "sim", "--rate", "1e9", "--duration", "1"], 2, "at most 100,000"),
    "sim --rate abc": (["feed", "sim", "--rate", "abc"], 2, "--rate must be a number"),
    "sim --duration -1": (["feed", "sim", "--duration", "-1"], 2, "--duration must be a number more than 0"),
    "sim --symbols": (["feed", "sim", "--symbols", "A B"], 2, "'A B' is not a valid symbol"),
    "sim --redis http://host": (["feed", "sim", "--redis", "http://host"], 2, "--redis http://host is not a Redis URL"),
    "sim --redis notaurl": (["feed", "sim", "--redis", "notaurl"], 2, "--redis notaurl is not a Redis URL"),
    "replay --speed abc": (["feed", "replay", "good.csv", "--speed", "abc"], 2, "--speed must be a number"),
    "replay --tz Mars/Olympus": (["feed", "replay", "naive.csv", "--tz", "Mars/Olympus"], 2,
                                 "unknown time zone 'Mars/Olympus'"),
    "excel --interval 0": (["feed", "excel", "formulas.xlsx", "--interval", "0"], 2, "--interval must be a number"),
    "quotes without Redis": (["quotes", "AAPL"], 2, "no Redis configured"),
    "record without Redis": (["record", "--to", "r1.duckdb"], 2, "no Redis configured"),
    "record --to .csv": (["record", "--to", "r.csv", "--redis", "{redis}"], 2, "record to a .parquet or .duckdb"),
    "app --port 99999": (["app", "--port", "99999"], 2, "--port must be between 1 and 65535"),
    "app --feed bogus": (["app", "--feed", "bogus"], 2, "--feed must be sim, redis or replay:PATH"),
    "app --account": (["app", "--account", "\u017fam"], 2, "an account name is 1-32 of a-z"),
    "app --redis http://host": (["app", "--redis", "http://host"], 2, "not a Redis URL"),
    # input that cannot be used, a Redis that is not there (exit 1)
    "replay empty CSV": (["feed", "replay", "empty.csv", "--redis", "{redis}"], 1, "empty.csv is empty"),
    "replay year 3000": (["feed", "replay", "y3000.csv"], 1, "not a time between 1990 and 2100"),
    "replay DST ambiguous": (["feed", "replay", "overnight.csv", "--tz", "America/New_York", "--redis", "{redis}"], 1,
                             "row 2, ts 2024-11-03 01:30:00: this local time happens twice"),
    "replay DST nonexistent": (["feed", "replay", "spring.csv", "--tz", "America/New_York"], 1,
                               "this local time does not exist"),
    "replay naive times": (["feed", "replay", "naive.csv"], 1, "pass tz='America/New_York'"),
    "replay duplicate column": (["feed", "replay", "dup.csv"], 1, "dup.csv has 2 columns named 'last'"),
    "replay invalid UTF-8": (["feed", "replay", "latin1.csv"], 1, "latin1.csv is not UTF-8 text (line 2"),
    "replay every row bad": (["feed", "replay", "allbad.csv", "--redis", "{redis}"], 1,
                             "every row of allbad.csv was dropped (1 of 1): row 1, last 'abc': not a price"),
    "replay corrupt Parquet": (["feed", "replay", "corrupt.parquet"], 1, "corrupt.parquet is not a readable Parquet"),
    "replay corrupt DuckDB": (["feed", "replay", "corrupt.duckdb"], 1, "corrupt.duckdb is not a readable DuckDB"),
    "replay DuckDB table": (["feed", "replay", "ticks.duckdb"], 1, "ticks.duckdb has no table 'quotes'; it has: ticks"),
    "replay unreachable Redis": (["feed", "replay", "good.csv", "--redis", "{dead}"], 1,
                                 "cannot reach Redis at redis://:***@127.0.0.1:"),
    "sim unreachable Redis": (["feed", "sim", "--redis", "{dead}"], 1, "cannot reach Redis at redis://:***@127.0.0.1:"),
    "excel missing file": (["feed", "excel", "nope.xlsx"], 1, "nope.xlsx: no such workbook"),
    "excel fake xlsx": (["feed", "excel", "fake.xlsx", "--redis", "{redis}"], 1,
                        "fake.xlsx is not a readable Excel workbook"),
    "excel a CSV": (["feed", "excel", "quotes.csv"], 1, "quotes.csv is not an Excel workbook"),
    "excel no header": (["feed", "excel", "noheader.xlsx", "--once"], 1, "no header row found"),
    "excel formulas without values": (["feed", "excel", "formulas.xlsx", "--redis", "{redis}"], 1,
                                      "formulas.xlsx: no values in 3 formula rows: open the workbook in Excel with "
                                      "ThinkOrSwim running, let the quotes load, and save it"),
    "excel the template": (["feed", "excel", str(template_path()), "--once"], 1,
                           "tos_quotes_template.xlsx: no values in 8 formula rows: open the workbook in Excel with "
                           "ThinkOrSwim running, let the quotes load, and save it"),
    "excel --once, every row bad": (["feed", "excel", "allbad.xlsx", "--once", "--redis", "{redis}"], 1,
                                    "allbad.xlsx has no quotes to publish (1 rows dropped: row 2 (AAPL)"),
    "quotes unreachable Redis": (["quotes", "AAPL", "--redis", "{dead}"], 1,
                                 "cannot read quotes from Redis at redis://:***@127.0.0.1:"),
    "record unreachable Redis": (["record", "--to", "r3.duckdb", "--redis", "{dead}"], 1, "cannot reach Redis"),
    "record missing folder": (["record", "--to", "no/such/x.duckdb", "--redis", "{redis}"], 1,
                              "the folder no/such does not exist"),
    "record corrupt DuckDB": (["record", "--to", "corrupt.duckdb", "--redis", "{redis}"], 1, "it is not a DuckDB file"),
    "record existing Parquet": (["record", "--to", "existing.parquet", "--redis", "{redis}"], 1, "exists already"),
    "demo on an existing file": (["demo", "--book", "corrupt.duckdb"], 1, "exists already"),
    "demo missing folder": (["demo", "--book", "no/such/b.duckdb"], 1, "the folder no/such does not exist"),
    "app unreachable Redis": (["app", "--redis", "{dead}"], 1, "cannot reach Redis at redis://:***@127.0.0.1:"),
    "app missing replay file": (["app", "--feed", "replay:nope.csv"], 1, "no such quotes file nope.csv"),
}


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    s = RedisServer().start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def ran(server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Every case at once, a few processes at a time (each is mostly Python starting up)."""
    d = tmp_path_factory.mktemp("doors")
    _make_inputs(d)
    before = sorted(str(p.relative_to(d)) for p in d.rglob("*"))
    dead = f"redis://:secret@127.0.0.1:{free_port()}"
    env = _env(PAPERNB_HOME=str(d / "home"))

    def one(case: str) -> subprocess.CompletedProcess:
        args = [a.replace("{redis}", server.url).replace("{dead}", dead) for a in CASES[case][0]]
        return papernb(*args, cwd=d, env=env)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(CASES, pool.map(one, CASES), strict=True))
    client = redis.Redis.from_url(server.url)
    keys = client.keys("*")
    client.close()
    after = sorted(str(p.relative_to(d)) for p in d.rglob("*"))
    return {"results": results, "keys": keys, "written": sorted(set(after) - set(before))}


@pytest.mark.parametrize("case", CASES.keys())
def test_bad_input_gets_one_line_a_non_zero_exit_and_no_traceback(case: str, ran: dict) -> None:
    r = ran["results"][case]
    _, code, text = CASES[case]
    lines = r.stderr.strip().splitlines()
    assert "Traceback" not in r.stderr + r.stdout
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("papernb") and text in lines[0], lines[0]
    assert r.returncode == code, r.stderr
    assert "secret" not in r.stderr  # the password is masked
    assert r.stdout == ""  # nothing printed means nothing published either


def test_nothing_was_written_or_published_by_any_of_them(ran: dict) -> None:
    assert ran["written"] == []
    assert ran["keys"] == []


@pytest.mark.parametrize("how", ["--debug", "PAPERNB_DEBUG=1"])
def test_debug_shows_the_stack_and_still_the_one_line(how: str, tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    args = ["feed", "replay", "empty.csv"] + (["--debug"] if how == "--debug" else [])
    r = papernb(*args, cwd=tmp_path, env=_env(PAPERNB_DEBUG="1") if how != "--debug" else None)
    assert r.returncode == 1
    assert "Traceback (most recent call last)" in r.stderr
    assert r.stderr.strip().splitlines()[-1] == "papernb feed replay: empty.csv is empty: a quotes file needs a " \
                                                "header row (symbol,ts,last,...) and rows"


def test_an_unexpected_error_is_one_line_too(capsys: pytest.CaptureFixture[str]) -> None:
    from papernb.cli import run_command

    def boom() -> int:
        raise KeyError("x")

    assert run_command("papernb test", boom, debug=False) == 1
    err = capsys.readouterr().err
    assert err == "papernb test: unexpected KeyError: 'x' (a bug in papernb: run again with --debug for the stack " \
                  "and please report it)\n"


# ------------------------------------------------------------------------------------- what works now
def test_replay_drops_and_names_bad_rows_and_reads_seconds(tmp_path: Path) -> None:
    (tmp_path / "day.csv").write_text("symbol,last,bid_size,ts\nAAPL,189.5,100,1732550400\nAAPL,189.6,abc,1732550401\n"
                                      "MSFT,420,100,1732550402\n")
    r = papernb("feed", "replay", "day.csv", "--speed", "max", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [line.split('"symbol":"')[1][:4] for line in r.stdout.splitlines()] == ["AAPL", "MSFT"]
    assert "papernb: 1 of 3 rows of day.csv dropped: row 2, bid_size 'abc': not a whole number of shares" in r.stderr
    assert "the times in day.csv are read as seconds since 1970 (by their size)" in r.stderr


def test_excel_publishes_the_good_rows_and_names_the_bad_cell(tmp_path: Path) -> None:
    _xlsx(tmp_path / "tos.xlsx", [["SYMBOL", "LAST", "PERCENT_CHANGE"], ["AAPL", 189.5, 12345], ["MSFT", 420, 0.0123]])
    r = papernb("feed", "excel", "tos.xlsx", "--once", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert '"symbol":"MSFT"' in r.stdout and "AAPL" not in r.stdout
    assert "papernb: Excel row 2 (AAPL) dropped: PERCENT_CHANGE cell C2 = 12345.0: change_pct must be a percent " \
           "between -100000 and 100000" in r.stderr


# ------------------------------------------------------------------------------------- stopping
class _Run:
    """A feed command in a subprocess, watched: when it started feeding, its peak memory, when it ended."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "papernb.cli", *args], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, env=_env(), cwd=cwd)
        self.lines: list[str] = []
        self.started = threading.Event()
        self.peak_rss = 0
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._watch, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            self.started.set()  # its first line comes when everything is ready and it starts feeding

    def _watch(self) -> None:
        status = Path(f"/proc/{self.proc.pid}/status")
        while self.proc.poll() is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.peak_rss = max(self.peak_rss, int(line.split()[1]) * 1024)
            except OSError:
                return
            time.sleep(0.05)

    def wait_started(self) -> float:
        assert self.started.wait(30), "".join(self.lines)
        return time.monotonic()

    def wait(self, timeout: float = 30) -> float:
        self.proc.wait(timeout)
        return time.monotonic()


@pytest.mark.parametrize("redis_too", [False, True], ids=["stdout", "redis"])
def test_sim_at_the_highest_rate_stops_within_a_second_of_duration_in_under_200_mb(
        redis_too: bool, server: RedisServer, tmp_path: Path) -> None:
    extra = ["--redis", server.url, "--prefix", "stop"] if redis_too else []
    run = _Run("feed", "sim", "--rate", "100000", "--duration", "1", *extra, cwd=tmp_path)
    started = run.wait_started()
    ended = run.wait()
    assert run.proc.returncode == 0, "".join(run.lines)
    assert ended - started < 1.0 + 1.0, "".join(run.lines)
    assert run.peak_rss < 200 * 2**20
    assert "published" in run.lines[-1]


def _long_replay(d: Path) -> Path:
    (d / "day.csv").write_text("symbol,last,ts\nAAPL,1,1732550400000000000\nAAPL,2,1732554000000000000\n")  # 1 h apart
    return d / "day.csv"


@pytest.mark.parametrize(("command", "sig"), [
    ("sim", signal.SIGTERM), ("sim", signal.SIGINT), ("replay", signal.SIGTERM), ("excel", signal.SIGTERM)])
def test_feed_commands_stop_within_a_second_of_a_signal(command: str, sig: int, tmp_path: Path) -> None:
    if command == "sim":
        args = ["feed", "sim", "--rate", "100000"]
    elif command == "replay":
        args = ["feed", "replay", str(_long_replay(tmp_path))]
    else:
        _xlsx(tmp_path / "q.xlsx", [["SYMBOL", "LAST"], ["AAPL", 189.5]])
        args = ["feed", "excel", "q.xlsx", "--interval", "0.1"]
    run = _Run(*args, cwd=tmp_path)
    run.wait_started()
    time.sleep(0.5)
    sent = time.monotonic()
    run.proc.send_signal(sig)
    ended = run.wait()
    assert run.proc.returncode == 130, "".join(run.lines)
    assert ended - sent < 1.0, "".join(run.lines)
    assert run.peak_rss < 200 * 2**20
    assert "Traceback" not in "".join(run.lines)


def test_record_stops_on_time_and_on_sigterm_with_a_whole_file(server: RedisServer, tmp_path: Path) -> None:
    run = _Run("record", "--to", "a.parquet", "--duration", "1", "--redis", server.url, cwd=tmp_path)
    started = run.wait_started()
    assert run.wait() - started < 2.0 and run.proc.returncode == 0, "".join(run.lines)
    run = _Run("record", "--to", "b.parquet", "--redis", server.url, cwd=tmp_path)
    run.wait_started()
    time.sleep(0.5)
    sent = time.monotonic()
    run.proc.send_signal(signal.SIGTERM)
    assert run.wait() - sent < 1.0 and run.proc.returncode == 130, "".join(run.lines)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.parquet", "b.parquet"]  # closed: no .partial left
    assert pq.read_table(tmp_path / "b.parquet").num_rows == 0
