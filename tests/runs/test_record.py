"""Reading run folders tolerantly: statuses, metrics, config flattening and differences."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from run_factory import make_config, make_run

from cnnrun import runfiles
from cnnrun.runs.record import (
    MISSING,
    diff_configs,
    differing_keys,
    expand_run_paths,
    flatten_config,
    is_lower_better,
    is_run_dir,
    layer_chain,
    layer_label,
    load_run,
    load_runs,
    main_metric,
    parse_metrics_csv,
)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# --- statuses -----------------------------------------------------------------------


def test_completed_run_is_read_whole(tmp_path: Path) -> None:
    run = make_run(tmp_path, "base", epochs=5)
    record = load_run(run)
    assert record.status == "completed"
    assert record.reason is None
    assert record.warnings == []
    assert record.name == "20240101-120000-base"
    assert (record.task, record.dataset) == ("classification", "fashion_mnist")
    assert record.metric_columns == [
        "epoch",
        "lr",
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "seconds",
    ]
    assert len(record.epochs) == 5
    assert record.epochs[0]["epoch"] == 1.0
    assert set(record.test) == {"loss", "accuracy"}
    assert record.params_total == 34826
    assert record.epochs_completed == 5
    assert record.samples_per_s == 3700.0
    assert record.wall_time_s == pytest.approx(sum(10.0 + e * 0.1 for e in range(1, 6)) + 3.0)
    assert record.main_metric == "accuracy"
    best = record.best
    assert best is not None and best.monitor == "val_loss"
    assert best.value == min(record.series("val_loss"))


def test_garbage_results_json_makes_a_completed_run_broken(tmp_path: Path) -> None:
    record = load_run(make_run(tmp_path, results="{not json"))
    assert record.status == "broken"
    assert "results.json" in (record.reason or "")
    assert len(record.warnings) == 1 and record.warnings[0].startswith("results.json")
    assert record.test == {}
    assert record.epochs_completed == 5  # falls back on metrics.csv


def test_results_json_that_is_not_an_object_is_unreadable(tmp_path: Path) -> None:
    record = load_run(make_run(tmp_path, results="[1, 2]"))
    assert record.status == "broken"
    assert "expected a JSON object" in record.warnings[0]


def test_empty_folder_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    record = load_run(tmp_path / "empty")
    assert record.status == "not a run"
    assert not record.is_run
    assert not is_run_dir(tmp_path / "empty")


@pytest.mark.parametrize("name", ["missing", "file.txt"])
def test_missing_path_and_file_are_not_runs(tmp_path: Path, name: str) -> None:
    (tmp_path / "file.txt").write_text("hello")
    record = load_run(tmp_path / name)
    assert record.status == "not a run"
    assert record.reason in {"no such file or folder", "not a folder"}


def test_running_with_fresh_heartbeat_is_running(tmp_path: Path) -> None:
    record = load_run(make_run(tmp_path, status="running", epochs=2, heartbeat_age_s=30))
    assert record.status == "running"
    assert record.results is None
    assert record.epochs_completed == 2


def test_run_killed_mid_training_on_another_host_is_stale(tmp_path: Path) -> None:
    run = make_run(tmp_path, status="running", epochs=3, heartbeat_age_s=3600, host="gpu-box")
    with (run / runfiles.METRICS).open("a") as f:
        f.write("4,0.001,0.41")  # torn row: the process died while writing it
    record = load_run(run)
    assert record.status == "stale"
    assert "60 minutes" in (record.reason or "")
    assert len(record.epochs) == 3
    assert record.warnings == ["metrics.csv: line 5 has 3 fields, expected 7"]


def test_old_heartbeat_on_this_host_with_live_pid_is_still_running(tmp_path: Path) -> None:
    run = make_run(tmp_path, status="running", heartbeat_age_s=3600)  # pid: this process
    assert load_run(run).status == "running"


def test_old_heartbeat_on_this_host_with_dead_pid_is_stale(tmp_path: Path) -> None:
    run = make_run(tmp_path, status="running", heartbeat_age_s=3600, pid=_dead_pid())
    assert load_run(run).status == "stale"


def test_recent_heartbeat_with_dead_pid_is_not_yet_stale(tmp_path: Path) -> None:
    run = make_run(tmp_path, status="running", heartbeat_age_s=60, pid=_dead_pid())
    assert load_run(run).status == "running"


def test_stale_check_uses_the_given_now(tmp_path: Path) -> None:
    run = make_run(tmp_path, status="running", heartbeat_age_s=0, host="elsewhere")
    later = datetime.now(UTC) + timedelta(minutes=11)
    assert load_run(run).status == "running"
    assert load_run(run, now=later).status == "stale"


@pytest.mark.parametrize("status", ["failed", "interrupted"])
def test_failed_and_interrupted_keep_their_status_and_reason(tmp_path: Path, status: str) -> None:
    record = load_run(make_run(tmp_path, status=status, reason="boom", results=False))
    assert (record.status, record.reason) == (status, "boom")


def test_missing_run_json_is_broken(tmp_path: Path) -> None:
    run = make_run(tmp_path, files=(runfiles.CONFIG, runfiles.METRICS))
    record = load_run(run)
    assert record.status == "broken"
    assert record.reason == "run.json is missing or unreadable"
    assert record.config is not None and len(record.epochs) == 5


def test_garbage_run_json_and_config_are_reported(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    (run / runfiles.RUN).write_text("{")
    (run / runfiles.CONFIG).write_text("a: [1, 2\n")
    record = load_run(run)
    assert record.status == "broken"
    assert record.config is None
    assert [w.split(" ")[0] for w in record.warnings] == ["run.json", "config.yaml"]


def test_unknown_status_is_broken(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    info = runfiles.read_json(run / runfiles.RUN)
    runfiles.write_json(run / runfiles.RUN, {**info, "status": "exploded"})
    record = load_run(run)
    assert record.status == "broken"
    assert record.warnings == ["run.json: unknown status 'exploded'"]


def test_params_fall_back_on_summary_txt(tmp_path: Path) -> None:
    run = make_run(tmp_path, status="running", epochs=1)
    (run / runfiles.SUMMARY).write_text("...\nTotal params: 1,234,567\nTrainable params: 1\n")
    assert load_run(run).params_total == 1234567


def test_best_without_results_uses_the_callback_monitor(tmp_path: Path) -> None:
    run = make_run(
        tmp_path,
        status="running",
        overrides={"callbacks": [{"model_checkpoint": {"monitor": "val_accuracy"}}]},
    )
    best = load_run(run).best
    assert best is not None and best.monitor == "val_accuracy" and best.epoch == 5


def test_best_without_validation_is_on_loss(tmp_path: Path) -> None:
    run = make_run(tmp_path, status="running", validation=False, overrides={"callbacks": []})
    best = load_run(run).best
    assert best is not None and best.monitor == "loss" and best.epoch == 5


def test_parse_metrics_csv_tolerates_blank_and_bad_cells() -> None:
    header, rows, problems = parse_metrics_csv("epoch,lr,loss\n1,,0.5\n2,x,0.4\n\n3,1\n")
    assert header == ["epoch", "lr", "loss"]
    assert rows == [
        {"epoch": 1.0, "lr": None, "loss": 0.5},
        {"epoch": 2.0, "lr": None, "loss": 0.4},
    ]
    assert problems == ["line 5 has 2 fields, expected 3"]


def test_parse_empty_metrics_csv() -> None:
    assert parse_metrics_csv("") == ([], [], [])


# --- metric names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["epoch", "lr", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"], "accuracy"),
        (["epoch", "lr", "loss", "mean_iou", "val_loss", "val_mean_iou", "seconds"], "mean_iou"),
        (["epoch", "lr", "loss", "pck", "accuracy", "seconds"], "accuracy"),
        (["epoch", "lr", "loss", "val_loss", "seconds"], "loss"),
        (["loss", "out_loss", "mae"], "mae"),
    ],
)
def test_main_metric(names: list[str], expected: str) -> None:
    assert main_metric(names) == expected


@pytest.mark.parametrize(
    ("name", "lower"),
    [("loss", True), ("val_loss", True), ("test_mae", True), ("accuracy", False), ("pck", False)],
)
def test_is_lower_better(name: str, lower: bool) -> None:
    assert is_lower_better(name) is lower


# --- paths ---------------------------------------------------------------------------


def test_expand_parent_folder_lists_its_sub_folders_once(tmp_path: Path) -> None:
    a = make_run(tmp_path, "a", stamp="20240101-120000")
    b = make_run(tmp_path, "b", stamp="20240102-120000")
    (tmp_path / "notes").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".gitkeep").write_text("")
    expanded = list(expand_run_paths([tmp_path, a]))
    assert expanded == [a, b, tmp_path / "notes"]


def test_expand_keeps_a_folder_without_runs(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    assert list(expand_run_paths([tmp_path])) == [tmp_path]


def test_load_runs_reports_every_candidate(tmp_path: Path) -> None:
    make_run(tmp_path, "a")
    (tmp_path / "junk").mkdir()
    statuses = [r.status for r in load_runs([tmp_path])]
    assert statuses == ["completed", "not a run"]


# --- config flattening and differences --------------------------------------------------


def test_flatten_config_uses_dotted_keys_and_indices() -> None:
    flat = flatten_config(make_config())
    assert flat["optimizer.name"] == "adam"
    assert flat["model.input_shape"] == [28, 28, 1]
    assert flat["model.layers[0].Conv2D.filters"] == 32
    assert flat["model.layers[1]"] == "BatchNormalization"
    assert flat["model.layers[2].Dropout"] == 0.25
    assert flat["model.layers[3].MaxPooling2D"] == [2, 2]
    assert flat["schedule"] is None
    assert flat["callbacks[0].early_stopping.patience"] == 5


def test_differing_keys_per_index_when_layers_have_the_same_structure(tmp_path: Path) -> None:
    runs = [
        make_run(tmp_path, "a", stamp="20240101-000001"),
        make_run(
            tmp_path,
            "b",
            stamp="20240101-000002",
            overrides={"model.layers[2].Dropout": 0.5, "optimizer.name": "sgd"},
        ),
    ]
    records = [load_run(r) for r in runs]
    assert differing_keys(records) == ["model.layers[2].Dropout", "optimizer.name"]


def test_layer_lists_of_different_structure_become_one_chain() -> None:
    short = make_config({"model.layers": ["Flatten", {"Dense": {"units": 10}}]})
    diff = diff_configs([make_config(), short])
    assert diff.keys == ["model.layers"]
    assert diff.compacted == frozenset({"model.layers"})
    assert diff.values[0]["model.layers"] == (
        "Conv2D(32,3)→BN→Dropout(0.25)→MaxPool(2x2)→Flatten→Dense(10)"
    )
    assert diff.values[1]["model.layers"] == "Flatten→Dense(10)"


def test_null_section_against_a_mapping_shows_null_per_key() -> None:
    schedule = {"name": "exponential_per_epoch", "decay_rate": 0.9}
    diff = diff_configs([make_config(), make_config(schedule=schedule)])
    assert diff.keys == ["schedule.name", "schedule.decay_rate"]
    assert diff.values[0] == {"schedule.name": None, "schedule.decay_rate": None}
    assert diff.values[1] == {"schedule.name": "exponential_per_epoch", "schedule.decay_rate": 0.9}


def test_missing_keys_name_and_unreadable_configs() -> None:
    extra = make_config(name="other", extra={"flag": True})
    diff = diff_configs([make_config(), None, extra])
    assert diff.keys == ["extra.flag"]  # `name` differs but is left out
    assert diff.values == [{"extra.flag": MISSING}, {"extra.flag": MISSING}, {"extra.flag": True}]


def test_equal_configs_have_no_differing_keys() -> None:
    assert diff_configs([make_config(), make_config()]).keys == []
    assert diff_configs([make_config()]).keys == []
    assert diff_configs([]).keys == []


@pytest.mark.parametrize(
    ("item", "label"),
    [
        ("BatchNormalization", "BN"),
        ({"Dropout": 0.25}, "Dropout(0.25)"),
        ({"MaxPooling2D": [2, 2]}, "MaxPool(2x2)"),
        ({"Conv2D": {"filters": 64, "kernel_size": [7, 7], "padding": "same"}}, "Conv2D(64,7x7)"),
        ({"Dense": {"units": 10, "activation": "softmax"}}, "Dense(10)"),
        ({"ResNet50V2": {"weights": "imagenet"}}, "ResNet50V2"),
    ],
)
def test_layer_label(item: object, label: str) -> None:
    assert layer_label(item) == label


def test_layer_chain() -> None:
    assert layer_chain(["Flatten", {"Dropout": 0.5}]) == "Flatten→Dropout(0.5)"


def test_best_without_results_uses_a_top_level_monitor(tmp_path: Path) -> None:
    run = make_run(tmp_path, status="running", overrides={"monitor": "val_accuracy"})
    best = load_run(run).best
    assert best is not None and best.monitor == "val_accuracy"
