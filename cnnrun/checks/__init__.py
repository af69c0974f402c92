"""Checks of an experiment against Keras's catalog and our registries (no TensorFlow).

:func:`load_experiment` is how every command reads an experiment file: the schema
(:mod:`cnnrun.config`), then every name it refers to (:mod:`cnnrun.checks.names`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cnnrun.checks.names import check_names
from cnnrun.config.load import LoadedConfig, read_experiment
from cnnrun.config.overrides import Override


def load_experiment(
    path: str | Path, overrides: Sequence[Override | str] | None = None
) -> LoadedConfig:
    """Read an experiment file (``extends:``, ``--set``), validate it and check its names.

    Args:
        path: The YAML file.
        overrides: ``KEY=VALUE`` texts (``--set``) or typed overrides, applied in order.

    Returns:
        The validated experiment with key locations.

    Raises:
        ConfigError: On the first problem found, located by key path and line.
    """
    loaded = read_experiment(path, overrides)
    check_names(loaded)
    return loaded


__all__ = ["load_experiment"]
