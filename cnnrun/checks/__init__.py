"""Checks of an experiment against Keras's catalog and our registries (no TensorFlow).

:func:`load_experiment` is how every command reads an experiment file: the schema
(:mod:`cnnrun.config`), then every name it refers to (:mod:`cnnrun.checks.names`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cnnrun.checks.init_from import check_base_config
from cnnrun.checks.names import check_names, name_problems
from cnnrun.config.load import LoadedConfig, read_experiment
from cnnrun.config.overrides import Override
from cnnrun.errors import ConfigErrors


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
        ConfigError: The problem found, located by key path and line; a
            :class:`~cnnrun.errors.ConfigErrors` when there are several (each is reported).
    """
    return _load(Path(path), overrides or [], ())


def _load(path: Path, overrides: Sequence[Override | str], chain: tuple[Path, ...]) -> LoadedConfig:
    """:func:`load_experiment`, ``chain`` being the files whose ``init_from`` led here."""
    try:
        loaded = read_experiment(path, overrides)
    except ConfigErrors as exc:
        if exc.partial is None:
            raise
        # The schema's problems, and those of the names in the rest of the file.
        raise ConfigErrors.of([*exc.problems, *name_problems(exc.partial)]) from None
    check_names(loaded)
    check_base_config(loaded, _load, chain)  # init_from: FILE.yaml is valid too
    return loaded


__all__ = ["load_experiment"]
