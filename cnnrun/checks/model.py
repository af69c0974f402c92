"""Checks of the ``model:`` section in its three forms, and of ``fine_tune`` (no TensorFlow).

- a stack: each layer is a Keras layer (:func:`cnnrun.checks.names.check_layer`) or a
  ``keras.applications`` backbone (:func:`check_backbone`);
- a graph: the same for each node's layer, then node names, cycles and unused nodes
  (:func:`cnnrun.model.graph.node_order`);
- a builder: its name and arguments (:func:`check_builder`).

Paths in the model section (``weights: PATH``, ``file:``) are relative to the experiment
file that sets them (on the command line, ``--set``, to the current folder); they are
replaced by absolute paths, so the run folder's ``config.yaml`` runs again from anywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnrun import catalog
from cnnrun.checks.builder_source import StaticBuilder, builders_in_file
from cnnrun.checks.layers import check_kwargs, check_layer, collect, unknown_layer
from cnnrun.config.load import LoadedConfig
from cnnrun.config.schema import BuilderModel, GraphModel, LayerSpec, StackModel
from cnnrun.errors import ConfigError, ConfigErrors, did_you_mean
from cnnrun.model import backbones
from cnnrun.model.builders import BUILDERS, builder_params, source_file
from cnnrun.model.graph import node_order


def check_model(loaded: LoadedConfig) -> None:
    """Raise a located :class:`ConfigError` for the first problem of ``model`` or ``fine_tune``."""
    cfg = loaded.experiment.model
    if isinstance(cfg, StackModel):
        problems: list[ConfigError] = []  # one per layer at most
        for i, spec in enumerate(cfg.layers):
            collect(problems, _check_stack_layer, loaded, f"model.layers[{i}]", spec)
        if problems:
            raise ConfigErrors.of(problems)
    elif isinstance(cfg, GraphModel):
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
        check_builder(loaded, folder_of(loaded, "model.file"))
    check_fine_tune(loaded)


def _check_stack_layer(loaded: LoadedConfig, path: str, spec: LayerSpec) -> None:
    _check_name(loaded, path, spec.type)
    if backbones.is_backbone(spec.type):
        check_backbone(loaded, path, spec)
    else:
        check_layer(loaded, path, spec.type, spec.args, spec.kwargs)


def _check_name(loaded: LoadedConfig, path: str, name: str) -> None:
    """An unknown layer name, with "did you mean" over layers and backbones both."""
    layers = catalog.load()["layers"]
    if name in layers or backbones.is_backbone(name):
        return
    raise unknown_layer(loaded, path, name, [*layers, *backbones.applications()])


def folder_of(loaded: LoadedConfig, key: str) -> Path | None:
    """The folder relative paths at ``key`` are read from: its file's, or None (``--set``)."""
    file, _ = loaded.locations.get(key, (loaded.source, None))
    if file.startswith("--"):  # --set KEY=VALUE, --name NAME, ...: no file
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
    check_kwargs(loaded, where, network, spec.kwargs, [*app["params"], *backbones.EXTRA_PARAMS])
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


def check_builder(loaded: Any, file_dir: Path | None) -> None:
    """Check ``model.builder`` and its ``args`` without building (no TensorFlow).

    ``model.file`` (relative to ``file_dir``, the folder of the experiment file that names
    it) is read, not run: its builders are found in its source
    (:mod:`cnnrun.checks.builder_source`); it is recorded as an absolute path. A builder
    that came from a ``--builders`` file gets that file recorded, so the run's
    ``config.yaml`` re-runs.

    Raises:
        ConfigError: On an unknown builder or argument, a missing required argument, or a
            builder file that cannot be read.
    """
    cfg = loaded.experiment.model
    static: dict[str, StaticBuilder] = {}
    if cfg.file is not None:
        path = Path(cfg.file).expanduser()
        if not path.is_absolute() and file_dir is not None:
            path = file_dir / path
        try:
            static = builders_in_file(path)
        except ConfigError as exc:
            raise loaded.error(
                exc.message, "model.file", expected=exc.expected, received=exc.received
            ) from None
        cfg.file = str(path.resolve())
    if cfg.builder in static:
        found = static[cfg.builder]
        names, required, open_ended = list(found.params), list(found.required), found.open_ended
    elif cfg.builder in BUILDERS:
        own, open_ended = builder_params(cfg.builder)
        names = [p.name for p in own]
        required = [p.name for p in own if p.default is p.empty]
    else:
        raise loaded.error(
            f"unknown model builder '{cfg.builder}'",
            "model.builder",
            expected="a name from `cnnrun list builders`, one registered by `--builders FILE`, "
            'or one `model.file` registers as `@register_builder("name")` on a function',
            received=repr(cfg.builder),
            suggestion=did_you_mean(cfg.builder, [*BUILDERS.names(), *static]),
        )
    if cfg.file is None and source_file(cfg.builder) is not None:
        cfg.file = str(source_file(cfg.builder))
    if not open_ended:
        check_kwargs(loaded, "model.args", f"builder '{cfg.builder}'", cfg.args, names)
    missing = [name for name in required if name not in cfg.args]
    if missing:
        raise loaded.error(
            f"builder '{cfg.builder}' needs {', '.join(missing)}",
            "model.args",
            expected=f"args: {{{', '.join(f'{m}: ...' for m in missing)}}}",
            received=repr(cfg.args),
        )
