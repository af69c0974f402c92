"""``--set KEY=VALUE`` overrides and ``extends:`` inheritance on raw config data."""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cnnrun.config.yaml_io import parse_scalar
from cnnrun.errors import ConfigError

# What `--synthetic` sets: generated data of the model's shape, no data file.
SYNTHETIC_DATA = ("data.dataset=synthetic", "data.path=null")

_KEY = re.compile(r"[^.\[\]]+")
_INDEX = re.compile(r"\[(-?\d+)\]")


def split_path(path: str) -> list[str | int]:
    """Split ``model.layers[2].Dropout`` into ``["model", "layers", 2, "Dropout"]``.

    Raises:
        ConfigError: When the path is empty or malformed.
    """
    parts: list[str | int] = []
    pos = 0
    while pos < len(path):
        if parts and path[pos] == "[":
            m = _INDEX.match(path, pos)
            if not m:
                break
            parts.append(int(m.group(1)))
        else:
            # A key starts the path or follows a dot (`a.b`, `a[0].b`; not `a.`, `a[0]b`).
            if parts and path[pos] != ".":
                break
            m = _KEY.match(path, pos + 1 if parts else pos)
            if not m:
                break
            parts.append(m.group())
        pos = m.end()
    if not parts or pos != len(path):
        raise ConfigError(
            "malformed key path",
            expected="dotted keys with list indices, e.g. model.layers[2].Dropout",
            received=repr(path),
            file="--set",
        )
    return parts


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at dotted ``path`` in ``data``, creating missing mappings.

    Raises:
        ConfigError: When an index is out of range or a key goes through a non-mapping.
    """
    parts = split_path(path)
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = _join(parts[: i + 1])
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ConfigError(
                    "an index needs a list",
                    path=_join(parts[:i]),
                    file="--set",
                    received=type(node).__name__,
                )
            if not -len(node) <= part < len(node):
                n = len(node)
                raise ConfigError(
                    f"index {part} is out of range",
                    path=where,
                    expected=(
                        "no index: the list is empty"
                        if not n
                        else f"an index below {n}"
                        if part >= 0
                        else f"an index from {-n} to {n - 1}"
                    ),
                    received=str(part),
                    file="--set",
                )
        elif not isinstance(node, dict):
            # A bare layer name (`Flatten`) given arguments becomes a one-key mapping.
            raise ConfigError(
                "a key needs a mapping",
                path=_join(parts[:i]),
                file="--set",
                received=repr(node),
            )
        if last:
            node[part] = value
        else:
            if isinstance(part, str) and part not in node:
                if isinstance(parts[i + 1], int):
                    raise ConfigError(
                        f"key '{part}' does not exist, so it has no index {parts[i + 1]}",
                        path=where,
                        expected=f"a list at {where}: set the whole list, e.g. --set {where}=[...]",
                        file="--set",
                    )
                node[part] = {}
            nxt = node[part]
            if isinstance(nxt, str) and isinstance(parts[i + 1], str) and parts[i + 1] == nxt:
                nxt = node[part] = {nxt: {}}
            node = nxt


def _join(parts: list[str | int]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


@dataclass(frozen=True)
class Override:
    """One key set from the command line, its value already typed.

    Attributes:
        key: Dotted key path with list indices (``model.layers[2].Dropout``).
        value: The value (``--set`` text is parsed as YAML once, by :meth:`parse`).
        source: How the user wrote it, where errors point (``--set epochs=3``, ``--seed 7``).
    """

    key: str
    value: Any
    source: str

    @classmethod
    def parse(cls, item: str) -> Override:
        """Parse ``KEY=VALUE`` (``--set``); the value is YAML.

        Raises:
            ConfigError: On an assignment without ``=`` or a value that is not YAML.
        """
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                "an override needs KEY=VALUE",
                expected="e.g. --set optimizer.learning_rate=3e-4",
                received=repr(item),
                file="--set",
            )
        try:
            value = parse_scalar(raw) if raw.strip() else None
        except ConfigError as exc:
            exc.file, exc.line, exc.path = f"--set {item}", None, key.strip()
            raise
        return cls(key.strip(), value, f"--set {item}")

    @classmethod
    def option(cls, key: str, value: Any) -> Override:
        """A key set by its own option (``--epochs 3`` sets ``epochs``), value as given."""
        return cls(key, value, f"--{key} {value}")


def as_overrides(items: Sequence[Override | str]) -> list[Override]:
    """``--set`` texts parsed, typed overrides kept as they are."""
    return [item if isinstance(item, Override) else Override.parse(item) for item in items]


def apply_overrides(data: dict[str, Any], overrides: Sequence[Override | str]) -> dict[str, Any]:
    """Apply overrides (typed, or ``KEY=VALUE`` text parsed as YAML) to a copy of ``data``.

    Raises:
        ConfigError: On an assignment without ``=`` or with a bad path.
    """
    data = copy.deepcopy(data)
    for item in as_overrides(overrides):
        if split_path(item.key)[0] == "extends":
            raise ConfigError(
                "`extends` cannot be set with --set: it is read with the file, before the "
                "overrides; put `extends: FILE` in the experiment file",
                path="extends",
                file=item.source,
            )
        set_path(data, item.key, item.value)
    return data


def deep_merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Merge ``child`` over ``base``: mappings merge key by key, anything else is replaced."""
    out = copy.deepcopy(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
