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
