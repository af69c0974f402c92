"""Learning-rate schedules of the experiment file, as per-epoch functions and Keras callbacks."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from cnnrun.config.schema import (
    ConstantSchedule,
    CosineSchedule,
    ExponentialPerEpochSchedule,
    ReduceOnPlateauSchedule,
    StepSchedule,
)
from cnnrun.tf_env import import_keras


def lr_function(schedule: Any, base_lr: float, epochs: int) -> Callable[[int], float] | None:
    """The learning rate of each epoch (0-based), or None for schedules driven by metrics.

    Args:
        schedule: A schedule model from the experiment (or None).
        base_lr: The optimizer's learning rate, used when the schedule gives none.
        epochs: Length of the run (cosine decays over it).
    """
    if schedule is None or isinstance(schedule, ConstantSchedule | ReduceOnPlateauSchedule):
        return None
    lr0 = schedule.initial_learning_rate or base_lr
    if isinstance(schedule, ExponentialPerEpochSchedule):
        return lambda epoch: lr0 * schedule.decay_rate**epoch
    if isinstance(schedule, StepSchedule):
        return lambda epoch: lr0 * schedule.factor ** (epoch // schedule.every)
    if isinstance(schedule, CosineSchedule):
        low, warm = schedule.min_learning_rate, schedule.warmup_epochs

        def cosine(epoch: int) -> float:
            if epoch < warm:
                return lr0 * (epoch + 1) / warm
            span = max(1, epochs - warm)
            return low + 0.5 * (lr0 - low) * (1 + math.cos(math.pi * (epoch - warm) / span))

        return cosine
    raise TypeError(f"unhandled schedule {schedule!r}")


def schedule_callbacks(schedule: Any, base_lr: float, epochs: int) -> list[Any]:
    """Keras callbacks that apply ``schedule``."""
    keras = import_keras()
    if isinstance(schedule, ReduceOnPlateauSchedule):
        return [
            keras.callbacks.ReduceLROnPlateau(
                monitor=schedule.monitor,
                factor=schedule.factor,
                patience=schedule.patience,
                min_delta=schedule.min_delta,
                min_lr=schedule.min_lr,
            )
        ]
    fn = lr_function(schedule, base_lr, epochs)
    if fn is None:
        return []
    return [keras.callbacks.LearningRateScheduler(lambda epoch, lr: float(fn(epoch)))]
