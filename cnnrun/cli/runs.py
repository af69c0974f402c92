"""The `cnnrun compare` and `cnnrun show` commands (registered in `cnnrun.cli.app`).

Both only read run folders: they import no TensorFlow and no Keras, and
matplotlib only when ``--plot`` is given.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from cnnrun.cli.complete import run_folders, run_or_sweep_folders
from cnnrun.errors import ExitCode, print_error
from cnnrun.runs.compare import (
    Comparison,
    build_comparison,
    render_tables,
    render_text,
    table_width,
)
from cnnrun.runs.formats import OutputFormat
from cnnrun.runs.legend import legend_labels
from cnnrun.runs.record import RunRecord, load_run, load_runs
from cnnrun.runs.sort_keys import UnknownSortKeyError

PLOT_SUFFIXES = ("png", "jpg", "jpeg", "svg", "pdf")  # plots.curves.PLOT_FORMATS (no matplotlib)


def compare(
    runs: Annotated[
        list[Path],
        typer.Argument(
            help="Run folders, or folders that hold run folders (such as runs/).",
            show_default=False,
            autocompletion=run_or_sweep_folders,
        ),
    ],
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            help="Sort by a metric (test_accuracy, val_loss, accuracy…), a column (params, "
            "wall_time, epochs…) or a config key (optimizer.learning_rate). Default: the "
            "main test metric. Metrics sort best first (losses ascending).",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", help="table, or plain markdown / csv / json on stdout."),
    ] = OutputFormat.table,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Also draw every run's curves in this file (.png, .jpg, .svg or .pdf).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            help="The metric --plot draws (loss, accuracy, mean_iou…). Default: the main one.",
            show_default=False,
        ),
    ] = None,
    by_seed: Annotated[
        bool,
        typer.Option(
            "--by-seed",
            help="One row per configuration: runs that differ only in seed are grouped, "
            "with mean ± sd (n-1) and n of each metric.",
        ),
    ] = False,
    group_by: Annotated[
        list[str] | None,
        typer.Option(
            "--group-by",
            help="Group the runs that share this config key's value (name, "
            "optimizer.learning_rate…): mean ± sd and n per group. Repeatable.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Compare runs side by side: one row per run, then the config keys that differ.

    Failed, interrupted, running and stale runs are shown with their status.

    Folders that are not runs are skipped, one warning each; exits 1 if no run is readable.
    """
    err = Console(stderr=True, highlight=False)
    if plot is not None and Path(plot).suffix.lower() not in (
        ".png",
        ".jpg",
        ".jpeg",
        ".svg",
        ".pdf",
    ):
        _fail(
            f"--plot: expected a .png, .jpg, .svg or .pdf file. Received: {plot}", ExitCode.CONFIG
        )
    records = load_runs(runs)
    shown = _report_unreadable(records, err)
    if not shown:
        _fail("no run could be read from the paths given", ExitCode.FAILED)
    if by_seed or group_by:
        if by_seed and group_by:
            _fail("--by-seed and --group-by: give one of them", ExitCode.CONFIG)
        if plot is not None:
            _fail("--plot draws runs, not groups: leave out --by-seed/--group-by", ExitCode.CONFIG)
        _print_groups(shown, group_by or None, sort, output_format)
        return
    try:
        comparison = build_comparison(shown, sort)
    except UnknownSortKeyError as error:
        _fail(str(error), ExitCode.CONFIG)
    if plot is None and metric is not None:
        _warn(err, "--metric only chooses what --plot draws; no --plot given")
    if plot is not None:
        _check_metric(shown, metric, err)
    _print_comparison(comparison, output_format)
    if plot is not None:
        from cnnrun.plots.curves import plot_compare

        labels = legend_labels(comparison)
        written = plot_compare(comparison.records, plot, metric, labels)  # best first
        err.print(f"curves: {written}", markup=False, soft_wrap=True)


def show(
    run_dir: Annotated[
        Path,
        typer.Argument(
            help="A run folder.", exists=True, show_default=False, autocompletion=run_folders
        ),
    ],
) -> None:
    """Show one run: status and reason, resolved config, per-epoch metrics, results, files."""
    from cnnrun.runs.show import describe_path, print_run

    record = load_run(run_dir)
    if not record.is_run:
        _fail(describe_path(run_dir), ExitCode.FAILED)
    console = Console(highlight=False)
    if not console.is_terminal:  # a pipe or a file: whole paths and headers, no wrapping
        console = Console(highlight=False, width=100_000)
    print_run(record, console)


def _report_unreadable(records: list[RunRecord], err: Console) -> list[RunRecord]:
    """Warn once per skipped path and once per run with problems; return the runs."""
    shown = []
    for record in records:
        if not record.is_run:
            _warn(err, f"skipped {record.path}: not a run folder ({record.reason})")
            continue
        if record.warnings:
            _warn(err, f"{record.path}: {'; '.join(record.warnings)}")
        shown.append(record)
    return shown


def _check_metric(records: list[RunRecord], metric: str | None, err: Console) -> None:
    if metric is None:
        return
    columns = {c for r in records for c in r.metric_columns}
    if metric in columns or f"val_{metric}" in columns:
        return
    choices = sorted(c for c in columns if c not in ("epoch", "lr", "seconds"))
    choices = [c for c in choices if not c.startswith("val_")]
    _fail(f"--metric: expected one of {', '.join(choices)}. Received: {metric!r}", ExitCode.CONFIG)


def _print_comparison(comparison: Comparison, output_format: OutputFormat) -> None:
    if output_format != OutputFormat.table:
        sys.stdout.write(render_text(comparison, output_format))
        sys.stdout.flush()
        return
    console = Console(highlight=False)
    if console.is_terminal:  # the columns that fit, no word broken
        from cnnrun.runs.fit_width import render_for_width

        for part in render_for_width(comparison, console.width):
            console.print(part)
        return
    console = Console(highlight=False, width=max(table_width(comparison), 80))  # pipe, file
    for table in render_tables(comparison, console.width):
        console.print(table)


def _print_groups(
    records: list[RunRecord],
    group_by: list[str] | None,
    sort: str | None,
    output_format: OutputFormat,
) -> None:
    from cnnrun.runs.groups import group_runs, render_group_table, render_group_text

    try:
        grouping = group_runs(records, group_by, sort)
    except UnknownSortKeyError as error:
        _fail(str(error), ExitCode.CONFIG)
    if output_format != OutputFormat.table:
        sys.stdout.write(render_group_text(grouping, output_format))
        sys.stdout.flush()
        return
    console = Console(highlight=False)
    if console.is_terminal:  # the table if it fits, else a block per group; no word broken
        from cnnrun.runs.group_width import render_groups_for_width

        for part in render_groups_for_width(grouping, console.width):
            console.print(part)
        return
    console = Console(highlight=False, width=100_000)  # a pipe or a file: no wrapping
    console.print(render_group_table(grouping))


def _warn(err: Console, message: str) -> None:
    err.print(f"warning: {message}", style="yellow", markup=False, soft_wrap=True)


def _fail(message: str, code: int) -> NoReturn:
    print_error(message)
    raise typer.Exit(code)
