"""Issue 13, "Output a person can read": `cnnrun compare` in an 80- and a 120-column terminal.

Today a terminal of 80 columns squeezes every column to a few characters (``t`` / ``e`` /
``s`` / ``t``) and one of 120 breaks words inside cells (``comple`` / ``ted``). Columns are
to be chosen by width (drop or abbreviate the least important, or one record per run when
narrow), and a word is never broken. The terminal tests use a pseudo-terminal of the
given size; the piped tests guard the other side (a pipe gets whole words at any COLUMNS).
"""

from __future__ import annotations

import pytest
from cli_helpers import BOX, broken_words, cli, markdown_vocabulary, plain, run_in_terminal

RUN_NAMES = (
    "20240101-120000-adam",
    "20240101-130000-sgd",
    "20240101-140000-drop",
    "20240101-160000-boom",
)


def _vocabulary(runs) -> set[str]:
    result = cli("compare", runs, "--format", "markdown")
    assert result.returncode == 0, result.stderr
    return markdown_vocabulary(result.stdout)


def _test_accuracies(runs) -> list[str]:
    """The test_accuracy cell of each completed run, as `--format markdown` writes it."""
    result = cli("compare", runs, "--format", "markdown")
    lines = [line.strip().strip("|").split("|") for line in result.stdout.splitlines()]
    header = [c.strip() for c in lines[0]]
    at = header.index("test_accuracy")
    return [row[at].strip() for row in lines[2:] if row[at].strip() not in ("", "-", "—")]


@pytest.mark.parametrize("columns", [80, 120])
def test_compare_in_a_terminal_fits_the_width_and_breaks_no_word(compare_runs, columns):
    code, raw = run_in_terminal("compare", compare_runs, columns=columns)
    out = plain(raw)
    assert code == 0, out
    too_wide = [line for line in out.splitlines() if len(line) > columns]
    assert not too_wide, f"lines wider than {columns}:\n" + "\n".join(too_wide)
    broken = broken_words(out, _vocabulary(compare_runs))
    assert not broken, f"words broken over two lines at {columns} columns: {broken}\n{out}"
    words = set(BOX.sub(" ", out).split())
    for name in RUN_NAMES:
        assert name in words, f"run {name} is not shown whole at {columns} columns:\n{out}"
    assert "failed" in words, out  # the status that matters is readable
    for value in _test_accuracies(compare_runs):  # the sort metric is kept, whole
        assert value in words, (value, out)
    for value in ("sgd", "0.5"):  # what differs between the runs is kept, whole
        assert value in words, (value, out)


@pytest.mark.parametrize("columns", [80, 120])
def test_compare_piped_keeps_whole_words_and_names(compare_runs, columns):
    """Guard (passes today): a pipe gets whole lines and words, whatever COLUMNS says."""
    result = cli("compare", compare_runs, columns=columns)
    assert result.returncode == 0, result.stderr
    assert not broken_words(result.stdout, _vocabulary(compare_runs)), result.stdout
    for name in RUN_NAMES:
        assert name in result.stdout
