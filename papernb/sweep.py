"""Parameter sweeps: one backtest per combination of a grid, on a process pool, Dask or Ray.

``pn.sweep(data, Strategy, grid={"dip": [0.03, 0.05], "take": [0.10, 0.20]})`` runs
``Strategy(**params)`` for every combination, each on its own ``:memory:`` engine, and returns one
DataFrame: a row per combination (in grid order), a column per parameter, the stats of
``res.stats()`` and ``journal_hash`` (the same as running that combination alone).

Executors (``executor=``): ``None`` a local process pool (one worker per core; the data is loaded
once per worker, not once per combination; the strategy travels with cloudpickle, so a class
defined in a notebook works); ``"serial"`` this process; a ``dask.distributed.Client`` (the
data is scattered to the workers once); ``"ray"`` or the ``ray`` module (``ray.init`` is called
if needed; the data is put in the object store once).  Dask and Ray are optional extras:
``pip install "papernb[dask]"`` / ``"papernb[ray]"``.  No scheduler of papernb's own.
"""

from __future__ import annotations

import itertools
import os
import pickle
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from .errors import InvalidInput

__all__ = ["sweep"]

_DROP = ("bad_rows", "run_seconds")  # not results: they differ from run to run or are lists

_WORKER: dict[str, Any] = {}


def _dumps(obj: Any) -> bytes:
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover - cloudpickle comes with dask and ray
        return pickle.dumps(obj)
    return cloudpickle.dumps(obj)


def combinations(grid: Mapping[str, Iterable[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in order (the last name varies fastest)."""
    if not isinstance(grid, Mapping) or not grid:
        raise InvalidInput("grid must be a dict of parameter name -> list of values")
    names = list(grid)
    values = []
    for n in names:
        v = grid[n]
        v = [v] if isinstance(v, str | bytes) or not isinstance(v, Iterable) else list(v)
        if not v:
            raise InvalidInput(f"grid[{n!r}] has no values")
        values.append(v)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def run_one(tape: Any, strategy: Any, params: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """One combination: ``strategy(**params)`` on a fresh in-memory engine; its row of the table."""
    from .backtest import backtest

    res = backtest(tape, strategy(**params), progress=False, **settings)
    row = dict(params)
    for k, v in res.stats().items():
        if k not in _DROP:
            row[k] = v
    row["journal_hash"] = res.journal_hash
    return row


def _init_worker(blob: bytes) -> None:
    data, strategy, settings, tz = pickle.loads(blob)
    from .backtest import load_tape

    _WORKER["job"] = (load_tape(data, tz=tz), strategy, settings)


def _pool_task(params: dict[str, Any]) -> dict[str, Any]:
    tape, strategy, settings = _WORKER["job"]
    return run_one(tape, strategy, params, settings)


def _remote_task(blob: bytes, key: str, params: dict[str, Any]) -> dict[str, Any]:
    job = _WORKER.get(key)
    if job is None:  # once per worker process: the data arrives once and is read once
        data, strategy, settings, tz = pickle.loads(blob)
        from .backtest import load_tape

        job = _WORKER[key] = (load_tape(data, tz=tz), strategy, settings)
    tape, strategy, settings = job
    return run_one(tape, strategy, params, settings)


def sweep(data: Any, strategy: Any, grid: Mapping[str, Iterable[Any]], *, executor: Any = None,
          workers: int | None = None, progress: bool | None = None, tz: str | None = None,
          cash: Any = None, **settings: Any) -> Any:
    """Run ``strategy(**params)`` for every combination of ``grid``; see the module doc.

    ``data`` is what ``pn.backtest`` takes (a path is best for pools and clusters: each worker reads it);
    the other keywords are backtest settings (``fill_model``, ``commission`` ...), the same for every run.
    """
    import pandas as pd

    if not callable(strategy):
        raise InvalidInput("sweep takes the strategy class (or a function returning a strategy) to call with "
                           "each combination's parameters")
    combos = combinations(grid)
    if cash is not None:
        settings["cash"] = cash
    bar = None
    if progress is not False:
        from .backtest import _in_notebook

        if progress or _in_notebook():
            try:
                from tqdm.auto import tqdm

                bar = tqdm(total=len(combos), unit="run", desc="sweep")
            except ImportError:  # pragma: no cover
                bar = None
    rows: list[dict[str, Any]] = []
    try:
        if executor == "serial":
            from .backtest import load_tape

            tape = load_tape(data, tz=tz)
            for p in combos:
                rows.append(run_one(tape, strategy, p, settings))
                if bar is not None:
                    bar.update()
        elif executor is None or executor == "processes":
            blob = _dumps((data, strategy, settings, tz))
            n = workers or min(len(combos), os.cpu_count() or 1)
            with ProcessPoolExecutor(max_workers=n, initializer=_init_worker, initargs=(blob,)) as pool:
                for row in pool.map(_pool_task, combos):
                    rows.append(row)
                    if bar is not None:
                        bar.update()
        elif _is_ray(executor):
            rows = _ray(executor, data, strategy, settings, tz, combos, bar)
        elif hasattr(executor, "scatter") and hasattr(executor, "submit"):  # a dask.distributed.Client
            blob = _dumps((data, strategy, settings, tz))
            shared = executor.scatter(blob, broadcast=True)
            key = _key(blob)
            futures = [executor.submit(_remote_task, shared, key, p, pure=False) for p in combos]
            for f in futures:
                rows.append(f.result())
                if bar is not None:
                    bar.update()
        else:
            raise InvalidInput(f"executor must be None (a process pool), 'serial', a dask.distributed.Client or "
                               f"'ray', not {executor!r}")
    finally:
        if bar is not None:
            bar.close()
    return pd.DataFrame(rows, columns=list(rows[0]) if rows else None)


def _key(blob: bytes) -> str:
    import hashlib

    return hashlib.sha1(blob).hexdigest()


def _is_ray(executor: Any) -> bool:
    return executor == "ray" or getattr(executor, "__name__", None) == "ray"


def _ray(executor: Any, data: Any, strategy: Any, settings: dict[str, Any], tz: str | None,
         combos: list[dict[str, Any]], bar: Any) -> list[dict[str, Any]]:
    try:
        import ray
    except ImportError:
        raise InvalidInput("executor='ray' needs Ray: pip install \"papernb[ray]\"") from None
    if not ray.is_initialized():
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, ignore_reinit_error=True)
    raw = _dumps((data, strategy, settings, tz))
    key = _key(raw)
    blob = ray.put(raw)
    task = ray.remote(_remote_task)
    refs = [task.remote(blob, key, p) for p in combos]
    rows = []
    for r in refs:
        rows.append(ray.get(r))
        if bar is not None:
            bar.update()
    return rows
