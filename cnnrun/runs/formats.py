"""The output formats of `cnnrun compare` and `cnnrun sweep`, and choosing a text renderer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")


class OutputFormat(StrEnum):
    """The formats of `cnnrun compare`."""

    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


def render_as(
    value: T, output_format: OutputFormat, renderers: Mapping[OutputFormat, Callable[[T], str]]
) -> str:
    """Render ``value`` with the renderer of ``output_format``.

    Args:
        value: What to render (a comparison, a grouping).
        output_format: One of the plain-text formats.
        renderers: The renderer of each plain-text format.

    Raises:
        ValueError: For a format without a renderer (``table`` is a Rich renderable).
    """
    if output_format not in renderers:
        names = ", ".join(str(name) for name in renderers)
        raise ValueError(f"Expected one of {names}. Received: {output_format}")
    return renderers[OutputFormat(output_format)](value)
