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
import datetime as dt
import enum
import hashlib
import itertools
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from cnnrun import runfiles
from cnnrun.compare import OutputFormat
from cnnrun.errors import ConfigError, DataError

SWEEP_FILE = "sweep.json"
SWEEP_VERSION = 1
PENDING = "pending"
MAX_BASE_NAME = 60
EXIT_FAILED = 1
EXIT_CONFIG = 2

console = Console()
err_console = Console(stderr=True)


class SweepTerminated(BaseException):
    """SIGTERM arrived while subprocess trials ran."""


class Backend(enum.StrEnum):
    """Where the trials run."""

    local = "local"
    ray = "ray"


# ---------------------------------------------------------------------------------------
# Parsing the search options
# ---------------------------------------------------------------------------------------


def split_values(text: str) -> list[str]:
    """Split ``a,b,[1, 2],{x: 1, y: 2}`` at the commas outside brackets and quotes.

    Example:
        >>> split_values("1e-3, 3e-4,[2, 2]")
        ['1e-3', '3e-4', '[2, 2]']
    """
    out, depth, quote, cur = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        cur += ch
    out.append(cur.strip())
    return out


def _assignment(item: str, option: str) -> tuple[str, str]:
    """Split ``KEY=REST`` and check the key's syntax."""
    from cnnrun.config.overrides import split_path

    key, sep, rest = item.partition("=")
    key = key.strip()
    if not sep or not key or not rest.strip():
        raise ConfigError(
            f"{option} needs KEY=VALUES",
            expected=f"e.g. {option} optimizer.learning_rate="
            + ("1e-4:1e-2:log" if option == "--range" else "1e-3,3e-4"),
            received=repr(item),
            file=option,
        )
    try:
        split_path(key)
    except ConfigError as exc:
        exc.file = f"{option} {item}"
        raise
    return key, rest.strip()


def _check_value(key: str, raw: str, option: str) -> Any:
    from cnnrun.config.yaml_io import parse_scalar

    try:
        return parse_scalar(raw)
    except ConfigError as exc:
        exc.file, exc.line, exc.path = f"{option} {key}={raw}", None, key
        raise


def parse_grid(items: list[str], option: str = "--grid") -> dict[str, list[str]]:
    """``KEY=V1,V2`` items as ``{key: [raw values]}`` (values checked as YAML scalars)."""
    grid: dict[str, list[str]] = {}
    for item in items:
        key, rest = _assignment(item, option)
        if key in grid:
            raise ConfigError(f"{option} names '{key}' twice", path=key, file=option)
        values = split_values(rest)
        if any(not v for v in values):
            raise ConfigError(
                "an empty value", path=key, received=repr(rest), file=f"{option} {item}"
            )
        for raw in values:
            _check_value(key, raw, option)
        grid[key] = values
    return grid


@dataclass(frozen=True)
class Range:
    """A numeric range to sample: ``LOW:HIGH[:log][:int]``."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def sample(self, rng: random.Random) -> str:
        """Draw a value and return it as YAML text (floats to 3 significant digits)."""
        if self.integer:
            if self.log:
                value = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
                return str(min(int(value), int(self.high)))
            return str(rng.randint(int(self.low), int(self.high)))
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        return repr(float(f"{value:.3g}"))

    def __str__(self) -> str:
        flags = (":log" if self.log else "") + (":int" if self.integer else "")
        return f"{self.low:g}:{self.high:g}{flags}"


def parse_range(item: str) -> tuple[str, Range]:
    """``KEY=LOW:HIGH[:log][:int]`` as ``(key, Range)``."""
    key, rest = _assignment(item, "--range")
    parts = rest.split(":")
    flags = {p.strip() for p in parts[2:]}

    def bad(why: str) -> ConfigError:
        return ConfigError(
            f"invalid range: {why}",
            path=key,
            expected="LOW:HIGH, LOW:HIGH:log, LOW:HIGH:int (e.g. 1e-4:1e-2:log)",
            received=repr(rest),
            file=f"--range {item}",
        )

    if len(parts) < 2 or not flags <= {"log", "int", "lin"}:
        raise bad("two numbers and optional flags log, int")
    try:
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise bad("LOW and HIGH must be numbers") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise bad("LOW must be below HIGH")
    if "log" in flags and low <= 0:
        raise bad("a log range needs LOW > 0")
    if "int" in flags and (low != int(low) or high != int(high)):
        raise bad("an int range needs whole numbers")
    return key, Range(low, high, "log" in flags, "int" in flags)


def grid_trials(grid: dict[str, list[str]]) -> list[dict[str, str]]:
    """Every combination of the grid's values, the first key varying slowest."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def random_trials(
    n: int, ranges: dict[str, Range], choices: dict[str, list[str]], seed: int
) -> list[dict[str, str]]:
    """``n`` samples: each range drawn, each choice picked, with a seeded generator."""
    rng = random.Random(seed)
    trials = []
    for _ in range(n):
        trial: dict[str, str] = {}
        for key in [*ranges, *choices]:
            trial[key] = ranges[key].sample(rng) if key in ranges else rng.choice(choices[key])
        trials.append(trial)
    return trials


# ---------------------------------------------------------------------------------------
# The plan (sweep.json)
# ---------------------------------------------------------------------------------------


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_plan(
    config: Path,
    name: str,
    search: dict[str, Any],
    trial_values: list[dict[str, str]],
    overrides: list[str],
    smoke: bool,
) -> dict[str, Any]:
    """The sweep's plan: its trials with their ``--set`` and everything needed to resume."""
    from cnnrun.config.yaml_io import parse_scalar
    from cnnrun.model import builders
    from cnnrun.train.run_folder import safe_name

    width = max(1, len(str(len(trial_values))))
    base = safe_name(name)[:MAX_BASE_NAME]
    trials = []
    for i, values in enumerate(trial_values, start=1):
        tid = f"t{i:0{width}d}"
        trials.append(
            {
                "id": tid,
                "name": f"{base}-{tid}",
                "set": [f"{k}={v}" for k, v in values.items()],
                "values": {k: parse_scalar(v) for k, v in values.items()},
                "status": PENDING,
                "run_dir": None,
                "reason": None,
                "attempts": 0,
            }
        )
    return {
        "version": SWEEP_VERSION,
        "name": base,
        "config": str(Path(config).resolve()),
        "config_sha256": _sha256(config),
        "cwd": str(Path.cwd()),
        "created_at": _now(),
        "search": search,
        "overrides": overrides,
        "smoke": smoke,
        "builders": [str(p) for p in builders._LOADED_FILES],
        "keys": list(trial_values[0]) if trial_values else [],
        "trials": trials,
        "runner": {},
    }


def trial_overrides(plan: dict[str, Any], trial: dict[str, Any]) -> list[str]:
    """The ``--set`` list of a trial: the sweep's own, the trial's, and its run name."""
    return [*plan["overrides"], *trial["set"], f"name={json.dumps(trial['name'])}"]


def read_plan(sweep_dir: Path) -> dict[str, Any]:
    """Read ``sweep.json``.

    Raises:
        DataError: When the folder holds no readable plan.
    """
    path = Path(sweep_dir) / SWEEP_FILE
    try:
        plan = runfiles.read_json(path)
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{sweep_dir} is not a sweep folder (no readable {SWEEP_FILE}: {exc})"
        ) from None
    if plan.get("version") != SWEEP_VERSION or not isinstance(plan.get("trials"), list):
        raise DataError(f"{path}: not a version-{SWEEP_VERSION} sweep plan")
    return plan


def write_plan(sweep_dir: Path, plan: dict[str, Any]) -> None:
    """Write ``sweep.json`` atomically."""
    plan["updated_at"] = _now()
    runfiles.write_json(Path(sweep_dir) / SWEEP_FILE, plan)


def validate_plan(plan: dict[str, Any], config: Path | None = None) -> None:
    """Load every trial's config (no TensorFlow): a bad key or value fails before any run.

    Args:
        plan: The sweep's plan.
        config: The experiment file as the user named it (default: the plan's).

    Raises:
        ConfigError: For the first trial whose config is invalid; its message names the
            trial and its overrides.
    """
    from cnnrun.config.load import load_experiment

    for trial in plan["trials"]:
        try:
            load_experiment(config or plan["config"], trial_overrides(plan, trial))
        except ConfigError as exc:
            exc.message += f" (trial {trial['id']}: {' '.join(trial['set'])})"
            raise


def create_sweep_dir(runs_dir: Path, name: str) -> Path:
    """Create ``runs_dir/<YYYYmmdd-HHMMSS>-sweep-<name>`` (``-2``, ``-3``... if taken)."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{dt.datetime.now():%Y%m%d-%H%M%S}-sweep-{name}"
    for i in range(1, 1000):
        path = runs_dir / (stem if i == 1 else f"{stem}-{i}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise DataError(f"cannot create a sweep folder under {runs_dir}")


# ---------------------------------------------------------------------------------------
# Trial state, read from the run folders
# ---------------------------------------------------------------------------------------


def find_run_dir(sweep_dir: Path, trial: dict[str, Any]) -> Path | None:
    """The run folder of a trial, found by its name; debris without ``run.json`` removed.

    A folder whose process was killed between its creation and its first ``run.json``
    holds nothing worth keeping; it is deleted so the trial starts again cleanly.
    """
    if trial.get("run_dir") and (Path(sweep_dir) / trial["run_dir"] / runfiles.RUN).is_file():
        return Path(sweep_dir) / trial["run_dir"]
    pattern = re.compile(rf"^\d{{8}}-\d{{6}}-{re.escape(trial['name'])}(-\d+)?$")
    found = sorted(p for p in Path(sweep_dir).iterdir() if p.is_dir() and pattern.match(p.name))
    runs = [p for p in found if (p / runfiles.RUN).is_file()]
    for debris in (p for p in found if p not in runs):
        if not (debris / runfiles.METRICS).exists():
            shutil.rmtree(debris, ignore_errors=True)
    return runs[-1] if runs else None


def refresh(sweep_dir: Path, trial: dict[str, Any]) -> Path | None:
    """Update a trial's ``status``, ``run_dir`` and ``reason`` from its run folder."""
    run_dir = find_run_dir(sweep_dir, trial)
    if run_dir is None:
        if trial["status"] != PENDING and trial.get("run_dir"):
            trial.update(run_dir=None)
        if trial["status"] not in (PENDING, runfiles.STATUS_FAILED):
            trial["status"] = PENDING  # killed before its run folder was written
        return None
    try:
        info = runfiles.read_json(run_dir / runfiles.RUN)
    except (OSError, ValueError):
        info = {"status": runfiles.STATUS_RUNNING}
    trial.update(run_dir=run_dir.name, status=info.get("status"), reason=info.get("reason"))
    return run_dir


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def claim(sweep_dir: Path, plan: dict[str, Any], backend: str, parallel: int | None) -> None:
    """Record this process as the sweep's runner, refusing when another one still runs it.

    Raises:
        DataError: When the sweep's runner on this host is still alive.
    """
    runner = plan.get("runner") or {}
    if (
        runner.get("host") == socket.gethostname()
        and runner.get("pid") != os.getpid()
        and runner.get("running")
        and _alive(runner.get("pid"))
    ):
        raise DataError(f"{sweep_dir} is still being run by process {runner['pid']}")
    plan["runner"] = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "backend": backend,
        "parallel": parallel,
        "started_at": _now(),
        "running": True,
    }


# ---------------------------------------------------------------------------------------
# Running trials
# ---------------------------------------------------------------------------------------


@dataclass
class Todo:
    """A trial to run: from scratch, or resumed in ``resume_dir``."""

    trial: dict[str, Any]
    resume_dir: Path | None


def todo_list(sweep_dir: Path, plan: dict[str, Any], retry_failed: bool) -> list[Todo]:
    """The trials still to run; completed ones (and failed ones, unless retried) skipped."""
    todo = []
    for trial in plan["trials"]:
        run_dir = refresh(sweep_dir, trial)
        status = trial["status"]
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
    sweep_dir: Path, plan: dict[str, Any], todo: Todo, out: Console
) -> dict[str, Any]:
    """Train one trial here (the trainer, TensorFlow imported once per process).

    Returns:
        The trial's results (empty when it failed).

    Raises:
        KeyboardInterrupt, Terminated: As the trainer does, after the run recorded it.
        DataError: When the data cannot be found (every trial would fail alike).
    """
    from cnnrun.config.load import load_experiment
    from cnnrun.tf_env import import_keras
    from cnnrun.train.run_folder import resumable_config
    from cnnrun.train.trainer import TrainOptions, train

    import_keras().backend.clear_session()  # each trial as in a fresh process
    options = TrainOptions(runs_dir=Path(sweep_dir), smoke=bool(plan["smoke"]))
    if todo.resume_dir is not None:
        loaded = load_experiment(resumable_config(todo.resume_dir), [])
        options.resume_dir = todo.resume_dir
    else:
        loaded = load_experiment(plan["config"], trial_overrides(plan, todo.trial))
    return train(loaded, options, out).results


def _header(plan: dict[str, Any], todo: Todo, out: Console) -> None:
    trial = todo.trial
    n = len(plan["trials"])
    what = " ".join(trial["set"]) or "(no overrides)"
    verb = f"resuming {todo.resume_dir.name}" if todo.resume_dir else "starting"
    out.print(
        Text.assemble((f"── trial {trial['id']}/{n}", "bold"), f" {what}: {verb}"),
        soft_wrap=True,
    )


def run_sequential(sweep_dir: Path, plan: dict[str, Any], todos: list[Todo], out: Console) -> None:
    """Run the trials one after another in this process, saving the plan after each."""
    for todo in todos:
        trial = todo.trial
        _header(plan, todo, out)
        trial.update(status=runfiles.STATUS_RUNNING, reason=None)
        trial["attempts"] = trial.get("attempts", 0) + 1
        write_plan(sweep_dir, plan)
        try:
            run_trial_in_process(sweep_dir, plan, todo, out)
        except (ConfigError, DataError) as exc:
            refresh(sweep_dir, trial)
            trial.update(status=runfiles.STATUS_FAILED, reason=_one_line(exc))
            write_plan(sweep_dir, plan)
            if isinstance(exc, DataError) and todo.resume_dir is None:
                raise  # the data is missing for every trial
            _error(f"trial {trial['id']}: {_one_line(exc)}")
            continue
        except Exception as exc:  # the run recorded it as failed (NaN, out of memory...)
            refresh(sweep_dir, trial)
            trial.setdefault("reason", None)
            trial["reason"] = trial["reason"] or f"{type(exc).__name__}: {exc}"
            trial["status"] = runfiles.STATUS_FAILED
            write_plan(sweep_dir, plan)
            _error(f"trial {trial['id']} failed: {trial['reason']}")
            continue
        except BaseException:  # Ctrl-C or SIGTERM: the run recorded how it stopped
            refresh(sweep_dir, trial)
            write_plan(sweep_dir, plan)
            raise
        refresh(sweep_dir, trial)
        write_plan(sweep_dir, plan)


def _child_command(plan: dict[str, Any], todo: Todo, sweep_dir: Path) -> list[str]:
    cmd = [sys.executable, "-m", "cnnrun"]
    for builder in plan.get("builders") or []:
        cmd += ["--builders", builder]
    if todo.resume_dir is not None:
        return [*cmd, "train", "--resume", str(Path(todo.resume_dir).resolve())]
    cmd += ["train", plan["config"], "--runs-dir", str(Path(sweep_dir).resolve())]
    for item in trial_overrides(plan, todo.trial):
        cmd += ["--set", item]
    return [*cmd, "--smoke"] if plan["smoke"] else cmd


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to send SIGTERM to the child when the sweep process dies (even SIGKILL)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        raise SweepTerminated

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_parallel(
    sweep_dir: Path, plan: dict[str, Any], todos: list[Todo], parallel: int, out: Console
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
        with _sigterm_raises():
            while queue or running:
                while queue and len(running) < parallel:
                    todo = queue.pop(0)
                    trial = todo.trial
                    _header(plan, todo, out)
                    trial.update(status=runfiles.STATUS_RUNNING, reason=None)
                    trial["attempts"] = trial.get("attempts", 0) + 1
                    write_plan(sweep_dir, plan)
                    log = open(Path(sweep_dir) / f"{trial['name']}.log", "a", encoding="utf-8")
                    proc = subprocess.Popen(
                        _child_command(plan, todo, sweep_dir),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        cwd=plan.get("cwd") or None,
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
    sweep_dir: Path, plan: dict[str, Any], todo: Todo, code: int, started: float, out: Console
) -> None:
    trial = todo.trial
    refresh(sweep_dir, trial)
    if code != 0 and trial["status"] in (PENDING, runfiles.STATUS_RUNNING):
        trial["status"] = runfiles.STATUS_FAILED
        trial["reason"] = _last_error(Path(sweep_dir) / f"{trial['name']}.log") or f"exit {code}"
    write_plan(sweep_dir, plan)
    seconds = time.monotonic() - started
    style = "green" if trial["status"] == runfiles.STATUS_COMPLETED else "red"
    line = Text.assemble(
        f"   trial {trial['id']}: ", (trial["status"], style), f" in {seconds:.1f}s"
    )
    if trial.get("reason"):
        line.append(f" ({trial['reason']})")
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
        os.chdir(plan.get("cwd") or ".")  # Tune runs trials in their own folder
    from cnnrun.model.builders import load_builder_file

    for builder in plan.get("builders") or []:
        load_builder_file(builder)
    trial = next(t for t in plan["trials"] if t["id"] == config["trial"])
    resume_dir = Path(config["resume_dir"]) if config.get("resume_dir") else None
    quiet = Console(file=open(os.devnull, "w"))  # the worker's own log is Ray's
    try:
        results = run_trial_in_process(sweep_dir, plan, Todo(trial, resume_dir), quiet)
    except Exception as exc:
        tune.report({"status": runfiles.STATUS_FAILED, "reason": _one_line(exc)})
        return
    test = {f"test_{k}": v for k, v in (results.get("test") or {}).items()}
    tune.report({"status": runfiles.STATUS_COMPLETED, **test})


def run_ray(
    sweep_dir: Path,
    plan: dict[str, Any],
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
        todo.trial.update(status=runfiles.STATUS_RUNNING, reason=None)
        todo.trial["attempts"] = todo.trial.get("attempts", 0) + 1
    write_plan(sweep_dir, plan)
    out.print(f"ray: {len(todos)} trials on {ray.cluster_resources().get('CPU', 0):g} CPUs")
    space = [
        {
            "sweep_dir": str(Path(sweep_dir).resolve()),
            "trial": t.trial["id"],
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
            if todo.trial["status"] == runfiles.STATUS_RUNNING:
                todo.trial.update(status=runfiles.STATUS_FAILED, reason="the Ray trial ended early")
        write_plan(sweep_dir, plan)


# ---------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------


def _error(message: str) -> None:
    err_console.print(Text("error: ", style="bold red") + Text(message), soft_wrap=True)


def _one_line(exc: BaseException) -> str:
    text = exc.render() if isinstance(exc, ConfigError) else str(exc)
    return " ".join(text.split()) or type(exc).__name__


def _same_plan(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return (
        old.get("config") == new["config"]
        and old.get("overrides") == new["overrides"]
        and bool(old.get("smoke")) == new["smoke"]
        and [t["set"] for t in old["trials"]] == [t["set"] for t in new["trials"]]
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
        typer.Option("--range", help="KEY=LOW:HIGH[:log][:int] for --random."),
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
    smoke: Annotated[bool, typer.Option(help="Smoke-train each trial (a few batches).")] = False,
    synthetic: Annotated[bool, typer.Option(help="Generated data of the model's shape.")] = False,
    retry_failed: Annotated[
        bool, typer.Option(help="When resuming, run failed trials again.")
    ] = False,
    sort: Annotated[
        str | None, typer.Option(help="Sort the final table (as `cnnrun compare --sort`).")
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="The final table's format.")
    ] = OutputFormat.table,
) -> None:
    """Run an experiment over a grid or a random sample of overrides, then compare the trials.

    The last line printed is the sweep folder. Exit codes: 0 every trial completed,
    1 a trial failed (or data is missing), 2 bad config or options, 130/143 stopped.
    """
    try:
        folder, plan = _prepare(
            config, grid or [], random_n, range_ or [], choice or [], seed, set_ or [], epochs,
            name, runs_dir, sweep_dir, resume, smoke, synthetic,
        )  # fmt: skip
        claim(folder, plan, backend.value, parallel)
        todos = todo_list(folder, plan, retry_failed)
        write_plan(folder, plan)
        _report_plan(folder, plan, todos)
        code = _execute(folder, plan, todos, backend.value, parallel, cpus_per_trial)
    except ConfigError as exc:
        _error(exc.render())
        raise typer.Exit(EXIT_CONFIG) from None
    except DataError as exc:
        _error(str(exc))
        raise typer.Exit(EXIT_FAILED) from None
    _print_summary(folder, plan, sort, output_format.value)
    print(folder)
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
        if not Path(plan["config"]).is_file():
            raise DataError(f"the sweep's config {plan['config']} no longer exists")
        if _sha256(Path(plan["config"])) != plan.get("config_sha256"):
            err_console.print(
                f"[yellow]warning:[/] {plan['config']} changed since the sweep started; "
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
        overrides += ["data.dataset=synthetic", "data.path=null"]
    if epochs is not None:
        overrides.append(f"epochs={epochs}")
    from cnnrun.config.load import load_experiment

    base = load_experiment(config, overrides)  # the base config's own errors first
    plan = make_plan(config, name or base.experiment.name, search, values, overrides, smoke)
    validate_plan(plan, config)
    if sweep_dir is not None and (sweep_dir / SWEEP_FILE).exists():
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
    return create_sweep_dir(runs_dir, plan["name"]), plan


def _load_builders(plan: dict[str, Any]) -> None:
    from cnnrun.model.builders import load_builder_file

    for builder in plan.get("builders") or []:
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


def _report_plan(folder: Path, plan: dict[str, Any], todos: list[Todo]) -> None:
    trials = plan["trials"]
    done = sum(t["status"] == runfiles.STATUS_COMPLETED for t in trials)
    queued = {t.trial["id"] for t in todos}
    failed = sum(t["status"] == runfiles.STATUS_FAILED and t["id"] not in queued for t in trials)
    resumed = sum(t.resume_dir is not None for t in todos)
    parts = [f"{len(trials)} trials over {', '.join(plan['keys']) or 'nothing'}"]
    if done:
        parts.append(f"{done} completed (skipped)")
    if failed:
        parts.append(f"{failed} failed (skipped; --retry-failed runs them again)")
    if resumed:
        parts.append(f"{resumed} to resume")
    parts.append(f"{len(todos) - resumed} to start")
    console.print(f"[bold]sweep[/] {folder}: " + "; ".join(parts), highlight=False, soft_wrap=True)


def _execute(
    folder: Path,
    plan: dict[str, Any],
    todos: list[Todo],
    backend: str,
    parallel: int | None,
    cpus_per_trial: float,
) -> int:
    """Run the trials; return the exit code of the sweep (0, 1, 130, 143)."""
    try:
        if not todos:
            pass
        elif backend == "ray":
            run_ray(folder, plan, todos, parallel, cpus_per_trial, console)
        elif (parallel or 1) > 1:
            run_parallel(folder, plan, todos, parallel or 1, console)
        else:
            _run_sequential_main(folder, plan, todos)
    except KeyboardInterrupt:
        err_console.print("interrupted: continue with `cnnrun sweep --resume SWEEP_DIR`")
        print(folder)
        raise typer.Exit(130) from None
    except SweepTerminated:
        err_console.print("stopped by SIGTERM: continue with `cnnrun sweep --resume SWEEP_DIR`")
        print(folder)
        raise typer.Exit(143) from None
    finally:
        _release(folder, plan)
    failed = [t for t in plan["trials"] if t["status"] != runfiles.STATUS_COMPLETED]
    for t in failed:
        _error(f"trial {t['id']} ({' '.join(t['set'])}): {t['status']}: {t.get('reason')}")
    return EXIT_FAILED if failed else 0


def _run_sequential_main(folder: Path, plan: dict[str, Any], todos: list[Todo]) -> None:
    from cnnrun.train.trainer import Terminated

    try:
        run_sequential(folder, plan, todos, console)
    except Terminated:
        raise SweepTerminated from None


def _release(folder: Path, plan: dict[str, Any]) -> None:
    plan.setdefault("runner", {})["running"] = False
    with contextlib.suppress(OSError):
        write_plan(folder, plan)


def _print_summary(folder: Path, plan: dict[str, Any], sort: str | None, fmt: str) -> None:
    """Print the `cnnrun compare` table of the sweep's trials."""
    from cnnrun.compare import (
        OutputFormat,
        UnknownSortKeyError,
        build_comparison,
        render_tables,
        render_text,
        table_width,
    )
    from cnnrun.runs import load_run

    records = [
        load_run(folder / t["run_dir"]) for t in plan["trials"] if t.get("run_dir") is not None
    ]
    records = [r for r in records if r.is_run]
    if not records:
        return
    try:
        comparison = build_comparison(records, sort)
    except UnknownSortKeyError as exc:
        _error(str(exc))
        comparison = build_comparison(records, None)
    if fmt != "table":
        sys.stdout.write(render_text(comparison, OutputFormat(fmt)))
        sys.stdout.flush()
        return
    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=max(table_width(comparison), 80))
    for table in render_tables(comparison, out.width):
        out.print(table)
