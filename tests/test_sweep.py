"""pn.sweep: the same DataFrame from serial, the process pool, a real Dask LocalCluster and Ray."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import papernb as pn

T0 = 1_704_205_800_000_000_000
SEC = 1_000_000_000


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> str:
    import math

    rows = []
    for i in range(600):
        for k, sym in enumerate(("AAA", "BBB")):
            mid = round(100 + 2 * math.sin(i / (7 + k)) + 0.01 * i, 2)
            rows.append((T0 + (2 * i + k) * SEC, sym, mid - 0.01, mid + 0.01, mid))
    path = tmp_path_factory.mktemp("sweep") / "ticks.parquet"
    pd.DataFrame(rows, columns=["ts", "symbol", "bid", "ask", "last"]).to_parquet(path)
    return str(path)


class Dip:
    """Buys a dip of ``dip`` below the last quote, with a take-profit ``take`` above its entry."""

    def __init__(self, dip: float, take: float) -> None:
        self.dip, self.take = dip, take

    def on_quote(self, ctx: pn.Account, q: pn.Quote) -> None:
        if not ctx.orders(status="open", symbol=q.symbol) and ctx.position(q.symbol) is None:
            ctx.buy(q.symbol, 10, limit=pn.to_tick(q.bid - self.dip, "buy"),
                    take_profit=pn.to_tick(q.bid - self.dip + self.take, "sell"))


GRID = {"dip": [0.03, 0.05], "take": [0.10, 0.20]}


def test_serial_sweep_is_one_row_per_combination_with_the_journal_hash_of_running_it_alone(data: str) -> None:
    table = pn.sweep(data, Dip, GRID, executor="serial")
    assert list(table[["dip", "take"]].itertuples(index=False, name=None)) == [(0.03, 0.1), (0.03, 0.2),
                                                                               (0.05, 0.1), (0.05, 0.2)]
    alone = pn.backtest(data, Dip(0.05, 0.2), progress=False)
    assert table.loc[3, "journal_hash"] == alone.journal_hash
    assert {"sharpe", "trades", "equity", "benchmark_return_pct"} <= set(table.columns)
    assert table["trades"].sum() > 0


def test_process_pool_gives_the_same_table(data: str) -> None:
    pd.testing.assert_frame_equal(pn.sweep(data, Dip, GRID), pn.sweep(data, Dip, GRID, executor="serial"))


def test_a_dask_local_cluster_gives_the_same_table(data: str) -> None:
    import distributed  # the dask extra: scripts/test.sh installs it
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c, \
            distributed.Client(c) as client:
        got = pn.sweep(data, Dip, GRID, executor=client)
    pd.testing.assert_frame_equal(got, pn.sweep(data, Dip, GRID, executor="serial"))


def test_ray_started_locally_gives_the_same_table(data: str) -> None:
    import ray  # the ray extra: scripts/test.sh installs it
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
    try:
        got = pn.sweep(data, Dip, GRID, executor="ray")
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(got, pn.sweep(data, Dip, GRID, executor="serial"))


def test_bad_grids_and_executors_are_refused(data: str, tmp_path: Path) -> None:
    for grid in ({}, {"dip": []}, [("dip", 1)]):
        with pytest.raises(pn.InvalidInput):
            pn.sweep(data, Dip, grid, executor="serial")
    with pytest.raises(pn.InvalidInput, match="executor must be"):
        pn.sweep(data, Dip, GRID, executor="cluster")
