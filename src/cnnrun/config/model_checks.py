"""Checks of the ``model:`` section in its three forms, and of ``fine_tune`` (no TensorFlow).

- a stack: each layer is a Keras layer (:func:`cnnrun.config.checks.check_layer`) or a
  ``keras.applications`` backbone (:func:`check_backbone`);
- a graph: the same for each node's layer, then node names, cycles and unused nodes
  (:func:`cnnrun.model.graph.node_order`);
- a builder: its name and arguments (:func:`cnnrun.model.builders.check_builder`).

Paths in the model section (``weights: PATH``, ``file:``) are relative to the experiment
file that sets them (on the command line, ``--set``, to the current folder); they are
replaced by absolute paths, so the run folder's ``config.yaml`` runs again from anywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnrun import catalog
from cnnrun.config.load import LoadedConfig
from cnnrun.config.schema import BuilderModel, GraphModel, LayerSpec, StackModel
from cnnrun.errors import did_you_mean
from cnnrun.model import backbones


def check_model(loaded: LoadedConfig) -> None:
    """Raise a located :class:`ConfigError` for the first problem of ``model`` or ``fine_tune``."""
    from cnnrun.config.checks import check_layer

    cfg = loaded.experiment.model
    if isinstance(cfg, StackModel):
        for i, spec in enumerate(cfg.layers):
            _check_name(loaded, f"model.layers[{i}]", spec.type)
            if backbones.is_backbone(spec.type):
                check_backbone(loaded, f"model.layers[{i}]", spec)
            else:
                check_layer(loaded, f"model.layers[{i}]", spec.type, spec.args, spec.kwargs)
    elif isinstance(cfg, GraphModel):
        from cnnrun.model.graph import node_order

        for i, node in enumerate(cfg.graph):
            path = f"model.graph[{i}].layer"
            spec = node.layer
            if "name" in spec.kwargs:
                raise loaded.error(
                    "a node's layer is named by the node",
                    f"{path}.{spec.type}.name",
                    expected=f"no `name` argument (this layer is named '{node.name}')",
                    received=repr(spec.kwargs["name"]),
                )
            _check_name(loaded, path, spec.type)
            if backbones.is_backbone(spec.type):
                check_backbone(loaded, path, spec)
            else:
                check_layer(loaded, path, spec.type, spec.args, spec.kwargs)
        node_order(cfg, loaded)
    elif isinstance(cfg, BuilderModel):
        from cnnrun.model.builders import check_builder

        check_builder(loaded, folder_of(loaded, "model.file"))
    check_fine_tune(loaded)


def _check_name(loaded: LoadedConfig, path: str, name: str) -> None:
    """An unknown layer name, with "did you mean" over layers and backbones both."""
    layers = catalog.load()["layers"]
    if name in layers or backbones.is_backbone(name):
        return
    choices = [*layers, *backbones.applications()]
    raise loaded.error(
        f"unknown layer '{name}'",
        path,
        expected="a Keras layer class name (`cnnrun list layers`)",
        received=repr(name),
        suggestion=did_you_mean(name, choices),
    )


def folder_of(loaded: LoadedConfig, key: str) -> Path | None:
    """The folder relative paths at ``key`` are read from: its file's, or None (``--set``)."""
    file, _ = loaded.locations.get(key, (loaded.source, None))
    if file.startswith("--set"):
        return None
    return Path(file).resolve().parent


def check_backbone(loaded: LoadedConfig, path: str, spec: LayerSpec) -> None:
    """Check a ``keras.applications`` backbone's arguments; make a weights path absolute."""
    network = spec.type
    where = f"{path}.{network}"
    app = backbones.applications()[network]
    if spec.args:
        raise loaded.error(
            f"{network} takes keyword arguments only",
            where,
            expected=f"{network}: {{include_top: false, weights: imagenet, pooling: avg}}",
            received=repr(list(spec.args)),
        )
    params = [*app["params"], *backbones.EXTRA_PARAMS]
    for key in spec.kwargs:
        if key not in params:
            raise loaded.error(
                f"{network} has no argument '{key}'",
                f"{where}.{key}",
                expected=f"one of: {', '.join(params)}",
                received=repr(key),
                suggestion=did_you_mean(key, params),
            )
    for key in ("trainable", "preprocess", "include_top"):
        if key in spec.kwargs and not isinstance(spec.kwargs[key], bool):
            raise loaded.error(
                "invalid value",
                f"{where}.{key}",
                expected="true or false",
                received=repr(spec.kwargs[key]),
            )
    pooling = spec.kwargs.get("pooling")
    if pooling not in (None, "avg", "max"):
        raise loaded.error(
            "invalid value",
            f"{where}.pooling",
            expected="avg, max or null",
            received=repr(pooling),
            suggestion=did_you_mean(str(pooling), ["avg", "max"]),
        )
    weights = spec.kwargs.get("weights", app["defaults"].get("weights"))
    if weights in ("imagenet", None):
        return
    if not isinstance(weights, str):
        raise loaded.error(
            "invalid value",
            f"{where}.weights",
            expected="imagenet, null, or the path of a weights file",
            received=repr(weights),
        )
    if did_you_mean(weights, ["imagenet"]) == "imagenet":
        raise loaded.error(
            "invalid value",
            f"{where}.weights",
            expected="imagenet, null, or the path of a weights file",
            received=repr(weights),
            suggestion="imagenet",
        )
    file = backbones.resolve_weights_path(weights, folder_of(loaded, f"{where}.weights"))
    if not file.name.endswith(backbones.WEIGHT_SUFFIXES) or not file.is_file():
        raise loaded.error(
            "the weights file does not exist"
            if file.name.endswith(backbones.WEIGHT_SUFFIXES)
            else "not a weights file",
            f"{where}.weights",
            expected=f"imagenet, null, or an existing {' / '.join(backbones.WEIGHT_SUFFIXES)} "
            "file (relative to the experiment file)",
            received=str(file),
        )
    spec.kwargs["weights"] = str(file)


def _frozen_backbones(cfg: Any) -> list[str]:
    specs: list[LayerSpec] = []
    if isinstance(cfg, StackModel):
        specs = list(cfg.layers)
    elif isinstance(cfg, GraphModel):
        specs = [node.layer for node in cfg.graph]
    return [
        s.type
        for s in specs
        if backbones.is_backbone(s.type) and s.kwargs.get("trainable", True) is False
    ]


def check_fine_tune(loaded: LoadedConfig) -> None:
    """``fine_tune`` needs a frozen backbone and must start before the last epoch."""
    exp = loaded.experiment
    ft = exp.fine_tune
    if ft is None:
        return
    if ft.at_epoch >= exp.epochs:
        raise loaded.error(
            f"fine_tune.at_epoch must be below epochs ({exp.epochs}): fine-tuning starts "
            "after at_epoch epochs",
            "fine_tune.at_epoch",
            expected=f"a number of epochs from 1 to {exp.epochs - 1}",
            received=str(ft.at_epoch),
        )
    if not isinstance(exp.model, BuilderModel) and not _frozen_backbones(exp.model):
        raise loaded.error(
            "fine_tune unfreezes frozen backbones, and this model has none",
            "fine_tune",
            expected="a backbone layer with `trainable: false` (e.g. "
            "`- ResNet50V2: {include_top: false, weights: imagenet, trainable: false}`)",
            received="no backbone with trainable: false",
        )
