"""Issue 12's folder keys are checked by `validate` (no TensorFlow needed)."""

import pytest
import yaml
from typer.testing import CliRunner

from cnnrun.cli.app import app

RUNNER = CliRunner()
MODEL = {"input_shape": [28, 28, 1], "layers": ["Flatten", {"Dense": {"units": 10}}]}


def validate(tmp_path, data, **top):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({"data": data, "model": MODEL, **top}, sort_keys=False))
    return RUNNER.invoke(app, ["validate", str(path)])


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"dataset": "mnist", "resize": "tf_bilinear"}, "data.resize"),
        ({"dataset": "fashion_mnist", "order": {"shuffle": "python_random"}}, "data.order"),
    ],
)
def test_folder_keys_on_an_array_data_set_are_errors(tmp_path, data, key):
    res = validate(tmp_path, data)
    assert res.exit_code == 2 and key in res.output and "image files" in res.output, res.output


@pytest.mark.parametrize(
    "data",
    [
        {"dataset": "folder", "path": "x", "resize": "imgaug_linear", "order": {"shuffle": "none"}},
        {"dataset": "synthetic", "resize": "tf_bilinear"},  # a smoke run's stand-in
        {"dataset": "mnist", "pixel_range": "raw", "validation_split": 500, "train_limit": 10},
    ],
)
def test_the_new_keys_where_they_apply(tmp_path, data):
    res = validate(tmp_path, data)
    assert res.exit_code == 0, res.output


def test_a_validation_split_is_a_fraction_or_a_count(tmp_path):
    for bad in (1.0, 1.5, -1, True):
        res = validate(tmp_path, {"validation_split": bad})
        assert res.exit_code == 2 and "a fraction in [0, 1) or a count" in res.output, bad
