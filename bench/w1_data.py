#!/usr/bin/env python3
"""Write the W1 quotes (../shared/bench/gen_ticks.py, seed 42) to bench/data/w1_ticks.parquet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("PAPERNB_SHARED_BENCH", HERE.parent.parent / "shared" / "bench"))

if __name__ == "__main__":
    out = HERE / "data" / "w1_ticks.parquet"
    out.parent.mkdir(exist_ok=True)
    sys.exit(subprocess.call([sys.executable, str(SHARED / "gen_ticks.py"), "--out", str(out)]))
