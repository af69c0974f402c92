"""Recompute a run's metrics on a split with its saved best model."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnrun import runfiles
from cnnrun.errors import DataError

if TYPE_CHECKING:
    import numpy as np  # imported where used: `cnnrun --help` stays fast

from cnnrun.predict.saved import SavedRun, load_run


class Split(enum.StrEnum):
    """Which examples ``evaluate`` scores."""

    test = "test"
    val = "val"
    train = "train"


def _splits_for(run: SavedRun, smoke: bool) -> Any:
    """The run's data, split as the trainer split it (``cnnrun.data.prepare.load_splits``)."""
    from cnnrun.checks import load_experiment
    from cnnrun.data.prepare import load_splits
    from cnnrun.model.outputs import output_classes

    loaded = load_experiment(run.run_dir / runfiles.CONFIG)
    exp = loaded.experiment
    classes = output_classes(run.model, exp.task)  # keypoints: all output values
    return load_splits(exp.data, tuple(exp.model.input_shape), classes, smoke=smoke, task=exp.task)


def _labels_for(task: str, y: np.ndarray) -> np.ndarray:
    """Labels as the model's loss takes them (keypoints ``(N, J, 3)`` -> ``(N, J * 3)``)."""
    import numpy as np

    if task == "keypoints" and y.ndim == 3:
        return y.reshape(len(y), -1).astype(np.float32)
    return y


def evaluate_run(
    run_dir: Path, split: str = "test", *, splits: Any = None, batch_size: int | None = None
) -> dict[str, float]:
    """Recompute a split's loss and metrics with the run's saved best model.

    The same as :func:`evaluate_with_report` without the per-class report.
    """
    return evaluate_with_report(run_dir, split, splits=splits, batch_size=batch_size)[0]


def evaluate_with_report(
    run_dir: Path, split: str = "test", *, splits: Any = None, batch_size: int | None = None
) -> tuple[dict[str, float], dict[str, Any] | None]:
    """Recompute a split's loss, metrics and (classification) per-class report.

    Args:
        run_dir: The run folder.
        split: ``test``, ``val`` or ``train``.
        splits: Data to use instead of loading the run's data set (a
            :class:`cnnrun.data.arrays.Splits`-like object: ``x_test``, ``y_test``, ...).
        batch_size: Default: the run's ``data.batch_size``.

    Returns:
        Keras's metric names and values (``loss``, ``accuracy``, ...; ``macro_f1`` for a
        classifier) and the per-class report (precision, recall, F1, support, confusion
        matrix, as in ``results.json``'s ``per_class``), None for other tasks.

    Raises:
        DataError: When the run, its model or its data cannot be read, or the run has
            no such split.
        ConfigError: When the run's config is no longer valid.
    """
    import numpy as np

    from cnnrun.data.pixels import divide_by_255
    from cnnrun.train.pipeline import dataset

    run = load_run(run_dir)
    smoke = False
    if (run.run_dir / runfiles.RUN).is_file():
        from cnnrun.train.run_folder import read_record

        smoke = bool(read_record(run.run_dir).get("smoke"))
    if splits is None:
        splits = _splits_for(run, smoke)
    key = {"test": "test", "val": "val", "train": "train"}[str(split)]
    x, y = getattr(splits, f"x_{key}", None), getattr(splits, f"y_{key}", None)
    if x is None or y is None or len(x) == 0:
        why = "data.test_split: 0: no test set" if key == "test" else "data.validation?"
        raise DataError(f"{run_dir}: the run has no {split} examples ({why})")
    scale = divide_by_255(run.data_config, np.asarray(x))
    y = _labels_for(run.task, np.asarray(y))
    one_hot = None
    loss = run.config.get("loss")
    loss_name = loss.get("name") if isinstance(loss, dict) else loss
    if loss_name == "categorical_crossentropy":
        one_hot = int(run.model.output_shape[-1])
    bs = int(batch_size or run.data.get("batch_size") or 32)
    values = run.model.evaluate(
        dataset(x, y, bs, one_hot=one_hot, scale=scale), return_dict=True, verbose=0
    )
    out = {k: float(v) for k, v in values.items()}
    report = None
    if run.task == "classification":
        from cnnrun.train.class_results import predict_report

        names = getattr(splits, "class_names", None) or _class_names(run.run_dir)
        report = predict_report(run.model, x, y, bs, names, scale=scale)
        if report is not None:
            out["macro_f1"] = report["macro"]["f1"]
    return out, report


def _class_names(run_dir: Path) -> list[str] | None:
    import json

    path = Path(run_dir) / runfiles.CLASS_NAMES
    try:
        names = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return [str(n) for n in names] if isinstance(names, list) else None


# ---------------------------------------------------------------------------------------
# predict
