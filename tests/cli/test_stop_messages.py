"""Issue 15, item 11 (last part): SIGTERM and Ctrl-C print the run's real folder, not `RUN_DIR`.

Being fixed on the issue-13 branch (cli/app.py, sweep/command.py).
"""

from __future__ import annotations

import signal
import time

import pytest
from hostile_support import LONG, finish, run_folders, start, wait_for


@pytest.mark.slow  # a TensorFlow training stopped midway: 20-40 s each
@pytest.mark.xfail(strict=False, reason="fixed on the issue-13 branch")
@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["sigterm", "sigint"]
)
def test_a_stop_message_names_the_run_folder(tmp_path, sig, code):
    (tmp_path / "long.yaml").write_text(LONG)
    args = ["train", "long.yaml", "--runs-dir", "runs"]
    t0 = time.monotonic()
    proc = start(*args, cwd=tmp_path)
    wait_for(
        lambda: any((r / "metrics.csv").exists() for r in run_folders(tmp_path / "runs")),
        proc=proc,
    )
    proc.send_signal(sig)
    res = finish(proc, args, t0, timeout=120)
    assert res.returncode == code, res
    (run,) = run_folders(tmp_path / "runs")
    assert "RUN_DIR" not in res.stderr, res
    assert run.name in res.stderr, res
    assert "--resume" in res.stderr, res
