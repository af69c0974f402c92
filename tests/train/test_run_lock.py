"""Issue 15, item 2: one process at a time per run folder and per sweep folder (an OS lock).

Two `train --resume RUN` (or two `sweep --resume SWEEP`) started together: exactly one
runs; the other exits 1 at once naming the holder's pid and host, and changes nothing.
A run killed with SIGKILL frees its lock, so `show`/`compare` call it `stale` at once.
"""

from __future__ import annotations

import csv
import json
import re
import socket
import time

import pytest
from hostile_support import (
    LONG,
    TINY,
    cnnrun,
    copy_run,
    error_lines,
    finish,
    kill_group,
    no_traceback,
    record,
    run_folders,
    start,
    wait_for,
)


def _pid_and_host(res, holder_pid: int | None = None) -> None:
    line = " ".join(error_lines(res))
    assert socket.gethostname() in line, res
    pids = [int(p) for p in re.findall(r"\b(\d{2,7})\b", line)]
    assert pids, res
    if holder_pid is not None:
        assert holder_pid in pids, res


def _exit_times(procs, t0: float, timeout: float = 180) -> list[float]:
    """Seconds from ``t0`` until each process ended (their output is small: pipes suffice)."""
    ended: dict[int, float] = {}
    while len(ended) < len(procs) and time.monotonic() - t0 < timeout:
        for i, proc in enumerate(procs):
            if i not in ended and proc.poll() is not None:
                ended[i] = time.monotonic() - t0
        time.sleep(0.02)
    return [ended.get(i, timeout) for i in range(len(procs))]


def _shown_status(res) -> str | None:
    """The status that `cnnrun show` prints (its `status` row)."""
    match = re.search(r"^\W*status\s+(\w+)", res.stdout, re.M)
    return match[1] if match else None


@pytest.mark.slow  # two TensorFlow processes at once: ~40 s on 2 shared cores
def test_two_resumes_at_once_one_runs_the_other_exits_1_naming_the_holder(
    tmp_path, tmp_path_factory
):
    run = copy_run(tmp_path_factory, tmp_path)
    args = ["train", "--resume", run.name, "--epochs", "12"]
    t0 = time.monotonic()
    procs = [start(*args, cwd=tmp_path) for _ in range(2)]
    ended = _exit_times(procs, t0)  # when each ended (collecting them in turn would not say)
    results = [finish(p, args, t0) for p in procs]
    for result, seconds in zip(results, ended, strict=True):
        result.seconds = seconds
    codes = sorted((r.returncode for r in results), key=str)
    assert codes == [0, 1], "\n\n".join(map(str, results))
    winner = next(r for r in results if r.returncode == 0)
    loser = next(r for r in results if r.returncode == 1)
    no_traceback(loser)
    assert len(error_lines(loser)) == 1, loser
    _pid_and_host(loser, procs[results.index(winner)].pid)
    assert loser.seconds < winner.seconds, "\n\n".join(map(str, results))
    data = record(run)
    assert data["status"] == "completed", data
    assert len(data.get("resumes", [])) == 1, data
    with open(run / "metrics.csv") as f:
        epochs = [int(r["epoch"]) for r in csv.DictReader(f)]
    assert epochs == list(range(1, 13)), epochs


@pytest.mark.slow  # a real training (TensorFlow); the cheap version is tests/test_locks.py
def test_a_run_killed_with_sigkill_is_stale_at_once(tmp_path):
    (tmp_path / "long.yaml").write_text(LONG)
    proc = start("train", "long.yaml", "--runs-dir", "runs", cwd=tmp_path)
    try:
        wait_for(
            lambda: any((r / "metrics.csv").exists() for r in run_folders(tmp_path / "runs")),
            proc=proc,
        )
    finally:
        kill_group(proc)
        proc.communicate()
    (run,) = run_folders(tmp_path / "runs")
    assert record(run)["status"] == "running"  # what SIGKILL leaves
    shown = cnnrun("show", run, cwd=tmp_path, timeout=60)
    assert shown.returncode == 0, shown
    assert _shown_status(shown) == "stale", shown
    compared = cnnrun("compare", run, "--format", "json", cwd=tmp_path, timeout=60)
    assert compared.returncode == 0, compared
    assert '"stale"' in compared.stdout, compared


@pytest.mark.slow  # a real training (TensorFlow); the cheap version is tests/test_locks.py
def test_a_live_run_is_not_stale_and_cannot_be_resumed(tmp_path):
    (tmp_path / "long.yaml").write_text(LONG)
    proc = start("train", "long.yaml", "--runs-dir", "runs", cwd=tmp_path)
    try:
        wait_for(
            lambda: any((r / "metrics.csv").exists() for r in run_folders(tmp_path / "runs")),
            proc=proc,
        )
        (run,) = run_folders(tmp_path / "runs")
        shown = cnnrun("show", run, cwd=tmp_path, timeout=60)
        assert _shown_status(shown) == "running", shown
        again = cnnrun("train", "--resume", run, cwd=tmp_path, timeout=120)
        assert again.returncode == 1, again
        no_traceback(again)
        _pid_and_host(again, proc.pid)
    finally:
        kill_group(proc)
        proc.communicate()


@pytest.mark.slow  # two sweeps at once, then two trials: 30-90 s on 2 shared cores
def test_two_sweep_resumes_at_once_run_each_trial_once(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    sweep = tmp_path / "sweep"
    first = start(
        "sweep", "tiny.yaml", "--grid", "seed=1,2", "--epochs", "1", "--sweep-dir", sweep,
        cwd=tmp_path,
    )  # fmt: skip
    try:  # stop it once its plan is written, before any trial starts
        wait_for(lambda: (sweep / "sweep.json").exists(), proc=first)
        time.sleep(0.05)
    finally:
        kill_group(first)
        first.communicate()
    assert not [p for p in sweep.iterdir() if p.is_dir()], "a trial's run folder was created"
    before = [
        t.get("attempts", 0) for t in json.loads((sweep / "sweep.json").read_text())["trials"]
    ]
    args = ["sweep", "--resume", str(sweep)]
    t0 = time.monotonic()
    procs = [start(*args, cwd=tmp_path) for _ in range(2)]
    results = [finish(p, args, t0, timeout=300) for p in procs]
    trial_runs = [p for p in sweep.iterdir() if (p / "run.json").is_file()]
    assert len(trial_runs) == 2, (sorted(p.name for p in sweep.iterdir()), results)
    codes = sorted((r.returncode for r in results), key=str)
    assert codes == [0, 1], "\n\n".join(map(str, results))
    loser = next(r for r in results if r.returncode == 1)
    winner = next(r for r in results if r.returncode == 0)
    no_traceback(loser)
    _pid_and_host(loser, procs[results.index(winner)].pid)
    plan = json.loads((sweep / "sweep.json").read_text())
    assert [t["status"] for t in plan["trials"]] == ["completed", "completed"], plan
    assert [t.get("attempts", 0) for t in plan["trials"]] == [n + 1 for n in before], plan
