"""From the experiment's ``data:`` section to train / validation / test arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnrun.config.schema import DataConfig
from cnnrun.data.arrays import Splits, split
from cnnrun.data.batches import check_whole_batches, smoke_examples
from cnnrun.data.loaders import DATASETS
from cnnrun.data.sanity import check_arrays
from cnnrun.errors import DataError

SMOKE_BATCHES = {"train": 3, "val": 2, "test": 2}


class SplitCountError(DataError):
    """A count of the data section asks for more examples than there are.

    Attributes:
        detail: The message without the key.
        key: The key at fault (``data.validation_split``, ``data.train_limit``), so the
            trainer can point at its line.
    """

    def __init__(self, detail: str, key: str) -> None:
        super().__init__(f"{key}: {detail}")
        self.key = key
        self.detail = detail


def validation_count(cfg: DataConfig) -> int | None:
    """``data.validation_split`` when it is a count (an integer), else None (a fraction)."""
    value = cfg.validation_split
    return value if isinstance(value, int) and cfg.validation == "split" else None


def load_splits(
    cfg: DataConfig,
    input_shape: tuple[int, ...],
    num_classes: int,
    smoke: bool = False,
    *,
    task: str = "classification",
) -> Splits:
    """Load the data set, subsample it, shape it for the model and split off validation.

    Data sets without a test set of their own (folders) first hold out the last
    ``data.test_split`` of their examples as the test set (none with 0). Validation takes
    the last ``data.validation_split`` of the rest (a fraction, or a count when it is an
    integer); ``data.train_limit`` then keeps the first N training examples.

    Args:
        cfg: The experiment's data section.
        input_shape: The model's input shape (images are reshaped or resized to it).
        num_classes: Classes the model predicts (labels must be below it); for keypoints,
            the model's outputs (2 per joint).
        smoke: Keep only a few batches of each split.
        task: ``classification``, ``segmentation`` (labels are masks ``(N, H, W)``) or
            ``keypoints`` (labels are ``float32`` ``(N, J * 3)``: x, y, visible per joint).

    Raises:
        DataError: When the data cannot be found, read, or does not fit the model.
        SplitCountError: When ``validation_split`` (a count) or ``train_limit`` asks for
            more examples than there are.
    """
    loader = DATASETS.get(cfg.dataset)
    if task == "classification":
        data = loader(cfg, input_shape, num_classes)
    else:
        if smoke:  # read or generate only what a smoke run uses
            cfg = cfg.model_copy(update=_smoke_sizes(cfg))
        data = loader(cfg, input_shape, num_classes, task=task)
    try:
        data = data.with_test_split(cfg.test_split)
    except ValueError as exc:
        raise DataError(f"data set '{cfg.dataset}' ({data.source}): {exc}") from None
    data = data.limited(cfg.limit, cfg.test_limit)
    if smoke:
        cfg = cfg.model_copy(update=_smoke_counts(cfg))
        data = data.limited(_smoke_train(cfg), cfg.batch_size * SMOKE_BATCHES["test"])
    data = check_arrays(data, task, num_classes)
    n_val = validation_count(cfg)
    if n_val is not None and data.x_val is None and n_val >= len(data.x_train):
        raise SplitCountError(
            f"{n_val} validation examples (a count), but data set "
            f"'{cfg.dataset}' ({data.source}) has {len(data.x_train)} examples"
            + (" after the test set was held out" if cfg.test_split and not smoke else "")
            + ": give a smaller count, or a fraction such as 0.2",
            "data.validation_split",
        )
    try:
        splits = split(data, input_shape, cfg.validation, cfg.validation_split)
    except ValueError as exc:
        raise DataError(f"data set '{cfg.dataset}' ({data.source}): {exc}") from None
    if cfg.train_limit is not None:
        if cfg.train_limit > len(splits.x_train) and not smoke:
            raise SplitCountError(
                f"{cfg.train_limit} training examples, but data set "
                f"'{cfg.dataset}' ({data.source}) has {len(splits.x_train)} left after the "
                "test and validation examples: give a smaller train_limit (or none)",
                "data.train_limit",
            )
        splits.x_train = splits.x_train[: cfg.train_limit]
        splits.y_train = splits.y_train[: cfg.train_limit]
    if smoke and splits.x_val is not None:
        n_val = cfg.batch_size * SMOKE_BATCHES["val"]
        splits.x_val, splits.y_val = splits.x_val[:n_val], splits.y_val[:n_val]
    if task == "keypoints":
        for name in ("y_train", "y_val", "y_test"):
            y = getattr(splits, name)
            if y is not None:
                flat = y.reshape(len(y), int(np.prod(y.shape[1:])))
                setattr(splits, name, flat.astype(np.float32))
    else:
        top = int(max(np.max(splits.y_train, initial=0), np.max(splits.y_test, initial=0)))
        if top >= num_classes:
            raise DataError(
                f"data set '{cfg.dataset}' has labels up to {top}, but the model predicts "
                f"{num_classes} classes: give the last layer {top + 1} units"
            )
    if len(splits.x_train) == 0:
        raise DataError(f"data set '{cfg.dataset}' has no training examples left")
    check_whole_batches(cfg, splits)
    return splits


def _smoke_counts(cfg: DataConfig) -> dict[str, int | None]:
    """A smoke run's validation count (when one is given) and train_limit: a few batches."""
    n_val = validation_count(cfg)
    update: dict[str, int | None] = {"train_limit": None}
    if n_val is not None:
        update["validation_split"] = min(n_val, cfg.batch_size * SMOKE_BATCHES["val"])
    return update


def _smoke_train(cfg: DataConfig) -> int:
    """The training examples a smoke run keeps, validation included (before the split)."""
    n_val = validation_count(cfg)
    if n_val is not None:
        return cfg.batch_size * SMOKE_BATCHES["train"] + n_val
    return smoke_examples(cfg, SMOKE_BATCHES["train"])  # whole batches with drop_remainder


def _smoke_sizes(cfg: DataConfig) -> dict[str, Any]:
    """``limit`` / ``test_limit`` that read (or generate) just what a smoke run keeps."""
    cfg = cfg.model_copy(update=_smoke_counts(cfg))
    n_train = _smoke_train(cfg)
    n_test = cfg.batch_size * SMOKE_BATCHES["test"]
    if cfg.dataset == "synthetic":
        return {"limit": min(cfg.limit or n_train, n_train),
                "test_limit": min(cfg.test_limit or n_test, n_test)}  # fmt: skip
    # A folder: its first files; the test set is then the last test_split of them.
    total = n_train + n_test
    return {"limit": min(cfg.limit or total, total)}
