"""Issue 15, item 5: read-only commands do not run a config's Python (`model.file`).

`validate` checks a builder file statically (the function's name and signature, found
in the source without running it), and `summary RUN_DIR` / `evaluate RUN_DIR` do not
import it either; training does, and the README says plainly that a config's Python
files (and `--builders`) are trusted code.
"""

from __future__ import annotations

import re

import pytest
from hostile_support import REPO, cnnrun, last_line, no_traceback

BUILDER = '''\
import pathlib

pathlib.Path(__file__).with_name("MARKER").write_text("the builder file ran")

from cnnrun.model.builders import register_builder


@register_builder("marker_net")
def marker_net(input_shape, num_classes=3, width=8):
    """A tiny net that leaves a marker when its file runs."""
    import keras

    inputs = keras.Input(shape=tuple(input_shape))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(width, activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(x))
'''

CONFIG = """\
name: marker
seed: 7
data: {dataset: synthetic, limit: 48, test_limit: 16, validation_split: 0.25, batch_size: 16}
model:
  builder: marker_net
  input_shape: [12, 12, 1]
  args: {num_classes: 3, width: 8}
  file: my_builders.py
optimizer: {name: adam, learning_rate: 1.0e-2}
epochs: 1
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "my_builders.py").write_text(BUILDER)
    (tmp_path / "exp.yaml").write_text(CONFIG)
    return tmp_path


def test_validate_does_not_run_the_builder_file(project):
    res = cnnrun("validate", "exp.yaml", cwd=project, timeout=60)
    assert res.returncode == 0, res
    assert not (project / "MARKER").exists(), "validate ran the config's Python file"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("num_classes: 3", "num_clases: 3"),  # a misspelt argument
        ("builder: marker_net", "builder: marker_nett"),  # a misspelt builder name
    ],
)
def test_validate_still_checks_the_builder_statically(project, old, new):
    (project / "exp.yaml").write_text(CONFIG.replace(old, new))
    expected = new.split(":")[0] if "clases" in new else new.split(": ")[1]
    res = cnnrun("validate", "exp.yaml", cwd=project, timeout=60)
    assert res.returncode == 2, res
    no_traceback(res)
    assert expected in res.stderr and re.search(r"exp\.yaml:\d+", res.stderr), res
    assert "Did you mean" in res.stderr, res
    assert not (project / "MARKER").exists(), "validate ran the config's Python file"


@pytest.mark.slow  # a training, then summary and evaluate (TensorFlow each)
def test_summary_and_evaluate_of_a_run_do_not_run_the_builder_file(project):
    trained = cnnrun("train", "exp.yaml", "--runs-dir", "runs", cwd=project, timeout=240)
    assert trained.returncode == 0, trained
    run = project / last_line(trained)
    (project / "MARKER").unlink()  # training runs it: that is trusted, and documented
    summary = cnnrun("summary", run, cwd=project, timeout=120)
    assert summary.returncode == 0, summary
    assert "marker" in summary.stdout.lower() or "dense" in summary.stdout.lower(), summary
    assert not (project / "MARKER").exists(), "summary RUN_DIR ran the config's Python file"
    evaluated = cnnrun("evaluate", run, cwd=project, timeout=120)
    assert evaluated.returncode == 0, evaluated
    assert not (project / "MARKER").exists(), "evaluate RUN_DIR ran the config's Python file"


def test_the_readme_says_what_is_guaranteed_and_what_is_trusted():
    readme = (REPO / "README.md").read_text()
    match = re.search(r"^#+ .*[Rr]eliab.*$", readme, re.M)
    assert match, "the README has no reliability section"
    section = readme[match.end() :]
    level = match[0].index(" ")  # the heading's number of '#'
    nxt = re.search("^#{1,%d} " % level, section, re.M)  # noqa: UP031 - regex braces
    section = section[: nxt.start()] if nxt else section
    assert re.search(r"trusted", section, re.I), section[:2000]
    assert "model.file" in section or "builder" in section.lower(), section[:2000]
