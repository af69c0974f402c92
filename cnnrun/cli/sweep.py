"""The `cnnrun sweep` command (registered in `cnnrun.cli.app`).

The session itself is :mod:`cnnrun.sweep.session`; ``sweep.json``, :mod:`cnnrun.sweep.plan`.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cnnrun.cli import options
from cnnrun.errors import ConfigError, DataError, ExitCode, print_error
from cnnrun.runs.formats import OutputFormat
from cnnrun.sweep.session import Execution, SweepOutcome, SweepRequest, run_sweep

console = Console()
if not console.is_terminal:  # a pipe or a file: whole lines (paths are never wrapped)
    console = Console(soft_wrap=True)
err_console = Console(stderr=True)


class Backend(enum.StrEnum):
    """Where the trials run."""

    local = "local"
    ray = "ray"


def sweep(
    config: Annotated[
        Path | None,
        typer.Argument(help="Experiment file (YAML).", exists=True, dir_okay=False),
    ] = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid",
            help="KEY=V1,V2,...: every value of every --grid key is combined (YAML values).",
        ),
    ] = None,
    random_n: Annotated[
        int | None,
        typer.Option("--random", min=1, help="Draw N trials from the --range/--choice keys."),
    ] = None,
    range_: Annotated[
        list[str] | None,
        typer.Option("--range", help="For --random: KEY=LOW:HIGH, then :log or :int if wanted."),
    ] = None,
    choice: Annotated[
        list[str] | None, typer.Option("--choice", help="KEY=A,B,C for --random.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the --random draws.")] = 0,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a key in every trial (as in `cnnrun train`)."),
    ] = None,
    epochs: options.Epochs = None,
    name: Annotated[
        str | None, typer.Option(help="Sweep name (default: the config's `name`).")
    ] = None,
    runs_dir: Annotated[Path, typer.Option(help="Where the sweep folder is created.")] = Path(
        "runs"
    ),
    sweep_dir: Annotated[
        Path | None,
        typer.Option(help="Use this sweep folder; when it holds this plan, continue it."),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(help="Continue a stopped sweep from its folder.", file_okay=False),
    ] = None,
    parallel: Annotated[
        int | None,
        typer.Option(min=1, help="Trials at once (subprocesses; with ray: at most N)."),
    ] = None,
    backend: Annotated[
        Backend, typer.Option(help="local, or ray (the extra cnnrun\\[ray]).")
    ] = Backend.local,
    cpus_per_trial: Annotated[float, typer.Option(min=0.01, help="Ray: CPUs per trial.")] = 1.0,
    smoke: Annotated[
        bool, typer.Option("--smoke", help="Smoke-train each trial (a few batches).")
    ] = False,
    synthetic: Annotated[
        bool, typer.Option("--synthetic", help="Generated data of the model's shape.")
    ] = False,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="When resuming, run failed trials again.")
    ] = False,
    sort: Annotated[
        str | None, typer.Option(help="Sort the final table (as `cnnrun compare --sort`).")
    ] = None,
    mlflow: Annotated[
        bool,
        typer.Option(help="Log the sweep to MLflow, each trial a child run (cnnrun\\[mlflow])."),
    ] = False,
    mlflow_uri: options.MlflowUri = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="The final table's format.")
    ] = OutputFormat.table,
) -> None:
    """Run an experiment over a grid or a random sample of overrides, then compare the trials.

    The last line printed is the sweep folder. Exit codes: 0 every trial completed,
    1 a trial failed (or data is missing), 2 bad config or options, 130/143 stopped.
    """
    request = SweepRequest(
        config=config, grid=grid or [], random_n=random_n, ranges=range_ or [],
        choices=choice or [], seed=seed, overrides=set_ or [], epochs=epochs, name=name,
        runs_dir=runs_dir, sweep_dir=sweep_dir, resume=resume, smoke=smoke,
        synthetic=synthetic, retry_failed=retry_failed,
    )  # fmt: skip
    execution = Execution(backend.value, parallel, cpus_per_trial, mlflow, mlflow_uri)
    # With --format markdown/csv/json, stdout holds the table alone: progress goes to stderr.
    out = console if output_format == OutputFormat.table else err_console
    try:
        outcome = run_sweep(request, execution, out)
    except ConfigError as exc:
        print_error(exc.render())
        raise typer.Exit(ExitCode.CONFIG) from None
    except DataError as exc:
        print_error(str(exc))
        raise typer.Exit(ExitCode.FAILED) from None
    if outcome.stopped:  # the resume hint and the folder are printed
        raise typer.Exit(outcome.code)
    _print_summary(outcome, sort, output_format)
    if output_format == OutputFormat.table:
        print(outcome.folder)
    else:
        err_console.print(f"sweep folder: {outcome.folder}", highlight=False, soft_wrap=True)
    if outcome.code:
        raise typer.Exit(outcome.code)


def _print_summary(outcome: SweepOutcome, sort: str | None, fmt: OutputFormat) -> None:
    """Print the `cnnrun compare` table of the sweep's trials."""
    from cnnrun.runs.compare import (
        build_comparison,
        render_tables,
        render_text,
        table_width,
    )
    from cnnrun.runs.record import load_run
    from cnnrun.runs.sort_keys import UnknownSortKeyError

    trials = outcome.plan.trials
    records = [load_run(outcome.folder / t.run_dir) for t in trials if t.run_dir is not None]
    records = [r for r in records if r.is_run]
    if not records:
        return
    try:
        comparison = build_comparison(records, sort)
    except UnknownSortKeyError as exc:
        print_error(str(exc))
        comparison = build_comparison(records, None)
    if fmt != OutputFormat.table:
        sys.stdout.write(render_text(comparison, fmt))
        sys.stdout.flush()
        return
    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=max(table_width(comparison), 80))
    for table in render_tables(comparison, out.width):
        out.print(table)
