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
    _check_task_data(loaded)
    from cnnrun.config.model_checks import check_model

    check_model(loaded)  # layers, backbones, graph nodes or builder; fine_tune
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
    own_losses = catalog.TASK_LOSSES
    if exp.loss.name not in cat["losses"] and exp.loss.name not in own_losses:
        raise _unknown(
            loaded, "loss", "loss", exp.loss.name, [*cat["losses"], *own_losses], "losses"
        )
    loss_args = dict(exp.loss.model_extra or {})
    if exp.loss.name in own_losses:
        _check_task(loaded, "loss", "loss", exp.loss.name, own_losses[exp.loss.name][0])
        if loss_args:
            raise loaded.error(
                f"the loss '{exp.loss.name}' takes no arguments",
                "loss",
                expected=f"loss: {exp.loss.name}",
                received=repr(sorted(loss_args)),
            )
    elif loss_args:
        loss_classes = cat["loss_classes"]
        if exp.loss.name not in loss_classes:
            raise loaded.error(
                f"the loss '{exp.loss.name}' takes no arguments",
                "loss",
                expected="the name of a Keras loss class in snake case, e.g. "
                "mean_squared_error (not mse)",
                received=repr(exp.loss.name),
                suggestion=did_you_mean(exp.loss.name, loss_classes),
            )
        _check_kwargs(
            loaded,
            "loss",
            f"loss '{exp.loss.name}'",
            loss_args,
            loss_classes[exp.loss.name]["params"],
        )
    own_metrics = catalog.TASK_METRICS
    for i, metric in enumerate(exp.metrics):
        if metric in own_metrics:
            _check_task(loaded, f"metrics[{i}]", "metric", metric, own_metrics[metric][0])
        elif metric not in cat["metrics"]:
            raise _unknown(
                loaded, f"metrics[{i}]", "metric", metric, [*cat["metrics"], *own_metrics]
            )
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
    # (quantity, its key path): what the checkpoint, callbacks and schedule watch.
    monitors = [(exp.monitor, "monitor")]
    for i, callback in enumerate(exp.callbacks):
        ((name, args),) = callback.items()
        if "monitor" in args:
            monitors.append((args["monitor"], f"callbacks[{i}].{name}.monitor"))
    if isinstance(getattr(exp.schedule, "monitor", None), str):
        monitors.append((exp.schedule.monitor, "schedule.monitor"))
    quantities = ["loss", *exp.metrics]
    if exp.data.validation != "none":
        quantities += [f"val_{q}" for q in quantities]
    for m, where in monitors:
        if m not in quantities:
            raise loaded.error(
                f"cannot monitor '{m}': training does not report it",
                where,
                expected=f"one of: {', '.join(quantities)}",
                received=repr(m),
                suggestion=did_you_mean(m, quantities),
            )


def _check_task(loaded: LoadedConfig, path: str, kind: str, name: str, task: str) -> None:
    """Check that one of cnnrun's task metrics or losses fits the experiment's task."""
    if loaded.experiment.task != task:
        raise loaded.error(
            f"the {kind} '{name}' is for task: {task}",
            path,
            expected=f"a {kind} for task: {loaded.experiment.task} (`cnnrun list "
            f"{kind}{'es' if kind == 'loss' else 's'}`), or task: {task}",
            received=repr(name),
        )


def _check_task_data(loaded: LoadedConfig) -> None:
    """The data set serves the experiment's task."""
    from cnnrun.data.loaders import dataset_tasks

    exp = loaded.experiment
    tasks = dataset_tasks(exp.data.dataset)
    if exp.task not in tasks:
        raise loaded.error(
            f"data set '{exp.data.dataset}' has no {exp.task} labels",
            "data.dataset",
            expected=f"a data set for task: {exp.task} (`cnnrun list datasets`), or task: "
            + " | ".join(tasks),
            received=repr(exp.data.dataset),
        )


def check_augment(loaded: LoadedConfig) -> None:
    """The experiment's imgaug augmenters exist and take their arguments.

    Importing imgaug takes seconds, so this runs where the model is built (``train``,
    ``validate --build``), not in every ``validate``.
    """
    exp = loaded.experiment
    if exp.data.augment:
        from cnnrun.augment import build_augmenter

        try:
            build_augmenter(exp.data.augment, "data.augment")
        except ConfigError as exc:
            raise loaded.error(
                exc.message,
                exc.path or "data.augment",
                expected=exc.expected,
                received=exc.received,
                suggestion=exc.suggestion,
            ) from None


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
    # The arguments Keras takes by position: the class's own, before any keyword-only ones.
    own = spec["positional"]
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


def _check_kwargs(
    loaded: LoadedConfig, path: str, what: str, kwargs: dict[str, Any], params: list[str]
) -> None:
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
