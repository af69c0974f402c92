"""Issue 15, item 3 (and the `--name` half of item 9): one name rule for every command.

The README promises that run names are made safe (`../x`, `/abs`, ...). So a name with
`/` is accepted alike by `validate`, `validate --build`, `summary` and `train`: no Keras
ValueError about the model's name, and the run folder stays inside the runs folder.
"""

from __future__ import annotations

import pytest
from hostile_support import TINY, cnnrun, last_line, no_traceback, run_folders

HOSTILE = ["../../x", "/abs/name", "a/b\\c", "..", "-rf x", "😀"]


def _configs(tmp_path):
    files = []
    for i, name in enumerate(HOSTILE):
        path = tmp_path / f"n{i}.yaml"
        path.write_text(TINY.replace("name: tiny", f"name: {name!r}".replace("'", '"')))
        files.append(path.name)
    return files


def test_validate_accepts_hostile_names(tmp_path):
    plain = cnnrun("validate", *_configs(tmp_path), cwd=tmp_path, timeout=60)
    no_traceback(plain)
    assert plain.returncode == 0, plain  # the README: names are made safe


def test_every_hostile_name_builds(tmp_path):
    # In-process (`validate --build` does exactly this): the Keras model's name is safe.
    from cnnrun.checks import load_experiment
    from cnnrun.model.build import build_model

    for file in _configs(tmp_path):
        loaded = load_experiment(tmp_path / file)
        model = build_model(loaded.experiment, loaded)
        assert "/" not in model.name and model.name


@pytest.mark.slow  # `validate --build` imports TensorFlow in a subprocess
def test_validate_and_validate_build_agree_on_hostile_names(tmp_path):
    files = _configs(tmp_path)
    plain = cnnrun("validate", *files, cwd=tmp_path, timeout=60)
    built = cnnrun("validate", "--build", *files, cwd=tmp_path, timeout=120)
    no_traceback(plain)
    no_traceback(built)
    assert plain.returncode == 0, plain  # the README: names are made safe
    assert built.returncode == 0, built


@pytest.mark.slow  # TensorFlow; in-process: test_every_hostile_name_builds
def test_summary_accepts_a_name_with_a_slash(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    res = cnnrun("summary", "tiny.yaml", "--set", "name=../../x", cwd=tmp_path, timeout=120)
    no_traceback(res)
    assert res.returncode == 0, res


@pytest.mark.slow  # TensorFlow; in-process: test_every_hostile_name_builds
@pytest.mark.parametrize(
    "args", [["--set", "name=../../x"], ["--name", "😀"]], ids=["set-slash", "name-emoji"]
)
def test_train_with_a_hostile_name_stays_in_the_runs_folder(tmp_path, args):
    (tmp_path / "tiny.yaml").write_text(TINY)
    res = cnnrun(
        "train", "tiny.yaml", "--runs-dir", "runs", "--epochs", "1", *args,
        cwd=tmp_path, timeout=240,
    )  # fmt: skip
    no_traceback(res)
    assert res.returncode == 0, res
    (run,) = run_folders(tmp_path / "runs")
    assert (tmp_path / last_line(res)).resolve() == run.resolve(), res
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs", "tiny.yaml"]
