"""`cnnrun smoke`: every config validated, built and trained a few batches; JUnit report."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import REPO, TINY
from typer.testing import CliRunner

from cnnrun.cli.app import app
from cnnrun.sweep.smoke import config_files, imagenet_overrides

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_imagenet_backbones_of_the_shipped_configs_are_switched_off():
    from cnnrun.checks import load_experiment

    found = {
        p.name: imagenet_overrides(load_experiment(p).experiment.to_dict())
        for p in sorted((REPO / "configs").glob("*.yaml"))
    }
    assert found["cifar10_resnet50v2_imagenet.yaml"] == ["model.layers[0].ResNet50V2.weights=null"]
    assert found["cifar10_vgg19_imagenet.yaml"] == ["model.layers[0].VGG19.weights=null"]
    assert found["cifar10_resnet50v2_scratch.yaml"] == []  # weights: null already
    texts = {p.name: p.read_text() for p in (REPO / "configs").glob("*.yaml")}
    assert {n for n, o in found.items() if o} == {
        n for n, t in texts.items() if "weights: imagenet" in t
    }


def test_imagenet_overrides_cover_defaults_bare_names_and_graph_nodes():
    config = {
        "name": "VGG19",  # a name, not a layer
        "model": {
            "layers": ["MobileNetV2", {"ResNet50V2": None}, {"VGG16": {"weights": None}}],
            "graph": [{"name": "b", "layer": {"Xception": {"include_top": False}}}],
        },
    }
    assert imagenet_overrides(config) == [
        "model.layers[0].MobileNetV2.weights=null",
        "model.layers[1].ResNet50V2.weights=null",
        "model.graph[0].layer.Xception.weights=null",
    ]


def test_config_files_expands_folders_and_excludes(tmp_path):
    (tmp_path / "b.yaml").write_text(TINY)
    (tmp_path / "a.yml").write_text(TINY)
    (tmp_path / "base_x.yaml").write_text("seed: 1\n")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in config_files([tmp_path])] == ["a.yml", "b.yaml", "base_x.yaml"]
    assert [p.name for p in config_files([tmp_path], ["base*"])] == ["a.yml", "b.yaml"]


BROKEN_LAYER = TINY.replace("- Flatten", "- Flaten")
BROKEN_SHAPE = TINY.replace("MaxPooling2D: [2, 2]", "MaxPooling2D: [20, 20]")
EXPECTING = TINY + 'expect: {test.accuracy: ">= 0.99"}\n'
# A small ImageNet backbone: offline, its weights could not be found; smoke sets them null.
BACKBONE = TINY.replace("[12, 12, 1]", "[32, 32, 3]").replace(
    "    - Conv2D: {filters: 4, kernel_size: 3, activation: relu}\n"
    "    - MaxPooling2D: [2, 2]\n"
    "    - Flatten\n",
    "    - MobileNetV2: {alpha: 0.35, include_top: false, weights: imagenet, pooling: avg}\n",
)


def test_smoke_table_failures_named_with_reasons_and_junit(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNRUN_OFFLINE", "1")
    folder = tmp_path / "configs"
    folder.mkdir()
    for name, text in [("ok", EXPECTING), ("layer", BROKEN_LAYER), ("shape", BROKEN_SHAPE)]:
        (folder / f"{name}.yaml").write_text(text)
    junit = tmp_path / "out" / "smoke.xml"
    res = _run("smoke", folder, "--junit", junit)
    assert res.exit_code == 1, res.output
    out = res.output
    assert "smoke: 1/3 configs pass" in out
    assert f"error: smoke {folder / 'layer.yaml'} failed:" in out
    assert "unknown layer 'Flaten'. Did you mean 'Flatten'?" in out
    assert f"error: smoke {folder / 'shape.yaml'} failed:" in out and "MaxPooling2D" in out
    assert "ok.yaml" in out and "skipped" in out  # expect: not judged on a smoke run

    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "2"
    cases = {Path(c.get("name")).stem: c for c in suite.iter("testcase")}
    assert set(cases) == {"ok", "layer", "shape"}
    assert cases["ok"].find("failure") is None
    assert "expect: skipped" in cases["ok"].find("system-out").text
    failure = cases["layer"].find("failure")
    assert "unknown layer 'Flaten'" in failure.get("message")
    assert "expected:" in failure.text  # the full message, several lines
    assert float(cases["shape"].get("time")) >= 0


@pytest.mark.slow  # building MobileNetV2 takes a while on a small CPU
def test_an_imagenet_backbone_is_smoked_with_weights_null(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNRUN_OFFLINE", "1")  # the weights file would not be found
    config = tmp_path / "backbone.yaml"
    config.write_text(BACKBONE)
    junit = tmp_path / "smoke.xml"
    res = _run("smoke", config, "--junit", junit)
    assert res.exit_code == 0, res.output
    case = ET.parse(junit).getroot().find("testsuite").find("testcase")
    assert "--set model.layers[0].MobileNetV2.weights=null" in case.find("system-out").text


def test_smoke_passes_and_keeps_runs_when_asked(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    res = _run("smoke", config, "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 0, res.output
    assert "smoke: 1/1 configs pass" in res.output
    (run,) = (tmp_path / "runs").iterdir()
    assert (run / "results.json").exists()


def test_an_init_from_file_is_smoke_trained_on_synthetic_data(tmp_path):
    # The base names a data file that does not exist: only --synthetic passed down trains it.
    (tmp_path / "base.yaml").write_text(
        TINY.replace("dataset: synthetic", "dataset: npz\n  path: missing.npz")
    )
    (tmp_path / "a.yaml").write_text("extends: base.yaml\nname: a\ninit_from: base.yaml\n")
    res = _run("smoke", tmp_path / "a.yaml", "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 0, res.output
    assert "smoke: 1/1 configs pass" in res.output
    names = sorted(p.name.split("-", 2)[-1] for p in (tmp_path / "runs").iterdir() if p.is_dir())
    assert names == ["a", "tiny"]  # the base run (its name is TINY's), then a


def test_smoke_of_nothing_is_a_usage_error(tmp_path):
    res = _run("smoke", tmp_path)
    assert res.exit_code == 2 and "no experiment file to check" in res.output


@pytest.mark.slow
def test_smoke_passes_on_every_shipped_config(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNRUN_OFFLINE", "1")  # no ImageNet weights needed
    junit = tmp_path / "smoke.xml"
    res = _run("smoke", REPO / "configs", "--junit", junit)
    assert res.exit_code == 0, res.output
    n = len(list((REPO / "configs").glob("*.yaml")))
    assert f"smoke: {n}/{n} configs pass" in res.output
    assert ET.parse(junit).getroot().get("failures") == "0"
