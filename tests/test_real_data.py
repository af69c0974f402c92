"""Real MNIST / Fashion-MNIST runs (slow; skipped without ../shared/data)."""

import json

import pytest
from conftest import REPO
from typer.testing import CliRunner

from cnnrun.cli.app import app

pytestmark = pytest.mark.slow


def test_mnist_convnet_learns_real_digits(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNRUN_DATA", str(shared_data))
    res = CliRunner().invoke(
        app,
        [
            "train",
            str(REPO / "configs" / "mnist_convnet.yaml"),
            "--runs-dir",
            str(tmp_path),
            "--epochs",
            "2",
            "--set",
            "data.limit=20000",
        ],
    )
    assert res.exit_code == 0, res.output
    run = tmp_path / res.output.strip().splitlines()[-1].rsplit("/", 1)[-1]
    results = json.loads((run / "results.json").read_text())
    assert results["test"]["accuracy"] > 0.95
    assert results["params"]["total"] == 34826


def test_demo_config_reaches_a_meaningful_accuracy(tmp_path):
    res = CliRunner().invoke(
        app, ["train", str(REPO / "configs" / "demo.yaml"), "--runs-dir", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    run = tmp_path / res.output.strip().splitlines()[-1].rsplit("/", 1)[-1]
    assert json.loads((run / "results.json").read_text())["test"]["accuracy"] > 0.8
