"""Errors a user can fix by editing their experiment file; the CLI turns them into exit code 2."""

from __future__ import annotations

import difflib
import enum
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


def did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    """Return the closest of ``choices`` to ``name``, or None when nothing is close.

    Matching ignores case, so ``conv2d`` suggests ``Conv2D``.
    """
    choices = list(choices)
    by_lower = {c.lower(): c for c in choices}
    if name.lower() in by_lower and by_lower[name.lower()] != name:
        return by_lower[name.lower()]
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


@dataclass
class ConfigError(Exception):
    """A problem in an experiment file, located by key path and line.

    Attributes:
        message: What is wrong, in one sentence.
        path: Dotted key path such as ``model.layers[2].Conv2D.filters``.
        expected: What would have been accepted.
        received: What the file held.
        suggestion: A close valid name, for "did you mean".
        file: The YAML file the key came from, when known.
        line: 1-based line in ``file``, when known.
    """

    message: str
    path: str = ""
    expected: str | None = None
    received: str | None = None
    suggestion: str | None = None
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        """The one message shown to the user."""
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        head = f"{where}{self.path + ': ' if self.path else ''}{self.message}"
        if self.suggestion:
            head += "" if head.endswith((".", ":", "?")) else "."
            head += f" Did you mean '{self.suggestion}'?"
        lines = [head]
        if self.expected is not None:
            lines.append(f"  expected: {self.expected}")
        if self.received is not None:
            lines.append(f"  received: {self.received}")
        return "\n".join(lines)


@dataclass
class ConfigErrors(ConfigError):
    """Several problems of one experiment file, each a located :class:`ConfigError`.

    It is a :class:`ConfigError` itself (its fields are the first problem's), so callers
    that catch one get them all; :meth:`render` gives one ``error:`` block per problem.

    Attributes:
        problems: The problems, in file and line order.
        partial: What could still be read despite them (a ``LoadedConfig`` whose invalid
            keys fell back to their defaults), for the checks that run after the schema;
            None when nothing could.
    """

    problems: list[ConfigError] = field(default_factory=list)
    partial: Any = None

    @classmethod
    def of(cls, problems: list[ConfigError], partial: Any = None) -> ConfigError:
        """One error for ``problems``: the problem itself when there is one (and no partial)."""
        flat: list[ConfigError] = []
        for p in problems:
            flat += p.problems if isinstance(p, ConfigErrors) else [p]
        seen: dict[tuple[Any, ...], ConfigError] = {}
        for p in flat:
            seen.setdefault((p.file, p.line, p.path, p.message), p)
        unique = list(seen.values())
        unique.sort(key=lambda p: (p.file or "", p.line or 0))
        if len(unique) == 1 and partial is None:
            return unique[0]
        first = unique[0]
        return cls(
            first.message,
            path=first.path,
            expected=first.expected,
            received=first.received,
            suggestion=first.suggestion,
            file=first.file,
            line=first.line,
            problems=unique,
            partial=partial,
        )

    def render(self) -> str:
        """One block per problem; blocks after the first start with ``error:`` too."""
        text = "\nerror: ".join(p.render() for p in self.problems)
        if len(self.problems) > 1:
            files = {p.file for p in self.problems if p.file}
            where = f"{files.pop()}: " if len(files) == 1 else ""
            text += f"\n{where}{len(self.problems)} problems"
        return text


class DataError(Exception):
    """Data that cannot be found or read; the message says what to place where."""


def located(loaded: Any, message: str, path: str, **kwargs: Any) -> ConfigError:
    """A :class:`ConfigError` at ``path``, with file and line when ``loaded`` knows them.

    Args:
        loaded: A loaded config (anything with ``error(message, path, **kwargs)``), or None
            when the experiment was built in code and has no file.
        message: What is wrong.
        path: The dotted key path.
        **kwargs: ``expected``, ``received``, ``suggestion``.
    """
    if loaded is not None:
        return loaded.error(message, path, **kwargs)
    return ConfigError(message, path=path, **kwargs)


def first_line(exc: BaseException) -> str:
    """The informative line of an exception's message (Keras wraps call errors in a preamble)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
    text = [t for t in text if t.strip() and not t.startswith("Exception encountered")]
    msg = text[0].strip() if text else type(exc).__name__
    return msg if len(msg) < 300 else msg[:297] + "..."


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An error's message on one line, at most ``limit`` characters.

    A config error is its full rendering; an ``OSError`` says its errno, reason and file
    (HDF5's multi-line messages are left out); any other error not of ours is prefixed
    with its type, since its message alone may not say what went wrong.
    """
    if isinstance(exc, ConfigError):
        text = exc.render()
    elif isinstance(exc, OSError) and isinstance(exc.errno, int):
        # h5py puts HDF5's own multi-line text in strerror: the errno's text says it plainly
        text = f"{type(exc).__name__}: [Errno {exc.errno}] {os.strerror(exc.errno)}"
        text += f": {exc.filename}" if exc.filename else ""
        if exc.strerror and exc.strerror != os.strerror(exc.errno):
            text += f" ({exc.strerror})"
    elif isinstance(exc, DataError) or type(exc).__name__ == "NanLossError":
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", text).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ExitCode(enum.IntEnum):
    """The exit codes of every command (the README's table)."""

    OK = 0
    FAILED = 1  # a data problem, a failed run or trial, nothing readable, a run not resumable
    CONFIG = 2  # a bad experiment file or bad options
    UNMET = 3  # `--check`: a result missed the config's `expect:`
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    KILLED = 143  # SIGTERM (128 + SIGTERM)


def print_error(message: str) -> None:
    """Print ``error: message`` to stderr: one message, unwrapped, no markup read in it."""
    from rich.console import Console
    from rich.text import Text

    Console(stderr=True).print(Text("error: ", style="bold red") + Text(message), soft_wrap=True)
