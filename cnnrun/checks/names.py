"""Checks of the names an experiment refers to, against Keras's catalog and our registries.

These run without TensorFlow, so ``validate`` is instant; the model build
(:mod:`cnnrun.model.build`) then catches what only Keras can (shapes, values).
"""

from __future__ import annotations

from cnnrun import catalog
from cnnrun.checks.layers import check_kwargs, collect, unknown_name
from cnnrun.checks.model import check_model
from cnnrun.config.load import LoadedConfig
from cnnrun.config.schema import DataConfig
from cnnrun.data.loaders import DATASETS, FOLDER_DATASETS, dataset_tasks
from cnnrun.errors import ConfigError, ConfigErrors, did_you_mean


def check_names(loaded: LoadedConfig) -> None:
    """Raise a located :class:`ConfigError` for the unknown names and arguments.

    Raises:
        ConfigError: The one problem found, or a :class:`ConfigErrors` with every one.
    """
    problems = name_problems(loaded)
    if problems:
        raise ConfigErrors.of(problems)


def name_problems(loaded: LoadedConfig) -> list[ConfigError]:
    """Every unknown name or argument: each part of the experiment is checked on its own."""
    problems: list[ConfigError] = []
    exp = loaded.experiment
    if exp.data.dataset not in DATASETS:
        problems.append(
            unknown_name(
                loaded, "data.dataset", "data set", exp.data.dataset, DATASETS.names(), "datasets"
            )
        )
    else:
        collect(problems, _check_task_data, loaded)
        collect(problems, _check_folder_keys, loaded)
        collect(problems, _check_no_test_set, loaded)
    # layers, backbones, graph nodes or builder; fine_tune
    for check in (check_model, _check_optimizer, _check_loss, _check_metrics, _check_callbacks):
        collect(problems, check, loaded)
    if not problems:  # a misspelt metric or callback would also make its monitor unknown
        collect(problems, _check_monitors, loaded)
    return problems


def _check_optimizer(loaded: LoadedConfig) -> None:
    """The optimizer exists and takes its arguments."""
    exp = loaded.experiment
    cat = catalog.load()
    opt = exp.optimizer.name.lower()
    if opt not in cat["optimizers"]:
        raise unknown_name(
            loaded, "optimizer.name", "optimizer", exp.optimizer.name, list(cat["optimizers"])
        )
    check_kwargs(
        loaded,
        "optimizer",
        f"optimizer '{opt}'",
        exp.optimizer.kwargs,
        cat["optimizers"][opt]["params"],
    )


def _check_loss(loaded: LoadedConfig) -> None:
    """The loss exists (Keras's or a task loss) and takes its arguments."""
    exp = loaded.experiment
    cat = catalog.load()
    own_losses = catalog.TASK_LOSSES
    if exp.loss.name not in cat["losses"] and exp.loss.name not in own_losses:
        raise unknown_name(
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
        check_kwargs(
            loaded,
            "loss",
            f"loss '{exp.loss.name}'",
            loss_args,
            loss_classes[exp.loss.name]["params"],
        )


def _check_metrics(loaded: LoadedConfig) -> None:
    """Each metric exists and fits the task."""
    exp = loaded.experiment
    cat = catalog.load()
    own_metrics = catalog.TASK_METRICS
    problems: list[ConfigError] = []
    for i, metric in enumerate(exp.metrics):
        if metric in own_metrics:
            collect(
                problems, _check_task, loaded, f"metrics[{i}]", "metric", metric,
                own_metrics[metric][0],
            )  # fmt: skip
        elif metric not in cat["metrics"]:
            problems.append(
                unknown_name(
                    loaded, f"metrics[{i}]", "metric", metric, [*cat["metrics"], *own_metrics]
                )
            )
    if problems:
        raise ConfigErrors.of(problems)


def _check_callbacks(loaded: LoadedConfig) -> None:
    """Each callback exists and takes its arguments."""
    exp = loaded.experiment
    cat = catalog.load()
    problems: list[ConfigError] = []
    for i, callback in enumerate(exp.callbacks):
        ((name, args),) = callback.items()
        if name not in cat["callbacks"]:
            problems.append(
                unknown_name(loaded, f"callbacks[{i}]", "callback", name, list(cat["callbacks"]))
            )
            continue
        collect(
            problems, check_kwargs, loaded, f"callbacks[{i}].{name}", f"callback '{name}'", args,
            cat["callbacks"][name]["params"],
        )  # fmt: skip
    if problems:
        raise ConfigErrors.of(problems)


def _check_monitors(loaded: LoadedConfig) -> None:
    """What the checkpoint, callbacks and schedule watch is reported by training."""
    exp = loaded.experiment
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


# Issue 12: the keys of folder data sets, and a run without a test set.
def _check_folder_keys(loaded: LoadedConfig) -> None:
    """``data.resize`` and ``data.order`` are given only for data read from image files."""
    data = loaded.experiment.data
    if data.dataset in (*FOLDER_DATASETS, "synthetic"):  # synthetic: a smoke run's stand-in
        return
    defaults = DataConfig()
    for key in ("resize", "order"):
        if getattr(data, key) != getattr(defaults, key):  # (a resolved config has both)
            raise loaded.error(
                f"data.{key} applies to data sets read from image files",
                f"data.{key}",
                expected=f"data.dataset: {' | '.join(FOLDER_DATASETS)}, or no data.{key}",
                received=f"data set {data.dataset!r}",
            )


def _no_test_error(loaded: LoadedConfig) -> ConfigError | None:
    key = next((k for k in loaded.experiment.expect if k.split(".")[0] == "test"), None)
    if key is None:
        return None
    return loaded.error(
        f"expect: {key} names a test figure, but the run has no test set (data.test_split: 0)",
        f"expect.{key}",
        expected="a test set (data.test_split > 0), or an expectation on best.value",
        received=key,
    )


def _check_no_test_set(loaded: LoadedConfig) -> None:
    """No ``expect: {test.*: ...}`` for a folder data set with ``test_split: 0``."""
    data = loaded.experiment.data
    if data.dataset in ("oxford_pets", "stanford_extra") and data.test_split == 0:
        error = _no_test_error(loaded)
        if error is not None:
            raise error


def check_test_expectations(loaded: LoadedConfig, *, has_test: bool) -> None:
    """Once the data is split: no ``expect: {test.*: ...}`` when there is no test set.

    Raises:
        ConfigError: Located at the expectation (exit 2), before a run folder is made.
    """
    error = None if has_test else _no_test_error(loaded)
    if error is not None:
        raise error


def check_augment(loaded: LoadedConfig) -> None:
    """The experiment's imgaug augmenters exist and take their arguments.

    Importing imgaug takes seconds, so this runs where the model is built (``train``,
    ``validate --build``), not in every ``validate``.
    """
    exp = loaded.experiment
    if exp.data.augment:
        from cnnrun.data.augment import build_augmenter

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
