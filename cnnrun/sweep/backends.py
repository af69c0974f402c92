"""Running the trials of a `cnnrun sweep`: in this process, as subprocesses, or on Ray."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from cnnrun import runfiles
from cnnrun.config.overrides import SYNTHETIC_DATA
from cnnrun.errors import ConfigError, DataError, print_error
from cnnrun.signals import Terminated, stop_signals
from cnnrun.sweep.plan import (
    PENDING,
    SweepPlan,
    Trial,
    one_line,
    read_plan,
    refresh,
    write_plan,
)

err_console = Console(stderr=True)


SweepTerminated = Terminated  # SIGTERM stopped the sweep (cnnrun.signals)


# ---------------------------------------------------------------------------------------
# Running trials
# ---------------------------------------------------------------------------------------


@dataclass
class Todo:
    """A trial to run: from scratch, or resumed in ``resume_dir``."""

    trial: Trial
    resume_dir: Path | None


def todo_list(sweep_dir: Path, plan: SweepPlan, retry_failed: bool) -> list[Todo]:
    """The trials still to run; completed ones (and failed ones, unless retried) skipped."""
    todo = []
    for trial in plan.trials:
        run_dir = refresh(sweep_dir, trial)
        status = trial.status
        if status == runfiles.STATUS_COMPLETED:
            continue
        if status == runfiles.STATUS_FAILED and not retry_failed:
            continue
        if run_dir is None:
            todo.append(Todo(trial, None))
        elif status == runfiles.STATUS_FAILED and not (run_dir / runfiles.LAST_MODEL).exists():
            todo.append(Todo(trial, None))  # failed before its first epoch: start again
        else:
            todo.append(Todo(trial, run_dir))
    return todo


def run_trial_in_process(
    sweep_dir: Path, plan: SweepPlan, todo: Todo, out: Console
) -> dict[str, Any]:
    """Train one trial here (the trainer, TensorFlow imported once per process).

    Returns:
        The trial's ``results.json`` content.

    Raises:
        KeyboardInterrupt, Terminated: As the trainer does, after the run recorded it.
        ConfigError: When the model cannot be built (before any run folder exists).
        DataError: When the data cannot be found, or the run cannot be resumed.
        Exception: Whatever ended the training (the run records it as ``failed``).
    """
    from cnnrun.checks import load_experiment
    from cnnrun.tf_env import import_keras
    from cnnrun.train.run_folder import resumable_config
    from cnnrun.train.trainer import TrainOptions, train

    import_keras().backend.clear_session()  # each trial as in a fresh process
    options = TrainOptions(runs_dir=Path(sweep_dir), smoke=bool(plan.smoke))
    options.passed_down = plan.passed_down(todo.trial)  # to init_from's experiment file
    if todo.resume_dir is not None:
        loaded = load_experiment(resumable_config(todo.resume_dir), [])
        options.resume_dir = todo.resume_dir
    else:
        loaded = load_experiment(plan.config, plan.trial_overrides(todo.trial))
    return train(loaded, options, out).results


def _header(plan: SweepPlan, todo: Todo, out: Console) -> None:
    trial = todo.trial
    n = len(plan.trials)
    what = " ".join(trial.set) or "(no overrides)"
    verb = f"resuming {todo.resume_dir.name}" if todo.resume_dir else "starting"
    out.print(
        Text.assemble((f"── trial {trial.id}/{n}", "bold"), f" {what}: {verb}"),
        soft_wrap=True,
    )


def run_sequential(sweep_dir: Path, plan: SweepPlan, todos: list[Todo], out: Console) -> None:
    """Run the trials one after another in this process, saving the plan after each."""
    for todo in todos:
        trial = todo.trial
        _header(plan, todo, out)
        trial.start()
        write_plan(sweep_dir, plan)
        try:
            run_trial_in_process(sweep_dir, plan, todo, out)
        except (ConfigError, DataError) as exc:
            refresh(sweep_dir, trial)
            missing_data = isinstance(exc, DataError) and todo.resume_dir is None
            # Missing data stops the sweep before the trial's run folder: it stays pending.
            trial.status = PENDING if missing_data else runfiles.STATUS_FAILED
            trial.reason = one_line(exc)
            write_plan(sweep_dir, plan)
            if missing_data:
                raise  # every trial would fail alike
            print_error(f"trial {trial.id}: {one_line(exc)}")
            continue
        except Exception as exc:  # the run recorded it as failed (NaN, out of memory...)
            refresh(sweep_dir, trial)
            trial.reason = trial.reason or f"{type(exc).__name__}: {exc}"
            trial.status = runfiles.STATUS_FAILED
            write_plan(sweep_dir, plan)
            print_error(f"trial {trial.id} failed: {trial.reason}")
            continue
        except BaseException:  # Ctrl-C or SIGTERM: the run recorded how it stopped
            refresh(sweep_dir, trial)
            write_plan(sweep_dir, plan)
            raise
        refresh(sweep_dir, trial)
        write_plan(sweep_dir, plan)


def _child_command(plan: SweepPlan, todo: Todo, sweep_dir: Path) -> list[str]:
    cmd = [sys.executable, "-m", "cnnrun"]
    for builder in plan.builders or []:
        cmd += ["--builders", builder]
    if todo.resume_dir is not None:
        return [*cmd, "train", "--resume", str(Path(todo.resume_dir).resolve())]
    cmd += ["train", plan.config, "--runs-dir", str(Path(sweep_dir).resolve())]
    synthetic = plan.synthetic
    for item in [*plan.overrides, *todo.trial.set]:  # a child process reads them as text
        if synthetic and item in SYNTHETIC_DATA:
            continue  # --synthetic below: the same keys, and passed down to init_from's file
        key = item.partition("=")[0].strip()
        # `seed` as --seed: the same key, and passed down to init_from's file, as in-process
        cmd += ["--seed", item.partition("=")[2].strip()] if key == "seed" else ["--set", item]
    if synthetic:
        cmd.append("--synthetic")
    cmd += ["--name", todo.trial.name]
    return [*cmd, "--smoke"] if plan.smoke else cmd


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to send SIGTERM to the child when the sweep process dies (even SIGKILL)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def run_parallel(
    sweep_dir: Path, plan: SweepPlan, todos: list[Todo], parallel: int, out: Console
) -> None:
    """Run the trials as ``cnnrun train`` subprocesses, ``parallel`` at a time.

    Each child's output goes to ``SWEEP_DIR/<trial name>.log``. On Ctrl-C or SIGTERM the
    children are stopped the same way (they record ``interrupted``/``killed``), and a
    SIGKILLed sweep takes its children with it (Linux), so a resume finds them stopped.
    """
    queue = list(todos)
    running: dict[subprocess.Popen, tuple[Todo, Any, float]] = {}
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    try:
        with stop_signals():
            while queue or running:
                while queue and len(running) < parallel:
                    todo = queue.pop(0)
                    trial = todo.trial
                    _header(plan, todo, out)
                    trial.start()
                    write_plan(sweep_dir, plan)
                    log = open(Path(sweep_dir) / f"{trial.name}.log", "a", encoding="utf-8")
                    proc = subprocess.Popen(
                        _child_command(plan, todo, sweep_dir),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        cwd=plan.cwd or None,
                        env=env,
                        preexec_fn=preexec,
                    )
                    running[proc] = (todo, log, time.monotonic())
                for proc in [p for p in running if p.poll() is not None]:
                    todo, log, started = running.pop(proc)
                    log.close()
                    _finish_child(sweep_dir, plan, todo, proc.returncode, started, out)
                time.sleep(0.2)
    except BaseException:
        for proc, (_, _, _) in running.items():
            with contextlib.suppress(OSError):
                proc.send_signal(signal.SIGTERM)
        for proc, (todo, log, _) in running.items():
            with contextlib.suppress(Exception):
                proc.wait(timeout=120)
            log.close()
            refresh(sweep_dir, todo.trial)
        write_plan(sweep_dir, plan)
        raise


def _finish_child(
    sweep_dir: Path, plan: SweepPlan, todo: Todo, code: int, started: float, out: Console
) -> None:
    trial = todo.trial
    refresh(sweep_dir, trial)
    if code != 0 and trial.status in (PENDING, runfiles.STATUS_RUNNING):
        trial.status = runfiles.STATUS_FAILED
        trial.reason = _last_error(Path(sweep_dir) / f"{trial.name}.log") or f"exit {code}"
    write_plan(sweep_dir, plan)
    seconds = time.monotonic() - started
    style = "green" if trial.status == runfiles.STATUS_COMPLETED else "red"
    line = Text.assemble(f"   trial {trial.id}: ", (trial.status, style), f" in {seconds:.1f}s")
    if trial.reason:
        line.append(f" ({trial.reason})")
    out.print(line, soft_wrap=True)


def _last_error(log: Path) -> str | None:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    errors = [line for line in lines if line.startswith("error:")]
    return errors[-1].removeprefix("error:").strip() if errors else None


# ---------------------------------------------------------------------------------------
# Ray Tune
# ---------------------------------------------------------------------------------------


def ray_trial(config: dict[str, Any]) -> None:
    """A Ray Tune function trainable: run one trial of a sweep, in the Ray worker.

    ``config["job"]`` holds ``sweep_dir``, ``trial`` (an id) and ``resume_dir``. The run
    folder is written in the sweep folder exactly as a local trial's, so it must be on a
    filesystem every node sees.
    """
    from ray import tune

    config = config.get("job", config)
    sweep_dir = Path(config["sweep_dir"])
    plan = read_plan(sweep_dir)
    with contextlib.suppress(OSError):
        os.chdir(plan.cwd or ".")  # Tune runs trials in their own folder
    from cnnrun.model.builders import load_builder_file

    for builder in plan.builders or []:
        load_builder_file(builder)
    trial = plan.trial(config["trial"])
    resume_dir = Path(config["resume_dir"]) if config.get("resume_dir") else None
    quiet = Console(file=open(os.devnull, "w"))  # the worker's own log is Ray's
    try:
        results = run_trial_in_process(sweep_dir, plan, Todo(trial, resume_dir), quiet)
    except Exception as exc:
        tune.report({"status": runfiles.STATUS_FAILED, "reason": one_line(exc)})
        return
    test = {f"test_{k}": v for k, v in (results.get("test") or {}).items()}
    tune.report({"status": runfiles.STATUS_COMPLETED, **test})


def run_ray(
    sweep_dir: Path,
    plan: SweepPlan,
    todos: list[Todo],
    parallel: int | None,
    cpus_per_trial: float,
    out: Console,
) -> None:
    """Run the trials with Ray Tune (``ray.init()`` joins ``$RAY_ADDRESS`` when set).

    Raises:
        ConfigError: When Ray is not installed.
    """
    try:
        import ray
        from ray import tune
    except ImportError:
        raise ConfigError(
            "--backend ray needs Ray Tune",
            expected="pip install 'cnnrun[ray]'",
            received="no module named ray",
            file="--backend",
        ) from None
    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")
    if not ray.is_initialized():
        ray.init(
            address=os.environ.get("RAY_ADDRESS") or None,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    for todo in todos:
        todo.trial.start()
    write_plan(sweep_dir, plan)
    out.print(f"ray: {len(todos)} trials on {ray.cluster_resources().get('CPU', 0):g} CPUs")
    space = [
        {
            "sweep_dir": str(Path(sweep_dir).resolve()),
            "trial": t.trial.id,
            "resume_dir": str(t.resume_dir.resolve()) if t.resume_dir else None,
        }
        for t in todos
    ]
    tuner = tune.Tuner(
        tune.with_resources(ray_trial, {"cpu": cpus_per_trial}),
        param_space={"job": tune.grid_search(space)},
        tune_config=tune.TuneConfig(max_concurrent_trials=parallel or None),
        run_config=tune.RunConfig(
            name="tune", storage_path=str((Path(sweep_dir) / ".ray").resolve()), verbose=0
        ),
    )
    try:
        tuner.fit()
    finally:
        for todo in todos:
            refresh(sweep_dir, todo.trial)
            if todo.trial.status == runfiles.STATUS_RUNNING:
                todo.trial.status = runfiles.STATUS_FAILED
                todo.trial.reason = "the Ray trial ended early"
        write_plan(sweep_dir, plan)
