"""``init_from: FILE.yaml``: the experiment file it names exists and is itself valid.

The base file is read the way every experiment file is (schema and names), and so is its
own ``init_from`` file, if any; a chain that comes back to a file already in it is an
error. A base file's problems are shown located in that file, after one line at the
``init_from`` key that names it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from cnnrun.config.load import LoadedConfig, read_with_extends
from cnnrun.config.overrides import Override
from cnnrun.config.yaml_io import NotAConfigFile
from cnnrun.errors import ConfigError, ConfigErrors

MAX_CHAIN = 10  # files in a chain of init_from configs (as extends' depth)

Loader = Callable[[Path, Sequence[Override | str], tuple[Path, ...]], LoadedConfig]


def base_config_path(loaded: LoadedConfig) -> Path | None:
    """The experiment file ``init_from`` names (absolute), or None for none or a run folder."""
    spec = loaded.experiment.init_from
    return None if spec is None or spec.config is None else Path(spec.config)


def check_base_config(
    loaded: LoadedConfig,
    load: Loader,
    chain: tuple[Path, ...] = (),
) -> LoadedConfig | None:
    """Read the base experiment file of ``init_from`` (None when there is none).

    Args:
        loaded: The experiment that names the base file.
        load: How to read an experiment file (``load_experiment``'s inner loader, which
            calls this again for the base's own ``init_from``).
        chain: The files that led here, to refuse a cycle.

    Raises:
        ConfigError: At ``init_from`` when the file is missing, makes a cycle or a chain
            too long; with the base file's own problems when it is not valid.
    """
    path = base_config_path(loaded)
    if path is None:
        return None
    key = "init_from.config"
    if not path.is_file():
        raise loaded.error(
            "the experiment file it names does not exist",
            key,
            expected="an experiment file (.yaml), relative to this file, or a run folder",
            received=str(path),
        )
    here = (*chain, Path(loaded.source).resolve())
    if path.resolve() in here:
        names = " -> ".join(p.name for p in (*here, path.resolve()))
        raise loaded.error(f"init_from makes a cycle: {names}", key)
    if len(here) >= MAX_CHAIN:
        raise loaded.error(
            "init_from's chain of experiment files is too long",
            key,
            expected=f"at most {MAX_CHAIN} files in a chain",
        )
    try:  # as `extends:` does: a file that is no experiment file is refused unquoted
        read_with_extends(path, here)
    except NotAConfigFile as exc:
        raise loaded.error(
            f"the file it names cannot be an experiment file: {exc.message}",
            key,
            received=str(path),
        ) from None
    except ConfigError:
        pass  # reported, located in that file, by the full reading below
    try:
        return load(path, [], here)
    except ConfigError as exc:
        problems = exc.problems if isinstance(exc, ConfigErrors) else [exc]
        head = loaded.error(
            f"the experiment file it names is not valid ({_count(len(problems))} in it)",
            key,
            received=str(path),
        )
        raise ConfigErrors.of([head, *problems]) from None


def _count(n: int) -> str:
    return "1 problem" if n == 1 else f"{n} problems"
