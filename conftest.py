"""Run-wide settings for the test suite and the notebooks executed by nbval."""

from __future__ import annotations

import os
import tempfile


def pytest_configure(config: object) -> None:
    # Tests and notebooks never touch a trader's real book: every run gets its own,
    # and the notebook kernels nbval starts inherit this environment.
    tmp = tempfile.mkdtemp(prefix="papernb-test-")
    os.environ["PAPERNB_DB"] = os.path.join(tmp, "book.duckdb")
    os.environ.setdefault("PAPERNB_FEED", "sim")
    os.environ.pop("PAPERNB_REDIS_URL", None)
    # and the processes the tests start (Voila and nbval kernels, CLI subprocesses) import this
    # checkout's papernb first, not another install of it (an editable install of another worktree)
    root = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    os.environ["PYTHONPATH"] = os.pathsep.join([root, *rest])
