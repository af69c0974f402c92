import json

import pytest
from conftest import REPO, loaded_after
from typer.testing import CliRunner

from cnnrun.cli.app import app

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_train_prints_the_run_folder_last(tiny_config, tmp_path):
    res = _run(
        "train",
        tiny_config,
        "--runs-dir",
        tmp_path / "runs",
        "--epochs",
        "1",
        "--name",
        "cli",
        "--seed",
        "3",
    )
    assert res.exit_code == 0, res.output
    last = res.output.strip().splitlines()[-1]
    run = tmp_path / "runs" / last.rsplit("/", 1)[-1]
    assert last.endswith("-cli") and run.is_dir()
    record = json.loads((run / "run.json").read_text())
    assert record["seed"] == 3 and record["name"] == "cli"
    assert "test accuracy" in res.output


def test_train_set_overrides_a_layer_by_index(tiny_config, tmp_path):
    res = _run(
        "train",
        tiny_config,
        "--runs-dir",
        tmp_path,
        "--epochs",
        "1",
        "--set",
        "model.layers[0].Conv2D.filters=6",
    )
    assert res.exit_code == 0, res.output
    run = next(p for p in tmp_path.iterdir() if p.is_dir())
    assert "filters: 6" in (run / "config.yaml").read_text()


def test_bad_config_exits_2_with_one_message_and_no_run_folder(tiny_config, tmp_path):
    tiny_config.write_text(tiny_config.read_text().replace("Conv2D:", "Conv2d:"))
    res = _run("train", tiny_config, "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 2
    lines = res.output.splitlines()
    assert lines[0] == (
        f"error: {tiny_config}:12: model.layers[0]: unknown layer 'Conv2d'. Did you mean 'Conv2D'?"
    )
    assert lines[1:] == [
        "  expected: a Keras layer class name (`cnnrun list layers`)",
        "  received: 'Conv2d'",
    ]
    assert not (tmp_path / "runs").exists()


def test_unbuildable_model_exits_2_before_data_is_loaded(tiny_config, tmp_path):
    res = _run(
        "train",
        tiny_config,
        "--runs-dir",
        tmp_path / "runs",
        "--set",
        "data.dataset=mnist",
        "--set",
        "data.path=/nonexistent",
        "--set",
        "model.layers[1]={MaxPooling2D: 20}",
    )
    assert res.exit_code == 2
    assert "model.layers[1]" in res.output and "MaxPooling2D cannot be applied" in res.output
    assert not (tmp_path / "runs").exists()


def test_missing_data_says_what_to_place_where(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNRUN_DATA", str(tmp_path / "nothing"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    import keras

    def offline(*a, **k):
        raise OSError("no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    res = _run(
        "train",
        tiny_config,
        "--runs-dir",
        tmp_path / "runs",
        "--set",
        "data.dataset=mnist",
        "--set",
        "model.input_shape=[28, 28, 1]",
        "--set",
        "model.layers[3].Dense.units=10",
    )
    assert res.exit_code == 1
    assert "'mnist.npz'" in res.output and str(tmp_path / "kh" / "datasets") in res.output
    assert not (tmp_path / "runs").exists()


def test_summary_table_and_json_agree_with_keras():
    res = _run("summary", REPO / "configs" / "mnist_convnet.yaml", "--json")
    assert res.exit_code == 0
    info = json.loads(res.output)
    assert info["params"] == {"total": 34826, "trainable": 34826, "non_trainable": 0}
    assert [la["params"] for la in info["layers"]] == [320, 0, 18496, 0, 0, 0, 16010]
    table = _run("summary", REPO / "configs" / "mnist_basic.yaml")
    assert table.exit_code == 0
    for figure in ("832", "51,264", "10,250", "Total params: 62,346"):
        assert figure in table.output


def test_summary_of_a_run_folder(tiny_config, tmp_path):
    res = _run("train", tiny_config, "--runs-dir", tmp_path, "--epochs", "1")
    run = res.output.strip().splitlines()[-1]
    out = _run("summary", run, "--json")
    assert out.exit_code == 0 and json.loads(out.output)["params"]["total"] == 343


def test_validate_many_files_reports_each(tiny_config, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(tiny_config.read_text().replace("batch_size", "batchsize"))
    res = _run("validate", tiny_config, bad)
    assert res.exit_code == 2
    assert f"ok {tiny_config}" in res.output.replace("\n", "")
    assert "unknown key 'batchsize'. Did you mean 'batch_size'?" in res.output.replace("\n", " ")


def test_validate_build_catches_shapes(tiny_config):
    tiny_config.write_text(tiny_config.read_text().replace("[2, 2]", "[20, 20]"))
    assert _run("validate", tiny_config).exit_code == 0
    res = _run("validate", "--build", tiny_config)
    assert res.exit_code == 2 and "MaxPooling2D cannot be applied" in res.output


@pytest.mark.parametrize(
    ("what", "expected"),
    [
        ("layers", "Conv2D"),
        ("datasets", "fashion_mnist_sample"),
        ("optimizers", "adam"),
        ("schedules", "exponential_per_epoch"),
        ("callbacks", "early_stopping"),
        ("losses", "sparse_categorical_crossentropy"),
        ("metrics", "accuracy"),
    ],
)
def test_list(what, expected):
    res = _run("list", what)
    assert res.exit_code == 0 and expected in res.output


def test_list_rejects_unknown_kind():
    res = _run("list", "layerz")
    assert res.exit_code == 2


def test_schema_is_json_with_the_top_level_keys():
    res = _run("schema")
    schema = json.loads(res.output)
    assert {"data", "model", "optimizer", "schedule", "epochs", "extends"} <= set(
        schema["properties"]
    )
    assert schema["additionalProperties"] is False


def test_data_where_lists_the_search_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNRUN_DATA", str(tmp_path))
    res = _run("data", "where")
    assert res.exit_code == 0 and str(tmp_path) in res.output


def test_data_import_copies_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    src = tmp_path / "mnist.npz"
    src.write_bytes(b"x")
    assert _run("data", "import", src).exit_code == 0
    assert (tmp_path / "kh" / "datasets" / "mnist.npz").read_bytes() == b"x"
    assert _run("data", "import", src).exit_code == 1  # never overwrites


def test_help_list_and_validate_import_no_tensorflow():
    cfg = str(REPO / "configs" / "fashion_bn.yaml")
    commands = [["validate", cfg], ["list", "layers"], ["--help"]]
    assert loaded_after(commands, ("tensorflow", "keras")) == []


def test_help_and_list_import_no_numpy():
    assert loaded_after([["--help"], ["list", "layers"]], ("numpy",)) == []
