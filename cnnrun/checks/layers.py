"""Checks of one Keras layer, or one object's arguments, against Keras's catalog (no TensorFlow)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cnnrun import catalog
from cnnrun.config.load import LoadedConfig
from cnnrun.errors import ConfigError, ConfigErrors, did_you_mean


def check_layer(loaded: LoadedConfig, path: str, name: str, args: tuple, kwargs: dict) -> None:
    """Check a layer's class name and its arguments against Keras's catalog."""
    layers = catalog.load()["layers"]
    if name not in layers:
        raise unknown_layer(loaded, path, name, list(layers))
    spec = layers[name]
    # The arguments Keras takes by position: the class's own, before any keyword-only ones.
    own = spec["positional"]
    if len(args) > len(own):
        raise loaded.error(
            f"{name} takes at most {len(own)} positional arguments",
            f"{path}.{name}",
            expected=f"in order: {', '.join(own[: max(3, len(args))])}",
            received=repr(list(args)),
        )
    check_kwargs(loaded, f"{path}.{name}", name, kwargs, spec["params"])
    given = set(own[: len(args)]) | set(kwargs)
    missing = [r for r in spec["required"] if r not in given]
    if missing:
        raise loaded.error(
            f"{name} needs {', '.join(missing)}",
            f"{path}.{name}",
            expected=f"{name}: {{{', '.join(f'{m}: ...' for m in missing)}}}",
            received=repr(kwargs or list(args) or None),
        )


# Keras 2 argument names and what Keras 3 calls them (offered as "did you mean").
KERAS2_NAMES = {
    "lr": "learning_rate",
    "epsilon": "min_delta",  # ReduceLROnPlateau (optimizers still take epsilon)
    "nb_filter": "filters",
    "output_dim": "units",
    "init": "kernel_initializer",
    "border_mode": "padding",
    "subsample": "strides",
    "subsample_length": "strides",
    "filter_length": "kernel_size",
    "pool_length": "pool_size",
    "stride": "strides",
    "dim_ordering": "data_format",
    "W_regularizer": "kernel_regularizer",
    "b_regularizer": "bias_regularizer",
    "W_constraint": "kernel_constraint",
    "b_constraint": "bias_constraint",
    "bias": "use_bias",
    "p": "rate",
}


def check_kwargs(
    loaded: LoadedConfig, path: str, what: str, kwargs: dict[str, Any], params: list[str]
) -> None:
    """Raise a located error for the first of ``kwargs`` that is not in ``params``.

    Args:
        loaded: The loaded config.
        path: Key path of the object whose arguments these are.
        what: How to name the object in the message (``Conv2D``, ``optimizer 'adam'``).
        kwargs: The arguments given.
        params: The arguments accepted.
    """
    for key in kwargs:
        if key not in params:
            renamed = KERAS2_NAMES.get(key)
            raise loaded.error(
                f"{what} has no argument '{key}'",
                f"{path}.{key}",
                expected=f"one of: {', '.join(params)}",
                received=repr(key),
                suggestion=renamed if renamed in params else did_you_mean(key, params),
            )


def collect(problems: list[ConfigError], check: Callable[..., Any], *args: Any) -> None:
    """Run ``check(*args)``; add the problems it raises to ``problems`` instead of stopping."""
    try:
        check(*args)
    except ConfigErrors as exc:
        problems.extend(exc.problems)
    except ConfigError as exc:
        problems.append(exc)


def unknown_name(
    loaded: LoadedConfig,
    path: str,
    kind: str,
    name: str,
    choices: list[str],
    listing: str | None = None,
) -> ConfigError:
    """The error for an unknown name of a ``kind`` (optimizer, loss, ...), with "did you mean"."""
    return loaded.error(
        f"unknown {kind} '{name}'",
        path,
        expected=f"a name from `cnnrun list {listing or kind + 's'}`",
        received=repr(name),
        suggestion=did_you_mean(name, choices),
    )


def unknown_layer(loaded: LoadedConfig, path: str, name: str, choices: list[str]) -> ConfigError:
    """The error for a layer name that is not in ``choices``, with "did you mean"."""
    return loaded.error(
        f"unknown layer '{name}'",
        path,
        expected="a Keras layer class name (`cnnrun list layers`)",
        received=repr(name),
        suggestion=did_you_mean(name, choices),
    )
