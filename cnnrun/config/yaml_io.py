"""Safe YAML reading that remembers where each key came from.

PyYAML's safe loader already refuses ``!!python/...`` tags. On top of it this module
turns duplicate keys into errors, reads ``1e-3`` as a number (YAML 1.1 would make it a
string), and records the file and line of every key path so errors can point at them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from cnnrun.errors import ConfigError

Location = tuple[str, int | None]  # (file, 1-based line)

_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _Loader(yaml.SafeLoader):
    """SafeLoader with strict keys and YAML 1.2-style floats."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:float"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue  # `<<: *anchor`: its keys may be overridden here (flatten_mapping)
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            raise ConfigError(
                "a mapping key must be a single value (a name or a number)",
                received=repr(key),
                file=key_node.start_mark.name,
                line=line,
            ) from None
        if key in seen:
            raise ConfigError(
                f"duplicate key '{key}' (first defined on line {seen[key]})",
                file=key_node.start_mark.name,
                line=line,
            )
        seen[key] = line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _locations(node: yaml.Node, prefix: str, out: dict[str, Location]) -> None:
    """Record the line of every key path under ``node``."""
    if isinstance(node, yaml.MappingNode):
        # Keys merged in with `<<: *anchor` first, so the mapping's own keys override them.
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for item in reversed(merged):  # earlier mappings win, as in flatten_mapping
                    if isinstance(item, yaml.MappingNode):
                        _locations(item, prefix, out)
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            path = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            out[path] = (key_node.start_mark.name, key_node.start_mark.line + 1)
            _locations(value_node, path, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = f"{prefix}[{i}]"
            out[path] = (item.start_mark.name, item.start_mark.line + 1)
            _locations(item, path, out)


def parse_yaml(text: str, name: str = "<string>") -> tuple[Any, dict[str, Location]]:
    """Parse YAML text safely.

    Args:
        text: The YAML document.
        name: File name used in error messages.

    Returns:
        The data and a map from key path (``model.layers[2]``) to (file, line).

    Raises:
        ConfigError: On a syntax error, an unsafe tag or a duplicate key.
    """
    loader = _Loader(text)
    loader.name = name  # marks (and so error locations) carry this name
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        locations: dict[str, Location] = {}
        _locations(node, "", locations)
        return loader.construct_document(node), locations
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        merging = "for merging" in str(exc.problem)  # `<<: 3`
        raise ConfigError(
            f"{'invalid' if merging else 'unsupported'} YAML: {exc.problem}",
            expected="`<<: *anchor`, or `<<: [*a, *b]`, naming mappings"
            if merging
            else "plain YAML (safe loader: no !!python or other custom tags)",
            file=name,
            line=mark.line + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        if isinstance(exc, yaml.composer.ComposerError) and context:
            # "expected a single document in the stream" + ", but found another document"
            context_mark = getattr(exc, "context_mark", None)
            if context.endswith("first occurrence") and context_mark:
                context += f" on line {context_mark.line + 1}"
            problem = f"{context}, {problem}"
        raise ConfigError(
            f"invalid YAML: {problem}", file=name, line=mark.line + 1 if mark else None
        ) from None
    finally:
        loader.dispose()


def parse_scalar(text: str) -> Any:
    """Parse one ``--set`` value as a YAML scalar (or flow list/mapping)."""
    data, _ = parse_yaml(text, name="--set")
    return data


def load_yaml_file(path: Path) -> tuple[Any, dict[str, Location]]:
    """Read and parse a YAML file (see :func:`parse_yaml`).

    Raises:
        ConfigError: When the file is missing or is not valid YAML.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except (IsADirectoryError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the file: {exc}", file=str(path)) from None
    return parse_yaml(text, name=str(path))


def document_line(path: Path) -> int | None:
    """The 1-based line where the (valid, single) YAML document of ``path`` starts."""
    loader = _Loader(Path(path).read_text(encoding="utf-8"))
    try:
        node = loader.get_single_node()
        return node.start_mark.line + 1 if node is not None else None
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()


class _FlowList(list):
    pass


class _FlowDict(dict):
    pass


class _Dumper(yaml.SafeDumper):
    """SafeDumper that quotes a string wherever the loader would read something else."""


# The loader's resolvers (YAML 1.2 floats), so a string such as '1e3' is written quoted.
_Dumper.yaml_implicit_resolvers = {k: list(v) for k, v in _Loader.yaml_implicit_resolvers.items()}

_Dumper.add_representer(
    _FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)
_Dumper.add_representer(
    _FlowDict, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True)
)


def _scalar(v: Any) -> bool:
    return not isinstance(v, dict | list) or (
        isinstance(v, list) and all(not isinstance(i, dict | list) for i in v)
    )


def _styled(obj: Any, in_item: bool = False) -> Any:
    """Block style for sections, flow style for short lists and a layer's arguments."""
    if isinstance(obj, list):
        if all(not isinstance(i, dict | list) for i in obj):
            return _FlowList(obj)
        return [
            {k: _styled(v, True) for k, v in i.items()} if isinstance(i, dict) else _styled(i)
            for i in obj
        ]
    if isinstance(obj, dict):
        if in_item and all(_scalar(v) for v in obj.values()):
            return _FlowDict({k: _styled(v) for k, v in obj.items()})
        return {k: _styled(v, in_item) for k, v in obj.items()}
    return obj


def dump_yaml(data: Any) -> str:
    """Dump data as readable YAML: sections in block style, layers one per line."""
    return yaml.dump(
        _styled(data), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100
    )
