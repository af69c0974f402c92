"""From a YAML file (plus ``extends:`` and ``--set``) to a validated :class:`Experiment`."""

from __future__ import annotations

import copy
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from cnnrun.config.overrides import Override, apply_overrides, as_overrides, deep_merge
from cnnrun.config.schema import INIT_FROM_CONFIG_SUFFIXES, MODEL_FORMS, Experiment
from cnnrun.config.yaml_io import Location, NotAConfigFile, document_line, load_yaml_file
from cnnrun.errors import ConfigError, ConfigErrors, did_you_mean

MAX_EXTENDS_DEPTH = 10


@dataclass
class LoadedConfig:
    """A validated experiment and where its keys came from."""

    experiment: Experiment
    source: str
    locations: dict[str, Location] = field(default_factory=dict)

    def error(self, message: str, path: str, **kwargs: Any) -> ConfigError:
        """A :class:`ConfigError` located at ``path`` (file and line filled in when known)."""
        file, line = locate(self.locations, path, self.source)
        return ConfigError(message, path=path, file=file, line=line, **kwargs)


def locate(locations: dict[str, Location], path: str, default_file: str) -> Location:
    """The (file, line) of ``path`` or of its nearest ancestor that has one."""
    probe = path
    while probe:
        if probe in locations:
            return locations[probe]
        cut = max(probe.rfind("."), probe.rfind("["))
        probe = probe[:cut] if cut > 0 else ""
    return (default_file, None)


def drop_locations_under(locations: dict[str, Location], path: str) -> None:
    """Forget the locations of ``path`` and of every key below it (it was replaced)."""
    for key in [k for k in locations if k == path or k.startswith((f"{path}.", f"{path}["))]:
        del locations[key]


def _replaced_paths(base: dict[str, Any], child: dict[str, Any], prefix: str = "") -> list[str]:
    """The key paths whose value :func:`deep_merge` takes whole from ``child``."""
    paths: list[str] = []
    for key, value in child.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            paths += _replaced_paths(base[key], value, path)
        else:
            paths.append(path)
    return paths


def read_with_extends(path: Path, chain: tuple[Path, ...] = ()) -> tuple[dict, dict]:
    """The file's data merged over its ``extends:`` chain, and each key's (file, line)."""
    path = path.resolve() if chain else path
    data, locations = load_yaml_file(path)
    if data is None:
        data = {}
    if chain and (not isinstance(data, dict) or not _looks_like_experiment(data)):
        raise NotAConfigFile("it is not a YAML mapping of experiment keys", file=str(path))
    if not isinstance(data, dict):
        raise ConfigError(
            "an experiment file must be a mapping of keys",
            expected="a YAML mapping (name: ..., model: ...)",
            received=type(data).__name__,
            file=str(path),
            line=document_line(path),
        )
    base_name = data.pop("extends", None)
    if base_name is None:
        return data, locations
    if not isinstance(base_name, str):
        file, line = locations.get("extends", (str(path), None))
        raise ConfigError(
            "`extends` names one file",
            path="extends",
            expected="a path string",
            received=repr(base_name),
            file=file,
            line=line,
        )
    base_path = (path.parent / base_name) if not Path(base_name).is_absolute() else Path(base_name)
    file, line = locations.get("extends", (str(path), None))
    if not base_path.exists():
        raise ConfigError(
            "the base file does not exist",
            path="extends",
            received=str(base_path),
            file=file,
            line=line,
        )
    seen = (*chain, path.resolve())
    if base_path.resolve() in seen:
        names = " -> ".join(p.name for p in (*seen, base_path.resolve()))
        raise ConfigError(f"`extends` makes a cycle: {names}", path="extends", file=file, line=line)
    if len(seen) >= MAX_EXTENDS_DEPTH:
        raise ConfigError(
            "`extends` is nested too deep",
            path="extends",
            expected=f"at most {MAX_EXTENDS_DEPTH} files in a chain",
            file=file,
            line=line,
        )
    try:
        base, base_locations = read_with_extends(base_path, seen)
    except NotAConfigFile as exc:
        # Said at the `extends` line that named the file; the file's content is not shown.
        raise ConfigError(
            f"`extends` names a file that cannot be an experiment file: {exc.message}",
            path="extends",
            received=str(base_path),
            file=file,
            line=line,
        ) from None
    for replaced in _replaced_paths(base, data):
        drop_locations_under(base_locations, replaced)
    return deep_merge(base, data), {**base_locations, **locations}


def _looks_like_experiment(data: dict) -> bool:
    """Whether a base file's keys are (mostly) experiment keys: no key of it is ever shown."""
    known = {*Experiment.model_fields, "extends"}
    return not data or any(isinstance(k, str) and k in known for k in data)


def read_experiment(
    path: str | Path, overrides: Sequence[Override | str] | None = None
) -> LoadedConfig:
    """Read, merge, override and validate an experiment file against the schema.

    Names (layers, optimizers, data sets, ...) are checked by
    :func:`cnnrun.checks.load_experiment`, which calls this first.

    Args:
        path: The YAML file.
        overrides: ``KEY=VALUE`` assignments (``--set``) or typed :class:`Override`
            values (``--epochs``), applied in order.

    Returns:
        The validated experiment with key locations.

    Raises:
        ConfigError: On the first problem found, located by key path and line.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError("expected an experiment file, received a folder", file=str(path))
    data, locations = read_with_extends(path)
    typed = as_overrides(overrides or [])
    data = apply_overrides(data, typed)
    for item in typed:
        drop_locations_under(locations, item.key)  # the file's lines below it are stale
        locations[item.key] = (item.source, None)
    _resolve_init_from(data, locations)
    try:
        return LoadedConfig(validate(data, locations, str(path)), str(path), locations)
    except ConfigErrors as exc:
        if exc.partial is not None:
            exc.partial = LoadedConfig(exc.partial, str(path), locations)
        raise


def _resolve_init_from(data: dict[str, Any], locations: dict[str, Location]) -> None:
    """Make ``init_from``'s path absolute: relative to the file that names it.

    A value given with ``--set`` is relative to the current folder. The short form becomes
    the long one here, where the path can be looked at: a ``.yaml``/``.yml`` name that is
    not a folder is an experiment file (``{config: ...}``), anything else a run folder.
    """
    value = data.get("init_from")
    if isinstance(value, str) and value:
        path = _absolute(value, locations, "init_from")
        is_config = value.lower().endswith(INIT_FROM_CONFIG_SUFFIXES) and not path.is_dir()
        data["init_from"] = {"config" if is_config else "run": str(path)}
        return
    if not isinstance(value, dict):
        return
    for key in ("run", "config"):
        if isinstance(value.get(key), str) and value[key]:
            value[key] = str(_absolute(value[key], locations, f"init_from.{key}"))


def _absolute(text: str, locations: dict[str, Location], key: str) -> Path:
    """``text`` as a resolved path, relative to the file where ``key`` was written."""
    path = Path(text).expanduser()
    if not path.is_absolute():
        source = (locations.get(key) or locations.get("init_from") or ("", None))[0]
        base = Path(source).parent if source and Path(source).is_file() else Path.cwd()
        path = base / path
    return path.resolve()


def validate(data: dict[str, Any], locations: dict[str, Location], source: str) -> Experiment:
    """Validate raw data into an :class:`Experiment`, turning pydantic's errors into ours.

    Raises:
        ConfigErrors: Every problem pydantic found, located; its ``partial`` is the
            experiment with the invalid keys left at their defaults, when that validates
            (so the name checks can still look at the rest of the file).
    """
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        errors = _explained(exc.errors())
        problems = _merged([_convert(e, data, locations, source) for e in errors])
        raise ConfigErrors.of(problems, partial=_repaired(data, errors)) from None


def _merged(problems: list[ConfigError]) -> list[ConfigError]:
    """One problem per key: a union's alternatives (``true``, ``auto``) in one ``expected``."""
    by_path: dict[str, ConfigError] = {}
    for p in problems:
        first = by_path.setdefault(p.path, p)
        if first is not p and first.message == p.message == "invalid value" and p.expected:
            first.expected = f"{first.expected}, or {p.expected}" if first.expected else p.expected
    return [p for p in problems if by_path[p.path] is p or by_path[p.path].message != p.message]


def _explained(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's errors less the missing keys that a misspelt key beside them explains."""
    misspelt = {tuple(e["loc"][:-1]) for e in errors if e["type"] == "extra_forbidden"}
    kept = [e for e in errors if not (e["type"] == "missing" and tuple(e["loc"][:-1]) in misspelt)]
    return kept or errors


def _repaired(data: dict[str, Any], errors: list[dict[str, Any]]) -> Experiment | None:
    """The experiment without the keys pydantic rejected (their defaults instead), or None.

    None when a rejected key is required, or inside a list (dropping an item would move the
    items after it, and their key paths with them).
    """
    data = copy.deepcopy(data)
    for _ in range(5):
        if not all(_drop(data, list(e["loc"])) for e in errors):
            return None
        try:
            return Experiment.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
    return None


def _drop(data: Any, loc: list[Any]) -> bool:
    """Delete the deepest mapping key of ``loc`` that ``data`` has; whether one was."""
    node, parent, key = data, None, None
    for el in loc:
        if isinstance(node, dict) and el in node:
            parent, key, node = node, el, node[el]
        elif isinstance(node, list) and isinstance(el, int) and el < len(node):
            parent, key, node = None, None, node[el]  # never drop list items
        # else: a union tag pydantic adds to the location
    if isinstance(parent, dict) and key is not None:
        del parent[key]
        return True
    return False


def _convert(err: dict[str, Any], data: Any, locations: dict, source: str) -> ConfigError:
    loc = list(err["loc"])
    path_parts: list[str | int] = []
    node = data
    for i, el in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(el, int) and isinstance(node, list) and el < len(node):
            node = node[el]
        elif isinstance(node, dict) and el in node:
            node = node[el]
        elif isinstance(node, str) and el == node:  # a bare layer/callback name
            continue
        elif not last or err["type"] not in ("extra_forbidden", "missing"):
            continue  # a union tag pydantic adds to the location
        path_parts.append(el)
    path = ""
    for p in path_parts:
        path += f"[{p}]" if isinstance(p, int) else (f".{p}" if path else str(p))
    file, line = locate(locations, path, source)
    kind = err["type"]
    received = _short(err.get("input"))
    if kind == "extra_forbidden":
        key = str(loc[-1])
        fields = _fields_at(loc[:-1])
        # `extends` is read before validation, but may be what a top-level typo meant.
        choices = [*fields, "extends"] if len(loc) == 1 else fields
        return ConfigError(
            f"unknown key '{key}'",
            path=path,
            file=file,
            line=line,
            expected=f"one of: {', '.join(fields)}" if fields else None,
            received=repr(key),
            suggestion=did_you_mean(key, choices),
        )
    if kind == "missing":
        return ConfigError(f"missing required key '{loc[-1]}'", path=path, file=file, line=line)
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        tag = str(ctx.get("tag", ""))
        name_path = f"{path}.name" if path else "name"
        file, line = locate(locations, name_path, source)
        return ConfigError(
            f"unknown schedule '{tag}'",
            path=name_path,
            file=file,
            line=line,
            expected=f"one of: {', '.join(tags)}",
            received=repr(tag),
            suggestion=did_you_mean(tag, tags),
        )
    if kind == "literal_error":
        options = [
            o.strip(" '") for o in str(err["ctx"]["expected"]).replace(" or ", ",").split(",")
        ]
        options = [o for o in options if o]
        return ConfigError(
            "invalid value",
            path=path,
            file=file,
            line=line,
            expected=f"one of: {', '.join(options)}",
            received=received,
            suggestion=did_you_mean(str(err.get("input")), options),
        )
    expected = str(err["msg"]).removeprefix("Value error, ").removeprefix("Input should be ")
    return ConfigError(
        "invalid value", path=path, file=file, line=line, expected=expected, received=received
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models a field's type annotation refers to (through unions and lists)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += models_in(arg)
    return found


def _fields_at(loc: list) -> list[str]:
    """The valid keys of the model found at ``loc`` (union tags resolved by schedule name)."""
    models: list[type[BaseModel]] = [Experiment]
    for el in loc:
        if isinstance(el, int):
            continue
        if len(models) > 1:
            models = [m for m in models if _is_union_tag(m, el)]
            continue
        fields = models[0].model_fields if models else {}
        if el not in fields:
            return []
        models = models_in(fields[el].annotation)
        if not models:
            return []
    return list(models[0].model_fields) if len(models) == 1 else []


def _is_union_tag(model: type[BaseModel], tag: Any) -> bool:
    """Whether ``tag`` (in an error location) picks ``model`` out of its union."""
    if model in MODEL_FORMS.values():
        return MODEL_FORMS.get(tag) is model
    return "name" in model.model_fields and tag in str(model.model_fields["name"].annotation)
