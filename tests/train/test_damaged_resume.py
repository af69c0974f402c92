"""Issue 15, item 6: a damaged run folder is refused by `--resume`, and left as it was.

Non-UTF-8 or garbage metrics.csv, wrong types in checkpoints/state.json, or a missing
state.json behind completed epochs: `train --resume RUN --epochs 4` exits 1 with one
line naming the file, no traceback, and every file of the run (run.json's status
included) is byte for byte what it was.

Item 10: a resume removes the temporary files a killed checkpoint write left.
"""

from __future__ import annotations

import json

import pytest
from hostile_support import assert_clean_error, cnnrun, copy_run, fake_completed_run, snapshot


def _garbage_csv(run):
    (run / "metrics.csv").write_bytes(b'garbage\x00\nthis is not, csv "at all\n1,2\n')


def _non_utf8_csv(run):
    text = (run / "metrics.csv").read_bytes()
    (run / "metrics.csv").write_bytes(text.replace(b"0.01,", b"0.0\xff\xfe,", 1))


def _rows_with_words(run):
    lines = (run / "metrics.csv").read_text().splitlines()
    head, first, *rest = lines
    cells = first.split(",")
    cells[2] = "lots"  # the loss of epoch 1
    (run / "metrics.csv").write_text("\n".join([head, ",".join(cells), *rest]) + "\n")


def _state_wrong_types(run):
    state = {"epochs": [{"epoch": "two", "checkpoint": 5, "callbacks": [], "rng": 3}]}
    (run / "checkpoints" / "state.json").write_text(json.dumps(state))


def _state_not_a_list(run):
    (run / "checkpoints" / "state.json").write_text('{"epochs": 5}')


def _state_not_json(run):
    (run / "checkpoints" / "state.json").write_bytes(b"\xff\x00{{{")


def _state_missing(run):
    (run / "checkpoints" / "state.json").unlink()


DAMAGE = {
    "metrics-garbage": (_garbage_csv, "metrics.csv"),
    "metrics-not-utf8": (_non_utf8_csv, "metrics.csv"),
    "metrics-words": (_rows_with_words, "metrics.csv"),
    "state-wrong-types": (_state_wrong_types, "state.json"),
    "state-not-a-list": (_state_not_a_list, "state.json"),
    "state-not-json": (_state_not_json, "state.json"),
    "state-missing": (_state_missing, "state.json"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_completed_run_is_refused_and_left_untouched(tmp_path, damage):
    # Refused before TensorFlow loads, so a run folder written by hand serves (a second each)
    run = fake_completed_run(tmp_path)
    spoil, named = DAMAGE[damage]
    spoil(run)
    before = snapshot(run)
    res = cnnrun("train", "--resume", run.name, "--epochs", "4", cwd=tmp_path, timeout=240)
    assert_clean_error(res, 1, named)
    assert snapshot(run) == before, "the run folder was changed"
    assert json.loads((run / "run.json").read_text())["status"] == "completed"


# --- item 10: leftovers of a checkpoint write cut short ---------------------------------


@pytest.mark.slow  # a resumed training (TensorFlow)
def test_resume_removes_the_leftovers_of_a_killed_checkpoint_write(tmp_path, tmp_path_factory):
    run = copy_run(tmp_path_factory, tmp_path)
    ckpt = run / "checkpoints"
    scratch = ckpt / ".tmp-.tmp-epoch-0003.keras-x1y2z3ab" / "model"
    scratch.mkdir(parents=True)  # save_keras's scratch folder, as a SIGKILL leaves it
    (scratch / "model.weights.h5").write_bytes(b"\x89HDF half written")
    (ckpt / ".tmp-epoch-0003.keras").write_bytes(b"PK half a zip")
    (ckpt / ".tmp-last.keras").write_bytes(b"PK")
    (run / ".run.json.k2j3h4.tmp").write_text('{"status": "runn')
    res = cnnrun("train", "--resume", run.name, "--epochs", "3", cwd=tmp_path, timeout=240)
    assert res.returncode == 0, res
    left = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.name.startswith(".tmp"))
    left += sorted(str(p.relative_to(run)) for p in run.rglob("*.tmp"))
    assert left == [], left


def test_remove_leftovers_removes_temporary_files_only(tmp_path):
    from cnnrun.train.run_folder import remove_leftovers

    run = fake_completed_run(tmp_path)
    ckpt = run / "checkpoints"
    (ckpt / ".tmp-.tmp-epoch-0003.keras-x1y2z3ab" / "model").mkdir(parents=True)
    (ckpt / ".tmp-epoch-0003.keras").write_bytes(b"PK half a zip")
    (run / ".run.json.k2j3h4.tmp").write_text('{"status": "runn')
    keep = snapshot(run)
    keep = {k: v for k, v in keep.items() if ".tmp" not in k}
    remove_leftovers(run)
    assert snapshot(run) == keep
    assert not [p for p in run.rglob("*") if ".tmp" in p.name]
