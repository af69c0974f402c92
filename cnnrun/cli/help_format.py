"""One change to Typer's rich help: flags show no ``<bool>`` type.

A flag's type says nothing (``--smoke`` takes no value), and its column takes room the
help text needs at 80 columns. Typer 0.29 has no setting for it, so this replaces
``TyperOption.display_type_rich`` (hence pyproject's narrow Typer range; the help tests
fail if a Typer release changes it).
"""

from __future__ import annotations

from typing import Any

import typer.core

_display_type_rich = typer.core.TyperOption.display_type_rich


def _no_bool_type(self: typer.core.TyperOption, ctx: Any) -> str | None:
    if getattr(self, "is_flag", False) or getattr(self, "is_bool_flag", False):
        return None
    return _display_type_rich(self, ctx)


def hide_flag_types() -> None:
    """Make flags (``--smoke``, ``--help``, ``--version``) show no ``<bool>`` in ``--help``."""
    typer.core.TyperOption.display_type_rich = _no_bool_type  # type: ignore[method-assign]
