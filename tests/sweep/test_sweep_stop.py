"""A sweep stopped by SIGTERM says how to continue, names its folder last, and resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from conftest import REPO, TINY

from cnnrun import runfiles

SLOW_TINY = TINY.replace("limit: 96", "limit: 960").replace("epochs: 2", "epochs: 3")


def _cnnrun(*args: object, **kwargs: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "cnnrun", *map(str, args)]
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )


def test_sigterm_stops_the_sweep_with_a_resume_hint_then_resume_finishes_it(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(SLOW_TINY)
    folder = tmp_path / "sweep"
    proc = _cnnrun("sweep", config, "--grid", "seed=1,2", "--sweep-dir", folder)
    deadline = time.monotonic() + 300
    while not list(folder.glob(f"*-t1/{runfiles.METRICS}")):  # t1's first epoch is written
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)

    assert proc.returncode == 143, err[-3000:]
    assert f"continue with cnnrun sweep --resume {folder}" in err, err[-3000:]
    assert out.strip().splitlines()[-1] == str(folder), out
    plan = json.loads((folder / runfiles.SWEEP).read_text())
    assert plan["runner"]["running"] is False
    t1 = folder / plan["trials"][0]["run_dir"]
    assert json.loads((t1 / runfiles.RUN).read_text())["status"] == "killed"

    again = _cnnrun("sweep", "--resume", folder)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err[-3000:]
    assert "1 to resume; 1 to start" in out, out
    plan = json.loads((folder / runfiles.SWEEP).read_text())
    assert [t["status"] for t in plan["trials"]] == ["completed", "completed"]
    assert out.strip().splitlines()[-1] == str(folder)
