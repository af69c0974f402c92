"""The plan of a `cnnrun sweep`: search options, trials, ``sweep.json``, trial state.

Imports no TensorFlow. The ``sweep.json`` format: `cnnrun.sweep.session`'s docstring.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import random
import re
import shutil
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cnnrun import runfiles
from cnnrun.config.overrides import SYNTHETIC_DATA, Override
from cnnrun.errors import ConfigError, DataError, one_line  # noqa: F401 - backends use it
from cnnrun.train.run_folder import now_iso

SWEEP_VERSION = 1
PENDING = "pending"
MAX_BASE_NAME = 60


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


def config_digest(path: Path) -> str:
    """The SHA-256 of a file (to notice a config changed before a resume)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass
class Trial:
    """One trial of a sweep: its overrides, and where its run is.

    Attributes:
        id: ``t1``, ``t2``, ... (zero-padded to the number of trials).
        name: The run name (``<sweep name>-<id>``).
        set: The trial's ``KEY=VALUE`` texts, as shown and given to a child process.
        values: The same values, parsed once (YAML).
        status: ``pending`` (never started) or its run's ``run.json`` status.
        run_dir: The run folder's name inside the sweep folder.
        reason: Why it failed or stopped.
        attempts: How many times it was started.
    """

    id: str
    name: str
    set: list[str]
    values: dict[str, Any]
    status: str = PENDING
    run_dir: str | None = None
    reason: str | None = None
    attempts: int = 0

    def overrides(self) -> list[Override]:
        """The trial's values as typed overrides (not parsed a second time)."""
        return [
            Override(key, self.values[key], f"--set {item}")
            for item, key in zip(self.set, self.values, strict=True)
        ]

    def start(self) -> None:
        """Mark the trial running, one attempt more."""
        self.status, self.reason = runfiles.STATUS_RUNNING, None
        self.attempts += 1


@dataclass
class Runner:
    """The process running a sweep (so a second one refuses to run it too)."""

    pid: int | None = None
    host: str | None = None
    backend: str | None = None
    parallel: int | None = None
    started_at: str | None = None
    running: bool = False


@dataclass
class SweepPlan:
    """``sweep.json``: the search, every trial, and what a resume needs (format: command.py)."""

    name: str
    config: str
    config_sha256: str
    cwd: str
    created_at: str
    search: dict[str, Any]
    overrides: list[str]
    smoke: bool
    builders: list[str]
    keys: list[str]
    trials: list[Trial]
    runner: Runner = field(default_factory=Runner)
    version: int = SWEEP_VERSION
    updated_at: str | None = None

    def trial_overrides(self, trial: Trial) -> list[Override | str]:
        """A trial's overrides: the sweep's own ``--set``, the trial's values, its run name."""
        return [*self.overrides, *trial.overrides(), Override.option("name", trial.name)]

    # init_from: FILE.yaml (issue 12): what a trial's base experiment is read with.
    def passed_down(self, trial: Trial) -> list[Override | str]:
        """What passes down to ``init_from``'s experiment file, as `train`'s options would.

        ``--synthetic``, and the trial's ``seed`` (from ``--grid``, ``--choice`` or
        ``--set``: a sweep has no ``--seed`` of the experiment's), so trial seed N of a
        config continues seed N of its base. Smoke passes down through the training options.
        """
        down: list[Override | str] = list(SYNTHETIC_DATA) if self.synthetic else []
        seeds = [o for o in self.typed_overrides(trial) if o.key == "seed"]
        if seeds:
            down.append(Override.option("seed", seeds[-1].value))
        return down

    @property
    def synthetic(self) -> bool:
        """Whether the sweep was started with ``--synthetic``."""
        return all(item in self.overrides for item in SYNTHETIC_DATA)

    def typed_overrides(self, trial: Trial) -> list[Override]:
        """The sweep's ``--set`` and the trial's values, typed (no run name)."""
        return [Override.parse(item) for item in self.overrides] + trial.overrides()

    def trial(self, trial_id: str) -> Trial:
        """The trial with this id."""
        return next(t for t in self.trials if t.id == trial_id)

    def to_json(self) -> dict[str, Any]:
        """The plan as ``sweep.json`` holds it."""
        data = asdict(self)
        return {"version": data.pop("version"), **data}

    @classmethod
    def from_json(cls, data: Any, source: Path) -> SweepPlan:
        """Read a plan from ``sweep.json``'s content.

        Raises:
            DataError: When it is not a version-1 plan.
        """
        try:
            if data.get("version") != SWEEP_VERSION or not isinstance(data.get("trials"), list):
                raise ValueError("version or trials")
            fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
            fields["trials"] = [Trial(**t) for t in data["trials"]]
            fields["runner"] = Runner(**(data.get("runner") or {}))
            return cls(**fields)
        except (AttributeError, TypeError, ValueError):
            raise DataError(f"{source}: not a version-{SWEEP_VERSION} sweep plan") from None


def make_plan(
    config: Path,
    name: str,
    search: dict[str, Any],
    trial_values: list[dict[str, str]],
    overrides: list[str],
    smoke: bool,
) -> SweepPlan:
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
            Trial(
                id=tid,
                name=f"{base}-{tid}",
                set=[f"{k}={v}" for k, v in values.items()],
                values={k: parse_scalar(v) for k, v in values.items()},
            )
        )
    return SweepPlan(
        name=base,
        config=str(Path(config).resolve()),
        config_sha256=config_digest(config),
        cwd=str(Path.cwd()),
        created_at=now_iso(),
        search=search,
        overrides=overrides,
        smoke=smoke,
        builders=[str(p) for p in builders.loaded_files()],
        keys=list(trial_values[0]) if trial_values else [],
        trials=trials,
    )


def read_plan(sweep_dir: Path) -> SweepPlan:
    """Read ``sweep.json``.

    Raises:
        DataError: When the folder holds no readable plan.
    """
    path = Path(sweep_dir) / runfiles.SWEEP
    try:
        plan = runfiles.read_json(path)
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{sweep_dir} is not a sweep folder (no readable {runfiles.SWEEP}: {exc})"
        ) from None
    return SweepPlan.from_json(plan, path)


def write_plan(sweep_dir: Path, plan: SweepPlan) -> None:
    """Write ``sweep.json`` atomically."""
    plan.updated_at = now_iso()
    runfiles.write_json(Path(sweep_dir) / runfiles.SWEEP, plan.to_json())


def validate_plan(plan: SweepPlan, config: Path | None = None) -> None:
    """Load every trial's config (no TensorFlow): a bad key or value fails before any run.

    Args:
        plan: The sweep's plan.
        config: The experiment file as the user named it (default: the plan's).

    Raises:
        ConfigError: For the first trial whose config is invalid; its message names the
            trial and its overrides.
    """
    from cnnrun.checks import load_experiment

    for trial in plan.trials:
        try:
            load_experiment(config or plan.config, plan.trial_overrides(trial))
        except ConfigError as exc:
            exc.message += f" (trial {trial.id}: {' '.join(trial.set)})"
            raise


def create_sweep_dir(runs_dir: Path, name: str) -> Path:
    """Create ``runs_dir/<YYYYmmdd-HHMMSS>-sweep-<name>`` (``-2``, ``-3``... if taken)."""
    from cnnrun.train.run_folder import create_unique, safe_name

    return create_unique(runs_dir, f"sweep-{safe_name(name)}")


# ---------------------------------------------------------------------------------------
# Trial state, read from the run folders
# ---------------------------------------------------------------------------------------


def find_run_dir(sweep_dir: Path, trial: Trial) -> Path | None:
    """The run folder of a trial, found by its name; debris without ``run.json`` removed.

    A folder whose process was killed between its creation and its first ``run.json``
    holds nothing worth keeping; it is deleted so the trial starts again cleanly.
    """
    if trial.run_dir and (Path(sweep_dir) / trial.run_dir / runfiles.RUN).is_file():
        return Path(sweep_dir) / trial.run_dir
    pattern = re.compile(rf"^\d{{8}}-\d{{6}}-{re.escape(trial.name)}(-\d+)?$")
    found = sorted(p for p in Path(sweep_dir).iterdir() if p.is_dir() and pattern.match(p.name))
    runs = [p for p in found if (p / runfiles.RUN).is_file()]
    for debris in (p for p in found if p not in runs):
        if not (debris / runfiles.METRICS).exists():
            shutil.rmtree(debris, ignore_errors=True)
    return runs[-1] if runs else None


def refresh(sweep_dir: Path, trial: Trial) -> Path | None:
    """Update a trial's ``status``, ``run_dir`` and ``reason`` from its run folder."""
    run_dir = find_run_dir(sweep_dir, trial)
    if run_dir is None:
        if trial.status != PENDING and trial.run_dir:
            trial.run_dir = None
        if trial.status not in (PENDING, runfiles.STATUS_FAILED):
            trial.status = PENDING  # killed before its run folder was written
        return None
    try:
        info = runfiles.read_json(run_dir / runfiles.RUN)
    except (OSError, ValueError):
        info = {"status": runfiles.STATUS_RUNNING}
    trial.run_dir, trial.status, trial.reason = run_dir.name, info.get("status"), info.get("reason")
    return run_dir


def claim(sweep_dir: Path, plan: SweepPlan, backend: str, parallel: int | None) -> None:
    """Record this process as the sweep's runner (shown by `cnnrun show`).

    Whether another process runs the sweep is the sweep folder's lock's job
    (:mod:`cnnrun.locks`), taken before this.
    """
    plan.runner = Runner(
        pid=os.getpid(),
        host=socket.gethostname(),
        backend=backend,
        parallel=parallel,
        started_at=now_iso(),
        running=True,
    )
