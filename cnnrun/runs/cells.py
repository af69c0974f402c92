"""How one value is written in a table cell of `compare`, `show` and `sweep`."""

from __future__ import annotations

import math
from typing import Any

from cnnrun.runs.record import MISSING

EMPTY = "—"


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: empty for none or non-finite, compact YAML for structures."""
    if value is None or value is MISSING:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if isinstance(value, dict | list | bool):
        return format_value(value)
    return value


def finite(value: Any) -> Any:
    """The value with NaN and infinities (also nested) replaced by None, for JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def is_number(value: Any) -> bool:
    """Whether the value is an int or float (a bool is not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def format_metric(value: float | None) -> str:
    """Format a metric value: 4 decimals, scientific when tiny, grouped when large.

    Example:
        >>> format_metric(0.93125), format_metric(1234.5), format_metric(None)
        ('0.9313', '1,234.5', '—')
    """
    if value is None:
        return EMPTY
    if not math.isfinite(value):
        return str(value)
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.3e}"
    return f"{value:,.1f}" if abs(value) >= 1000 else f"{value:.4f}"


def format_best(monitor: str | None, value: float | None, epoch: int | None) -> str:
    """Format a best epoch: ``val_loss 0.2200 @4`` (``0.2200 @4`` without a monitor)."""
    at = f" @{epoch}" if epoch is not None else ""
    name = f"{monitor} " if monitor else ""
    return f"{name}{format_metric(value)}{at}"


def format_duration(seconds: float | None) -> str:
    """Format seconds: ``42.0s``, ``3m05s``, ``2h07m``.

    Example:
        >>> format_duration(81.2), format_duration(7620)
        ('1m21s', '2h07m')
    """
    if seconds is None or not math.isfinite(seconds):
        return EMPTY
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_value(value: Any) -> str:
    """Format a config value as compact YAML: ``null``, ``true``, ``0.001``, ``[2, 2]``.

    Example:
        >>> format_value(None), format_value(1e-4), format_value({"a": [1, 2]})
        ('null', '0.0001', '{a: [1, 2]}')
    """
    if value is MISSING:
        return EMPTY
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.3g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items()) + "}"
    return str(value)
