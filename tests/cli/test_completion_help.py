"""Issue 13: shell completion is on, and the help reads well at 80 columns.

- ``--install-completion`` / ``--show-completion`` are switched off today
  (``add_completion=False``); Typer's completion is to be on, and complete config files,
  run folders and the names of `cnnrun list`. The completion tests use Typer's bash
  protocol: ``_CNNRUN_COMPLETE=complete_bash COMP_WORDS=... COMP_CWORD=N cnnrun``.
- Every flag shows a ``<bool>`` metavar, and option help is cut with ``…`` at 80 columns.
- `cnnrun list schedules` leaks RST double backticks and an empty ``args:``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_helpers import BOX, cli, cli_env, make_run

COMMANDS = [
    [],
    ["train"],
    ["summary"],
    ["validate"],
    ["list"],
    ["schema"],
    ["compare"],
    ["show"],
    ["evaluate"],
    ["predict"],
    ["sweep"],
    ["smoke"],
    ["data"],
    ["data", "list"],
    ["data", "where"],
    ["data", "import"],
    ["data", "show"],
]
LISTINGS = [
    "layers",
    "datasets",
    "optimizers",
    "schedules",
    "callbacks",
    "losses",
    "metrics",
    "backbones",
    "builders",
]


def complete(words: str, cwd: Path | None = None) -> list[str]:
    """What bash completion offers for the command line ``words`` (the last word is typed)."""
    parts = words.split(" ")
    env = cli_env(80, _CNNRUN_COMPLETE="complete_bash", COMP_WORDS=words)
    env["COMP_CWORD"] = str(len(parts) - 1)
    result = cli(env=env, cwd=cwd)
    assert result.returncode == 0, f"completion of {words!r} failed:\n{result.stderr}"
    return [line for line in result.stdout.splitlines() if line.strip()]


# ---------------------------------------------------------------------------------------
# Completion


def test_completion_options_are_offered():
    result = cli("--help", columns=120)
    assert result.returncode == 0, result.stderr
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout


def test_show_completion_prints_a_bash_script():
    # Typer finds the shell among the parent processes (none under a detached job); this
    # switch makes --show-completion take the shell's name instead.
    env = cli_env(80, _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
    result = cli("--show-completion", "bash", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "_CNNRUN_COMPLETE" in result.stdout and "complete" in result.stdout


def test_list_names_complete():
    offered = complete("cnnrun list ")
    assert set(LISTINGS) <= set(offered), offered
    assert complete("cnnrun list sch") == ["schedules"]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder with an experiment file, a note, a configs/ folder and a runs/ folder."""
    (tmp_path / "exp.yaml").write_text("name: x\n")
    (tmp_path / "notes.txt").write_text("not a config\n")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "mine.yaml").write_text("name: y\n")
    make_run(tmp_path / "runs", "first", stamp="20240101-120000")
    return tmp_path


def test_config_files_complete(workdir):
    offered = complete("cnnrun train e", cwd=workdir)
    assert "exp.yaml" in offered, offered
    offered = complete("cnnrun validate configs/", cwd=workdir)
    assert "configs/mine.yaml" in offered, offered
    assert "notes.txt" not in complete("cnnrun train n", cwd=workdir)


def test_run_folders_complete(workdir):
    run = "runs/20240101-120000-first"
    for words in ("cnnrun show runs/", "cnnrun compare runs/", "cnnrun train --resume runs/"):
        offered = [o.rstrip("/") for o in complete(words, cwd=workdir)]
        assert run in offered, (words, offered)


# ---------------------------------------------------------------------------------------
# Help


def _helps(columns: int) -> dict[str, str]:
    helps = {}
    for command in COMMANDS:
        result = cli(*command, "--help", columns=columns)
        assert result.returncode == 0, (command, result.stderr)
        helps[" ".join(["cnnrun", *command])] = result.stdout
    return helps


@pytest.fixture(scope="module")
def helps() -> dict[str, str]:
    """``cnnrun [COMMAND] --help`` of every command, piped at 80 columns."""
    return _helps(80)


def test_help_shows_no_bool_metavar(helps):
    bad = {
        name: [line.strip() for line in out.splitlines() if "<bool>" in line]
        for name, out in helps.items()
        if "<bool>" in out
    }
    assert not bad, "flags show a <bool> metavar:\n" + "\n".join(
        f"{name}: {lines}" for name, lines in bad.items()
    )


def _ellipsized(text: str) -> set[str]:
    return {BOX.sub(" ", w).strip() for w in text.split() if "…" in w} - {""}


def test_help_at_80_columns_is_not_cut(helps):
    """A word cut with … at 80 columns (the help's own "accuracy…" is not a cut)."""
    wide = _helps(300)
    bad = {}
    for name, out in helps.items():
        cut = _ellipsized(out) - _ellipsized(wide[name])
        if cut:
            bad[name] = [line.strip() for line in out.splitlines() if any(c in line for c in cut)]
    assert not bad, "help text cut at 80 columns:\n" + "\n".join(
        f"{name}: {lines}" for name, lines in bad.items()
    )


def test_listings_have_no_rst_backticks():
    for what in LISTINGS:
        result = cli("list", what, columns=300)
        assert result.returncode == 0, result.stderr
        assert "``" not in result.stdout, f"`cnnrun list {what}` shows RST markup:\n" + "\n".join(
            line for line in result.stdout.splitlines() if "``" in line
        )


def test_listings_have_no_empty_args():
    for what in LISTINGS:
        result = cli("list", what, columns=300)  # wide: no cell is wrapped
        assert result.returncode == 0, result.stderr
        empty = [line for line in result.stdout.splitlines() if re.search(r"args:\s*(│|$)", line)]
        assert not empty, f"`cnnrun list {what}` has an empty args:\n" + "\n".join(empty)
