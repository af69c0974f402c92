"""Whole batches (``data.drop_remainder``): the sizes a split needs, and a smoke run's.

With ``drop_remainder: true`` an epoch is ``floor(n / batch_size)`` batches, for the
training and the validation data (Keras's keypoint example, chapter §7.3): a split
smaller than one batch would give no step at all, so it is an error before training.
"""

from __future__ import annotations

import math

from cnnrun.config.schema import DataConfig
from cnnrun.data.arrays import Splits
from cnnrun.errors import DataError

SMOKE_TRAIN_BATCHES = 3  # as cnnrun.data.prepare.SMOKE_BATCHES["train"]


def check_whole_batches(cfg: DataConfig, splits: Splits) -> None:
    """With ``drop_remainder``, the training and validation splits hold one batch or more.

    Raises:
        DataError: Naming the split, its size and the batch size.
    """
    if not cfg.drop_remainder:
        return
    bs = cfg.batch_size
    short = [
        (name, len(x))
        for name, x in (("training", splits.x_train), ("validation", splits.x_val))
        if x is not None and len(x) < bs
    ]
    if short:
        sizes = " and ".join(f"the {name} split has {n} examples" for name, n in short)
        raise DataError(
            f"data set '{cfg.dataset}': {sizes}, fewer than one batch of {bs} "
            "(data.batch_size), and data.drop_remainder: true leaves out partial batches, "
            f"so it would have no step: lower data.batch_size to {min(n for _, n in short)} "
            "or less, or set data.drop_remainder: false"
        )


def smoke_examples(cfg: DataConfig, batches: int = SMOKE_TRAIN_BATCHES) -> int:
    """Examples a smoke run reads for ``batches`` training batches and its validation.

    ``batches`` batches once the validation share is held out; with ``drop_remainder``
    enough that the validation share is one whole batch too.
    """
    n = cfg.batch_size * batches
    if cfg.validation == "split" and cfg.validation_split > 0:
        n = int(n / (1 - cfg.validation_split)) + 1
        if cfg.drop_remainder:  # int(n * split) >= batch_size
            n = max(n, math.ceil(cfg.batch_size / cfg.validation_split) + 1)
    return n
