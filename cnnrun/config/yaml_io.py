"""Safe YAML reading that remembers where each key came from.

PyYAML's safe loader already refuses ``!!python/...`` tags. On top of it this module
turns duplicate keys into errors, reads ``1e-3`` as a number (YAML 1.1 would make it a
string), and records the file and line of every key path so errors can point at them.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from cnnrun.errors import ConfigError

Location = tuple[str, int | None]  # (file, 1-based line)

# Bounds on what an experiment file may cost to read (the README's "Reliability"): the
# shipped configs are a few KiB, nest under 10 levels and expand to a few hundred values.
MAX_CONFIG_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_NODES = 100_000


class NotAConfigFile(ConfigError):
    """The file as a whole cannot be an experiment file (not a regular file, too big, binary).

    Its content is never quoted, so ``extends: /etc/shadow`` echoes nothing.
    """


_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _Loader(yaml.SafeLoader):
    """SafeLoader with strict keys, YAML 1.2-style floats and bounded composing.

    PyYAML's composer recurses once per nesting level and expands aliases into a tree
    when the document is walked: both are capped here (:data:`MAX_DEPTH`,
    :data:`MAX_NODES` values with aliases expanded), and an alias inside its own anchor
    (``&a [*a]``) is refused, so no document exhausts the stack or the memory.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._values = 0  # values composed so far, each alias counted as its expansion
        self._sizes: dict[int, int] = {}  # id(node) -> its value count, aliases expanded
        self._open: set[str] = set()  # anchors whose node is still being composed

    def _refuse(self, message: str, mark: yaml.Mark) -> ConfigError:
        return ConfigError(message, file=self.name, line=mark.line + 1)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:  # noqa: D102
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise self._refuse(
                    f"the alias *{event.anchor} refers to its own anchor (a value that "
                    "contains itself)",
                    event.start_mark,
                )
            node = super().compose_node(parent, index)  # an unknown alias raises here
            self._count(self._sizes.get(id(node), 1), event.start_mark)
            return node
        if self._depth >= MAX_DEPTH:
            raise self._refuse(
                f"the YAML is nested deeper than {MAX_DEPTH} levels", event.start_mark
            )
        anchor = getattr(event, "anchor", None)
        before = self._values
        self._count(1, event.start_mark)
        self._depth += 1
        if anchor is not None:
            self._open.add(anchor)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open.discard(anchor)
        self._sizes[id(node)] = self._values - before
        return node

    def _count(self, n: int, mark: yaml.Mark) -> None:
        self._values += n
        if self._values > MAX_NODES:
            raise self._refuse(
                f"the YAML holds more than {MAX_NODES:,} values once its aliases are expanded "
                "(an alias repeated too often, or a file far larger than an experiment)",
                mark,
            )


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
    try:
        loader = _Loader(text)  # checks that every character is printable
    except yaml.reader.ReaderError as exc:
        raise _unprintable(exc, text, name) from None
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


def _unprintable(exc: yaml.reader.ReaderError, text: str, name: str) -> NotAConfigFile:
    """A located error for a character YAML does not allow (the text itself is not shown)."""
    line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
    char = exc.character
    code = f"#x{ord(char):04x}" if isinstance(char, str) else repr(char)
    return NotAConfigFile(
        f"invalid YAML: character {code} is not allowed (is this a text file?)",
        file=name,
        line=line,
    )


def parse_scalar(text: str) -> Any:
    """Parse one ``--set`` value as a YAML scalar (or flow list/mapping)."""
    data, _ = parse_yaml(text, name="--set")
    return data


def load_yaml_file(path: Path) -> tuple[Any, dict[str, Location]]:
    """Read and parse a YAML file (see :func:`parse_yaml`).

    Raises:
        ConfigError: When the file is missing or is not valid YAML.
    """
    return parse_yaml(read_config_text(path), name=str(path))


def read_config_text(path: Path) -> str:
    """The text of an experiment file, read within bounds.

    Only a regular file is read (never a device, FIFO or socket, which could block or
    never end), and at most :data:`MAX_CONFIG_BYTES` of it.

    Raises:
        NotAConfigFile: When the file is missing, not a regular file, too big or not UTF-8.
    """
    name = str(path)
    try:
        st = os.stat(path)  # follows symbolic links, as open() will
    except FileNotFoundError:
        raise NotAConfigFile("file not found", file=name) from None
    except OSError as exc:
        raise NotAConfigFile(f"cannot read the file: {exc.strerror}", file=name) from None
    if stat.S_ISDIR(st.st_mode):
        raise NotAConfigFile("expected an experiment file, received a folder", file=name)
    if not stat.S_ISREG(st.st_mode):
        raise NotAConfigFile(
            "not a regular file (a device, FIFO or socket cannot be an experiment file)",
            file=name,
        )
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO swapped in never blocks
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise NotAConfigFile("not a regular file", file=name)
            data = f.read(MAX_CONFIG_BYTES + 1)  # /proc files say size 0: bound the read
    except OSError as exc:
        raise NotAConfigFile(f"cannot read the file: {exc.strerror}", file=name) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise NotAConfigFile(
            f"the file is over 1 MiB ({max(st.st_size, len(data)):,} bytes or more): an "
            "experiment file is small",
            file=name,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotAConfigFile(
            f"the file is not UTF-8 text (byte {exc.start} cannot be decoded)", file=name
        ) from None


def document_line(path: Path) -> int | None:
    """The 1-based line where the (valid, single) YAML document of ``path`` starts."""
    try:
        loader = _Loader(read_config_text(path))
    except (ConfigError, yaml.YAMLError):
        return None
    try:
        node = loader.get_single_node()
        return node.start_mark.line + 1 if node is not None else None
    except (ConfigError, yaml.YAMLError):
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
