"""tf.distribute: MirroredStrategy over two logical CPU devices gives a single device's run."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

CONFIG = """\
name: dist
seed: 3
data: {dataset: synthetic, limit: 1024, test_limit: 128, validation_split: 0.25, batch_size: 64}
model:
  input_shape: [16, 16, 1]
  layers:
    - Conv2D: {filters: 8, kernel_size: 3, activation: relu}
    - MaxPooling2D: [2, 2]
    - Flatten
    - Dense: {units: 4, activation: softmax}
optimizer: {name: sgd, learning_rate: 0.05}
epochs: 2
"""


def _train(tmp_path, *extra):
    cfg = tmp_path / "dist.yaml"
    cfg.write_text(CONFIG)
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    out = subprocess.run(
        [sys.executable, "-m", "cnnrun", "train", str(cfg), "--runs-dir", str(tmp_path), *extra],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return out


def test_mirrored_on_two_cpu_devices_matches_one_device(tmp_path):
    one = _train(tmp_path)
    two = _train(tmp_path, "--set", "distribute={strategy: mirrored, cpu_devices: 2}")
    assert one.returncode == 0 and two.returncode == 0, two.stderr[-2000:]
    assert "mirrored over 2 devices, 32 examples per replica" in two.stdout.replace("\n", " ")
    rows = []
    for out in (one, two):
        run = Path(out.stdout.strip().splitlines()[-1])
        with open(run / "metrics.csv") as f:
            rows.append(list(csv.DictReader(f)))
        rows[-1].append(json.loads((run / "results.json").read_text())["test"])
    for a, b in zip(rows[0][:-1], rows[1][:-1], strict=True):
        assert float(a["loss"]) == pytest.approx(float(b["loss"]), abs=1e-4)
        assert float(a["val_loss"]) == pytest.approx(float(b["val_loss"]), abs=1e-4)
    assert rows[0][-1]["accuracy"] == pytest.approx(rows[1][-1]["accuracy"], abs=1e-6)


def test_multi_worker_is_refused_with_the_reason(tmp_path):
    out = _train(tmp_path, "--set", "distribute={strategy: multi_worker}")
    assert out.returncode == 2
    assert "keras-team/keras#20585" in out.stderr and "distribute.strategy" in out.stderr
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]
