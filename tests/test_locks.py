"""Issue 15, item 2, without TensorFlow: the run/sweep folder lock (cnnrun.locks).

A helper process takes the lock of a run folder (as a training process does) and waits;
`train --resume` refuses at once naming its pid and host, `show` says `running`; once the
helper is killed with SIGKILL, `show` says `stale` at once. The same with real trainings
is in tests/train/test_run_lock.py (slow).
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys

import pytest
from hostile_support import cli_env, cnnrun, fake_completed_run, snapshot

from cnnrun import locks
from cnnrun.errors import DataError

HOLDER = """
import sys, time
from cnnrun import locks
locks.hold(sys.argv[1])
print("held", flush=True)
time.sleep(600)
"""


@pytest.fixture
def running_run(tmp_path):
    """A run folder whose run.json says `running`, locked by a live helper process."""
    run = fake_completed_run(tmp_path)
    info = json.loads((run / "run.json").read_text())
    info.update(status="running", heartbeat_at="2099-01-01T00:00:00+00:00")
    (run / "run.json").write_text(json.dumps(info))
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(run)], stdout=subprocess.PIPE, text=True,
        env=cli_env(),
    )  # fmt: skip
    assert proc.stdout.readline().strip() == "held"
    yield run, proc
    proc.kill()
    proc.wait()


def _status(res) -> str | None:
    match = re.search(r"^\W*status\s+(\w+)", res.stdout, re.M)
    return match[1] if match else None


def test_a_held_run_cannot_be_resumed_and_is_left_as_it_was(running_run, tmp_path):
    run, holder = running_run
    before = snapshot(run)
    res = cnnrun("train", "--resume", run, cwd=tmp_path, timeout=60)
    assert res.returncode == 1, res
    (line,) = [x for x in res.stderr.splitlines() if x.startswith("error:")]
    assert f"pid {holder.pid}" in line and socket.gethostname() in line, res
    assert "Traceback" not in res.output
    assert snapshot(run) == before


def test_a_run_whose_process_was_killed_is_stale_at_once(running_run, tmp_path):
    run, holder = running_run
    assert _status(cnnrun("show", run, cwd=tmp_path, timeout=60)) == "running"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    shown = cnnrun("show", run, cwd=tmp_path, timeout=60)
    assert _status(shown) == "stale", shown
    compared = cnnrun("compare", run, "--format", "json", cwd=tmp_path, timeout=60)
    assert '"stale"' in compared.stdout, compared


def test_hold_is_reentrant_and_release_frees_it(tmp_path):
    assert locks.is_free(tmp_path) is None  # no lock file: unknown, and none is made
    assert not (tmp_path / ".lock").exists()
    locks.hold(tmp_path)
    locks.hold(tmp_path)  # the same process again: nothing happens
    assert locks.is_free(tmp_path) is False
    info = json.loads((tmp_path / ".lock").read_text())
    assert info["host"] == socket.gethostname() and isinstance(info["pid"], int)
    locks.release(tmp_path)
    assert locks.is_free(tmp_path) is True


def test_check_free_names_the_holder(running_run):
    run, holder = running_run
    with pytest.raises(DataError, match=rf"pid {holder.pid} on {re.escape(socket.gethostname())}"):
        locks.check_free(run)
    with pytest.raises(DataError, match=rf"pid {holder.pid}"):
        locks.hold(run)
