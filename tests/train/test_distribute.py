"""tf.distribute: two logical CPU devices, or two worker processes, give one device's run."""

import csv
import json
import os
import socket
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
    tmp_path.mkdir(exist_ok=True)
    cfg = tmp_path / "dist.yaml"
    cfg.write_text(CONFIG)
    env = dict(os.environ, PYTHONPATH=str(REPO))
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


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in socks]
    for sock in socks:
        sock.close()
    return ports


def _workers(tmp_path: Path, n: int = 2) -> list[subprocess.CompletedProcess]:
    cfg = tmp_path / "dist.yaml"
    cfg.write_text(CONFIG)
    cluster = {"worker": [f"localhost:{port}" for port in _free_ports(n)]}
    procs = []
    for index in range(n):
        tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, PYTHONPATH=str(REPO), TF_CONFIG=json.dumps(tf_config))
        runs = tmp_path / f"w{index}"
        cmd = [sys.executable, "-m", "cnnrun", "train", str(cfg), "--runs-dir", str(runs),
               "--set", "distribute.strategy=multi_worker"]  # fmt: skip
        pipe = subprocess.PIPE
        procs.append(subprocess.Popen(cmd, env=env, stdout=pipe, stderr=pipe, text=True))
    done = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    finally:
        for proc in procs:  # a worker whose peer died waits for it for ever
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return done


def _results(out: subprocess.CompletedProcess) -> tuple[list[dict], dict]:
    run = Path(out.stdout.strip().splitlines()[-1])
    with open(run / "metrics.csv") as f:
        return list(csv.DictReader(f)), json.loads((run / "results.json").read_text())


@pytest.mark.slow  # three trainings in subprocesses, two of them at once: ~100 s on 2 cores
def test_multi_worker_on_two_processes_matches_one_device(tmp_path):
    one = _train(tmp_path / "one")
    chief, other = _workers(tmp_path)
    assert one.returncode == 0, one.stderr[-2000:]
    assert chief.returncode == 0 and other.returncode == 0, (chief.stderr + other.stderr)[-3000:]
    assert "multi-worker, 2 workers" in chief.stdout.replace("\n", " ")
    assert "the chief writes the run folder" in other.stdout
    assert not (tmp_path / "w1").exists()  # only the chief writes a run folder
    rows_one, res_one = _results(one)
    rows_mw, res_mw = _results(chief)
    assert len(rows_mw) == len(rows_one) == 2
    for a, b in zip(rows_one, rows_mw, strict=True):
        assert float(a["loss"]) == pytest.approx(float(b["loss"]), abs=1e-4)
        assert float(a["val_loss"]) == pytest.approx(float(b["val_loss"]), abs=1e-4)
    assert res_one["test"]["accuracy"] == pytest.approx(res_mw["test"]["accuracy"], abs=1e-6)


def test_multi_worker_without_tf_config_is_refused(tmp_path):
    out = _train(tmp_path, "--set", "distribute={strategy: multi_worker}")
    assert out.returncode == 2
    assert "TF_CONFIG" in out.stderr and "distribute.strategy" in out.stderr
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]
