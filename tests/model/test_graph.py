"""Functional graphs in YAML (§6.1): building, and located errors for bad node names."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from cnnrun.checks import load_experiment
from cnnrun.config.schema import GraphModel
from cnnrun.config.yaml_io import dump_yaml
from cnnrun.errors import ConfigError

RESIDUAL = """\
name: residual
data: {dataset: synthetic, limit: 64, test_limit: 32, batch_size: 16}
model:
  inputs: {image: [12, 12, 1]}
  graph:
    - {name: c1, layer: {Conv2D: {filters: 4, kernel_size: 3, padding: same, activation: relu}}, input: image}
    - {name: c2, layer: {Conv2D: {filters: 4, kernel_size: 3, padding: same}}, input: c1}
    - {name: sum, layer: Add, inputs: [c1, c2]}
    - {name: act, layer: {Activation: relu}, input: sum}
    - {name: pool, layer: GlobalAveragePooling2D, input: act}
    - {name: probs, layer: {Dense: {units: 3, activation: softmax}}, input: pool}
  outputs: [probs]
epochs: 1
"""  # noqa: E501


def write(tmp_path: Path, text: str, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path: Path, text: str, build: bool = False) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        loaded = load_experiment(path)
        if build:
            from cnnrun.model.build import build_model

            build_model(loaded.experiment, loaded)
    return info.value


def build(tmp_path: Path, text: str):  # noqa: ANN201 - a keras.Model
    from cnnrun.model.build import build_model

    loaded = load_experiment(write(tmp_path, text))
    return build_model(loaded.experiment, loaded)


def test_residual_graph_builds_with_node_names_as_layer_names(tmp_path):
    model = build(tmp_path, RESIDUAL)
    names = [layer.name for layer in model.layers]
    assert names == ["image", "c1", "c2", "sum", "act", "pool", "probs"]
    add = model.get_layer("sum")
    assert type(add).__name__ == "Add"
    # the skip connection: `sum` reads both c1 and c2
    assert add.input[0] is model.get_layer("c1").output
    assert add.input[1] is model.get_layer("c2").output
    assert model.count_params() == (9 * 4 + 4) + (9 * 4 * 4 + 4) + (4 * 3 + 3)
    assert tuple(model.output.shape) == (None, 3)


def test_single_named_input_is_the_input_shape_and_is_written_back_as_given(tmp_path):
    loaded = load_experiment(write(tmp_path, RESIDUAL))
    cfg = loaded.experiment.model
    assert isinstance(cfg, GraphModel)
    assert cfg.input_shape == [12, 12, 1]  # what training feeds and --synthetic generates
    dumped = loaded.experiment.to_dict()["model"]
    assert "input_shape" not in dumped and dumped["inputs"] == {"image": [12, 12, 1]}
    assert dumped["graph"][2] == {"name": "sum", "layer": "Add", "inputs": ["c1", "c2"]}
    assert dumped["graph"][0]["input"] == "image" and "inputs" not in dumped["graph"][0]
    again = write(tmp_path, dump_yaml(loaded.experiment.to_dict()), "again.yaml")
    assert load_experiment(again).experiment == loaded.experiment


def test_nodes_in_any_order_are_applied_in_dependency_order(tmp_path):
    text = RESIDUAL.replace(
        "    - {name: c1, layer: {Conv2D: {filters: 4, kernel_size: 3, padding: same, "
        "activation: relu}}, input: image}\n",
        "",
    ).replace(
        "  outputs: [probs]",
        "    - {name: c1, layer: {Conv2D: {filters: 4, kernel_size: 3, padding: same, "
        "activation: relu}}, input: image}\n  outputs: [probs]",
    )
    model = build(tmp_path, text)
    assert [layer.name for layer in model.layers][:3] == ["image", "c1", "c2"]


def test_inception_branches_concatenate(tmp_path):
    model = build(
        tmp_path,
        """\
        model:
          input_shape: [8, 8, 2]
          graph:
            - {name: a, layer: {Conv2D: {filters: 3, kernel_size: 1}}, input: input}
            - {name: b, layer: {Conv2D: {filters: 5, kernel_size: 3, padding: same}}, input: input}
            - {name: p, layer: {MaxPooling2D: {pool_size: 3, strides: 1, padding: same}}, input: input}
            - {name: mix, layer: {Concatenate: {axis: -1}}, inputs: [a, b, p]}
            - {name: gap, layer: GlobalAveragePooling2D, input: mix}
            - {name: out, layer: {Dense: {units: 2, activation: softmax}}, input: gap}
        """,  # noqa: E501
    )
    assert tuple(model.get_layer("mix").output.shape) == (None, 8, 8, 3 + 5 + 2)
    assert model.layers[0].name == "input"  # input_shape: one input named `input`


def test_several_inputs_and_outputs_with_unet_layers(tmp_path):
    model = build(
        tmp_path,
        """\
        loss: mean_squared_error
        metrics: []
        monitor: val_loss
        model:
          inputs: {image: [16, 16, 3], hint: [16, 16, 1]}
          graph:
            - {name: both, layer: Concatenate, inputs: [image, hint]}
            - {name: down, layer: {SeparableConv2D: {filters: 8, kernel_size: 3, strides: 2, padding: same}}, input: both}
            - {name: up_t, layer: {Conv2DTranspose: {filters: 8, kernel_size: 3, padding: same}}, input: down}
            - {name: up, layer: {UpSampling2D: 2}, input: up_t}
            - {name: skip, layer: {Conv2D: {filters: 8, kernel_size: 1}}, input: both}
            - {name: res, layer: Add, inputs: [up, skip]}
            - {name: mask, layer: {Conv2D: {filters: 3, kernel_size: 3, padding: same, activation: softmax}}, input: res}
            - {name: gate, layer: {Multiply: {}}, inputs: [mask, image]}
            - {name: score, layer: GlobalAveragePooling2D, input: res}
          outputs: [mask, gate, score]
        """,  # noqa: E501
    )
    assert [t.name for t in model.inputs] == ["image", "hint"]
    assert [tuple(t.shape) for t in model.outputs] == [
        (None, 16, 16, 3),
        (None, 16, 16, 3),
        (None, 8),
    ]
    kinds = {type(layer).__name__ for layer in model.layers}
    assert {"SeparableConv2D", "Conv2DTranspose", "UpSampling2D", "Add", "Multiply"} <= kinds


GRAPH_HEAD = """\
model:
  input_shape: [8, 8, 1]
  graph:
    - {name: conv, layer: {Conv2D: {filters: 2, kernel_size: 3}}, input: input}
"""


@pytest.mark.parametrize(
    ("nodes", "first_line", "path"),
    [
        (
            "    - {name: flat, layer: Flatten, input: conv}\n"
            "    - {name: both, layer: Concatenate, inputs: [flat, flatt]}\n",
            "{file}:6: model.graph[2].inputs[1]: unknown node 'flatt'. Did you mean 'flat'?",
            "model.graph[2].inputs[1]",
        ),
        (
            "    - {name: conv, layer: Flatten, input: input}\n",
            "{file}:5: model.graph[1].name: duplicate node name 'conv' (also model.graph[0])",
            "model.graph[1].name",
        ),
        (
            "    - {name: input, layer: Flatten, input: conv}\n",
            "{file}:5: model.graph[1].name: node name 'input' is already the name of a model input",
            "model.graph[1].name",
        ),
        (
            "    - {name: a, layer: Flatten, input: b}\n"
            "    - {name: b, layer: Flatten, input: a}\n",
            "{file}:5: model.graph[1]: the nodes a -> b -> a form a cycle",
            "model.graph[1]",
        ),
        (
            "    - {name: a, layer: Flatten, input: a}\n",
            "{file}:5: model.graph[1].input: node 'a' reads itself",
            "model.graph[1].input",
        ),
        (
            "    - {name: lost, layer: Flatten, input: conv}\n"
            "    - {name: out, layer: Flatten, input: conv}\n",
            "{file}:5: model.graph[1]: node 'lost' is not used: no output depends on it",
            "model.graph[1]",
        ),
        (
            "    - {name: out, layer: Flatten, input: conv}\n  outputs: [outt]\n",
            "{file}:6: model.outputs[0]: unknown output node 'outt'. Did you mean 'out'?",
            "model.outputs[0]",
        ),
        (
            "    - {name: out, layer: Flatten, input: conv, inputs: [conv]}\n",
            "{file}:5: model.graph[1]: invalid value",
            "model.graph[1]",
        ),
        (
            "    - {name: out, layer: Flatten}\n",
            "{file}:5: model.graph[1]: invalid value",
            "model.graph[1]",
        ),
        (
            "    - {name: out, layer: {Conv2d: {filters: 2, kernel_size: 1}}, input: conv}\n",
            "{file}:5: model.graph[1].layer: unknown layer 'Conv2d'. Did you mean 'Conv2D'?",
            "model.graph[1].layer",
        ),
        (
            "    - {name: out, layer: {Dense: {unit: 2}}, input: conv}\n",
            "{file}:5: model.graph[1].layer.Dense.unit: Dense has no argument 'unit'. "
            "Did you mean 'units'?",
            "model.graph[1].layer.Dense.unit",
        ),
        (
            "    - {name: out, layer: {Dense: {units: 2, name: x}}, input: conv}\n",
            "{file}:5: model.graph[1].layer.Dense.name: a node's layer is named by the node",
            "model.graph[1].layer.Dense.name",
        ),
        (
            "    - {name: out, layer: Flatten, input: conv}\n  outputz: [out]\n",
            "{file}:6: model.outputz: unknown key 'outputz'. Did you mean 'outputs'?",
            "model.outputz",
        ),
    ],
    ids=[
        "unknown-node",
        "duplicate",
        "input-name",
        "cycle",
        "self",
        "unused",
        "unknown-output",
        "input-and-inputs",
        "no-input",
        "unknown-layer",
        "unknown-argument",
        "layer-name",
        "unknown-key",
    ],
)
def test_graph_errors_are_located(tmp_path, nodes, first_line, path):
    err = error_of(tmp_path, GRAPH_HEAD + nodes)
    assert err.path == path
    assert err.render().splitlines()[0] == first_line.format(file=tmp_path / "exp.yaml")


def test_unused_input_is_reported(tmp_path):
    err = error_of(
        tmp_path,
        """\
        model:
          inputs: {a: [4], b: [4]}
          graph:
            - {name: out, layer: {Dense: {units: 2}}, input: a}
        loss: mean_squared_error
        metrics: []
        """,
    )
    assert err.path == "model.inputs.b"
    assert err.message == "input 'b' is not used: no node reads it"
    assert err.line == 2


def test_shape_errors_name_the_node(tmp_path):
    err = error_of(
        tmp_path,
        GRAPH_HEAD
        + "    - {name: other, layer: {Conv2D: {filters: 3, kernel_size: 1}}, input: input}\n"
        "    - {name: sum, layer: Add, inputs: [conv, other]}\n",
        build=True,
    )
    assert err.path == "model.graph[2]"
    assert err.line == 6
    assert err.message.startswith("node 'sum': Add cannot be applied to its inputs of shape")


def test_classification_loss_needs_a_class_vector_output(tmp_path):
    err = error_of(tmp_path, GRAPH_HEAD, build=True)
    assert err.path == "model.graph[0]"
    assert "needs one vector of class scores per example" in err.message


def test_both_input_forms_must_agree(tmp_path):
    err = error_of(
        tmp_path,
        """\
        model:
          input_shape: [4]
          inputs: {x: [5]}
          graph:
            - {name: out, layer: {Dense: {units: 2}}, input: x}
        """,
    )
    assert err.path == "model"
    assert "not both" in str(err.expected)


def test_the_stack_form_is_unchanged(tiny_config):
    loaded = load_experiment(tiny_config)
    data = yaml.safe_load(tiny_config.read_text())
    assert loaded.experiment.to_dict()["model"]["input_shape"] == data["model"]["input_shape"]
    assert [s.type for s in loaded.experiment.model.layers][0] == "Conv2D"
