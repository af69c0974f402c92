"""Group runs for `cnnrun compare --by-seed` / `--group-by KEY`: mean ± sd and n per metric.

``--by-seed`` puts in one group the runs whose configs are equal but for ``seed`` (and
``name``, which a sweep sets per trial): the repeats of one configuration. ``--group-by
KEY`` (repeatable) puts in one group the runs that share the value of every KEY (a dotted
config key such as ``name`` or ``optimizer.learning_rate``).

Each group gets, for every numeric metric (``test_<m>``, the best epoch's value,
``epochs_done``, ``wall_time_s``), the mean, the sample standard deviation (n - 1; null
for a single value) and n, the number of runs that have the metric.

JSON output, version 1::

    {
      "version": 1,
      "grouped_by": ["seed"],            # or the --group-by keys
      "sort": {"key": "test_accuracy", "descending": true},
      "main_metric": "accuracy",
      "differing_keys": ["optimizer.learning_rate"],
      "groups": [
        {"group": "fashion_bn", "n": 3, "runs": ["runs/…-1", "runs/…-2", "runs/…-3"],
         "config": {"optimizer.learning_rate": 0.001},
         "metrics": {"test_accuracy": {"mean": 0.92, "sd": 0.004, "n": 3}}}
      ]
    }
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from cnnrun.runs.cells import EMPTY, csv_cell, finite, format_metric, format_value
from cnnrun.runs.compare import key_header
from cnnrun.runs.formats import OutputFormat, render_as
from cnnrun.runs.record import MISSING, RunRecord, diff_configs, flatten_config
from cnnrun.runs.record import is_lower_better as _lower_is_better
from cnnrun.runs.sort_keys import UnknownSortKeyError, common_main_metric

JSON_VERSION = 1
BY_SEED = ("seed",)
"""The key ``--by-seed`` averages over."""
_IGNORED_BY_SEED = frozenset({"seed", "name"})


@dataclass(frozen=True)
class Stat:
    """Mean, sample standard deviation (None for n < 2) and count of one metric."""

    mean: float
    sd: float | None
    n: int


@dataclass(frozen=True)
class RunGroup:
    """Runs grouped together.

    Attributes:
        label: The group's name: the shared config ``name``, or the group-by values.
        records: Its runs.
        values: Its value of each differing key (`Grouping.keys`).
        stats: Per metric (``test_accuracy``, ``best``, ``epochs_done``, ``wall_time_s``).
    """

    label: str
    records: list[RunRecord]
    values: dict[str, Any]
    stats: dict[str, Stat]


@dataclass(frozen=True)
class Grouping:
    """Groups ready to render, best first.

    Attributes:
        groups: The groups, in display order.
        grouped_by: ``["seed"]`` for ``--by-seed``, else the ``--group-by`` keys.
        keys: Config keys whose values differ between groups.
        metrics: Metric names, in column order.
        sort_metric: The metric the groups are sorted by.
        descending: Whether larger values of it come first.
        main_metric: The main metric of the runs.
        best_monitor: The monitor of the ``best`` metric when all runs share one.
    """

    groups: list[RunGroup]
    grouped_by: list[str]
    keys: list[str]
    metrics: list[str]
    sort_metric: str
    descending: bool
    main_metric: str
    best_monitor: str | None


def stat(values: Sequence[float]) -> Stat | None:
    """Mean, sample sd (n - 1) and n of the finite ``values``; None when there are none.

    Example:
        >>> stat([1.0, 2.0, 3.0])
        Stat(mean=2.0, sd=1.0, n=3)
    """
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return None
    sd = statistics.stdev(finite) if len(finite) > 1 else None
    return Stat(statistics.fmean(finite), sd, len(finite))


def group_runs(
    records: Sequence[RunRecord], group_by: Sequence[str] | None = None, sort: str | None = None
) -> Grouping:
    """Group ``records`` by seed (``group_by`` None) or by the values of ``group_by`` keys.

    Args:
        records: The runs (folders that are not runs filtered out first).
        group_by: Dotted config keys; None groups the runs that differ only in seed.
        sort: A metric to sort by (``test_accuracy``, ``accuracy``, ``best``…); None: the
            main test metric.

    Returns:
        The grouping, best group first.

    Raises:
        UnknownSortKeyError: When ``sort`` names no metric of the groups.
    """
    buckets: dict[str, list[RunRecord]] = {}
    for record in records:
        buckets.setdefault(_group_key(record, group_by), []).append(record)
    members = list(buckets.values())
    monitors = {r.best.monitor for r in records if r.best is not None}
    best_monitor = next(iter(monitors)) if len(monitors) == 1 else None
    tests = sorted({m for r in records for m in r.test}, key=lambda n: n != "loss")
    metrics = [f"test_{m}" for m in tests] + ["best", "epochs_done", "wall_time_s"]
    if group_by is None:
        representatives = [_without_seed(g[0].config) for g in members]
        diff = diff_configs(representatives)
        keys, key_values = diff.keys, diff.values
    else:
        keys = list(group_by)
        key_values = [
            {k: flatten_config(g[0].config or {}).get(k, MISSING) for k in keys} for g in members
        ]
    groups = [
        RunGroup(_label(g, values, group_by), g, values, _stats(g, metrics))
        for g, values in zip(members, key_values, strict=True)
    ]
    main = common_main_metric(records)
    sort_metric = _sort_metric(sort, main, groups, metrics)
    descending = (
        not _lower_is_better(best_monitor or "loss")
        if sort_metric == "best"
        else (not _lower_is_better(sort_metric) if sort_metric.startswith("test_") else False)
    )
    groups.sort(key=lambda g: _sort_tuple(g, sort_metric, descending))
    return Grouping(
        groups=groups,
        grouped_by=list(BY_SEED if group_by is None else group_by),
        keys=keys,
        metrics=[m for m in metrics if any(m in g.stats for g in groups)],
        sort_metric=sort_metric,
        descending=descending,
        main_metric=main,
        best_monitor=best_monitor,
    )


def _group_key(record: RunRecord, group_by: Sequence[str] | None) -> str:
    flat = flatten_config(record.config or {})
    if group_by is None:
        items: Any = sorted((k, v) for k, v in flat.items() if k not in _IGNORED_BY_SEED)
    else:
        items = [flat.get(k, "<missing>") for k in group_by]
    return json.dumps(items, default=str, sort_keys=True)


def _without_seed(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if config is None:
        return None
    return {k: v for k, v in config.items() if k != "seed"}


def _label(members: list[RunRecord], values: dict[str, Any], group_by: Sequence[str] | None) -> str:
    if group_by is not None:
        return ", ".join(f"{k}={format_value(v)}" for k, v in values.items())
    names = {(r.config or {}).get("name") for r in members}
    if len(names) == 1 and (name := names.pop()) is not None:
        return str(name)
    first = (members[0].config or {}).get("name") or members[0].name
    return first if len(members) == 1 else f"{first} (+{len(members) - 1})"


def _metric_value(record: RunRecord, metric: str) -> float | None:
    if metric.startswith("test_"):
        return record.test.get(metric[len("test_") :])
    if metric == "best":
        return record.best.value if record.best is not None else None
    if metric == "epochs_done":
        return float(record.epochs_completed)
    return record.wall_time_s


def _stats(members: list[RunRecord], metrics: list[str]) -> dict[str, Stat]:
    out = {}
    for metric in metrics:
        values = [v for v in (_metric_value(r, metric) for r in members) if v is not None]
        if (s := stat(values)) is not None:
            out[metric] = s
    return out


def _sort_metric(sort: str | None, main: str, groups: list[RunGroup], metrics: list[str]) -> str:
    present = [m for m in metrics if any(m in g.stats for g in groups)]
    if sort is None:
        candidates = [f"test_{main}", "best"]
    else:
        candidates = [sort, f"test_{sort}", sort.replace("test.", "test_", 1)]
    for candidate in candidates:
        if candidate in present:
            return candidate
    if sort is None:
        return present[0] if present else "epochs_done"
    raise UnknownSortKeyError(
        f"Unknown sort key for groups: expected one of {', '.join(present)}. Received: {sort!r}"
    )


def _sort_tuple(group: RunGroup, metric: str, descending: bool) -> tuple[Any, ...]:
    s = group.stats.get(metric)
    if s is None:
        return (1, 0.0, group.label)
    return (0, -s.mean if descending else s.mean, group.label)


# ---------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------


def _header(grouping: Grouping, metric: str) -> str:
    if metric == "best" and grouping.best_monitor:
        return f"best {grouping.best_monitor}"
    return metric


def _format_number(value: float, metric: str) -> str:
    if metric == "epochs_done":
        return f"{value:.1f}"
    if metric == "wall_time_s":
        return f"{value:,.1f}"
    return format_metric(value)


def _format_sd(sd: float, mean: float, metric: str) -> str:
    """The spread in the mean's own notation: ``0.9917 ± 0.0004``, not ``± 4.042e-04``."""
    text = _format_number(mean, metric)
    if "e" in text or not math.isfinite(sd) or not math.isfinite(mean):
        return _format_number(sd, metric)
    decimals = len(text.rsplit(".", 1)[1]) if "." in text else 0
    return f"{sd:,.{decimals}f}"


def format_stat(s: Stat | None, runs: int, metric: str = "") -> str:
    """Format ``0.9123 ± 0.0041``; ``(n=2)`` is added when fewer runs than the group has.

    Example:
        >>> format_stat(Stat(0.9, 0.01, 3), 3), format_stat(Stat(0.9, None, 1), 2)
        ('0.9000 ± 0.0100', '0.9000 (n=1)')
        >>> format_stat(Stat(0.9917, 0.0004042, 3), 3)
        '0.9917 ± 0.0004'
    """
    if s is None:
        return EMPTY
    sd = f" ± {_format_sd(s.sd, s.mean, metric)}" if s.sd is not None else ""
    text = _format_number(s.mean, metric) + sd
    return text + (f" (n={s.n})" if s.n != runs else "")


def group_columns(grouping: Grouping) -> list[str]:
    """The headers of the table and Markdown formats."""
    metrics = [_header(grouping, m) for m in grouping.metrics]
    return ["group", "n", *metrics, *map(key_header, grouping.keys)]


def group_rows(grouping: Grouping) -> list[list[str]]:
    """The cells of the table and Markdown formats, one list per group."""
    return [
        [
            g.label,
            str(len(g.records)),
            *(format_stat(g.stats.get(m), len(g.records), m) for m in grouping.metrics),
            *(format_value(g.values.get(k, MISSING)) for k in grouping.keys),
        ]
        for g in grouping.groups
    ]


def groups_title(grouping: Grouping) -> str:
    """``1 group`` or ``N groups``."""
    n = len(grouping.groups)
    return f"{n} group" if n == 1 else f"{n} groups"


def sort_note(grouping: Grouping) -> str:
    """``sorted by test_accuracy (best first)``: how the groups are ordered."""
    direction = "best first" if grouping.sort_metric != "epochs_done" else "ascending"
    return f"sorted by {grouping.sort_metric} ({direction})"


def render_group_table(grouping: Grouping) -> Table:
    """Build the Rich table: one row per group, numbers right-aligned."""
    table = Table(
        title=f"{groups_title(grouping)} of runs (by {', '.join(grouping.grouped_by)})",
        caption=f"mean ± sd (n-1); {sort_note(grouping)}",
        header_style="bold",
    )
    right = {"n", *(_header(grouping, m) for m in grouping.metrics)}
    for name in group_columns(grouping):
        table.add_column(
            name, justify="right" if name in right else "left", overflow="fold", no_wrap=False
        )
    for row in group_rows(grouping):
        table.add_row(*row)
    return table


def render_group_markdown(grouping: Grouping) -> str:
    """Render a Markdown table (numbers right-aligned)."""
    headers = group_columns(grouping)
    right = {"n", *(_header(grouping, m) for m in grouping.metrics)}
    lines = [headers, ["---:" if h in right else "---" for h in headers], *group_rows(grouping)]
    return (
        "\n".join("| " + " | ".join(c.replace("|", "\\|") for c in ln) + " |" for ln in lines)
        + "\n"
    )


def render_group_csv(grouping: Grouping) -> str:
    """Render CSV: ``<metric>_mean``, ``<metric>_sd``, ``<metric>_n`` per metric, raw values."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    stat_columns = [f"{m}_{part}" for m in grouping.metrics for part in ("mean", "sd", "n")]
    writer.writerow(["group", "n", *stat_columns, *map(key_header, grouping.keys)])
    for g in grouping.groups:
        cells: list[Any] = [g.label, len(g.records)]
        for m in grouping.metrics:
            s = g.stats.get(m)
            cells += [s.mean, s.sd, s.n] if s is not None else [None, None, 0]
        cells += [g.values.get(k, MISSING) for k in grouping.keys]
        writer.writerow(csv_cell(c) for c in cells)
    return out.getvalue()


def render_group_json(grouping: Grouping) -> str:
    """Render the JSON document described in this module's docstring."""
    document = {
        "version": JSON_VERSION,
        "grouped_by": grouping.grouped_by,
        "sort": {"key": grouping.sort_metric, "descending": grouping.descending},
        "main_metric": grouping.main_metric,
        "differing_keys": grouping.keys,
        "groups": [
            {
                "group": g.label,
                "n": len(g.records),
                "runs": [str(r.path) for r in g.records],
                "config": {k: v for k, v in g.values.items() if v is not MISSING},
                "metrics": {m: {"mean": s.mean, "sd": s.sd, "n": s.n} for m, s in g.stats.items()},
            }
            for g in grouping.groups
        ],
    }
    return json.dumps(finite(document), indent=2, ensure_ascii=False, default=str) + "\n"


def render_group_text(grouping: Grouping, output_format: OutputFormat) -> str:
    """Render markdown, csv or json.

    Raises:
        ValueError: For ``table`` (see `render_group_table`).
    """
    return render_as(grouping, output_format, _TEXT_RENDERERS)


_TEXT_RENDERERS = {
    OutputFormat.markdown: render_group_markdown,
    OutputFormat.csv: render_group_csv,
    OutputFormat.json: render_group_json,
}
