"""Package data: the ThinkOrSwim RTD template workbook (made by make_template.py)."""

from __future__ import annotations

from pathlib import Path

TEMPLATE = "tos_quotes_template.xlsx"


def template_path() -> Path:
    """Where the installed template workbook is (works from a source checkout and a wheel)."""
    return Path(__file__).with_name(TEMPLATE)
