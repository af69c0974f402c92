"""Values a run's config left to Keras's defaults, recovered from what the run recorded.

``optimizer: {name: sgd}`` is saved with ``learning_rate: null`` (Keras picks 0.01); the
run's ``metrics.csv`` has the rate it trained with, so `compare` and `show` can say 0.01.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def fill_learning_rate(config: dict[str, Any] | None, epochs: Sequence[dict[str, Any]]) -> None:
    """Set ``optimizer.learning_rate`` from the first epoch's ``lr`` when the config has null.

    Only without a schedule: a schedule sets the rate itself, so null is then the truth.
    """
    if not isinstance(config, dict) or config.get("schedule") is not None or not epochs:
        return
    optimizer = config.get("optimizer")
    lr = epochs[0].get("lr")
    if isinstance(optimizer, dict) and optimizer.get("learning_rate") is None:
        if isinstance(lr, int | float) and lr > 0:
            optimizer["learning_rate"] = float(f"{lr:.6g}")  # float32 in metrics.csv
