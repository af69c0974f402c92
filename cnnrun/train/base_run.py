"""``init_from: FILE.yaml``: train the base experiment as its own run first, or reuse one.

The base file is read with what passes down from the command line (``--seed``,
``--synthetic``; ``--smoke`` is the training options' own), and its own ``init_from``
resolved the same way first. A completed run of the same resolved config (and the same
smoke setting) in the runs folder is reused; otherwise the base is trained there as an
ordinary run. Either way the experiment comes back with ``init_from: {run: RUN_DIR}``,
which is what its ``config.yaml`` records, so a rerun trains nothing first.

Processes that want the same base at once (a parallel sweep) wait for each other on a lock
file in the runs folder, named after the base's resolved config: one trains, the others
reuse its run.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.text import Text

from cnnrun import runfiles
from cnnrun.checks import load_experiment
from cnnrun.checks.init_from import base_config_path
from cnnrun.config.load import LoadedConfig
from cnnrun.config.overrides import Override
from cnnrun.config.schema import InitFromConfig
from cnnrun.config.yaml_io import dump_yaml

CHECKPOINTS = {"last": runfiles.LAST_MODEL, "best": runfiles.BEST_MODEL}


def resolve(
    loaded: LoadedConfig,
    runs_dir: Path,
    smoke: bool,
    passed_down: Sequence[Override | str],
    console: Console,
    train: Callable[[LoadedConfig], Path],
) -> LoadedConfig:
    """``loaded`` with ``init_from``'s experiment file replaced by a completed run of it.

    Args:
        loaded: The experiment to train.
        runs_dir: Where the base run is looked for, and trained when none is found.
        smoke: Whether this is a smoke run (the base is smoke-trained too).
        passed_down: The overrides the base file is read with (``--seed``, ``--synthetic``).
        console: Where the lines saying what is trained or reused go.
        train: Trains an experiment as an ordinary run; returns its run folder.

    Returns:
        ``loaded`` itself when ``init_from`` is absent or a run folder; else a copy whose
        ``init_from`` is ``{run: ABSOLUTE_RUN_DIR, checkpoint: ...}``.

    Raises:
        ConfigError, DataError, KeyboardInterrupt, ...: What training the base raised, with
            ``init_from_base`` (the base file) set on it for the command line's message.
    """
    path = base_config_path(loaded)
    spec = loaded.experiment.init_from
    if path is None or spec is None:
        return loaded
    try:
        base = load_experiment(path, list(passed_down))
        base = resolve(base, runs_dir, smoke, passed_down, console, train)
        wanted = _resolved(base)
        Path(runs_dir).mkdir(parents=True, exist_ok=True)
        with _lock(Path(runs_dir), wanted, console):
            found = find_completed(Path(runs_dir), wanted, smoke, spec.checkpoint)
            shown = _shown(path)
            if found is not None:
                _say(console, f"init_from: reusing {found}, a completed run of {shown}")
            else:
                _say(console, f"init_from: training {shown} first, as its own run in {runs_dir}")
                found = train(base)
                _say(console, f"init_from: base run {found} completed{_test_figures(found)}")
    except BaseException as exc:
        with contextlib.suppress(AttributeError):
            if not hasattr(exc, "init_from_base"):
                exc.init_from_base = path  # type: ignore[attr-defined]
        raise
    _say(
        console,
        f"init_from: {loaded.experiment.name} starts from the {spec.checkpoint} weights of {found}",
    )
    source = InitFromConfig(run=str(Path(found).resolve()), checkpoint=spec.checkpoint)
    return replace(loaded, experiment=loaded.experiment.model_copy(update={"init_from": source}))


def find_completed(
    runs_dir: Path, wanted: dict[str, Any], smoke: bool, checkpoint: str
) -> Path | None:
    """The newest completed run in ``runs_dir`` whose ``config.yaml`` is ``wanted``.

    Its smoke setting must be ``smoke``, and it must hold the checkpoint asked for.
    """
    if not runs_dir.is_dir():
        return None
    for run in sorted((p for p in runs_dir.iterdir() if p.is_dir()), reverse=True):
        try:
            record = runfiles.read_json(run / runfiles.RUN)
            config = yaml.safe_load((run / runfiles.CONFIG).read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError):
            continue
        if (
            isinstance(record, dict)
            and record.get("status") == runfiles.STATUS_COMPLETED
            and bool(record.get("smoke")) == bool(smoke)
            and config == wanted
            and (run / CHECKPOINTS[checkpoint]).is_file()
        ):
            return run
    return None


def _shown(path: Path) -> Path:
    """``path`` relative to the current folder when it is inside it (as the user typed it)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _test_figures(run: Path) -> str:
    try:
        test = runfiles.read_json(Path(run) / runfiles.RESULTS).get("test") or {}
    except (OSError, ValueError, AttributeError):
        return ""
    shown = "  ".join(f"{k} {v:.4f}" for k, v in test.items() if isinstance(v, int | float))
    return f" (test {shown})" if shown else ""


def _resolved(loaded: LoadedConfig) -> dict[str, Any]:
    """The experiment as its run's ``config.yaml`` holds it, read back."""
    return yaml.safe_load(dump_yaml(loaded.experiment.to_dict()))


@contextlib.contextmanager
def _lock(runs_dir: Path, wanted: dict[str, Any], console: Console) -> Iterator[None]:
    """Hold the lock of this base config in ``runs_dir``, waiting for another holder."""
    digest = hashlib.sha256(yaml.safe_dump(wanted, sort_keys=True).encode()).hexdigest()[:16]
    path = runs_dir / runfiles.BASE_RUN_LOCK.format(digest)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say(console, "init_from: another process is training the same base run; waiting")
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass  # a file system without locks: carry on unlocked
        yield
    finally:
        os.close(fd)  # frees the lock


def _say(console: Console, line: str) -> None:
    console.print(Text(line, style="bold"), soft_wrap=True)
