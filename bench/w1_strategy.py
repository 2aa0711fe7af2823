"""The W1 strategy for the benches: the same class the golden test pins (tests/golden/w1.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.golden.w1 import W1, w1_table  # noqa: E402

__all__ = ["W1", "w1_table"]
