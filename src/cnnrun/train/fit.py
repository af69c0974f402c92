"""One ``model.fit`` with the run's callbacks, the test evaluation, and ``results.json``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console

from cnnrun import runfiles
from cnnrun.config.schema import Experiment
from cnnrun.data.arrays import Splits
from cnnrun.model.build import output_classes
from cnnrun.tf_env import import_keras
from cnnrun.train import callbacks as cb
from cnnrun.train.pipeline import dataset
from cnnrun.train.schedules import schedule_callbacks


def fit_and_evaluate(
    model: Any,
    exp: Experiment,
    splits: Splits,
    epochs: int,
    run_dir: Path,
    record: Any,
    info: dict[str, Any],
    console: Console,
) -> dict[str, Any]:
    """Train, evaluate on the test split, and write ``results.json``.

    Returns:
        The content of ``results.json``.
    """
    keras = import_keras()
    bs = exp.data.batch_size
    one_hot = output_classes(model) if exp.loss.name == "categorical_crossentropy" else None
    train_ds = dataset(
        splits.x_train, splits.y_train, bs, one_hot=one_hot, shuffle=exp.data.shuffle, seed=exp.seed
    )
    val_ds = None
    if splits.x_val is not None:
        val_ds = dataset(splits.x_val, splits.y_val, bs, one_hot=one_hot)
    test_ds = dataset(splits.x_test, splits.y_test, bs, one_hot=one_hot)

    base_lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    logger = cb.EpochLogger(run_dir, record)
    checkpointer = cb.Checkpointer(run_dir, exp.monitor)
    steps = -(-len(splits.x_train) // bs)
    callbacks = [
        *schedule_callbacks(exp.schedule, base_lr, epochs),
        logger,
        checkpointer,
        *cb.user_callbacks(exp.callbacks, run_dir),
        cb.RichProgress(console, epochs, steps),
    ]
    t0 = time.perf_counter()
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=epochs,
        callbacks=callbacks,
        verbose=0,
        shuffle=False,  # the tf.data pipeline shuffles
    )
    wall = time.perf_counter() - t0
    test = model.evaluate(test_ds, return_dict=True, verbose=0)
    train_time = sum(logger.train_seconds)
    samples_per_s = (
        round(len(splits.x_train) * len(logger.rows) / train_time, 1) if train_time > 0 else None
    )
    results = {
        "test": {k: float(v) for k, v in test.items()},
        "best": {
            "epoch": checkpointer.best_epoch,
            "monitor": exp.monitor,
            "value": checkpointer.best_value,
        },
        "params": info["params"],
        "epochs_completed": len(logger.rows),
        "wall_time_s": round(wall, 3),
        "train_samples_per_s": samples_per_s,
        # Training ~ 3x forward FLOPs (see cnnrun.model.flops).
        "train_flops_per_s": round(3 * info["flops_per_example"] * samples_per_s)
        if samples_per_s
        else None,
    }
    runfiles.write_json(run_dir / runfiles.RESULTS, results)
    return results
