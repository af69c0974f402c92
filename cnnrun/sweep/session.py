"""A sweep session: plan (or read) a sweep, hold its folder, run its trials.

`cnnrun sweep` (:mod:`cnnrun.cli.sweep`) runs one experiment over a grid or a random
sample of ``--set`` overrides through :func:`run_sweep`.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from cnnrun import locks, runfiles
from cnnrun.errors import ConfigError, DataError, ExitCode, print_error
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

err_console = Console(stderr=True)


@dataclass(frozen=True)
class SweepRequest:
    """What to sweep and where: the sweep command's options, checked by :func:`run_sweep`.

    Attributes:
        config: The experiment file (None with ``resume``).
        grid: ``KEY=V1,V2`` items (a grid search).
        random_n: Trials to draw (a random search), or None.
        ranges: ``KEY=LOW:HIGH[:log][:int]`` items for a random search.
        choices: ``KEY=A,B,C`` items for a random search.
        seed: Seed of the random draws.
        overrides: ``--set`` items applied to every trial.
        epochs: Override of ``epochs`` for every trial.
        name: The sweep's name (default: the config's ``name``).
        runs_dir: Where a new sweep folder is created.
        sweep_dir: Use this sweep folder (continued when it holds the same plan).
        resume: Continue the sweep in this folder, as planned.
        smoke: Smoke-train each trial.
        synthetic: Generated data of the model's shape.
        retry_failed: When continuing, run failed trials again.
    """

    config: Path | None = None
    grid: list[str] = field(default_factory=list)
    random_n: int | None = None
    ranges: list[str] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)
    seed: int = 0
    overrides: list[str] = field(default_factory=list)
    epochs: int | None = None
    name: str | None = None
    runs_dir: Path = Path("runs")
    sweep_dir: Path | None = None
    resume: Path | None = None
    smoke: bool = False
    synthetic: bool = False
    retry_failed: bool = False


@dataclass(frozen=True)
class Execution:
    """How the trials run.

    Attributes:
        backend: ``local`` or ``ray``.
        parallel: Trials at once (subprocesses; with Ray: at most this many).
        cpus_per_trial: Ray's CPUs per trial.
        mlflow: Log the sweep to MLflow, each trial a child run.
        mlflow_uri: The MLflow tracking URI (implies ``mlflow``).
    """

    backend: str = "local"
    parallel: int | None = None
    cpus_per_trial: float = 1.0
    mlflow: bool = False
    mlflow_uri: str | None = None


@dataclass(frozen=True)
class SweepOutcome:
    """How a sweep session ended.

    Attributes:
        folder: The sweep folder.
        plan: The plan as the session left it.
        code: The exit code: 0, 1 (a trial failed), 130 or 143 (stopped).
    """

    folder: Path
    plan: SweepPlan
    code: int

    @property
    def stopped(self) -> bool:
        """Whether Ctrl-C or SIGTERM ended the session (its resume hint is printed)."""
        return self.code in (ExitCode.INTERRUPTED, ExitCode.KILLED)


def run_sweep(request: SweepRequest, execution: Execution, out: Console) -> SweepOutcome:
    """Plan (or read) the sweep, hold its folder, and run the trials still to do.

    Args:
        request: What to sweep and where.
        execution: How the trials run.
        out: Where progress goes.

    Returns:
        The sweep folder, its plan and the exit code. A stopped session has printed its
        resume hint (stderr) and the folder (stdout).

    Raises:
        ConfigError: A bad config, override or option (nothing was run).
        DataError: The config of a sweep to resume is gone, or a trial's data is missing.
    """
    folder, plan = _prepare(request)
    locks.hold(folder)  # one process per sweep folder, until this one ends
    if (request.resume or request.sweep_dir) and (folder / runfiles.SWEEP).exists():
        plan = read_plan(folder)  # as the previous holder left it
    claim(folder, plan, execution.backend, execution.parallel)
    todos = todo_list(folder, plan, request.retry_failed)
    write_plan(folder, plan)
    _report_plan(folder, plan, todos, out)
    try:
        with contextlib.ExitStack() as stack:
            if execution.mlflow or execution.mlflow_uri:
                from cnnrun.sweep.tracking import parent_run

                stack.enter_context(parent_run(execution.mlflow_uri, folder.parent, folder))
            code = _execute(folder, plan, todos, execution, out)
    except _Stopped as stop:  # raised through parent_run: the MLflow run ends KILLED
        code = stop.exit_code
    return SweepOutcome(folder, plan, code)


class _Stopped(Exception):
    """A stopped session's exit code, raised through the tracking context."""

    def __init__(self, exit_code: int) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code


def _same_plan(old: SweepPlan, new: SweepPlan) -> bool:
    return (
        old.config == new.config
        and old.overrides == new.overrides
        and bool(old.smoke) == new.smoke
        and [t.set for t in old.trials] == [t.set for t in new.trials]
    )


def _prepare(r: SweepRequest) -> tuple[Path, SweepPlan]:
    """Build (or read) the plan, validate every trial, and create the sweep folder."""
    if r.resume is not None:
        given = (r.config, r.grid, r.random_n, r.ranges, r.choices, r.overrides, r.epochs, r.name)
        if any(given):
            raise ConfigError(
                "--resume continues a sweep as it was planned",
                expected="only --parallel, --backend, --retry-failed, --sort, --format",
                file="--resume",
            )
        plan = read_plan(r.resume)
        if not Path(plan.config).is_file():
            raise DataError(f"the sweep's config {plan.config} no longer exists")
        if config_digest(Path(plan.config)) != plan.config_sha256:
            err_console.print(
                f"[yellow]warning:[/] {plan.config} changed since the sweep started; "
                "new trials use it as it is now"
            )
        _load_builders(plan)
        validate_plan(plan)
        return Path(r.resume), plan
    if r.config is None:
        raise ConfigError("give an experiment file, or --resume SWEEP_DIR", file="cnnrun sweep")
    search, values = _search(r.grid, r.random_n, r.ranges, r.choices, r.seed)
    overrides = list(r.overrides)
    if r.synthetic:
        from cnnrun.config.overrides import SYNTHETIC_DATA

        overrides += list(SYNTHETIC_DATA)
    if r.epochs is not None:
        overrides.append(f"epochs={r.epochs}")
    from cnnrun.checks import load_experiment

    base = load_experiment(r.config, overrides)  # the base config's own errors first
    plan = make_plan(r.config, r.name or base.experiment.name, search, values, overrides, r.smoke)
    validate_plan(plan, r.config)
    if r.sweep_dir is not None and (r.sweep_dir / runfiles.SWEEP).exists():
        old = read_plan(r.sweep_dir)
        if not _same_plan(old, plan):
            raise ConfigError(
                f"{r.sweep_dir} holds another sweep's plan",
                expected="the same config, --set and trials as when it started, or a new "
                "--sweep-dir (`cnnrun sweep --resume DIR` continues it as planned)",
                file="--sweep-dir",
            )
        return r.sweep_dir, old
    if r.sweep_dir is not None:
        r.sweep_dir.mkdir(parents=True, exist_ok=True)
        return r.sweep_dir, plan
    return create_sweep_dir(r.runs_dir, plan.name), plan


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
    folder: Path, plan: SweepPlan, todos: list[Todo], execution: Execution, out: Console
) -> int:
    """Run the trials; return the exit code of the sweep (0 or 1).

    Raises:
        _Stopped: Ctrl-C or SIGTERM (130 or 143), after the resume hint and the folder.
    """
    parallel = execution.parallel
    try:
        if not todos:
            pass
        elif execution.backend == "ray":
            run_ray(folder, plan, todos, parallel, execution.cpus_per_trial, out)
        elif (parallel or 1) > 1:
            run_parallel(folder, plan, todos, parallel or 1, out)
        else:
            _run_sequential_main(folder, plan, todos, out)
    except KeyboardInterrupt:
        _resume_hint("interrupted", folder)
        print(folder)
        raise _Stopped(ExitCode.INTERRUPTED) from None
    except SweepTerminated:
        _resume_hint("stopped by SIGTERM", folder)
        print(folder)
        raise _Stopped(ExitCode.KILLED) from None
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
