"""What every plain Keras script of the benchmark shares: arguments, data, timing, the JSON.

Each ``benchmarks/plain/<config>.py`` holds only its model, compiled as the chapter's code
compiles it, and calls :func:`main`. The training itself is the chapter's:
``np.load`` → add the channel axis (grey images) → ``/ 255`` → ``to_categorical`` (only
for categorical cross-entropy; sparse cross-entropy takes the integer labels) →
``model.fit(x_train, y_train, batch_size=..., epochs=...)`` with no validation data,
``validation_data=(x_test, y_test)`` or ``validation_split=...`` as the section does →
``model.evaluate(x_test, y_test)``. A section that trains a model further (§5.4 continues
the §5.3 model) first trains the earlier model (``pretrain``), then compiles it again.

Usage: ``python benchmarks/plain/mnist_basic.py --data mnist.npz --limit 12000 --epochs 3
--out result.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

SEED = 1337


class EpochTimer(keras.callbacks.Callback):
    """Seconds from ``on_epoch_begin`` to ``on_epoch_end`` (training and validation).

    With ``log``, also appends one line per finished epoch to that file, so that a
    benchmark watching the process sees where epochs end (as cnnrun's ``metrics.csv``).
    """

    def __init__(self, log: str | None = None) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self.log = log
        self._t0 = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._t0)
        if self.log:
            with open(self.log, "a", encoding="utf-8") as f:
                f.write(f"{epoch + 1},{self.seconds[-1]:.4f}\n")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help=".npz in the keras.datasets layout")
    parser.add_argument("--limit", type=int, default=None, help="first N training examples")
    parser.add_argument("--test-limit", type=int, default=None, help="first N test examples")
    parser.add_argument("--epochs", type=int, default=None, help="default: the chapter's")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--epoch-log", default=None, help="append a line here as epochs end")
    parser.add_argument("--batch-size", type=int, default=None, help="override the batch size")
    parser.add_argument("--seed", type=int, default=SEED, help="keras.utils.set_random_seed")
    parser.add_argument(
        "--pretrain-epochs",
        type=int,
        default=None,
        help="epochs of the earlier model trained first (only scripts with a pretrain step)",
    )
    return parser.parse_args()


def main(
    build: Callable[..., Any],
    batch_size: int,
    validation: str | float | None,
    callbacks: list[Any] | None = None,
    pretrain: tuple[Callable[[], Any], int] | None = None,
    epochs: int = 5,
) -> None:
    """Train ``build()`` as the chapter does and write the timings to ``--out``.

    Args:
        build: Returns the compiled model; with ``pretrain``, it is given the pretrained
            model and compiles it again.
        batch_size: ``model.fit``'s batch size (32, Keras's default, where the chapter's
            ``fit()`` gives none).
        validation: None (the chapter's ``fit()`` gets no validation data), ``"test"``
            (``validation_data=(x_test, y_test)``) or a fraction (``validation_split``:
            Keras holds out the last examples).
        callbacks: Extra Keras callbacks (a learning-rate schedule).
        pretrain: ``(build_first, epochs)``: the model to train first, with its own
            compile, for that many epochs (``--pretrain-epochs`` changes it), before
            ``build(model)`` compiles it again for the timed fit. Its epochs are not timed.
        epochs: The chapter's epochs for the timed fit (``--epochs`` changes it).
    """
    args = parse_args()
    batch_size = args.batch_size or batch_size
    t_start = time.perf_counter()
    keras.utils.set_random_seed(args.seed)

    with np.load(args.data) as f:
        x_train, y_train = f["x_train"][: args.limit], f["y_train"][: args.limit]
        x_test, y_test = f["x_test"][: args.test_limit], f["y_test"][: args.test_limit]
    if x_train.ndim == 3:  # MNIST and Fashion-MNIST: add the channel axis (CIFAR-10 has it)
        x_train, x_test = x_train[..., None], x_test[..., None]
    x_train = x_train.astype("float32") / 255
    x_test = x_test.astype("float32") / 255

    def labels(model: Any) -> tuple[Any, Any]:
        if model.loss == "categorical_crossentropy":
            return keras.utils.to_categorical(y_train, 10), keras.utils.to_categorical(y_test, 10)
        return y_train, y_test

    pretrain_epochs = 0
    if pretrain is not None:
        build_first, pretrain_epochs = pretrain
        if args.pretrain_epochs is not None:
            pretrain_epochs = args.pretrain_epochs
        first = build_first()
        if pretrain_epochs > 0:
            first.fit(x_train, labels(first)[0], batch_size=batch_size, epochs=pretrain_epochs)
        model = build(first)
    else:
        model = build()
    y_train, y_test = labels(model)

    fit_validation: dict[str, Any]
    if validation is None:
        fit_validation = {}
        n_train, n_val = len(x_train), 0
    elif validation == "test":
        fit_validation = {"validation_data": (x_test, y_test)}
        n_train, n_val = len(x_train), len(x_test)
    else:
        fit_validation = {"validation_split": float(validation)}
        n_train = int(np.floor(len(x_train) * (1.0 - float(validation))))  # as Keras splits
        n_val = len(x_train) - n_train

    timer = EpochTimer(args.epoch_log)
    t_fit = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=args.epochs or epochs,
        callbacks=[*(callbacks or []), timer],
        **fit_validation,
    )
    fit_wall = time.perf_counter() - t_fit
    test = model.evaluate(x_test, y_test, return_dict=True, verbose=0)  # Keras's batch, 32

    steady = timer.seconds[1:] or timer.seconds
    epoch_s = float(np.median(steady))
    result = {
        "epoch_seconds": [round(s, 4) for s in timer.seconds],
        "fit_wall_s": round(fit_wall, 4),
        "train_examples": n_train,
        "val_examples": n_val,
        "test_examples": len(x_test),
        "batch_size": batch_size,
        "pretrain_epochs": pretrain_epochs,
        "samples_per_s": round(n_train / epoch_s, 1),
        "test": {k: float(v) for k, v in test.items()},
        "params": int(model.count_params()),
        "process_s": round(time.perf_counter() - t_start, 3),
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
