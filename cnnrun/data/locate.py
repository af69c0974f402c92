"""Where data files are looked for, in order: the config's path, $CNNRUN_DATA, Keras's cache."""

from __future__ import annotations

import os
from pathlib import Path

# The files or folders each built-in data set is found under (the first is the one to place).
FILES: dict[str, list[str]] = {
    "mnist": ["mnist.npz"],
    "fashion_mnist": ["fashion_mnist.npz", "fashion-mnist"],
    "cifar10": ["cifar10.npz", "cifar-10-batches-py", "cifar-10-batches-py-target"],
}


def keras_cache_dir() -> Path:
    """Keras's data set cache: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def search_dirs(config_path: str | None) -> list[Path]:
    """The folders searched for a data file, in order."""
    dirs: list[Path] = []
    if config_path:
        p = Path(config_path).expanduser()
        dirs.append(p if p.is_dir() else p.parent)
    if os.environ.get("CNNRUN_DATA"):
        dirs.append(Path(os.environ["CNNRUN_DATA"]).expanduser())
    dirs.append(keras_cache_dir())
    return dirs


def find(names: list[str], config_path: str | None) -> Path | None:
    """The first existing file or folder named one of ``names`` in the search folders.

    A config ``path`` that points straight at an existing file, or at a folder named one
    of ``names`` (``cifar-10-batches-py``), is returned as is.
    """
    if config_path:
        given = Path(config_path).expanduser()
        if given.is_file() or (given.is_dir() and given.name in names):
            return given
    for folder in search_dirs(config_path):
        for name in names:
            candidate = folder / name
            if candidate.exists():
                return candidate
    return None


def where_message(names: list[str], config_path: str | None) -> str:
    """Say which file to place where, for an error when nothing was found."""
    places = "\n".join(f"  - {d}" for d in search_dirs(config_path))
    return (
        f"place {' or '.join(repr(n) for n in names)} in one of these folders "
        f"(searched in this order):\n{places}\n"
        "or set data.path in the experiment file, or $CNNRUN_DATA "
        "(`cnnrun data import FILE` copies a file into Keras's cache)"
    )
