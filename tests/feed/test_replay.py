"""Replay: files to quotes in bulk, validated, in time order, paced by speed."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from papernb.errors import InvalidInput
from papernb.feed import Replay, load_quotes
from papernb.feed.replay import read_tape
from papernb.quote import Quote

T0 = 1_732_550_400_000_000_000  # 2024-11-25T16:00:00Z
S = 1_000_000_000

CSV = """Symbol,Bid,Ask,Last,Bid_Size,Ask_Size,Change_Pct,ts
AAPL,189.49,189.51,189.50,300,200,1.25,2024-11-25T16:00:02Z
msft ,420.10,420.12,420.11,100,100,-0.5,2024-11-25T16:00:00Z
AAPL,189.52,189.50,189.51,300,200,1.25,2024-11-25T16:00:03Z
SPY,0,560.01,560.00,,,,2024-11-25T16:00:01Z
BAD SYMBOL,1,2,1.5,1,1,0,2024-11-25T16:00:01Z
TSLA,-1,250,250,1,1,0,2024-11-25T16:00:01Z
QQQ,480.00,480.02,,7.5,1,0,2024-11-25T16:00:01Z
IWM,,,215.5,1,1,0,1970-01-01T00:00:01Z
/ES,5950.25,5950.50,,10,12,0.1,2024-11-25T16:00:01Z
"""


def test_csv_loads_in_time_order_and_drops_bad_rows_exactly(tmp_path: Path) -> None:
    f = tmp_path / "q.csv"
    f.write_text(CSV)
    quotes, dropped = load_quotes(f)
    # dropped: crossed AAPL, BAD SYMBOL, negative TSLA bid, QQQ half-share size, IWM 1970 ts
    assert dropped == 5
    assert quotes == [
        Quote("MSFT", bid="420.10", ask="420.12", last="420.11", bid_size=100, ask_size=100, change_pct="-0.5",
              ts=T0),
        Quote("SPY", ask="560.01", last="560.00", ts=T0 + S),
        Quote("/ES", bid="5950.25", ask="5950.50", bid_size=10, ask_size=12, change_pct="0.1", ts=T0 + S),
        Quote("AAPL", bid="189.49", ask="189.51", last="189.50", bid_size=300, ask_size=200, change_pct="1.25",
              ts=T0 + 2 * S),
    ]


def test_tape_builds_the_same_quotes_chunk_by_chunk_every_time(tmp_path: Path) -> None:
    f = tmp_path / "q.csv"
    f.write_text(CSV)
    quotes, dropped = load_quotes(f)
    tape = read_tape(f)
    assert (len(tape), tape.dropped, tape.has_sizes) == (4, dropped, True)
    for size in (1, 3, 4096):  # chunk borders inside and outside the file: the same quotes, in order
        chunks = list(tape.chunks(size))
        assert [len(c) for c in chunks] == ([1, 1, 1, 1] if size == 1 else [3, 1] if size == 3 else [4])
        assert [q for c in chunks for q in c] == quotes
    assert list(tape) == quotes  # a tape replays any number of times
    # the /ES quote has no last: its mark is the mid, not a shared last
    assert [q._mark for q in quotes] == [4_201_100, 5_600_000, 59_503_750, 1_895_000]


def test_file_without_needed_columns_is_refused_naming_them(tmp_path: Path) -> None:
    f = tmp_path / "q.csv"
    f.write_text("ticker,bid,when\nAAPL,1,2\n")
    with pytest.raises(InvalidInput, match=r"no ts, last \(or bid and ask\) column; it has: ticker, bid, when"):
        load_quotes(f)


def test_naive_times_are_refused_unless_a_time_zone_is_given(tmp_path: Path) -> None:
    f = tmp_path / "q.csv"
    f.write_text("symbol,last,timestamp\nAAPL,189.5,2024-11-25 11:00:00\n")
    with pytest.raises(InvalidInput, match="without a time zone"):
        load_quotes(f)
    quotes, _ = load_quotes(f, tz="America/New_York")
    assert quotes == [Quote("AAPL", last="189.5", ts=T0)]


def test_parquet_decimal_and_float_prices_convert_to_exact_units(tmp_path: Path) -> None:
    f = tmp_path / "q.parquet"
    pq.write_table(pa.table({
        "symbol": ["A", "B", "C"],
        "last": pa.array([Decimal("0.1"), Decimal("189.4975"), Decimal("1.23456")], pa.decimal128(12, 5)),
        "bid": [0.1, 189.37, 3.3],
        "ask": [0.3, 189.51, 3.30005],
        "ts": pa.array([T0, T0, T0], pa.timestamp("ns", tz="UTC")),
        "seq": [1, 2, 3],
        "src": ["x", "x", None],
    }), f)
    quotes, dropped = load_quotes(f)
    assert dropped == 0
    assert [(q._bid, q._ask, q._last, q.seq, q.src) for q in quotes] == [
        (1000, 3000, 1000, 1, "x"), (1_893_700, 1_895_100, 1_894_975, 2, "x"), (33_000, 33_000, 12_346, 3, None)]


def test_duckdb_table_and_query_replay(tmp_path: Path) -> None:
    f = tmp_path / "tape.duckdb"
    con = duckdb.connect(str(f))
    con.execute("CREATE TABLE ticks (symbol VARCHAR, last DECIMAL(18,4), ts BIGINT)")
    con.execute(f"INSERT INTO ticks VALUES ('AAPL', 189.5, {T0 + S}), ('MSFT', 420, {T0}), ('AAPL', 189.6, {T0 + 2 * S})")
    con.close()
    assert [q.symbol for q in Replay(f, table="ticks")] == ["MSFT", "AAPL", "AAPL"]
    only = Replay(f, query="SELECT * FROM ticks WHERE symbol = 'AAPL'")
    assert [q.last for q in only] == [Decimal("189.5"), Decimal("189.6")]


def _paced(quotes: list[Quote], speed: float | None) -> tuple[list[float], list[list[str]]]:
    """Run a replay on a fake clock: returns the sleeps it asked for and the batches it published."""
    now = [1000.0]
    sleeps: list[float] = []

    async def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    batches: list[list[str]] = []
    replay = Replay(quotes, speed=speed, clock=lambda: now[0], sleep=sleep, batch=2)
    asyncio.run(replay.run(lambda b: batches.append([q.symbol for q in b])))
    return sleeps, batches


TAPE = [Quote("A", last=1, ts=T0), Quote("B", last=1, ts=T0), Quote("C", last=1, ts=T0 + S),
        Quote("D", last=1, ts=T0 + 3 * S), Quote("E", last=1, ts=T0 + 3 * S), Quote("F", last=1, ts=T0 + 3 * S)]


def test_replay_real_speed_waits_the_recorded_gaps() -> None:
    sleeps, batches = _paced(TAPE, 1.0)
    assert sleeps == [1.0, 2.0]
    assert batches == [["A", "B"], ["C"], ["D", "E"], ["F"]]


def test_replay_at_4x_waits_a_quarter_of_the_gaps() -> None:
    sleeps, _ = _paced(TAPE, 4.0)
    assert sleeps == [0.25, 0.5]


def test_replay_max_speed_never_waits_and_publishes_in_batches() -> None:
    sleeps, batches = _paced(TAPE, None)
    assert sleeps == [0, 0, 0]  # only yields to the loop between batches
    assert batches == [["A", "B"], ["C", "D"], ["E", "F"]]


def test_replay_speed_must_be_positive() -> None:
    with pytest.raises(InvalidInput):
        Replay(TAPE, speed=0)
