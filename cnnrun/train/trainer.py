"""The training orchestrator: wires config, model, data, callbacks and the run folder."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from cnnrun import locks, runfiles, signals
from cnnrun.checks.names import check_augment, check_test_expectations
from cnnrun.config.load import LoadedConfig
from cnnrun.config.overrides import Override
from cnnrun.config.yaml_io import dump_yaml
from cnnrun.data.prepare import SplitCountError, load_splits
from cnnrun.errors import DataError, one_line
from cnnrun.model.build import build_model, compile_model, output_classes
from cnnrun.model.describe import as_text, describe
from cnnrun.model.precision import resolve as resolve_precision
from cnnrun.signals import Terminated
from cnnrun.tf_env import import_keras
from cnnrun.train import base_run, distribute, init_from, resume, run_folder
from cnnrun.train.fine_tune import apply_phase, phases


@dataclass
class TrainOptions:
    """How to run an experiment, beyond the experiment itself."""

    runs_dir: Path = Path("runs")
    smoke: bool = False
    resume_dir: Path | None = None  # continue this run instead of starting one
    mlflow: str | None = None  # mirror the run in MLflow: a tracking URI, or "local"
    # init_from: FILE.yaml reads that file with these (--seed, --synthetic; not --set)
    passed_down: list[Override | str] = field(default_factory=list)


@dataclass
class TrainResult:
    """Where the run is and what it reached."""

    run_dir: Path
    results: dict[str, Any]
    chief: bool = True  # False: a multi-worker run's other worker, whose folder is gone


def train(loaded: LoadedConfig, options: TrainOptions, console: Console) -> TrainResult:
    """Train the experiment and write its run folder, or continue a stopped run.

    The model is built and the data loaded before a run folder is created, so a bad config
    or missing data leaves nothing behind. ``init_from: FILE.yaml`` first trains that
    experiment as its own run in the same runs folder (or reuses a completed one), then
    starts this run from it.

    Raises:
        ConfigError: When the model cannot be built.
        DataError: When the data cannot be found, or a run cannot be resumed.
        KeyboardInterrupt: On Ctrl-C, after recording the run as interrupted.
        Terminated: On SIGTERM, after recording the run as killed.
    """
    if options.resume_dir is None:
        loaded = base_run.resolve(
            loaded, options.runs_dir, options.smoke, options.passed_down, console,
            lambda base: _train_base(base, options, console),
        )  # fmt: skip
    try:
        dist = distribute.setup(loaded.experiment.distribute)
    except RuntimeError as exc:
        raise loaded.error(str(exc), "distribute.strategy") from None
    if dist.is_chief:
        uri = options.mlflow or os.environ.get("CNNRUN_MLFLOW")  # a sweep sets the variable
        if uri:
            from cnnrun.train.mlflow_tracking import tracked

            return tracked(uri, options.runs_dir, loaded.experiment,
                           lambda hooks: _train(loaded, options, console, dist, hooks))  # fmt: skip
        return _train(loaded, options, console, dist)
    # Another worker of a multi-worker run computes the same steps but keeps a throwaway
    # run folder; resuming, it reads the chief's checkpoints from a copy.
    with tempfile.TemporaryDirectory(prefix="cnnrun-worker-") as scratch:
        resume_dir = None
        if options.resume_dir:
            resume_dir = Path(shutil.copytree(options.resume_dir, Path(scratch) / "resumed"))
        mine = replace(options, runs_dir=Path(scratch), resume_dir=resume_dir)
        result = _train(loaded, mine, console, dist)
    return replace(result, chief=False)


def _train_base(loaded: LoadedConfig, options: TrainOptions, console: Console) -> Path:
    """Train init_from's base experiment as an ordinary run; its folder."""
    result = train(loaded, replace(options, resume_dir=None), console)
    import_keras().backend.clear_session()  # the run that follows starts as a fresh process
    return result.run_dir


def _train(
    loaded: LoadedConfig,
    options: TrainOptions,
    console: Console,
    dist: Any,
    hooks: Callable[[Path], list[Any]] | None = None,  # run folder -> extra Keras callbacks
) -> TrainResult:
    """Train holding the run folder's lock (taken at once when resuming, else at creation)."""
    if options.resume_dir:
        locks.hold(options.resume_dir)  # already held when the command line took it
        run_folder.remove_leftovers(options.resume_dir)
    try:
        return _train_locked(loaded, options, console, dist, hooks)
    finally:
        if options.resume_dir:
            locks.release(options.resume_dir)


def _train_locked(
    loaded: LoadedConfig,
    options: TrainOptions,
    console: Console,
    dist: Any,
    hooks: Callable[[Path], list[Any]] | None = None,
) -> TrainResult:
    exp = loaded.experiment
    source = None if options.resume_dir else init_from.check_source(loaded)
    model, info, precision, base_lr = _build(loaded, dist)
    if source is not None:  # a fresh start from another run's weights
        init_from.load_into(model, source, loaded)
    check_augment(loaded)  # before any data is loaded
    smoke = options.smoke
    if options.resume_dir:  # a resumed run keeps the smoke setting it started with
        smoke = bool(run_folder.read_record(options.resume_dir).get("smoke"))
    epochs = min(exp.epochs, 2) if smoke else exp.epochs
    start = None
    if options.resume_dir:
        start = _restore(model, options.resume_dir, console, exp, epochs)
    try:
        splits = load_splits(
            exp.data, tuple(exp.model.input_shape), output_classes(model, exp.task),
            smoke=smoke, task=exp.task,
        )  # fmt: skip
    except SplitCountError as exc:  # a count beyond the data: point at its line
        raise loaded.error(exc.detail, exc.key) from None
    check_test_expectations(loaded, has_test=len(splits.x_test) > 0)
    _avoid_native_crash(model, exp, dist, console)
    if splits.skipped:
        console.print(
            f"[yellow]skipped {len(splits.skipped)} unreadable file(s)[/] "
            f"(data.skip_bad_images), e.g. {splits.skipped[0][0]}: {splits.skipped[0][1]}",
            highlight=False,
        )
    run_dir, record = _open_run_folder(loaded, options, info, precision, splits, smoke, start)
    if source is not None:
        record.data["init_from"] = source  # results.json copies it
        record.save()
    console.print(_start_line(exp, info, precision, splits, dist, start, run_dir))
    from cnnrun.train.fit import FitContext, fit_and_evaluate

    ctx = FitContext(run_dir, record, info, console, base_lr, start, smoke, dist.replicas > 1)
    ctx.extra_callbacks = hooks(run_dir) if hooks else []
    try:
        with signals.stop_signals():
            try:
                results = fit_and_evaluate(model, exp, splits, epochs, ctx)
            except BaseException as caught:
                exc = caught
                stop = signals.pending_stop()
                if stop is not None and not isinstance(exc, KeyboardInterrupt | Terminated):
                    exc = stop  # library code turned the signal's exception into another
                exc.run_dir = run_dir  # type: ignore[attr-defined]  # the CLI's resume hint
                with signals.ignored():
                    _end(record, run_dir, *_ending(exc))
                    if not isinstance(exc, KeyboardInterrupt | Terminated):
                        _log_error(run_dir, exc)
                if exc is caught:
                    raise
                raise exc from caught
            with signals.ignored():
                _end(record, run_dir, runfiles.STATUS_COMPLETED, None)
    finally:
        locks.release(run_dir)
    return TrainResult(run_dir, results)


def _avoid_native_crash(model: Any, exp: Any, dist: Any, console: Console) -> None:
    """Train with XLA, or stop before a run folder exists, where TensorFlow would abort.

    See :mod:`cnnrun.train.onednn_guard`.
    """
    import tensorflow as tf

    from cnnrun.train.onednn_guard import ONEDNN_ENV, native_crash_risk, refusal

    gpu = bool(tf.config.list_physical_devices("GPU"))
    unfrozen_later = exp.fine_tune is not None
    reason = (
        native_crash_risk(model, gpu=gpu, unfrozen_later=unfrozen_later)
        if dist.replicas == 1
        else None
    )
    if reason is None:
        return
    if exp.jit_compile == "auto":
        model.jit_compile = True  # Keras's choice on a GPU; read when fit builds its function
    if model.jit_compile is not True:
        raise DataError(refusal(reason))
    console.print(
        f"[yellow]note:[/] jit_compile auto: XLA for this run, as Keras does on a GPU: "
        f"{reason} ({ONEDNN_ENV}=0 trains with Keras's choice instead)",
        highlight=False,
    )


def _build(loaded: LoadedConfig, dist: Any) -> tuple[Any, dict[str, Any], Any, float]:
    """The compiled model, its description, the precision chosen and the base learning rate.

    The model is built once in float32 to count its FLOPs (which the precision choice
    needs), and again under a mixed policy when that is chosen, from the same seed.
    """
    keras = import_keras()
    exp = loaded.experiment
    keras.utils.set_random_seed(exp.seed)
    with dist.strategy.scope():
        model = build_model(exp, loaded)
        info = describe(model)
        precision = resolve_precision(exp.precision, exp.data.batch_size, info["flops_per_example"])
        if precision.policy != "float32":
            keras.utils.set_random_seed(exp.seed)
            model = build_model(exp, loaded, precision.policy)
        compile_model(model, exp, loaded)
    base_lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    return model, info, precision, base_lr


def _open_run_folder(
    loaded: LoadedConfig,
    options: TrainOptions,
    info: dict[str, Any],
    precision: Any,
    splits: Any,
    smoke: bool,
    start: resume.EpochState | None,
) -> tuple[Path, run_folder.RunJournal]:
    """Create the run folder (or reopen the resumed one) and write its first files."""
    exp = loaded.experiment
    if options.resume_dir:
        run_dir = Path(options.resume_dir)
        record = run_folder.RunJournal.resume(run_dir, from_epoch=start.epoch if start else 0)
        runfiles.atomic_write_text(run_dir / runfiles.CONFIG, dump_yaml(exp.to_dict()))
        return run_dir, record
    run_dir = run_folder.create(options.runs_dir, exp.name)
    locks.hold(run_dir)
    runfiles.atomic_write_text(run_dir / runfiles.CONFIG, dump_yaml(exp.to_dict()))
    runfiles.atomic_write_text(run_dir / runfiles.SUMMARY, as_text(info))
    if splits.class_names and exp.task != "keypoints":
        runfiles.atomic_write_text(
            run_dir / runfiles.CLASS_NAMES, json.dumps(list(splits.class_names)) + "\n"
        )
    record = run_folder.RunJournal.start(
        run_dir, name=exp.name, task=exp.task, dataset=exp.data.dataset, seed=exp.seed,
        smoke=smoke, config_file=loaded.source,
        precision={"policy": precision.policy, "reason": precision.reason},
    )  # fmt: skip
    return run_dir, record


def _start_line(
    exp: Any,
    info: dict[str, Any],
    precision: Any,
    splits: Any,
    dist: Any,
    start: resume.EpochState | None,
    run_dir: Path,
) -> str:
    """The line printed before the first epoch: sizes, precision, devices, run folder."""
    return (
        f"[bold]{exp.name}[/]: {info['params']['total']:,} parameters; "
        f"{len(splits.x_train):,} training / "
        f"{0 if splits.x_val is None else len(splits.x_val):,} validation / "
        f"{len(splits.x_test):,} test examples from {splits.source}; "
        f"precision {precision.policy}; "
        + (
            f"{dist.description}, {exp.data.batch_size // dist.replicas} examples per replica; "
            if dist.replicas > 1 or not dist.is_chief
            else ""
        )
        + (f"resuming after epoch {start.epoch} in " if start else "run folder ")
        + str(run_dir)
        + ("" if dist.is_chief else " (a throwaway copy: the chief writes the run)")
    )


def _ending(exc: BaseException) -> tuple[str, str]:
    """The status and reason ``run.json`` records for a run that stopped with ``exc``."""
    if isinstance(exc, KeyboardInterrupt):
        return (
            runfiles.STATUS_INTERRUPTED,
            "interrupted by the user (Ctrl-C); resume with `cnnrun train --resume`",
        )
    if isinstance(exc, Terminated):
        return runfiles.STATUS_KILLED, "stopped by SIGTERM; resume with `cnnrun train --resume`"
    return runfiles.STATUS_FAILED, one_line(exc)


def _log_error(run_dir: Path, exc: BaseException) -> None:
    """Keep the traceback in ``error.log`` and tell the command line where it is."""
    with contextlib.suppress(OSError):  # a full disk: the one-line reason still shows
        text = "".join(traceback.format_exception(exc))
        runfiles.atomic_write_text(run_dir / runfiles.ERROR_LOG, text)
        with contextlib.suppress(AttributeError):
            exc.cnnrun_error_log = run_dir / runfiles.ERROR_LOG  # type: ignore[attr-defined]


def _restore(
    model: Any, run_dir: Path, console: Console, exp: Any, epochs: int
) -> resume.EpochState | None:
    """Load the newest loadable checkpoint of ``run_dir`` into ``model``."""
    states = resume.candidates(run_dir)
    if not states:
        return None  # stopped before its first epoch ended: start again from epoch 1
    for i, state in enumerate(states):
        try:
            for phase in phases(exp, epochs):
                if phase.fine_tuning and state.epoch >= phase.epochs_from:
                    apply_phase(model, phase)  # the checkpoint's optimizer has its variables
            model.optimizer.build(model.trainable_variables)
            model.load_weights(Path(run_dir) / state.checkpoint)
        except Exception as exc:  # a torn or damaged file
            console.print(
                f"[yellow]warning:[/] checkpoint {state.checkpoint} cannot be loaded "
                f"({type(exc).__name__}); "
                + ("trying the one before" if i + 1 < len(states) else "none left"),
                highlight=False,
            )
            continue
        return state
    raise DataError(
        f"{run_dir}: no checkpoint can be loaded ({', '.join(s.checkpoint for s in states)}); "
        "start a new run instead"
    )


def _end(record: Any, run_dir: Path, status: str, reason: str | None) -> None:
    try:
        record.finish(status, reason)
    except OSError:
        pass  # e.g. the disk is full: the reason cannot be written, the error still shows
    metrics = run_dir / runfiles.METRICS
    if metrics.exists():
        from cnnrun.plots.curves import plot_curves

        with contextlib.suppress(Exception):
            plot_curves(metrics, run_dir / runfiles.CURVES, title=run_dir.name)
