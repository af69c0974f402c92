"""Choosing a plain-text renderer by output format."""

from __future__ import annotations

import pytest

from cnnrun.runs.formats import OutputFormat, render_as

RENDERERS = {OutputFormat.markdown: lambda v: f"md:{v}", OutputFormat.csv: lambda v: f"csv:{v}"}


@pytest.mark.parametrize(("fmt", "want"), [("markdown", "md:x"), (OutputFormat.csv, "csv:x")])
def test_the_format_picks_its_renderer(fmt, want) -> None:
    assert render_as("x", fmt, RENDERERS) == want


def test_a_format_without_a_text_renderer_is_refused_with_the_ones_there_are() -> None:
    with pytest.raises(ValueError, match="Expected one of markdown, csv. Received: table"):
        render_as("x", OutputFormat.table, RENDERERS)
