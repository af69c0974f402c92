"""From the experiment's ``data:`` section to train / validation / test arrays."""

from __future__ import annotations

import numpy as np

from cnnrun.config.schema import DataConfig
from cnnrun.data.arrays import Splits, split
from cnnrun.data.loaders import DATASETS
from cnnrun.errors import DataError

SMOKE_BATCHES = {"train": 3, "val": 2, "test": 2}


def load_splits(
    cfg: DataConfig, input_shape: tuple[int, ...], num_classes: int, smoke: bool = False
) -> Splits:
    """Load the data set, subsample it, shape it for the model and split off validation.

    Args:
        cfg: The experiment's data section.
        input_shape: The model's input shape (images are reshaped to it).
        num_classes: Classes the model predicts (labels must be below it).
        smoke: Keep only a few batches of each split.

    Raises:
        DataError: When the data cannot be found, read, or does not fit the model.
    """
    data = DATASETS.get(cfg.dataset)(cfg, input_shape, num_classes)
    data = data.limited(cfg.limit, cfg.test_limit)
    if smoke:
        n_train = cfg.batch_size * SMOKE_BATCHES["train"]
        if cfg.validation == "split" and cfg.validation_split > 0:
            n_train = int(n_train / (1 - cfg.validation_split)) + 1
        data = data.limited(n_train, cfg.batch_size * SMOKE_BATCHES["test"])
    try:
        splits = split(data, input_shape, cfg.validation, cfg.validation_split)
    except ValueError as exc:
        raise DataError(f"data set '{cfg.dataset}' ({data.source}): {exc}") from None
    if smoke and splits.x_val is not None:
        n_val = cfg.batch_size * SMOKE_BATCHES["val"]
        splits.x_val, splits.y_val = splits.x_val[:n_val], splits.y_val[:n_val]
    top = int(max(np.max(splits.y_train, initial=0), np.max(splits.y_test, initial=0)))
    if top >= num_classes:
        raise DataError(
            f"data set '{cfg.dataset}' has labels up to {top}, but the model predicts "
            f"{num_classes} classes: give the last layer {top + 1} units"
        )
    if len(splits.x_train) == 0:
        raise DataError(f"data set '{cfg.dataset}' has no training examples left")
    return splits
