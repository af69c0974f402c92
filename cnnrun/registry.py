"""A closed set of named things with "did you mean" on a miss."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from cnnrun.errors import did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind (data sets, schedules, ...), registered by decorator.

    Example:
        >>> DATASETS = Registry("data set")
        >>> @DATASETS.register("mnist", "handwritten digits")
        ... def load_mnist(cfg): ...
        >>> DATASETS.get("mnist") is load_mnist
        True
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._help: dict[str, str] = {}

    def register(self, name: str, help: str = "") -> Callable[[T], T]:
        """Decorator that registers an entry under ``name``."""

        def wrap(entry: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is already registered")
            self._entries[name] = entry
            self._help[name] = help
            return entry

        return wrap

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def help(self, name: str) -> str:
        """The one-line description of ``name``."""
        return self._help[name]

    def suggest(self, name: str) -> str | None:
        """The registered name closest to ``name``, if any is close."""
        return did_you_mean(name, self._entries)

    def get(self, name: str) -> T:
        """Return the entry for ``name``.

        Raises:
            KeyError: With the list of names and a suggestion, when ``name`` is unknown.
        """
        if name not in self._entries:
            hint = self.suggest(name)
            raise KeyError(
                f"unknown {self.kind} '{name}'."
                + (f" Did you mean '{hint}'?" if hint else "")
                + f" Known: {', '.join(self._entries)}"
            )
        return self._entries[name]
