"""The record of one benchmark cell: its format, and reading one back.

A record is a JSON object ``{"format": "pulsecl-bench-cell", "format_version": 1,
"cell", "cell_key", "suite", "method", "dataset", "seed", "status", ...}`` written by
:mod:`pulsecl.bench.runner` and read by :mod:`pulsecl.bench.report`; both import this
module, neither imports the other.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["RECORD_FORMAT", "finite", "read_record"]

RECORD_FORMAT = "pulsecl-bench-cell"


def read_record(path: Path) -> dict[str, Any] | None:
    """A cell record, or None when the file is missing or not a record."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == RECORD_FORMAT else None


def finite(value: Any) -> Any:
    """NaN/inf -> None, recursively (records are strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return finite(value.item())
    return value
