"""The training orchestrator: wires config, model, data, callbacks and the run folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from cnnrun import runfiles
from cnnrun.config.load import LoadedConfig
from cnnrun.config.yaml_io import dump_yaml
from cnnrun.data.load import load_splits
from cnnrun.model.build import build_model, compile_model, output_classes
from cnnrun.model.describe import as_text, describe
from cnnrun.model.precision import resolve as resolve_precision
from cnnrun.tf_env import import_keras
from cnnrun.train import run_folder


@dataclass
class TrainOptions:
    """How to run an experiment, beyond the experiment itself."""

    runs_dir: Path = Path("runs")
    smoke: bool = False


@dataclass
class TrainResult:
    """Where the run is and what it reached."""

    run_dir: Path
    results: dict[str, Any]


def train(loaded: LoadedConfig, options: TrainOptions, console: Console) -> TrainResult:
    """Train the experiment and write its run folder (SPEC §4).

    The model is built and the data loaded before the run folder is created, so a bad
    config or missing data leaves nothing behind.

    Raises:
        ConfigError: When the model cannot be built.
        DataError: When the data cannot be found or does not fit the model.
        KeyboardInterrupt: On Ctrl-C, after recording the run as interrupted.
    """
    keras = import_keras()
    exp = loaded.experiment
    keras.utils.set_random_seed(exp.seed)
    model = build_model(exp, loaded)
    info = describe(model)
    precision = resolve_precision(exp.precision, exp.data.batch_size, info["flops_per_example"])
    if precision.policy != "float32":
        keras.utils.set_random_seed(exp.seed)
        model = build_model(exp, loaded, precision.policy)
    compile_model(model, exp, loaded)
    splits = load_splits(
        exp.data, tuple(exp.model.input_shape), output_classes(model), smoke=options.smoke
    )
    epochs = min(exp.epochs, 2) if options.smoke else exp.epochs

    run_dir = run_folder.create(options.runs_dir, exp.name)
    runfiles.atomic_write_text(run_dir / runfiles.CONFIG, dump_yaml(exp.to_dict()))
    runfiles.atomic_write_text(run_dir / runfiles.SUMMARY, as_text(info))
    record = run_folder.RunRecord.start(
        run_dir,
        name=exp.name,
        task=exp.task,
        dataset=exp.data.dataset,
        seed=exp.seed,
        smoke=options.smoke,
        config_file=loaded.source,
        precision={"policy": precision.policy, "reason": precision.reason},
    )
    console.print(
        f"[bold]{exp.name}[/]: {info['params']['total']:,} parameters; "
        f"{len(splits.x_train):,} training / "
        f"{0 if splits.x_val is None else len(splits.x_val):,} validation / "
        f"{len(splits.x_test):,} test examples from {splits.source}; "
        f"precision {precision.policy}; run folder {run_dir}"
    )
    from cnnrun.train.fit import fit_and_evaluate

    try:
        results = fit_and_evaluate(model, exp, splits, epochs, run_dir, record, info, console)
    except KeyboardInterrupt:
        record.finish(runfiles.STATUS_INTERRUPTED, "interrupted by the user (Ctrl-C)")
        _plot(run_dir)
        raise
    except BaseException as exc:
        record.finish(runfiles.STATUS_FAILED, f"{type(exc).__name__}: {exc}")
        _plot(run_dir)
        raise
    _plot(run_dir)
    record.finish(runfiles.STATUS_COMPLETED)
    return TrainResult(run_dir, results)


def _plot(run_dir: Path) -> None:
    metrics = run_dir / runfiles.METRICS
    if metrics.exists():
        from cnnrun.plots import plot_curves

        plot_curves(metrics, run_dir / runfiles.CURVES, title=run_dir.name)
