"""Issue 15, items 9, 10 and 11: the seed's range, checkpoint leftovers, and messages.

- 9: a seed beyond NumPy's range (0 .. 2**32 - 1) is a config error, located.
- 10: a kill during a checkpoint write leaves `.tmp-*` files; the next start removes them.
- 11: an `extends:` file that is not a YAML mapping is never echoed; the hint for
  unreadable files names the real key (`data.skip_bad_images`); `--set extends=...` gets
  a sensible message; SIGTERM and Ctrl-C print the run's real folder, not `RUN_DIR`.
"""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest
from hostile_support import (
    LONG,
    TINY,
    assert_clean_error,
    cnnrun,
    copy_run,
    finish,
    run_folders,
    start,
    wait_for,
)
from PIL import Image

# --- 9: the seed -------------------------------------------------------------------------


def test_a_seed_beyond_numpys_range_is_a_located_config_error(tmp_path):
    (tmp_path / "seed.yaml").write_text(TINY.replace("seed: 7", "seed: 99999999999999999999"))
    res = cnnrun("validate", "seed.yaml", cwd=tmp_path, timeout=60)
    line = assert_clean_error(res, 2, "seed")
    assert "seed.yaml:2" in line, res


def test_train_with_a_huge_seed_option_exits_2_before_the_run_folder(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    res = cnnrun("train", "tiny.yaml", "--runs-dir", "runs", "--seed", "99999999999999999999",
                 cwd=tmp_path, timeout=240)  # fmt: skip
    assert_clean_error(res, 2, "seed")
    assert not run_folders(tmp_path / "runs")


# --- 10: leftovers of a checkpoint write cut short ---------------------------------------


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


# --- 11: messages ------------------------------------------------------------------------


def test_extends_a_file_that_is_not_a_config_does_not_echo_it(tmp_path):
    secret = "root:$6$saltsalt$HOSTILE15SECRETHASH:20228:0:99999:7:::"
    (tmp_path / "shadow").write_text(secret + "\ndaemon:*:20228:0:99999:7:::\n")
    (tmp_path / "exp.yaml").write_text("extends: shadow\nname: x\n")
    res = cnnrun("validate", "exp.yaml", cwd=tmp_path, timeout=60)
    assert_clean_error(res, 2, "shadow")
    assert "HOSTILE15SECRETHASH" not in res.output and "saltsalt" not in res.output, res
    assert "root:" not in res.output and "daemon" not in res.output, res


def test_set_extends_does_not_suggest_itself(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    (tmp_path / "base.yaml").write_text(TINY)
    res = cnnrun("summary", "tiny.yaml", "--set", "extends=base.yaml", cwd=tmp_path, timeout=120)
    assert "Did you mean 'extends'" not in res.stderr, res
    if res.returncode != 0:  # refusing it is fine, with a message that says why
        assert_clean_error(res, 2, "extends")
        assert "--set" in res.stderr, res


def test_the_unreadable_file_hint_names_the_real_key(tmp_path):
    pets = tmp_path / "pets"
    (pets / "images").mkdir(parents=True)
    (pets / "annotations" / "trimaps").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)).save(
            pets / "images" / f"Cat_{i}.jpg"
        )
        Image.fromarray(rng.integers(1, 4, (12, 16), dtype=np.uint8)).save(
            pets / "annotations" / "trimaps" / f"Cat_{i}.png"
        )
    (pets / "images" / "Cat_2.jpg").write_bytes(b"corrupt")
    (tmp_path / "seg.yaml").write_text(
        "name: seg\ntask: segmentation\n"
        "data: {dataset: oxford_pets, path: pets, test_split: 0.25, batch_size: 2}\n"
        "model:\n  input_shape: [8, 8, 3]\n"
        "  layers: [{Conv2D: {filters: 3, kernel_size: 1, activation: softmax}}]\n"
        "loss: sparse_categorical_crossentropy\nmetrics: [pixel_accuracy]\nepochs: 1\n"
    )
    res = cnnrun("train", "seg.yaml", "--runs-dir", "runs", cwd=tmp_path, timeout=240)
    line = assert_clean_error(res, 1, "Cat_2.jpg")
    assert "data.skip_bad_images" in line and "(skip_bad)" not in line, res


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
