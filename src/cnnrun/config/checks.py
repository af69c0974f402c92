"""Checks of the names an experiment refers to, against Keras's catalog and our registries.

These run without TensorFlow, so ``validate`` is instant; the model build
(:mod:`cnnrun.model.build`) then catches what only Keras can (shapes, values).
"""

from __future__ import annotations

from typing import Any

from cnnrun import catalog
from cnnrun.config.load import LoadedConfig
from cnnrun.errors import ConfigError, did_you_mean


def check_names(loaded: LoadedConfig) -> None:
    """Raise a located :class:`ConfigError` for the first unknown name or argument."""
    exp = loaded.experiment
    cat = catalog.load()
    from cnnrun.data.loaders import DATASETS

    if exp.data.dataset not in DATASETS:
        raise _unknown(
            loaded, "data.dataset", "data set", exp.data.dataset, DATASETS.names(), "datasets"
        )
    for i, layer in enumerate(exp.model.layers):
        check_layer(loaded, f"model.layers[{i}]", layer.type, layer.args, layer.kwargs)
    opt = exp.optimizer.name.lower()
    if opt not in cat["optimizers"]:
        raise _unknown(
            loaded, "optimizer.name", "optimizer", exp.optimizer.name, list(cat["optimizers"])
        )
    _check_kwargs(
        loaded,
        "optimizer",
        f"optimizer '{opt}'",
        exp.optimizer.kwargs,
        cat["optimizers"][opt]["params"],
    )
    if exp.loss.name not in cat["losses"]:
        raise _unknown(loaded, "loss", "loss", exp.loss.name, cat["losses"], "losses")
    for i, metric in enumerate(exp.metrics):
        if metric not in cat["metrics"]:
            raise _unknown(loaded, f"metrics[{i}]", "metric", metric, cat["metrics"])
    for i, callback in enumerate(exp.callbacks):
        ((name, args),) = callback.items()
        if name not in cat["callbacks"]:
            raise _unknown(loaded, f"callbacks[{i}]", "callback", name, list(cat["callbacks"]))
        _check_kwargs(
            loaded,
            f"callbacks[{i}].{name}",
            f"callback '{name}'",
            args,
            cat["callbacks"][name]["params"],
        )
    monitors = [exp.monitor] + [
        args["monitor"] for cb in exp.callbacks for args in cb.values() if "monitor" in args
    ]
    quantities = ["loss", *exp.metrics]
    if exp.data.validation != "none":
        quantities += [f"val_{q}" for q in quantities]
    for m in monitors:
        if m not in quantities:
            raise loaded.error(
                f"cannot monitor '{m}': training does not report it",
                "monitor" if m == exp.monitor else "callbacks",
                expected=f"one of: {', '.join(quantities)}",
                received=repr(m),
                suggestion=did_you_mean(m, quantities),
            )


def check_layer(loaded: LoadedConfig, path: str, name: str, args: tuple, kwargs: dict) -> None:
    """Check a layer's class name and its arguments against Keras's catalog."""
    layers = catalog.load()["layers"]
    if name not in layers:
        raise loaded.error(
            f"unknown layer '{name}'",
            path,
            expected="a Keras layer class name (`cnnrun list layers`)",
            received=repr(name),
            suggestion=did_you_mean(name, layers),
        )
    spec = layers[name]
    own = [p for p in spec["params"] if p not in ("input_shape", "input_dim", "batch_size")]
    if len(args) > len(own):
        raise loaded.error(
            f"{name} takes at most {len(own)} positional arguments",
            f"{path}.{name}",
            expected=f"in order: {', '.join(own[: max(3, len(args))])}",
            received=repr(list(args)),
        )
    _check_kwargs(loaded, f"{path}.{name}", name, kwargs, spec["params"])
    given = set(own[: len(args)]) | set(kwargs)
    missing = [r for r in spec["required"] if r not in given]
    if missing:
        raise loaded.error(
            f"{name} needs {', '.join(missing)}",
            f"{path}.{name}",
            expected=f"{name}: {{{', '.join(f'{m}: ...' for m in missing)}}}",
            received=repr(kwargs or list(args) or None),
        )


def _check_kwargs(
    loaded: LoadedConfig, path: str, what: str, kwargs: dict[str, Any], params: list[str]
) -> None:
    for key in kwargs:
        if key not in params:
            raise loaded.error(
                f"{what} has no argument '{key}'",
                f"{path}.{key}",
                expected=f"one of: {', '.join(params)}",
                received=repr(key),
                suggestion=did_you_mean(key, params),
            )


def _unknown(
    loaded: LoadedConfig,
    path: str,
    kind: str,
    name: str,
    choices: list[str],
    listing: str | None = None,
) -> ConfigError:
    return loaded.error(
        f"unknown {kind} '{name}'",
        path,
        expected=f"a name from `cnnrun list {listing or kind + 's'}`",
        received=repr(name),
        suggestion=did_you_mean(name, choices),
    )
