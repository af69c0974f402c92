import json

import numpy as np
import pytest
from rich.console import Console

from cnnrun import runfiles
from cnnrun.checks import load_experiment
from cnnrun.train.class_report import class_report, confusion_matrix, report_from_probabilities
from cnnrun.train.trainer import TrainOptions, train


def test_per_class_figures_by_hand():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 1, 1])
    cm = confusion_matrix(y_true, y_pred, 4)  # class 3: never seen, never predicted
    assert cm.tolist() == [[2, 1, 0, 0], [0, 2, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    r = class_report(cm, ["a", "b", "c", "d"])
    assert r["precision"] == pytest.approx([1.0, 0.5, 0.0, 0.0])
    assert r["recall"] == pytest.approx([2 / 3, 1.0, 0.0, 0.0])
    assert r["f1"] == pytest.approx([0.8, 2 / 3, 0.0, 0.0], abs=1e-6)
    assert r["support"] == [3, 2, 1, 0]
    assert r["macro"]["f1"] == pytest.approx((0.8 + 2 / 3) / 4, abs=1e-6)
    assert r["weighted"]["recall"] == pytest.approx(4 / 6, abs=1e-6)
    assert r["accuracy"] == pytest.approx(4 / 6, abs=1e-6)
    json.dumps(r)  # plain Python types only


def test_probabilities_and_a_single_sigmoid_unit():
    probs = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert report_from_probabilities([1, 0, 0], probs)["support"] == [2, 1]
    sig = report_from_probabilities([1, 0, 1], np.array([[0.9], [0.2], [0.4]]))
    assert sig["confusion_matrix"] == [[1, 0], [1, 1]]


def test_training_writes_per_class_results_and_confusion_png(tiny_config, tmp_path):
    loaded = load_experiment(tiny_config, [])
    console = Console(file=open(tmp_path / "console.txt", "w"), width=120)
    result = train(loaded, TrainOptions(runs_dir=tmp_path / "runs"), console)
    results = json.loads((result.run_dir / runfiles.RESULTS).read_text())
    per_class = results["per_class"]
    assert len(per_class["names"]) == 3 and sum(per_class["support"]) == 32
    assert np.array(per_class["confusion_matrix"]).sum() == 32
    assert per_class["accuracy"] == pytest.approx(results["test"]["accuracy"], abs=1e-6)
    assert results["test"]["macro_f1"] == per_class["macro"]["f1"]
    assert (result.run_dir / runfiles.CONFUSION).stat().st_size > 1000
