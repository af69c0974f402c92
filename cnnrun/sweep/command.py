"""`cnnrun sweep`: run one experiment over a grid or a random sample of ``--set`` overrides.

A sweep is a folder, ``runs/<YYYYmmdd-HHMMSS>-sweep-<name>/``, holding ``sweep.json``
(the plan: every trial with its overrides and status) and one normal run folder per
trial (``<stamp>-<name>-t01``, ...), so `cnnrun compare SWEEP_DIR` compares the trials.

Trials run one after another in this process by default (TensorFlow imported once), or
``--parallel N`` at a time as ``python -m cnnrun train`` subprocesses, or on a Ray
cluster (``--backend ray``, the optional extra ``cnnrun[ray]``). Every trial's config is
validated before any trial runs. Started again (``--resume SWEEP_DIR``, or the same
command with ``--sweep-dir``), a sweep skips the completed trials (their ``run.json``
says so) and resumes the interrupted ones in their own run folders.

``sweep.json``, version 1::

    {"version": 1, "name": "tiny", "config": "/abs/tiny.yaml", "config_sha256": "...",
     "cwd": "/abs", "created_at": "...", "search": {"mode": "grid", "grid": {...}},
     "overrides": ["data.dataset=synthetic", ...], "smoke": false, "builders": [],
     "keys": ["optimizer.learning_rate"],
     "trials": [{"id": "t1", "name": "tiny-t1", "set": ["optimizer.learning_rate=1e-3"],
                 "values": {"optimizer.learning_rate": 0.001}, "status": "completed",
                 "run_dir": "20240101-120000-tiny-t1", "reason": null, "attempts": 1}],
     "runner": {"pid": 123, "host": "...", "backend": "local", "parallel": 1}}

A trial's ``status`` is ``pending`` (never started) or its run's ``run.json`` status.
"""

from __future__ import annotations

import contextlib
import enum
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from cnnrun import locks, runfiles
from cnnrun.errors import ConfigError, DataError, ExitCode, print_error
from cnnrun.runs.formats import OutputFormat
from cnnrun.sweep.backends import (
    SweepTerminated,
    Todo,
    run_parallel,
    run_ray,
    run_sequential,
    todo_list,
)
from cnnrun.sweep.plan import (
    SweepPlan,
    claim,
    config_digest,
    create_sweep_dir,
    grid_trials,
    make_plan,
    parse_grid,
    parse_range,
    random_trials,
    read_plan,
    validate_plan,
    write_plan,
)

console = Console()
if not console.is_terminal:  # a pipe or a file: whole lines (paths are never wrapped)
    console = Console(soft_wrap=True)
err_console = Console(stderr=True)


class Backend(enum.StrEnum):
    """Where the trials run."""

    local = "local"
    ray = "ray"


# ---------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------


def _same_plan(old: SweepPlan, new: SweepPlan) -> bool:
    return (
        old.config == new.config
        and old.overrides == new.overrides
        and bool(old.smoke) == new.smoke
        and [t.set for t in old.trials] == [t.set for t in new.trials]
    )


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
    epochs: Annotated[int | None, typer.Option(min=1, help="Override `epochs`.")] = None,
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
    mlflow_uri: Annotated[
        str | None, typer.Option(help="MLflow tracking URI (implies --mlflow).", show_default=False)
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="The final table's format.")
    ] = OutputFormat.table,
) -> None:
    """Run an experiment over a grid or a random sample of overrides, then compare the trials.

    The last line printed is the sweep folder. Exit codes: 0 every trial completed,
    1 a trial failed (or data is missing), 2 bad config or options, 130/143 stopped.
    """
    # With --format markdown/csv/json, stdout holds the table alone: progress goes to stderr.
    out = console if output_format == OutputFormat.table else err_console
    try:
        folder, plan = _prepare(
            config, grid or [], random_n, range_ or [], choice or [], seed, set_ or [], epochs,
            name, runs_dir, sweep_dir, resume, smoke, synthetic,
        )  # fmt: skip
        locks.hold(folder)  # one process per sweep folder, until this one ends
        if (resume is not None or sweep_dir is not None) and (folder / runfiles.SWEEP).exists():
            plan = read_plan(folder)  # as the previous holder left it
        claim(folder, plan, backend.value, parallel)
        todos = todo_list(folder, plan, retry_failed)
        write_plan(folder, plan)
        _report_plan(folder, plan, todos, out)
        with contextlib.ExitStack() as stack:
            if mlflow or mlflow_uri:
                from cnnrun.sweep.tracking import parent_run

                stack.enter_context(parent_run(mlflow_uri, folder.parent, folder))
            code = _execute(folder, plan, todos, backend.value, parallel, cpus_per_trial, out)
    except ConfigError as exc:
        print_error(exc.render())
        raise typer.Exit(ExitCode.CONFIG) from None
    except DataError as exc:
        print_error(str(exc))
        raise typer.Exit(ExitCode.FAILED) from None
    _print_summary(folder, plan, sort, output_format)
    if output_format == OutputFormat.table:
        print(folder)
    else:
        err_console.print(f"sweep folder: {folder}", highlight=False, soft_wrap=True)
    if code:
        raise typer.Exit(code)


def _prepare(
    config: Path | None,
    grid: list[str],
    random_n: int | None,
    ranges: list[str],
    choices: list[str],
    seed: int,
    set_: list[str],
    epochs: int | None,
    name: str | None,
    runs_dir: Path,
    sweep_dir: Path | None,
    resume: Path | None,
    smoke: bool,
    synthetic: bool,
) -> tuple[Path, dict[str, Any]]:
    """Build (or read) the plan, validate every trial, and create the sweep folder."""
    if resume is not None:
        if config or grid or random_n or ranges or choices or set_ or epochs or name:
            raise ConfigError(
                "--resume continues a sweep as it was planned",
                expected="only --parallel, --backend, --retry-failed, --sort, --format",
                file="--resume",
            )
        plan = read_plan(resume)
        if not Path(plan.config).is_file():
            raise DataError(f"the sweep's config {plan.config} no longer exists")
        if config_digest(Path(plan.config)) != plan.config_sha256:
            err_console.print(
                f"[yellow]warning:[/] {plan.config} changed since the sweep started; "
                "new trials use it as it is now"
            )
        _load_builders(plan)
        validate_plan(plan)
        return Path(resume), plan
    if config is None:
        raise ConfigError("give an experiment file, or --resume SWEEP_DIR", file="cnnrun sweep")
    search, values = _search(grid, random_n, ranges, choices, seed)
    overrides = list(set_)
    if synthetic:
        from cnnrun.config.overrides import SYNTHETIC_DATA

        overrides += list(SYNTHETIC_DATA)
    if epochs is not None:
        overrides.append(f"epochs={epochs}")
    from cnnrun.checks import load_experiment

    base = load_experiment(config, overrides)  # the base config's own errors first
    plan = make_plan(config, name or base.experiment.name, search, values, overrides, smoke)
    validate_plan(plan, config)
    if sweep_dir is not None and (sweep_dir / runfiles.SWEEP).exists():
        old = read_plan(sweep_dir)
        if not _same_plan(old, plan):
            raise ConfigError(
                f"{sweep_dir} holds another sweep's plan",
                expected="the same config, --set and trials as when it started, or a new "
                "--sweep-dir (`cnnrun sweep --resume DIR` continues it as planned)",
                file="--sweep-dir",
            )
        return sweep_dir, old
    if sweep_dir is not None:
        sweep_dir.mkdir(parents=True, exist_ok=True)
        return sweep_dir, plan
    return create_sweep_dir(runs_dir, plan.name), plan


def _load_builders(plan: SweepPlan) -> None:
    from cnnrun.model.builders import load_builder_file

    for builder in plan.builders or []:
        load_builder_file(builder)


def _search(
    grid: list[str], random_n: int | None, ranges: list[str], choices: list[str], seed: int
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    if random_n is None:
        if ranges or choices:
            raise ConfigError(
                "--range and --choice are for a random search",
                expected="--random N with them (or --grid KEY=V1,V2 for a grid)",
                file="cnnrun sweep",
            )
        if not grid:
            raise ConfigError(
                "nothing to sweep",
                expected="--grid KEY=V1,V2 (repeatable), or --random N with --range/--choice",
                file="cnnrun sweep",
            )
        parsed = parse_grid(grid)
        return {"mode": "grid", "grid": parsed}, grid_trials(parsed)
    if grid:
        raise ConfigError(
            "--grid and --random cannot be combined",
            expected="--choice KEY=A,B,C for listed values in a random search",
            file="cnnrun sweep",
        )
    parsed_ranges = dict(parse_range(item) for item in ranges)
    parsed_choices = parse_grid(choices, "--choice")
    both = set(parsed_ranges) & set(parsed_choices)
    if both:
        key = sorted(both)[0]
        raise ConfigError("a key is both a --range and a --choice", path=key, file="--range")
    if not parsed_ranges and not parsed_choices:
        raise ConfigError(
            "--random needs keys to draw",
            expected="--range KEY=LOW:HIGH[:log][:int] or --choice KEY=A,B,C",
            file="--random",
        )
    search = {
        "mode": "random",
        "n": random_n,
        "seed": seed,
        "ranges": {k: str(r) for k, r in parsed_ranges.items()},
        "choices": parsed_choices,
    }
    return search, random_trials(random_n, parsed_ranges, parsed_choices, seed)


def _report_plan(folder: Path, plan: SweepPlan, todos: list[Todo], out: Console) -> None:
    trials = plan.trials
    done = sum(t.status == runfiles.STATUS_COMPLETED for t in trials)
    queued = {t.trial.id for t in todos}
    failed = sum(t.status == runfiles.STATUS_FAILED and t.id not in queued for t in trials)
    resumed = sum(t.resume_dir is not None for t in todos)
    parts = [f"{len(trials)} trials over {', '.join(plan.keys) or 'nothing'}"]
    if done:
        parts.append(f"{done} completed (skipped)")
    if failed:
        parts.append(f"{failed} failed (skipped; --retry-failed runs them again)")
    if resumed:
        parts.append(f"{resumed} to resume")
    parts.append(f"{len(todos) - resumed} to start")
    out.print(f"[bold]sweep[/] {folder}: " + "; ".join(parts), highlight=False, soft_wrap=True)


def _execute(
    folder: Path,
    plan: SweepPlan,
    todos: list[Todo],
    backend: str,
    parallel: int | None,
    cpus_per_trial: float,
    out: Console,
) -> int:
    """Run the trials; return the exit code of the sweep (0, 1, 130, 143)."""
    try:
        if not todos:
            pass
        elif backend == "ray":
            run_ray(folder, plan, todos, parallel, cpus_per_trial, out)
        elif (parallel or 1) > 1:
            run_parallel(folder, plan, todos, parallel or 1, out)
        else:
            _run_sequential_main(folder, plan, todos, out)
    except KeyboardInterrupt:
        _resume_hint("interrupted", folder)
        print(folder)
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except SweepTerminated:
        _resume_hint("stopped by SIGTERM", folder)
        print(folder)
        raise typer.Exit(ExitCode.KILLED) from None
    finally:
        _release(folder, plan)
    failed = [t for t in plan.trials if t.status != runfiles.STATUS_COMPLETED]
    for t in failed:
        print_error(f"trial {t.id} ({' '.join(t.set)}): {t.status}: {t.reason}")
    return ExitCode.FAILED if failed else 0


def _resume_hint(what: str, folder: Path) -> None:
    """The command that continues the sweep, with its real folder (printed last after it)."""
    import shlex

    err_console.print(
        f"{what}: continue with cnnrun sweep --resume {shlex.quote(str(folder))}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _run_sequential_main(folder: Path, plan: SweepPlan, todos: list[Todo], out: Console) -> None:
    from cnnrun.train.trainer import Terminated

    try:
        run_sequential(folder, plan, todos, out)
    except Terminated:
        raise SweepTerminated from None


def _release(folder: Path, plan: SweepPlan) -> None:
    plan.runner.running = False
    with contextlib.suppress(OSError):
        write_plan(folder, plan)


def _print_summary(folder: Path, plan: SweepPlan, sort: str | None, fmt: OutputFormat) -> None:
    """Print the `cnnrun compare` table of the sweep's trials."""
    from cnnrun.runs.compare import (
        build_comparison,
        render_tables,
        render_text,
        table_width,
    )
    from cnnrun.runs.record import load_run
    from cnnrun.runs.sort_keys import UnknownSortKeyError

    records = [load_run(folder / t.run_dir) for t in plan.trials if t.run_dir is not None]
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
