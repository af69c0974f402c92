"""The builders a ``model.file`` registers, read from its source without running it.

``validate`` (and ``evaluate``/``summary`` of a run) check ``model.builder`` and its
``args`` against this, so reading an experiment never runs the Python file it names;
only building a model does (``train``, ``validate --build``, ``summary CONFIG``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from cnnrun.errors import ConfigError

MAX_SOURCE_BYTES = 1 << 20


@dataclass(frozen=True)
class StaticBuilder:
    """A builder function as its source declares it."""

    name: str
    params: tuple[str, ...]  # its arguments but input_shape, *args and **kwargs
    required: tuple[str, ...]  # those without a default
    open_ended: bool  # takes **kwargs


def builders_in_file(path: Path) -> dict[str, StaticBuilder]:
    """The ``@register_builder("name")`` functions defined in ``path``, by name.

    Only literal registrations are found (a decorator call whose first argument is a
    string); the file is parsed, never imported.

    Raises:
        ConfigError: When the file is missing, too big, not UTF-8 or not valid Python, or a
            builder there takes no ``input_shape``.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            "the builder file does not exist", expected="a Python file", received=str(path)
        )
    with open(path, "rb") as f:
        data = f.read(MAX_SOURCE_BYTES + 1)
    if len(data) > MAX_SOURCE_BYTES:
        raise ConfigError("the builder file is over 1 MiB", received=str(path))
    try:
        tree = ast.parse(data.decode("utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        raise ConfigError(
            f"the builder file is not valid Python{f' (line {line})' if line else ''}",
            received=str(path),
        ) from None
    found: dict[str, StaticBuilder] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            name = _registered_name(decorator)
            if name is not None:
                found[name] = _signature(name, node.args, path)
    return found


def _registered_name(decorator: ast.expr) -> str | None:
    if not isinstance(decorator, ast.Call) or not decorator.args:
        return None
    func = decorator.func
    called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    first = decorator.args[0]
    if called == "register_builder" and isinstance(first, ast.Constant):
        return first.value if isinstance(first.value, str) else None
    return None


def _signature(name: str, args: ast.arguments, path: Path) -> StaticBuilder:
    positional = [*args.posonlyargs, *args.args]
    with_default = {a.arg for a in positional[len(positional) - len(args.defaults) :]}
    with_default |= {
        a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None
    }
    names = [a.arg for a in (*positional, *args.kwonlyargs)]
    if "input_shape" not in names:
        raise ConfigError(
            f"builder '{name}' must take an `input_shape` argument", received=str(path)
        )
    own = tuple(n for n in names if n != "input_shape")
    return StaticBuilder(
        name,
        own,
        tuple(n for n in own if n not in with_default),
        args.kwarg is not None,
    )
