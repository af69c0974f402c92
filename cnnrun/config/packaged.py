"""The experiment files shipped inside the package: found by name, copied out by ``cnnrun init``.

The files are the repository's ``configs/`` folder; ``cnnrun/configs`` is a symlink to it,
which setuptools follows, so a wheel holds them as ``cnnrun/configs/*.yaml``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from cnnrun.config.yaml_io import load_yaml_file
from cnnrun.errors import ConfigError, DataError, did_you_mean

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


def names() -> list[str]:
    """The names of the packaged experiment files (``demo``, ``fashion_bn``, ...), sorted."""
    if not CONFIG_DIR.is_dir():
        return []
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def packaged(name: str) -> Path | None:
    """The packaged file called ``name`` (with or without ``.yaml``), or None."""
    stem = name.removesuffix(".yaml").removesuffix(".yml")
    if "/" in stem or "\\" in stem or stem not in names():
        return None
    return CONFIG_DIR / f"{stem}.yaml"


def resolve(arg: str | Path) -> Path:
    """The experiment file ``arg`` names: an existing path first, else a packaged config.

    Raises:
        ConfigError: When ``arg`` is neither a file nor a packaged config's name (exit 2),
            with the closest packaged name as "did you mean".
    """
    path = Path(arg)
    if path.exists():
        return path
    found = packaged(str(arg))
    if found is not None:
        return found
    shipped = names()
    return _raise_unknown(str(arg), shipped)


def _raise_unknown(arg: str, shipped: list[str]) -> Path:
    raise ConfigError(
        "no such file, and no packaged config of that name",
        expected="an experiment file (YAML), or a packaged config: " + ", ".join(shipped),
        received=repr(arg),
        suggestion=did_you_mean(Path(arg).stem, shipped),
    )


def description(name: str) -> str:
    """The first comment line of a packaged config (what it reproduces), or ''."""
    path = packaged(name)
    if path is None:
        return ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
        if line.strip():
            break
    return ""


def _extends_chain(path: Path) -> list[Path]:
    """``path`` and the packaged files it extends, in order (each read once)."""
    chain = [path]
    while True:
        data, _ = load_yaml_file(chain[-1])
        base = data.get("extends") if isinstance(data, dict) else None
        if not isinstance(base, str) or not re.fullmatch(r"[\w.-]+\.ya?ml", base):
            return chain
        nxt = CONFIG_DIR / base
        if not nxt.is_file() or nxt in chain:
            return chain
        chain.append(nxt)


def copy_out(name: str, folder: Path) -> list[Path]:
    """Copy the packaged config ``name`` and the files it ``extends:`` into ``folder``.

    Returns:
        The files written, the named one first.

    Raises:
        ConfigError: ``name`` is not a packaged config (exit 2, with "did you mean").
        DataError: A file of that name already exists in ``folder`` (nothing is written).
    """
    source = packaged(name)
    if source is None:
        _raise_unknown(name, names())
    assert source is not None
    chain = _extends_chain(source)
    targets = [folder / p.name for p in chain]
    existing = [t for t in targets if t.exists()]
    if existing:
        raise DataError(f"{existing[0]} exists; not overwritten")
    folder.mkdir(parents=True, exist_ok=True)
    for src, dst in zip(chain, targets, strict=True):
        shutil.copyfile(src, dst)
    return targets
