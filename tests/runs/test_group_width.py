"""The grouped `compare` in a terminal: the table when it fits, else a block per group."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table
from run_factory import make_run, metric_rows, results_for

from cnnrun.runs.group_width import render_groups_for_width
from cnnrun.runs.groups import group_runs
from cnnrun.runs.record import load_runs

CHAIN = [
    {"Conv2D": {"filters": 32, "kernel_size": 3}},
    "BatchNormalization",
    {"Conv2D": {"filters": 64, "kernel_size": 3}},
    {"MaxPooling2D": [2, 2]},
    {"Dropout": 0.25},
    {"Conv2D": {"filters": 128, "kernel_size": 3}},
    "BatchNormalization",
    "Flatten",
    {"Dense": {"units": 512}},
    {"Dense": {"units": 10, "activation": "softmax"}},
]


@pytest.fixture
def grouping(tmp_path: Path):
    for i, (layers, seed, accuracy) in enumerate(
        [(CHAIN, 1, 0.91), (CHAIN, 2, 0.93), (CHAIN[:-3] + CHAIN[-2:], 1, 0.88)]
    ):
        results = results_for(metric_rows(5), ("accuracy",))
        results["test"] = {"loss": 1.0 - accuracy, "accuracy": accuracy}
        make_run(tmp_path, f"r{i}", stamp=f"20240101-00000{i}", results=results,
                 overrides={"model.layers": layers, "seed": seed})  # fmt: skip
    return group_runs(load_runs([tmp_path]))


def printed(parts, width: int) -> list[str]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, highlight=False)
    for part in parts:
        console.print(part)
    return buffer.getvalue().splitlines()


def test_a_wide_terminal_gets_the_table(grouping) -> None:
    (table,) = render_groups_for_width(grouping, 1000)
    assert isinstance(table, Table) and table.title.startswith("2 groups of runs (by seed)")


def test_a_narrow_terminal_gets_blocks_that_break_no_word(grouping) -> None:
    parts = render_groups_for_width(grouping, 80)
    assert not any(isinstance(p, Table) for p in parts)
    lines = printed(parts, 80)
    assert all(len(line) <= 80 for line in lines), lines
    text = "\n".join(lines)
    assert lines[0].startswith("2 groups (by seed), mean ± sd (n-1), sorted by test_accuracy")
    # the figure the groups are sorted by comes first, each "name mean ± sd" on one line
    assert any(line.startswith("r0 (+1)  n 2  test_accuracy 0.9200 ± 0.0141") for line in lines)
    assert "test_loss 0.0800 ± 0.0141" in text
    # the layer chain wraps only between layers, and shows no space after an arrow
    chain_lines = [line.strip() for line in lines if "→" in line]
    assert len(chain_lines) > 2
    assert all(not line.startswith("→") and "→ " not in line for line in chain_lines)
    for line in chain_lines:
        for piece in line.removeprefix("model.layers ").split("→"):
            assert piece == "" or piece[0].isupper(), line  # a whole layer, e.g. Conv2D(...)


def test_one_group_is_called_a_group(grouping, tmp_path) -> None:
    one = group_runs(grouping.groups[0].records)
    assert printed(render_groups_for_width(one, 60), 60)[0].startswith("1 group (by seed)")
