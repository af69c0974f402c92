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


def fill_newer_keys(configs: Sequence[Any]) -> None:
    """Give configs written before a key existed that key's schema default, in place.

    A run trained before ``data.drop_remainder`` (say) existed has no such key in its
    ``config.yaml``; next to newer runs it would differ from them in that key alone, and
    ``compare --by-seed`` would not group it with them. New keys default to the behaviour
    from before they existed, so the default is what the older run did. Nothing is done
    (and no schema imported) when every config has the same keys.
    """
    dicts = [c for c in configs if isinstance(c, dict)]
    if len({_key_shape(c) for c in dicts}) < 2:
        return
    from cnnrun.config.schema import Experiment

    for config in dicts:
        _fill(Experiment, config)


def _key_shape(config: dict[str, Any]) -> frozenset[Any]:
    return frozenset(
        (key, frozenset(value) if isinstance(value, dict) else None)
        for key, value in config.items()
    )


def _fill(model: Any, config: dict[str, Any]) -> None:
    from pydantic import BaseModel

    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in config:
            if not field.is_required():
                value = field.get_default(call_default_factory=True)
                config[key] = value.model_dump() if isinstance(value, BaseModel) else value
        elif (
            isinstance(config[key], dict)
            and isinstance(field.annotation, type)
            and issubclass(field.annotation, BaseModel)
        ):
            _fill(field.annotation, config[key])
