"""`cnnrun sweep`: plans, validation before any run, the 2x2 grid, resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, TINY
from typer.testing import CliRunner

from cnnrun import runfiles
from cnnrun.cli.app import app
from cnnrun.errors import ConfigError
from cnnrun.sweep import plan as sw

runner = CliRunner()
LR = "optimizer.learning_rate"
FILTERS = "model.layers[0].Conv2D.filters"


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _plan(folder: Path) -> dict:
    return json.loads((folder / runfiles.SWEEP).read_text())


def _sweep_dir(output: str) -> Path:
    return Path(output.strip().splitlines()[-1])


def _run_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and (p / "run.json").exists())


# --- parsing and planning (no TensorFlow) ------------------------------------------------


def test_split_values_keeps_brackets_and_quotes_whole():
    assert sw.split_values("1e-3, 3e-4") == ["1e-3", "3e-4"]
    assert sw.split_values("[2, 2],[3, 3]") == ["[2, 2]", "[3, 3]"]
    assert sw.split_values("{name: sgd, momentum: 0.9},adam") == [
        "{name: sgd, momentum: 0.9}",
        "adam",
    ]
    assert sw.split_values("'a,b',c") == ["'a,b'", "c"]


def test_grid_is_the_product_first_key_slowest():
    grid = sw.parse_grid([f"{LR}=1e-3,3e-4", "model.layers[5].Dropout=0.25,0.5"])
    trials = sw.grid_trials(grid)
    assert trials == [
        {LR: "1e-3", "model.layers[5].Dropout": "0.25"},
        {LR: "1e-3", "model.layers[5].Dropout": "0.5"},
        {LR: "3e-4", "model.layers[5].Dropout": "0.25"},
        {LR: "3e-4", "model.layers[5].Dropout": "0.5"},
    ]


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ("optimizer.learning_rate", "needs KEY=VALUES"),
        ("model..x=1,2", "malformed key path"),
        ("epochs=1,,2", "an empty value"),
        ("epochs=[1,2", "invalid YAML"),
    ],
)
def test_bad_grid_items_are_config_errors(item, fragment):
    with pytest.raises(ConfigError, match=None) as info:
        sw.parse_grid([item])
    assert fragment in info.value.render()


def test_random_draws_are_seeded_and_in_range():
    key, rng = sw.parse_range(f"{LR}=1e-4:1e-2:log")
    _, ints = sw.parse_range("data.batch_size=16:128:int")
    ranges = {key: rng, "data.batch_size": ints}
    choices = {"optimizer.name": ["adam", "sgd"]}
    a = sw.random_trials(20, ranges, choices, seed=3)
    assert a == sw.random_trials(20, ranges, choices, seed=3)
    assert a != sw.random_trials(20, ranges, choices, seed=4)
    for t in a:
        assert 1e-4 <= float(t[LR]) <= 1e-2
        assert 16 <= int(t["data.batch_size"]) <= 128
        assert t["optimizer.name"] in ("adam", "sgd")
        assert len(f"{float(t[LR]):g}".replace(".", "").lstrip("0")) <= 6  # 3 significant digits


@pytest.mark.parametrize("text", ["1:0", "0:1:log", "a:b", "1", "1.5:3:int", "1:2:cubic"])
def test_bad_ranges_are_rejected(text):
    with pytest.raises(ConfigError, match="invalid range"):
        sw.parse_range(f"{LR}={text}")


def test_bad_key_fails_fast_with_exit_2_and_no_folder(tiny_config, tmp_path):
    res = _run("sweep", tiny_config, "--grid", "optimizer.learning_rat=1e-3,3e-4",
               "--runs-dir", tmp_path / "runs")  # fmt: skip
    assert res.exit_code == 2, res.output
    assert "--set optimizer.learning_rat=1e-3" in res.output
    assert "has no argument 'learning_rat'" in res.output
    assert "Did you mean 'learning_rate'?" in res.output
    assert not (tmp_path / "runs").exists()


def test_a_bad_value_in_a_later_trial_stops_the_sweep_before_any_run(tiny_config, tmp_path):
    res = _run("sweep", tiny_config, "--grid", "data.batch_size=16,many",
               "--runs-dir", tmp_path / "runs")  # fmt: skip
    assert res.exit_code == 2, res.output
    assert "--set data.batch_size=many" in res.output and "data.batch_size" in res.output
    assert not (tmp_path / "runs").exists()


def test_nothing_to_sweep_and_mixed_modes_are_usage_errors(tiny_config, tmp_path):
    assert _run("sweep", tiny_config).exit_code == 2
    res = _run("sweep", tiny_config, "--grid", "epochs=1,2", "--random", "2")
    assert res.exit_code == 2 and "cannot be combined" in res.output
    res = _run("sweep", tiny_config, "--range", f"{LR}=1e-3:1e-2")
    assert res.exit_code == 2 and "--random N" in res.output


def test_compare_of_a_runs_folder_includes_the_trials_of_its_sweeps(tmp_path):
    from run_factory import make_run

    from cnnrun.runs.record import expand_run_paths

    root = tmp_path / "runs"
    make_run(root, "alone", stamp="20240101-100000")
    sweep = root / "20240101-110000-sweep-x"
    for i in (1, 2):
        make_run(sweep, f"x-t{i}", stamp=f"20240101-11000{i}")
    (sweep / runfiles.SWEEP).write_text("{}")
    (sweep / "x-t1.log").write_text("")
    found = [p.name for p in expand_run_paths([root])]
    assert found == ["20240101-100000-alone", "20240101-110001-x-t1", "20240101-110002-x-t2"]
    assert [p.name for p in expand_run_paths([sweep])] == found[1:]


# --- running -----------------------------------------------------------------------------


def test_2x2_grid_gives_four_runs_and_a_table_of_exactly_the_swept_keys(tiny_config, tmp_path):
    res = _run(
        "sweep", tiny_config, "--grid", f"{LR}=1e-2,3e-3", "--grid", f"{FILTERS}=4,6",
        "--epochs", "1", "--runs-dir", tmp_path / "runs",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    folder = _sweep_dir(res.output)
    assert folder.parent == tmp_path / "runs" and folder.name.endswith("-sweep-tiny")
    plan = _plan(folder)
    assert [t["status"] for t in plan["trials"]] == ["completed"] * 4
    assert [t["values"] for t in plan["trials"]] == [
        {LR: 0.01, FILTERS: 4}, {LR: 0.01, FILTERS: 6},
        {LR: 0.003, FILTERS: 4}, {LR: 0.003, FILTERS: 6},
    ]  # fmt: skip
    runs = _run_dirs(folder)
    assert len(runs) == 4 and sorted(t["run_dir"] for t in plan["trials"]) == [r.name for r in runs]
    assert "4 runs" in res.output and LR in res.output and FILTERS in res.output
    # the compare command agrees on the sweep folder as a whole
    cmp = _run("compare", folder, "--format", "json")
    assert cmp.exit_code == 0, cmp.output
    doc = json.loads(cmp.stdout)
    assert sorted(doc["differing_keys"]) == sorted([LR, FILTERS])
    assert len(doc["runs"]) == 4
    # run again with --resume: nothing left to do
    again = _run("sweep", "--resume", folder)
    assert again.exit_code == 0, again.output
    assert "4 completed (skipped)" in again.output and "0 to start" in again.output
    assert len(_run_dirs(folder)) == 4


def test_same_command_with_sweep_dir_continues_and_another_plan_is_refused(tiny_config, tmp_path):
    folder = tmp_path / "my-sweep"
    args = ["sweep", tiny_config, "--grid", f"{FILTERS}=3,5", "--smoke", "--sweep-dir", folder]
    first = _run(*args)
    assert first.exit_code == 0, first.output
    assert _sweep_dir(first.output) == folder and len(_run_dirs(folder)) == 2
    again = _run(*args)
    assert again.exit_code == 0 and "2 completed (skipped)" in again.output
    assert len(_run_dirs(folder)) == 2
    other = _run("sweep", tiny_config, "--grid", f"{FILTERS}=3,7", "--sweep-dir", folder)
    assert other.exit_code == 2 and "another sweep's plan" in other.output


def test_random_search_records_its_plan_and_json_keeps_stdout_clean(tiny_config, tmp_path):
    res = _run(
        "sweep", tiny_config, "--random", "2", "--range", f"{LR}=1e-3:1e-2:log",
        "--choice", "optimizer.name=adam,sgd", "--seed", "5", "--smoke",
        "--runs-dir", tmp_path / "runs", "--format", "json",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)  # the trainings' progress went to stderr
    folder = Path(res.stderr.strip().splitlines()[-1].removeprefix("sweep folder: "))
    plan = _plan(folder)
    assert plan["search"] == {
        "mode": "random", "n": 2, "seed": 5,
        "ranges": {LR: "0.001:0.01:log"}, "choices": {"optimizer.name": ["adam", "sgd"]},
    }  # fmt: skip
    assert len(plan["trials"]) == 2 and all(t["status"] == "completed" for t in plan["trials"])
    assert {r["run"] for r in doc["runs"]} == {t["run_dir"] for t in plan["trials"]}


def test_a_failing_trial_does_not_stop_the_others_and_the_sweep_exits_1(tiny_config, tmp_path):
    pool = "model.layers[1].MaxPooling2D"
    res = _run("sweep", tiny_config, "--grid", f"{pool}=[20, 20],[2, 2]", "--smoke",
               "--runs-dir", tmp_path / "runs")  # fmt: skip
    assert res.exit_code == 1, res.output
    folder = _sweep_dir(res.output)
    plan = _plan(folder)
    assert [t["status"] for t in plan["trials"]] == ["failed", "completed"]
    assert "MaxPooling2D" in plan["trials"][0]["reason"]
    assert "error: trial t1" in res.output and "1 runs" in res.output
    again = _run("sweep", "--resume", folder)
    assert again.exit_code == 1 and "1 failed (skipped" in again.output
    retry = _run("sweep", "--resume", folder, "--retry-failed")
    assert retry.exit_code == 1 and "1 to start" in retry.output
    assert _plan(folder)["trials"][0]["attempts"] == 2


SLOW_TINY = TINY.replace("limit: 96", "limit: 960").replace("epochs: 2", "epochs: 3")


def test_sigkill_after_two_trials_then_resume_runs_only_the_other_two(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(SLOW_TINY)
    folder = tmp_path / "sweep"
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = [sys.executable, "-m", "cnnrun", "sweep", str(config), "--grid", f"{LR}=1e-2,3e-3",
           "--grid", f"{FILTERS}=4,6", "--sweep-dir", str(folder)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def statuses() -> dict[str, str]:
        out = {}
        for run in _run_dirs(folder) if folder.exists() else []:
            try:
                out[run.name.rsplit("-", 1)[-1]] = json.loads((run / "run.json").read_text())[
                    "status"
                ]
            except (ValueError, KeyError, OSError):
                pass
        return out

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        s = statuses()
        if list(s.values()).count("completed") >= 2 and "t3" in s:
            break
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.fail(f"the sweep ended by itself ({proc.returncode}): {proc.stderr.read().decode()}")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    at_kill = statuses()
    assert at_kill["t1"] == at_kill["t2"] == "completed"
    assert at_kill["t3"] == "running" and "t4" not in at_kill  # SIGKILL: nobody updated it
    kept = {t: (folder / _plan(folder)["trials"][i]["run_dir"] / "run.json").read_bytes()
            for i, t in enumerate(["t1", "t2"])}  # fmt: skip

    res = subprocess.run(
        [sys.executable, "-m", "cnnrun", "sweep", "--resume", str(folder)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 completed (skipped)" in res.stdout and "1 to resume" in res.stdout
    plan = _plan(folder)
    assert [t["status"] for t in plan["trials"]] == ["completed"] * 4
    assert [t["attempts"] for t in plan["trials"]] == [1, 1, 2, 1]  # two new trainings
    runs = _run_dirs(folder)
    assert len(runs) == 4  # t3 continued in its own folder
    for i, t in enumerate(["t1", "t2"]):  # untouched
        assert (folder / plan["trials"][i]["run_dir"] / "run.json").read_bytes() == kept[t]
    t3 = json.loads((folder / plan["trials"][2]["run_dir"] / "run.json").read_text())
    assert len(t3["resumes"]) == 1 and t3["resumes"][0]["previous_status"] == "running"
    assert "resumes" not in json.loads(
        (folder / plan["trials"][3]["run_dir"] / "run.json").read_text()
    )
    assert not plan["runner"]["running"]


@pytest.mark.slow  # two TensorFlow start-ups at once: ~45 s on a busy 2-core machine
def test_parallel_trials_run_as_subprocesses(tiny_config, tmp_path):
    res = _run(
        "sweep", tiny_config, "--grid", f"{FILTERS}=3,5", "--smoke", "--parallel", "2",
        "--runs-dir", tmp_path / "runs",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    folder = _sweep_dir(res.output)
    plan = _plan(folder)
    assert [t["status"] for t in plan["trials"]] == ["completed", "completed"]
    assert plan["runner"]["parallel"] == 2
    for t in plan["trials"]:
        record = json.loads((folder / t["run_dir"] / "run.json").read_text())
        assert record["pid"] != os.getpid()  # trained in a child process
        assert record["command"][1:3] == ["train", str(tiny_config.resolve())]
        assert (folder / f"{t['name']}.log").read_text().strip().endswith(t["run_dir"])


@pytest.mark.slow
def test_ray_backend_gives_the_same_run_folders(tiny_config, tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})  # fmt: skip
    try:
        res = _run(
            "sweep", tiny_config, "--grid", f"{FILTERS}=3,5", "--smoke", "--backend", "ray",
            "--runs-dir", tmp_path / "runs",
        )  # fmt: skip
    finally:
        ray.shutdown()
    assert res.exit_code == 0, res.output
    folder = _sweep_dir(res.output)
    plan = _plan(folder)
    assert [t["status"] for t in plan["trials"]] == ["completed", "completed"]
    assert len(_run_dirs(folder)) == 2  # Ray's own files are in the hidden .ray/
    cmp = _run("compare", folder, "--format", "json")
    assert json.loads(cmp.stdout)["differing_keys"] == [FILTERS]
