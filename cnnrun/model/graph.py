"""Functional graphs: named nodes, each a layer applied to other nodes (the chapter's §6.1).

A graph is written as::

    model:
      inputs: {image: [28, 28, 1]}          # or input_shape: [...] (one input named `input`)
      graph:
        - {name: c1, layer: {Conv2D: {filters: 32, kernel_size: 3, padding: same}}, input: image}
        - {name: c2, layer: {Conv2D: {filters: 32, kernel_size: 3, padding: same}}, input: c1}
        - {name: sum, layer: Add, inputs: [c1, c2]}    # a residual (skip) connection
        ...
      outputs: [probs]                      # default: the last node

Nodes may be listed in any order; they are applied in dependency order. The checks here
(unknown node names with "did you mean", duplicates, cycles, nodes no output uses) need
no TensorFlow; :func:`build_functional` builds the Keras model.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from cnnrun.config.schema import BuilderModel, Experiment, GraphModel, LayerSpec
from cnnrun.errors import did_you_mean, first_line, located
from cnnrun.model.backbones import apply_backbone, is_backbone
from cnnrun.model.builders import build_with_builder
from cnnrun.model.layers import make_layer, model_name
from cnnrun.model.outputs import check_output

# Keras layers that take a list of tensors.
MERGE_LAYERS = (
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
)


def _source_path(index: int, node: Any, k: int) -> str:
    return (
        f"model.graph[{index}].input"
        if node.input is not None
        else (f"model.graph[{index}].inputs[{k}]")
    )


def node_order(cfg: GraphModel, loaded: Any = None) -> list[int]:
    """Check the graph's names and return its node indices in dependency order.

    Args:
        cfg: The graph.
        loaded: The loaded config, to locate errors (file and line).

    Returns:
        Indices into ``cfg.graph``: every node after the nodes it reads, file order kept
        where the dependencies allow it.

    Raises:
        ConfigError: On a duplicate or unknown name, a cycle, or a node or input that no
            output depends on.
    """
    inputs = list(cfg.input_shapes())
    index: dict[str, int] = {}
    for i, node in enumerate(cfg.graph):
        if node.name in inputs:
            raise located(
                loaded,
                f"node name '{node.name}' is already the name of a model input",
                f"model.graph[{i}].name",
                expected="a name used by no other node or input",
                received=repr(node.name),
            )
        if node.name in index:
            raise located(
                loaded,
                f"duplicate node name '{node.name}' (also model.graph[{index[node.name]}])",
                f"model.graph[{i}].name",
                expected="a name used by no other node or input",
                received=repr(node.name),
            )
        index[node.name] = i
    known = inputs + list(index)
    for i, node in enumerate(cfg.graph):
        for k, source in enumerate(node.sources):
            if source not in known:
                raise located(
                    loaded,
                    f"unknown node '{source}'",
                    _source_path(i, node, k),
                    expected=f"a node or input name: {', '.join(known)}",
                    received=repr(source),
                    suggestion=did_you_mean(source, known),
                )
            if source == node.name:
                raise located(
                    loaded,
                    f"node '{node.name}' reads itself",
                    _source_path(i, node, k),
                    expected="the name of an earlier node or an input",
                    received=repr(source),
                )
    outputs = cfg.output_names()
    for k, name in enumerate(outputs):
        if name not in index:
            raise located(
                loaded,
                f"unknown output node '{name}'",
                f"model.outputs[{k}]" if cfg.outputs else "model.outputs",
                expected=f"a node name: {', '.join(index)}",
                received=repr(name),
                suggestion=did_you_mean(name, list(index)),
            )
    order = _topological(cfg, index, loaded)
    _check_all_used(cfg, index, inputs, outputs, loaded)
    return order


def _topological(cfg: GraphModel, index: dict[str, int], loaded: Any) -> list[int]:
    done: set[str] = set(cfg.input_shapes())
    order: list[int] = []
    pending = list(range(len(cfg.graph)))
    while pending:
        ready = [i for i in pending if all(s in done for s in cfg.graph[i].sources)]
        if not ready:
            cycle = _find_cycle(cfg, index, pending)
            first = min(index[n] for n in cycle)
            raise located(
                loaded,
                f"the nodes {' -> '.join(cycle + cycle[:1])} form a cycle",
                f"model.graph[{first}]",
                expected="a graph without cycles: each node reads nodes that do not read it",
                received=" -> ".join(cycle + cycle[:1]),
            )
        i = ready[0]
        order.append(i)
        done.add(cfg.graph[i].name)
        pending.remove(i)
    return order


def _find_cycle(cfg: GraphModel, index: dict[str, int], pending: list[int]) -> list[str]:
    waiting = {cfg.graph[i].name for i in pending}
    name = cfg.graph[pending[0]].name
    path: list[str] = []
    while name not in path:
        path.append(name)
        name = next(s for s in cfg.graph[index[name]].sources if s in waiting)
    return path[path.index(name) :]


def _check_all_used(
    cfg: GraphModel, index: dict[str, int], inputs: list[str], outputs: list[str], loaded: Any
) -> None:
    used: set[str] = set()
    stack = list(outputs)
    while stack:
        name = stack.pop()
        if name in used:
            continue
        used.add(name)
        if name in index:
            stack.extend(cfg.graph[index[name]].sources)
    for i, node in enumerate(cfg.graph):
        if node.name not in used:
            raise located(
                loaded,
                f"node '{node.name}' is not used: no output depends on it",
                f"model.graph[{i}]",
                expected=f"a node read by another node or listed in outputs ({', '.join(outputs)})",
                received=repr(node.name),
            )
    for name in inputs:
        if name not in used:
            raise located(
                loaded,
                f"input '{name}' is not used: no node reads it",
                f"model.inputs.{name}" if cfg.inputs else "model.input_shape",
                expected=f"a node with `input: {name}`",
                received=repr(name),
            )


def build_functional(
    keras: Any, exp: Experiment, loaded: Any = None, policy: str = "float32"
) -> Any:
    """Build a graph or builder model (the stack is :func:`cnnrun.model.build.build_model`).

    Raises:
        ConfigError: Naming the node (or builder argument) at fault.
    """
    if isinstance(exp.model, BuilderModel):
        model = build_with_builder(keras, exp.model, loaded)
        check_output(exp, model, loaded, "model.builder")
        return model
    return build_graph(keras, exp, loaded, policy)


def build_graph(keras: Any, exp: Experiment, loaded: Any = None, policy: str = "float32") -> Any:
    """Build the functional model a :class:`GraphModel` describes (uncompiled)."""
    cfg = exp.model
    assert isinstance(cfg, GraphModel)
    order = node_order(cfg, loaded)
    tensors = {
        name: keras.Input(shape=tuple(shape), name=name)
        for name, shape in cfg.input_shapes().items()
    }
    model_inputs = list(tensors.values())
    outputs = cfg.output_names()
    for i in order:
        node = cfg.graph[i]
        path = f"model.graph[{i}].layer"
        args = [tensors[s] for s in node.sources]
        x = args[0] if len(args) == 1 else args
        spec = node.layer
        if is_backbone(spec.type):
            if len(args) != 1:
                raise located(
                    loaded,
                    f"the backbone {spec.type} reads one node",
                    f"model.graph[{i}].inputs",
                    expected="input: NODE",
                    received=repr(node.sources),
                )
            tensors[node.name] = apply_backbone(
                keras,
                spec.type,
                spec.kwargs,
                x,
                name=node.name,
                loaded=loaded,
                path=path,
                float32_output=node.name in outputs and policy != "float32",
                pixel_range=exp.data.pixel_range,
            )
            continue
        kwargs = {**spec.kwargs, "name": node.name}
        if node.name in outputs and policy != "float32" and "dtype" not in kwargs:
            kwargs["dtype"] = "float32"  # softmax and the loss stay in float32
        layer = make_layer(
            keras, LayerSpec(spec.type, spec.args, kwargs, spec.form), Counter(), loaded, path
        )
        try:
            tensors[node.name] = layer(x)
        except Exception as exc:
            shapes = ", ".join(str(tuple(a.shape)) for a in args)
            raise located(
                loaded,
                f"node '{node.name}': {spec.type} cannot be applied to its input"
                f"{'s' if len(args) > 1 else ''} of shape {shapes}",
                f"model.graph[{i}]",
                expected="inputs whose shapes fit this layer (see `cnnrun summary`)",
                received=first_line(exc),
            ) from None
    outs = [tensors[n] for n in outputs]
    model = keras.Model(
        model_inputs[0] if len(model_inputs) == 1 else model_inputs,
        outs[0] if len(outs) == 1 else outs,
        name=model_name(exp),
    )
    last = cfg.graph.index(next(n for n in cfg.graph if n.name == outputs[0]))
    check_output(exp, model, loaded, f"model.graph[{last}]")
    return model
