"""`--sort` for `cnnrun compare` and `sweep`: which runs come first, and by what key.

A key is a column (``run``, ``params``, ``wall_time``, ...), ``best``, a test metric
(``test_accuracy``), a ``metrics.csv`` column for its best epoch (``val_loss``), a bare
metric name, or a dotted config key; unknown keys get "did you mean".
"""

from __future__ import annotations

import difflib
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cnnrun.runs.record import MISSING, ConfigDiff, RunRecord, flatten_config
from cnnrun.runs.record import is_lower_better as _lower_is_better

_PLAIN_SORT_KEYS: dict[str, tuple[Callable[[RunRecord], Any], bool]] = {
    "run": (lambda r: r.name, False),
    "status": (lambda r: r.status, False),
    "dataset": (lambda r: r.dataset, False),
    "params": (lambda r: r.params_total, False),
    "epochs_done": (lambda r: r.epochs_completed, True),
    "wall_time": (lambda r: r.wall_time_s, False),
    "samples/s": (lambda r: r.samples_per_s, True),
}
_SORT_ALIASES = {
    "name": "run",
    "time": "wall_time",
    "wall_time_s": "wall_time",
    "samples_per_s": "samples/s",
    "train_samples_per_s": "samples/s",
    "epochs_completed": "epochs_done",
}


class UnknownSortKeyError(ValueError):
    """Raised for a ``--sort`` key that names no column, metric or config key."""


@dataclass(frozen=True)
class SortKey:
    """How runs are ordered.

    Attributes:
        label: The canonical name of the key, e.g. ``test_accuracy``.
        descending: Whether larger values come first.
        value: Gives a run's value (None when it has none), from the run and its
            flattened config.
        best_first: Whether the key is a metric (so the order is "best first").
    """

    label: str
    descending: bool
    value: Callable[[RunRecord, dict[str, Any]], Any]
    best_first: bool = False

    @property
    def direction(self) -> str:
        """Describe the order: ``best first``, ``ascending`` or ``descending``."""
        if self.best_first:
            return "best first"
        return "descending" if self.descending else "ascending"


def common_main_metric(records: Sequence[RunRecord]) -> str:
    """Return the main metric most runs share (``accuracy`` wins a tie).

    Example:
        >>> common_main_metric([])
        'loss'
    """
    counts = Counter(r.main_metric for r in records)
    if not counts:
        return "loss"
    top = max(counts.values())
    winners = [m for m, n in counts.items() if n == top]
    return "accuracy" if "accuracy" in winners else winners[0]


def resolve_sort(key: str | None, records: Sequence[RunRecord], diff: ConfigDiff) -> SortKey:
    """Turn a ``--sort`` value into a `SortKey`.

    Accepted keys: ``run``, ``status``, ``dataset``, ``params``, ``epochs_done``,
    ``wall_time``, ``samples/s``, ``best``; ``test_<m>`` (or ``test.<m>``) for a test
    metric; ``val_<m>`` or any ``metrics.csv`` column for its best epoch; a bare metric
    name ``<m>`` (its test value if any run has one, else its best validation epoch);
    any dotted config key. Losses and error metrics sort ascending, other metrics
    descending; None means the main metric.

    Args:
        key: The user's key, or None.
        records: The runs.
        diff: Their config differences.

    Returns:
        The sort key.

    Raises:
        UnknownSortKeyError: When nothing matches; the message lists the choices.
    """
    if key is None:
        main = common_main_metric(records)
        if any(main in r.test for r in records) or _has_column(records, f"val_{main}"):
            return resolve_sort(main, records, diff)
        return _plain_sort_key("run")
    key = _SORT_ALIASES.get(key, key)
    resolved = _resolve_named(key, records) or _resolve_config(key, records, diff)
    if resolved is None:
        raise UnknownSortKeyError(_unknown_key_message(key, sort_choices(records, diff)))
    return resolved


def sort_choices(records: Sequence[RunRecord], diff: ConfigDiff) -> list[str]:
    """List the sort keys that make sense for ``records`` (for help and errors)."""
    tests = [f"test_{m}" for m in test_metrics(records)]
    columns = {c for r in records for c in r.metric_columns} - {"epoch", "lr", "seconds"}
    return [*_PLAIN_SORT_KEYS, "best", *tests, *sorted(columns), *diff.keys]


def _resolve_named(key: str, records: Sequence[RunRecord]) -> SortKey | None:
    if key in _PLAIN_SORT_KEYS:
        return _plain_sort_key(key)
    if key == "best":
        return SortKey("best", False, lambda r, _: _signed_best(r), best_first=True)
    explicit = key.startswith(("test_", "test."))
    test = key[len("test_") :] if explicit else key
    if any(test in r.test for r in records):
        return SortKey(
            f"test_{test}", not _lower_is_better(test), lambda r, _: r.test.get(test), True
        )
    if explicit:
        return None
    for column in [key] if key.startswith("val_") else [f"val_{key}", key]:
        if _has_column(records, column):
            return SortKey(column, not _lower_is_better(column), _best_value(column), True)
    return None


def _resolve_config(key: str, records: Sequence[RunRecord], diff: ConfigDiff) -> SortKey | None:
    if key in diff.keys:
        return SortKey(key, False, lambda _, values: _none_if_missing(values.get(key, MISSING)))
    if any(key in flatten_config(r.config) for r in records if r.config is not None):
        return SortKey(key, False, lambda r, _: flatten_config(r.config or {}).get(key))
    return None


def _plain_sort_key(name: str) -> SortKey:
    getter, descending = _PLAIN_SORT_KEYS[name]
    return SortKey(name, descending, lambda r, _: getter(r))


def _best_value(column: str) -> Callable[[RunRecord, dict[str, Any]], Any]:
    def value(record: RunRecord, _: dict[str, Any]) -> Any:
        best = record.best_of(column)
        return best.value if best else None

    return value


def _signed_best(record: RunRecord) -> float | None:
    best = record.best
    if best is None or best.value is None:
        return None
    return best.value if _lower_is_better(best.monitor) else -best.value


def sort_tuple(key: SortKey, record: RunRecord, values: dict[str, Any]) -> tuple[Any, ...]:
    """The run's place under ``key``: numbers, then text, then runs without a value."""
    value = key.value(record, values)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isnan(value):
            return (2, 0, "", record.name)
        return (0, -value if key.descending else value, "", record.name)
    if value is None or value is MISSING:
        return (2, 0, "", record.name)
    return (1, 0, str(value), record.name)


def _has_column(records: Sequence[RunRecord], column: str) -> bool:
    return any(column in r.metric_columns for r in records)


def test_metrics(records: Sequence[RunRecord]) -> list[str]:
    """The test metric names any of ``records`` has, ``loss`` first."""
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record.test))
    return sorted(names, key=lambda n: n != "loss")


def _none_if_missing(value: Any) -> Any:
    return None if value is MISSING else value


def _unknown_key_message(key: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(key, choices, n=3)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"Unknown sort key: expected one of {', '.join(choices)}.{hint} Received: {key!r}"
