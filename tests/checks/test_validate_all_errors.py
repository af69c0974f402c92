"""Issue 13, "Every error at once": `cnnrun validate` reports every problem of a file.

- Today validate stops at the first problem of a file, so a file with seven typos takes
  seven runs. Each problem is to be reported, with its line, key path, expected,
  received and did-you-mean, and then exit 2.
- Today ``validate`` without ``--build`` prints ``ok`` for a stack whose shapes cannot
  work (six 2x2 poolings on 28x28), which ``--build`` catches. A plain ``ok`` must mean
  that the model can be built: check shapes by default, or say
  ``ok (schema only; shapes not checked: --build)``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_helpers import cli

GOOD = """\
name: typos
seed: 1
data:
  dataset: fashion_mnist
  batch_size: 32
model:
  input_shape: [28, 28, 1]
  layers:
    - Conv2D: {filters: 8, kernel_size: 3}
    - MaxPooling2D: [2, 2]
    - Flatten
    - Dense: {units: 10, activation: softmax}
optimizer: {name: adam}
loss: sparse_categorical_crossentropy
metrics: [accuracy]
epochs: 2
"""

# (line, key path, right text, typo): each is reported alone today.
TYPOS = [
    (4, "data.dataset", "fashion_mnist", "fashion_mnst"),
    (5, "data.batchsize", "batch_size", "batchsize"),
    (9, "model.layers[0]", "Conv2D", "Conv2d"),
    (12, "model.layers[3].Dense.activaton", "activation", "activaton"),
    (13, "optimizer.name", "adam}", "adamm}"),
    (14, "loss", "sparse_categorical_crossentropy", "sparse_categorical_crossentropi"),
    (15, "metrics[0]", "[accuracy]", "[acuracy]"),
]


def _with_typos(typos) -> str:
    lines = GOOD.splitlines(keepends=True)
    for line, _, right, typo in typos:
        assert right in lines[line - 1], (line, lines[line - 1])
        lines[line - 1] = lines[line - 1].replace(right, typo)
    return "".join(lines)


def _blocks(stderr: str) -> list[str]:
    """The problems of an error report: an ``error:`` line and its indented lines."""
    blocks: list[str] = []
    for line in stderr.splitlines():
        if re.match(r"\s*error\b", line, re.IGNORECASE) or not blocks:
            blocks.append(line)
        else:
            blocks[-1] += "\n" + line
    return blocks


def test_a_valid_file_is_ok(tmp_path):
    """Guard (passes today): the file the typos are made in is valid."""
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    result = cli("validate", path)
    assert result.returncode == 0, result.stderr


def test_validate_reports_every_problem_of_a_file(tmp_path):
    path = tmp_path / "typos.yaml"
    path.write_text(_with_typos(TYPOS))
    result = cli("validate", path)
    assert result.returncode == 2, result.stdout + result.stderr
    err = result.stderr
    missing = []
    for line, key, right, _typo in TYPOS:
        suggestion = right.strip("[]{}")
        located = [
            block for block in _blocks(err) if f"{path.name}:{line}:" in block and key in block
        ]
        if not located or not re.search(
            rf"did you mean '?{re.escape(suggestion)}'?", located[0], re.IGNORECASE
        ):
            missing.append(f"line {line} {key} (did you mean {suggestion})")
    assert not missing, "not reported:\n  " + "\n  ".join(missing) + "\nstderr:\n" + err


@pytest.mark.parametrize("typo", TYPOS, ids=[t[1] for t in TYPOS])
def test_each_problem_says_what_was_expected_and_received(tmp_path, typo):
    path = tmp_path / "one.yaml"
    path.write_text(_with_typos([typo]))
    result = cli("validate", path)
    assert result.returncode == 2, result.stderr
    (block,) = _blocks(result.stderr)
    assert re.search(r"^\s*expected:", block, re.MULTILINE), block
    bad = typo[3].strip("[]{}")
    assert re.search(rf"^\s*received:.*{re.escape(bad)}", block, re.MULTILINE), block


POOLS = """\
name: pools
model:
  input_shape: [28, 28, 1]
  layers:
    - MaxPooling2D: [2, 2]
    - MaxPooling2D: [2, 2]
    - MaxPooling2D: [2, 2]
    - MaxPooling2D: [2, 2]
    - MaxPooling2D: [2, 2]
    - MaxPooling2D: [2, 2]
    - Flatten
    - Dense: {units: 10, activation: softmax}
"""


@pytest.fixture
def pools(tmp_path: Path) -> Path:
    path = tmp_path / "pools.yaml"
    path.write_text(POOLS)
    return path


def test_a_plain_ok_means_the_model_can_be_built(pools):
    result = cli("validate", pools)
    if result.returncode == 0:
        ok = [line for line in result.stdout.splitlines() if line.startswith("ok")]
        assert ok and all("schema only" in line and "--build" in line for line in ok), (
            "validate says a plain ok for a stack that cannot be built:\n" + result.stdout
        )
    else:
        assert result.returncode == 2, result.stderr
        assert "MaxPooling2D" in result.stderr and "pools.yaml:" in result.stderr


def test_build_catches_the_shapes(pools):
    """Guard (passes today): --build refuses the stack, with its line."""
    result = cli("validate", "--build", pools)
    assert result.returncode == 2
    assert "pools.yaml:" in result.stderr and "MaxPooling2D" in result.stderr
