"""Compare runs: one row per run, sorted, rendered as a Rich table, Markdown, CSV or JSON.

The columns are fixed (`FIXED_COLUMNS`), then one ``test_<metric>`` column per test
metric found in any run, then timing columns, then only the config keys whose values
differ between the runs (dotted keys, see `cnnrun.runs.record.diff_configs`).

JSON output (``--format json``) is stable; its shape, version 1::

    {
      "version": 1,
      "sort": {"key": "test_accuracy", "descending": true},
      "main_metric": "accuracy",
      "differing_keys": ["optimizer.name", "model.layers[2].Dropout"],
      "runs": [
        {"run": "20240101-120000-fashion_bn", "path": "runs/20240101-120000-fashion_bn",
         "status": "completed", "reason": null, "task": "classification",
         "dataset": "fashion_mnist", "params": 34826, "epochs_done": 5,
         "best": {"epoch": 4, "monitor": "val_loss", "value": 0.22},
         "test": {"loss": 0.25, "accuracy": 0.93}, "wall_time_s": 81.2,
         "samples_per_s": 3700.0, "config": {"optimizer.name": "adam"}, "warnings": []}
      ]
    }

Runs are listed best first. ``best`` is null when unknown; a config key a run does not
have is left out of its ``config``; numbers that are not finite are null.

When some run's ``results.json`` holds ``expect`` (the config's ``expect:`` checked after
training), every run also has ``"expect"``: that object as written,
``{"test.accuracy": {"condition": ">= 0.92", "value": 0.93, "met": true}}`` (``met`` is
null and ``note`` says why for a skipped check, e.g. a smoke run), or null for a run
without expectations. The other formats then have an ``expect`` column after the test
metrics: ``met 1/1``, ``MISSED 0/1`` or ``skipped`` (see `expect_summary`). This is an
addition to version 1: documents without expectations are unchanged.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

from cnnrun.runs.cells import (
    EMPTY,
    csv_cell,
    finite,
    format_best,
    format_duration,
    format_metric,
    format_value,
    is_number,
)
from cnnrun.runs.formats import OutputFormat, render_as
from cnnrun.runs.record import (
    MISSING,
    SEPARATOR,
    ConfigDiff,
    RunRecord,
    diff_configs,
)
from cnnrun.runs.sort_keys import (
    SortKey,
    common_main_metric,
    resolve_sort,
    sort_tuple,
    test_metrics,
)

JSON_VERSION = 1

FIXED_COLUMNS = ("run", "status", "dataset", "params", "epochs_done", "best")
"""The first columns of every format but CSV (which splits ``best`` in three)."""
TIME_COLUMNS = ("wall_time", "samples/s")
CSV_BEST_COLUMNS = ("best_monitor", "best_value", "best_epoch")
CSV_TIME_COLUMNS = ("wall_time_s", "samples_per_s")

EXPECT_COLUMN = "expect"
EXPECT_STYLES = {"met": "green", "MISSED": "bold red", "skipped": "yellow"}

STATUS_STYLES = {
    "completed": "green",
    "running": "cyan",
    "stale": "yellow",
    "interrupted": "yellow",
    "failed": "red",
    "broken": "red",
}


@dataclass(frozen=True)
class Comparison:
    """Runs ready to render, sorted best first.

    Attributes:
        records: The runs, in display order.
        diff: The differing config keys; ``diff.values`` follows ``records``.
        test_metrics: Test metric names found in any run (``loss`` first).
        sort: The sort key used.
        main_metric: The main metric of these runs.
    """

    records: list[RunRecord]
    diff: ConfigDiff
    test_metrics: list[str]
    sort: SortKey
    main_metric: str


def build_comparison(records: Sequence[RunRecord], sort: str | None = None) -> Comparison:
    """Diff the configs of ``records`` and sort them.

    Args:
        records: Runs to compare (``not a run`` records should be filtered out first).
        sort: A sort key (see `resolve_sort`); None sorts by the main test metric.

    Returns:
        The comparison, runs best first, runs without a value for the key last.

    Raises:
        UnknownSortKeyError: When ``sort`` names nothing the runs have.
    """
    records = list(records)
    diff = diff_configs([r.config for r in records])
    key = resolve_sort(sort, records, diff)
    order = sorted(range(len(records)), key=lambda i: sort_tuple(key, records[i], diff.values[i]))
    diff = ConfigDiff(diff.keys, diff.compacted, [diff.values[i] for i in order])
    return Comparison(
        records=[records[i] for i in order],
        diff=diff,
        test_metrics=test_metrics(records),
        sort=key,
        main_metric=common_main_metric(records),
    )


# ---------------------------------------------------------------------------------------
# Rows and rendering
# ---------------------------------------------------------------------------------------


def columns(comparison: Comparison) -> list[str]:
    """Return the column headers of the table and Markdown formats, in order.

    The ``best`` column is named ``best <monitor>`` when every run has the same monitor.
    """
    tests = [f"test_{m}" for m in comparison.test_metrics]
    monitor = shared_monitor(comparison.records)
    fixed = [f"best {monitor}" if c == "best" and monitor else c for c in FIXED_COLUMNS]
    expect = [EXPECT_COLUMN] if has_expectations(comparison.records) else []
    return [*fixed, *tests, *expect, *TIME_COLUMNS, *map(key_header, comparison.diff.keys)]


def key_header(key: str) -> str:
    """Name a config key's column: the dotted key, or ``config.<key>`` if a column has it."""
    taken = {*FIXED_COLUMNS, *TIME_COLUMNS, *CSV_BEST_COLUMNS, *CSV_TIME_COLUMNS, EXPECT_COLUMN}
    return f"config.{key}" if key in taken or key.startswith("test_") else key


def shared_monitor(records: Sequence[RunRecord]) -> str | None:
    """Return the monitor of every run's best epoch when they all share one, else None."""
    monitors = {best.monitor for best in (r.best for r in records) if best is not None}
    return monitors.pop() if len(monitors) == 1 else None


def csv_columns(comparison: Comparison) -> list[str]:
    """Return the column headers of the CSV format, in order."""
    tests = [f"test_{m}" for m in comparison.test_metrics]
    fixed = [c for c in FIXED_COLUMNS if c != "best"]
    keys = map(key_header, comparison.diff.keys)
    expect = [EXPECT_COLUMN] if has_expectations(comparison.records) else []
    return [*fixed, *CSV_BEST_COLUMNS, *tests, *expect, *CSV_TIME_COLUMNS, *keys]


def display_rows(comparison: Comparison) -> list[list[str]]:
    """Return the cells of the table and Markdown formats, formatted, one list per run.

    Layer chains that differ in structure are shortened to the part where they differ,
    with one layer of context: ``…→BN→Dropout(0.25)→MaxPool(2x2)→…``.
    """
    rows = []
    shared = shared_monitor(comparison.records)
    with_expect = has_expectations(comparison.records)
    for record, values in zip(comparison.records, _elided(comparison), strict=True):
        best = record.best
        row = [
            record.name,
            record.status,
            record.dataset or EMPTY,
            f"{record.params_total:,}" if record.params_total is not None else EMPTY,
            str(record.epochs_completed),
            format_best(None if shared else best.monitor, best.value, best.epoch)
            if best
            else EMPTY,
            *(format_metric(record.test.get(m)) for m in comparison.test_metrics),
            *([expect_summary(expectations(record))] if with_expect else []),
            format_duration(record.wall_time_s),
            f"{record.samples_per_s:,.0f}" if record.samples_per_s is not None else EMPTY,
            *(format_value(values[k]) for k in comparison.diff.keys),
        ]
        rows.append(row)
    return rows


def elide_chains(chains: Sequence[str], context: int = 1) -> list[str]:
    """Cut the layers all chains share at both ends, keeping ``context`` layers.

    Args:
        chains: Layer chains as rendered by `cnnrun.runs.record.layer_chain`.
        context: Shared layers kept next to the differing part.

    Returns:
        The chains, shortened with ``…`` where layers were cut.

    Example:
        >>> elide_chains(["A→B→C→D", "A→B→X→D"])
        ['…→B→C→D', '…→B→X→D']
    """
    parts = [c.split(SEPARATOR) for c in chains]
    if len(parts) < 2:
        return list(chains)
    shortest = min(map(len, parts))
    prefix = _shared_length(parts, shortest)
    suffix = _shared_length([p[::-1] for p in parts], shortest - prefix)
    start, cut_end = max(prefix - context, 0), max(suffix - context, 0)
    out = []
    for labels in parts:
        middle = labels[start : len(labels) - cut_end]
        head = ["…"] if start else []
        tail = ["…"] if cut_end else []
        out.append(SEPARATOR.join(head + middle + tail))
    return out


def _shared_length(parts: Sequence[Sequence[str]], limit: int) -> int:
    length = 0
    while length < limit and len({p[length] for p in parts}) == 1:
        length += 1
    return length


def _elided(comparison: Comparison) -> list[dict[str, Any]]:
    values = [dict(v) for v in comparison.diff.values]
    for key in comparison.diff.compacted & set(comparison.diff.keys):
        present = [v for v in values if isinstance(v[key], str)]
        for v, short in zip(present, elide_chains([v[key] for v in present]), strict=True):
            v[key] = short
    return values


def render_tables(comparison: Comparison, width: int | None = None) -> list[Table]:
    """Build the Rich table of a comparison, or two when one does not fit ``width``.

    One table holds every column when it fits the console without wrapping a cell (or
    when ``width`` is None). Otherwise the results (run … samples/s) and the differing
    config keys (run + keys) go in two tables, each folding long cells if it must.

    Args:
        comparison: The runs to show.
        width: The console width, or None for no limit.

    Returns:
        One or two tables.
    """
    names = columns(comparison)
    rows = display_rows(comparison)
    natural = _natural_widths(names, rows)
    if width is None or _table_width(natural) <= width:
        return [_table(comparison, names, rows, natural)]  # fixed widths: nothing to measure
    n_keys = len(comparison.diff.keys)
    if not n_keys:
        return [_table(comparison, names, rows)]
    cut = len(names) - n_keys
    results = _table(comparison, names[:cut], [row[:cut] for row in rows])
    config = _table(comparison, names[:1] + names[cut:], [row[:1] + row[cut:] for row in rows])
    results.caption = None
    config.title = "config keys that differ"
    return [results, config]


def render_table(comparison: Comparison) -> Table:
    """Build the Rich table of a comparison: status coloured, numbers right-aligned."""
    return _table(comparison, columns(comparison), display_rows(comparison))


def _table(
    comparison: Comparison,
    names: list[str],
    rows: list[list[str]],
    widths: Sequence[int | None] | None = None,
) -> Table:
    table = Table(
        title=f"{len(comparison.records)} runs",
        caption=f"sorted by {comparison.sort.label} ({comparison.sort.direction})",
        header_style="bold",
    )
    numeric = _numeric_columns(comparison)
    for name, width in zip(names, widths or [None] * len(names), strict=True):
        table.add_column(
            name,
            justify="right" if name in numeric else "left",
            no_wrap=name == "run",
            overflow="fold",
            width=width,
        )
    for row in rows:
        cells: list[str | Text] = list(row)
        if len(cells) > 1 and names[1] == "status":
            cells[1] = Text(row[1], style=STATUS_STYLES.get(row[1], ""))
        if EXPECT_COLUMN in names:
            at = names.index(EXPECT_COLUMN)
            cells[at] = Text(row[at], style=EXPECT_STYLES.get(row[at].split(" ")[0], ""))
        table.add_row(*cells)
    return table


def table_width(comparison: Comparison) -> int:
    """Return the width the table needs so that no cell wraps (for files and pipes)."""
    return _table_width(_natural_widths(columns(comparison), display_rows(comparison)))


def _natural_widths(names: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    return [
        max([cell_len(name), *(cell_len(row[i]) for row in rows)]) for i, name in enumerate(names)
    ]


def _table_width(widths: Sequence[int]) -> int:
    return sum(w + 3 for w in widths) + 1  # a space either side and a border per column


def render_markdown(comparison: Comparison) -> str:
    """Render a GitHub-flavoured Markdown table (numbers right-aligned)."""
    headers = columns(comparison)
    numeric = _numeric_columns(comparison)
    align = ["---:" if h in numeric else "---" for h in headers]
    lines = [_markdown_line(headers), _markdown_line(align)]
    lines += [_markdown_line(row) for row in display_rows(comparison)]
    return "\n".join(lines) + "\n"


def render_csv(comparison: Comparison) -> str:
    """Render CSV with raw values (full precision, empty cells where unknown)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(csv_columns(comparison))
    with_expect = has_expectations(comparison.records)
    for record, values in zip(comparison.records, comparison.diff.values, strict=True):
        best = record.best
        writer.writerow(
            csv_cell(v)
            for v in [
                record.name,
                record.status,
                record.dataset,
                record.params_total,
                record.epochs_completed,
                best.monitor if best else None,
                best.value if best else None,
                best.epoch if best else None,
                *(record.test.get(m) for m in comparison.test_metrics),
                *([expect_summary(expectations(record), empty="")] if with_expect else []),
                record.wall_time_s,
                record.samples_per_s,
                *(values[k] for k in comparison.diff.keys),
            ]
        )
    return out.getvalue()


def render_json(comparison: Comparison) -> str:
    """Render the stable JSON document described in this module's docstring."""
    runs = [
        _json_run(record, values)
        for record, values in zip(comparison.records, comparison.diff.values, strict=True)
    ]
    if has_expectations(comparison.records):
        for run, record in zip(runs, comparison.records, strict=True):
            run["expect"] = expectations(record)
    document = {
        "version": JSON_VERSION,
        "sort": {"key": comparison.sort.label, "descending": comparison.sort.descending},
        "main_metric": comparison.main_metric,
        "differing_keys": comparison.diff.keys,
        "runs": runs,
    }
    return json.dumps(finite(document), indent=2, ensure_ascii=False, default=str) + "\n"


def render_text(comparison: Comparison, output_format: OutputFormat) -> str:
    """Render the plain-text formats (markdown, csv, json).

    Raises:
        ValueError: For ``table``, which is a Rich renderable (see `render_table`).
    """
    return render_as(comparison, output_format, _TEXT_RENDERERS)


def _json_run(record: RunRecord, values: dict[str, Any]) -> dict[str, Any]:
    best = record.best
    return {
        "run": record.name,
        "path": str(record.path),
        "status": record.status,
        "reason": record.reason,
        "task": record.task,
        "dataset": record.dataset,
        "params": record.params_total,
        "epochs_done": record.epochs_completed,
        "best": {"epoch": best.epoch, "monitor": best.monitor, "value": best.value}
        if best
        else None,
        "test": record.test,
        "wall_time_s": record.wall_time_s,
        "samples_per_s": record.samples_per_s,
        "config": {k: v for k, v in values.items() if v is not MISSING},
        "warnings": record.warnings,
    }


def expectations(record: RunRecord) -> dict[str, Any] | None:
    """The run's checked ``expect:`` (``results.json``'s ``expect``), or None without one."""
    checked = (record.results or {}).get("expect")
    return checked if isinstance(checked, dict) and checked else None


def has_expectations(records: Sequence[RunRecord]) -> bool:
    """Whether some run has checked expectations (then the ``expect`` column is shown)."""
    return any(expectations(r) is not None for r in records)


def expect_summary(checked: dict[str, Any] | None, empty: str = EMPTY) -> str:
    """Summarize checked expectations: ``met 2/2``, ``MISSED 1/2``, ``skipped``.

    The count is of the expectations that were checked (met or not); skipped ones (a
    smoke run) are added as ``, 1 skipped`` when others were checked.

    Example:
        >>> expect_summary({"test.accuracy": {"condition": ">= 0.9", "value": 0.93, "met": True}})
        'met 1/1'
        >>> expect_summary({"test.accuracy": {"met": None, "note": "skipped: smoke run"}})
        'skipped'
    """
    if not checked:
        return empty
    states = [e.get("met") if isinstance(e, dict) else False for e in checked.values()]
    met = sum(s is True for s in states)
    missed = sum(s is False for s in states)
    skipped = len(states) - met - missed
    if not met and not missed:
        return "skipped"
    text = f"{'MISSED' if missed else 'met'} {met}/{met + missed}"
    return text + (f", {skipped} skipped" if skipped else "")


def _numeric_columns(comparison: Comparison) -> set[str]:
    numeric = {"params", "epochs_done", "wall_time", "samples/s"}
    numeric.update(f"test_{m}" for m in comparison.test_metrics)
    for key in comparison.diff.keys:
        values = [v for v in (vals[key] for vals in comparison.diff.values) if v is not MISSING]
        if values and all(is_number(v) or v is None for v in values):
            numeric.add(key_header(key))
    return numeric


def _markdown_line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


_TEXT_RENDERERS = {
    OutputFormat.markdown: render_markdown,
    OutputFormat.csv: render_csv,
    OutputFormat.json: render_json,
}
