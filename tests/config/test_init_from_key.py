"""The `init_from` key: its forms, and its path made absolute the way `extends` is."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnrun.config.load import read_experiment
from cnnrun.errors import ConfigError

BASE = """\
name: child
model:
  input_shape: [8, 8, 1]
  layers: [Flatten, {Dense: {units: 2, activation: softmax}}]
"""


def test_a_relative_run_folder_is_relative_to_the_file_that_names_it(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.yaml").write_text(BASE + "init_from: ../runs/r1\n")
    child = tmp_path / "child.yaml"
    child.write_text("extends: sub/base.yaml\n")
    spec = read_experiment(child).experiment.init_from
    assert spec is not None
    assert spec.run == str((tmp_path / "runs" / "r1").resolve())
    assert spec.checkpoint == "last"


def test_long_form_and_set_relative_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "exp.yaml"
    config.write_text(BASE + "init_from: {run: runs/r1, checkpoint: best}\n")
    spec = read_experiment(config).experiment.init_from
    assert spec is not None and spec.checkpoint == "best"
    assert spec.run == str((tmp_path / "runs" / "r1").resolve())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    spec = read_experiment(config, ["init_from=runs/r2"]).experiment.init_from
    assert spec is not None and spec.run == str((elsewhere / "runs" / "r2").resolve())
    assert read_experiment(config, ["init_from=null"]).experiment.init_from is None


def test_an_unknown_checkpoint_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "exp.yaml"
    config.write_text(BASE + "init_from: {run: runs/r1, checkpoint: first}\n")
    with pytest.raises(ConfigError) as caught:
        read_experiment(config)
    assert "init_from.checkpoint" in caught.value.render()


def test_a_yaml_name_is_an_experiment_file_relative_to_the_file_that_names_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "child.yaml").write_text(BASE + "init_from: ../base.YML\n")
    spec = read_experiment(tmp_path / "sub" / "child.yaml").experiment.init_from
    assert spec is not None and spec.run is None
    assert spec.config == str((tmp_path / "base.YML").resolve())
    assert spec.checkpoint == "last"
    config = tmp_path / "exp.yaml"
    config.write_text(BASE + "init_from: {config: sub/child.yaml, checkpoint: best}\n")
    spec = read_experiment(config).experiment.init_from
    assert spec is not None and spec.config == str((tmp_path / "sub" / "child.yaml").resolve())
    assert read_experiment(config).experiment.to_dict()["init_from"] == {
        "config": spec.config,
        "checkpoint": "best",
    }


def test_a_folder_named_like_a_yaml_file_is_a_run_folder(tmp_path: Path) -> None:
    (tmp_path / "odd.yaml").mkdir()
    config = tmp_path / "exp.yaml"
    config.write_text(BASE + "init_from: odd.yaml\n")
    spec = read_experiment(config).experiment.init_from
    assert spec is not None and spec.config is None
    assert spec.run == str((tmp_path / "odd.yaml").resolve())


def test_run_and_config_together_or_neither_is_a_located_error(tmp_path: Path) -> None:
    config = tmp_path / "exp.yaml"
    for value in ("{run: r1, config: b.yaml}", "{checkpoint: best}"):
        config.write_text(BASE + f"init_from: {value}\n")
        with pytest.raises(ConfigError) as caught:
            read_experiment(config)
        text = caught.value.render()
        assert f"{config}:5: init_from" in text and "one of them" in text
