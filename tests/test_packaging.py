"""The project's own files agree with each other (environment.yml cannot be resolved here)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"duckdb": "python-duckdb", "redis": "redis-py", "ray": "ray-core"}  # PyPI name -> conda-forge name
NOT_ON_LINUX = {"xlwings"}  # the excel extra: Windows/macOS only


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[;]", req.strip(), maxsplit=1)[0].lower()


def test_environment_yml_lists_the_same_packages_as_pyproject() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"][0] == "conda-forge"
    deps = env["dependencies"]
    conda = {_name(d) for d in deps if isinstance(d, str)}
    pip = [d for d in deps if isinstance(d, dict)][0]["pip"]
    assert "-e .[test,app,service,dask,ray]" in pip
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *(r for extra, reqs in project["optional-dependencies"].items()
                                         for r in reqs)]
    names = {CONDA_NAMES.get(_name(r), _name(r)) for r in wanted} - NOT_ON_LINUX
    assert names <= conda, f"missing from environment.yml: {sorted(names - conda)}"
    assert "python=3.11" in deps and "redis-server" in conda
    assert conda - names - {"python", "pip", "redis-server", "configurable-http-proxy"} == set(), \
        "environment.yml lists extra packages"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text().splitlines()
    commands = [line.split("#")[0].strip() for line in readme[:12] if line.startswith("./scripts/")]
    assert commands[:2] == ["./scripts/run.sh", "./scripts/test.sh"]
    assert "./scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_import_papernb_and_a_backtest_load_no_redis_nor_excel_reader(tmp_path) -> None:
    """Engine-only users (a notebook backtest) do not pay for redis, xlwings or the Excel reader."""
    import subprocess
    import sys

    csv = tmp_path / "q.csv"
    csv.write_text("ts,symbol,bid,ask,last\n2024-01-02T14:30:00Z,AAPL,189.9,190.1,190.0\n")
    code = ("import sys, papernb as pn\n"
            f"pn.backtest({str(csv)!r}, lambda ctx, q: None, progress=False)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('redis', 'xlwings', 'python_calamine')"
            " or m in ('papernb.feed.redis_bus', 'papernb.feed.excel')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
