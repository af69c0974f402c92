"""Shell completion of command arguments: experiment files and run folders.

Typer's bash completion prints only the values a callback returns (a ``Path`` argument
alone completes nothing), so arguments name one of these callbacks. They run on every
<TAB>: quick, no TensorFlow, and silent on errors.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from cnnrun import runfiles

MAX_OFFERED = 200


def _entries(incomplete: str) -> Iterator[tuple[str, Path]]:
    """``(text to offer, path)`` for each entry of the folder ``incomplete`` is typed in."""
    folder_text, _, prefix = incomplete.rpartition("/")
    if incomplete.startswith("/") and not folder_text:
        folder_text = "/"
    folder = Path(os.path.expanduser(folder_text or "."))
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return
    for child in children:
        if not child.name.startswith(prefix):
            continue
        if child.name.startswith(".") and not prefix.startswith("."):
            continue
        if folder_text == "/":
            shown = "/" + child.name
        else:
            shown = f"{folder_text}/{child.name}" if folder_text else child.name
        yield shown, child


def _offer(incomplete: str, keep: Callable[[Path], bool]) -> list[str]:
    offered = []
    for shown, path in _entries(incomplete):
        try:
            if keep(path):
                offered.append(shown)
            elif path.is_dir():
                offered.append(shown + "/")  # a folder to descend into
        except OSError:
            continue
        if len(offered) >= MAX_OFFERED:
            break
    return offered


def config_files(incomplete: str) -> list[str]:
    """YAML files and folders that start with ``incomplete``, and packaged config names."""
    offered = _offer(incomplete, lambda p: p.is_file() and p.suffix in (".yaml", ".yml"))
    if "/" not in incomplete:
        from cnnrun.config.packaged import names

        offered += [n for n in names() if n.startswith(incomplete) and f"{n}.yaml" not in offered]
    return offered


def packaged_names(incomplete: str) -> list[str]:
    """The packaged configs' names that start with ``incomplete`` (``cnnrun init``)."""
    from cnnrun.config.packaged import names

    return [n for n in names() if n.startswith(incomplete)]


def _is_run(path: Path) -> bool:
    return path.is_dir() and (path / runfiles.RUN).is_file()


def run_folders(incomplete: str) -> list[str]:
    """Run folders (with ``run.json``) and folders to look into, starting with ``incomplete``."""
    return _offer(incomplete, _is_run)


def run_or_sweep_folders(incomplete: str) -> list[str]:
    """Run and sweep folders, and folders to look into (``compare`` takes either)."""
    return _offer(incomplete, lambda p: _is_run(p) or (p / runfiles.SWEEP).is_file())


def config_or_run(incomplete: str) -> list[str]:
    """Experiment files, packaged names and run folders (``train`` and ``summary`` take any)."""
    runs = [r for r in run_folders(incomplete) if not r.endswith("/")]
    return sorted({*config_files(incomplete), *runs})
