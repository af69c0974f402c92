"""One ``model.fit`` with the run's callbacks, the test evaluation, and ``results.json``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from cnnrun import runfiles
from cnnrun.config.schema import Experiment
from cnnrun.data.arrays import Splits
from cnnrun.data.pixels import divide_by_255
from cnnrun.model.build import output_classes
from cnnrun.train import callbacks as cb
from cnnrun.train import expect
from cnnrun.train.augment_stream import make_augment
from cnnrun.train.distribute import shard_by_data
from cnnrun.train.fine_tune import apply_phase, phases
from cnnrun.train.pipeline import dataset, training_stream
from cnnrun.train.predictions import write_predictions
from cnnrun.train.resume import EpochState
from cnnrun.train.schedules import schedule_callbacks
from cnnrun.train.tensorboard import end_session, tensorboard_callbacks


class NanLossError(RuntimeError):
    """The loss became NaN or infinite; the run keeps its last good checkpoint."""


@dataclass
class FitContext:
    """Where a fit writes, and where it starts from."""

    run_dir: Path
    record: Any
    info: dict[str, Any]
    console: Console
    base_lr: float = 1e-3  # the optimizer's initial learning rate (schedules start there)
    start: EpochState | None = None  # a resumed run's last good epoch
    smoke: bool = False
    distributed: bool = False  # shard the data by example across workers
    extra_callbacks: list[Any] = field(default_factory=list)  # e.g. MLflow's (--mlflow)


def fit_and_evaluate(
    model: Any, exp: Experiment, splits: Splits, epochs: int, ctx: FitContext
) -> dict[str, Any]:
    """Train from ``ctx.start`` (or epoch 1), evaluate on the test split, write ``results.json``.

    Without test examples (``data.test_split: 0``) there is no evaluation and
    ``results.json`` has ``"test": null``.

    Returns:
        The content of ``results.json``.

    Raises:
        NanLossError: When the loss is not finite at the end of an epoch.
    """
    one_hot = output_classes(model) if exp.loss.name == "categorical_crossentropy" else None
    logger, checkpointer = _fit(model, exp, splits, epochs, ctx, one_hot)
    t0 = time.perf_counter()
    test = None
    if len(splits.x_test):
        test_ds = dataset(
            splits.x_test, splits.y_test, exp.data.batch_size, one_hot=one_hot,
            scale=divide_by_255(exp.data, splits.x_test),
        )  # fmt: skip
        if ctx.distributed:
            test_ds = shard_by_data(test_ds)
        test = model.evaluate(test_ds, return_dict=True, verbose=0, callbacks=[cb.StopCheck()])
    results = _results(exp, ctx, test, logger, checkpointer, time.perf_counter() - t0, splits)
    if isinstance(getattr(ctx.record, "data", None), dict) and "init_from" in ctx.record.data:
        results["init_from"] = ctx.record.data["init_from"]  # recorded by the trainer
    if exp.task == "classification" and test is not None:
        _add_class_results(model, exp, splits, ctx, results)
    runfiles.write_json(ctx.run_dir / runfiles.RESULTS, results)
    end_session(exp, ctx.run_dir, results["test"])
    try:
        write_predictions(model, exp, splits, ctx.run_dir)
    except Exception as exc:  # a picture must not fail a trained run
        ctx.console.print(
            f"[yellow]warning:[/] prediction pictures not written ({type(exc).__name__}: {exc})",
            highlight=False,
        )
    return results


def _add_class_results(
    model: Any, exp: Experiment, splits: Splits, ctx: FitContext, results: dict[str, Any]
) -> None:
    """Per-class test figures in ``results`` and ``confusion.png`` (a failure only warns)."""
    from cnnrun.train.class_results import predict_report, write_class_results

    report = predict_report(
        model, splits.x_test, splits.y_test, exp.data.batch_size, splits.class_names,
        [cb.StopCheck()], scale=divide_by_255(exp.data, splits.x_test),
    )  # fmt: skip
    if report is None:
        return
    results["test"]["macro_f1"] = report["macro"]["f1"]
    if exp.expect:  # again: an expectation may name test.macro_f1
        results["expect"] = expect.check(exp.expect, results, ctx.smoke)
    try:
        write_class_results(results, report, ctx.run_dir, ctx.run_dir.name)
    except Exception as exc:  # a picture must not fail a trained run
        ctx.console.print(
            f"[yellow]warning:[/] {runfiles.CONFUSION} not written ({type(exc).__name__}: {exc})",
            highlight=False,
        )


def _fit(
    model: Any, exp: Experiment, splits: Splits, epochs: int, ctx: FitContext, one_hot: int | None
) -> tuple[cb.EpochLogger, cb.Checkpointer]:
    """Run ``model.fit`` once per phase with the run's callbacks; return the logger and best."""
    bs, drop = exp.data.batch_size, exp.data.drop_remainder
    first = ctx.start.epoch if ctx.start else 0
    augment = make_augment(exp, splits.class_names if exp.task == "keypoints" else None)

    def stream(start: int, end: int) -> Any:
        ds, _ = training_stream(
            splits.x_train, splits.y_train, bs, first_epoch=start, epochs=end,
            seed=exp.seed, shuffle=exp.data.shuffle, one_hot=one_hot, augment=augment,
            drop_remainder=drop, scale=divide_by_255(exp.data, splits.x_train),
        )  # fmt: skip
        return shard_by_data(ds) if ctx.distributed else ds

    n = len(splits.x_train)
    steps = n // bs if drop else -(-n // bs)  # as training_stream's
    val_ds = None
    if splits.x_val is not None:
        val_ds = dataset(
            splits.x_val, splits.y_val, bs, one_hot=one_hot, drop_remainder=drop,
            scale=divide_by_255(exp.data, splits.x_val),
        )  # fmt: skip
        val_ds = shard_by_data(val_ds) if ctx.distributed else val_ds

    metrics_csv = ctx.run_dir / runfiles.METRICS
    logger = cb.EpochLogger(ctx.run_dir, ctx.record, cb.read_metrics(metrics_csv, first))
    checkpointer = cb.Checkpointer(exp.monitor)
    guard = cb.NanGuard()
    schedules = schedule_callbacks(exp.schedule, ctx.base_lr, epochs)
    user = cb.user_callbacks(exp.callbacks, ctx.run_dir)
    user_tb = any("tensorboard" in spec for spec in exp.callbacks)
    tracking = [*tensorboard_callbacks(exp, ctx.run_dir, user_tb), *ctx.extra_callbacks]
    stateful = [checkpointer, *user, *schedules]  # their counters are saved for a resume
    common = [
        cb.StopCheck(),
        logger,  # first at epoch end: `seconds` is training + validation only
        guard,
        checkpointer,
        *user,
        *tracking,
        cb.StateSaver(ctx.run_dir, guard, stateful, checkpointer),
        cb.RichProgress(ctx.console, epochs, steps, batch_size=exp.data.batch_size),
    ]
    restorer = [cb.StateRestorer(stateful, ctx.start)] if ctx.start else []
    # One fit per phase (fine-tuning unfreezes between them); the callbacks are shared,
    # so metrics.csv and the checkpoints run through both.
    for phase in phases(exp, epochs):
        start = max(phase.epochs_from, first)
        if start >= phase.epochs_to:
            continue
        if phase.fine_tuning and first <= phase.epochs_from:
            apply_phase(model, phase)  # (a run resumed inside this phase has it already)
        model.fit(
            stream(start, phase.epochs_to),
            validation_data=val_ds,
            epochs=phase.epochs_to,
            initial_epoch=start,
            steps_per_epoch=steps,
            # schedules set the lr before the logger reads it; a fine-tuning phase keeps its own
            callbacks=[*([] if phase.fine_tuning else schedules), *common, *restorer],
            verbose=0,
            shuffle=False,  # the stream is shuffled per epoch
        )
        restorer = []
        if model.stop_training or guard.nan_epoch is not None:
            break
    if guard.nan_epoch is not None:
        good = guard.nan_epoch - 1
        raise NanLossError(
            f"nan: the loss is not a number after epoch {guard.nan_epoch}; "
            + (f"the last good checkpoint is epoch {good}" if good else "no epoch was good")
        )
    return logger, checkpointer


def trained_per_epoch(exp: Experiment, n: int) -> int:
    """Examples trained on per epoch: all ``n``, or whole batches with ``drop_remainder``."""
    bs = exp.data.batch_size
    return n // bs * bs if exp.data.drop_remainder else n


def _results(
    exp: Experiment,
    ctx: FitContext,
    test: dict[str, Any] | None,
    logger: cb.EpochLogger,
    checkpointer: cb.Checkpointer,
    eval_s: float,
    splits: Splits,
) -> dict[str, Any]:
    """The content of ``results.json``: test figures, best epoch, sizes, speed, expectations.

    ``test`` is None without a test set (``"test": null``).
    """
    train_time = sum(logger.train_seconds)
    samples_per_s = (
        round(
            trained_per_epoch(exp, len(splits.x_train)) * len(logger.train_seconds) / train_time, 1
        )
        if train_time > 0
        else None
    )
    results = {
        "test": None if test is None else {k: float(v) for k, v in test.items()},
        "best": {
            "epoch": checkpointer.best_epoch,
            "monitor": exp.monitor,
            "value": checkpointer.best_value,
        },
        "params": ctx.info["params"],
        "epochs_completed": len(logger.rows),
        "wall_time_s": round(sum(float(r["seconds"]) for r in logger.rows) + eval_s, 3),
        "train_samples_per_s": samples_per_s,
        # Training ~ 3x forward FLOPs (see cnnrun.model.flops).
        "train_flops_per_s": round(3 * ctx.info["flops_per_example"] * samples_per_s)
        if samples_per_s
        else None,
    }
    if exp.expect:
        results["expect"] = expect.check(exp.expect, results, ctx.smoke)
    return results
