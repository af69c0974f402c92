"""`cnnrun compare` in a terminal: the columns that fit its width, no word ever broken.

The table keeps, in this order of importance: run, status, the main test metric, the config
keys that differ, best epoch, the other test metrics, expect, epochs, dataset, params,
wall time, samples/s. Columns are dropped from the least important until the table fits,
with a footer naming them. When even run, status, main metric and keys do not fit, each
run becomes a short block of lines (run, status, metrics; then one ``key value`` line per
differing key), wrapped between words. Pipes and files get the full table instead
(`cnnrun.runs.compare.render_tables`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from cnnrun.runs.cells import EMPTY
from cnnrun.runs.compare import (
    EXPECT_COLUMN,
    STATUS_STYLES,
    Comparison,
    _numeric_columns,
    _table_width,
    columns,
    display_rows,
)

LEAST_IMPORTANT_FIRST = ("samples/s", "wall_time", "params", "dataset", "epochs_done")


def _priorities(names: Sequence[str], comparison: Comparison, n_keys: int) -> list[int]:
    """Column indexes, most important first."""
    main = f"test_{comparison.main_metric}"
    first = [names.index(c) for c in ("run", "status") if c in names]
    if main in names:
        first.append(names.index(main))
    keys = list(range(len(names) - n_keys, len(names)))
    best = [i for i, n in enumerate(names) if n.startswith("best")]
    tests = [i for i, n in enumerate(names) if n.startswith("test_") and i not in first]
    expect = [names.index(EXPECT_COLUMN)] if EXPECT_COLUMN in names else []
    rest = [names.index(c) for c in reversed(LEAST_IMPORTANT_FIRST) if c in names]
    ordered = [*first, *keys, *best, *tests, *expect, *rest]
    ordered += [i for i in range(len(names)) if i not in ordered]
    return list(dict.fromkeys(ordered))


def render_for_width(comparison: Comparison, width: int) -> list[RenderableType]:
    """What `compare` prints in a terminal ``width`` columns wide (see the module doc)."""
    names = columns(comparison)
    rows = display_rows(comparison)
    n_keys = len(comparison.diff.keys)
    order = _priorities(names, comparison, n_keys)
    kept: list[int] = []
    for headers in (names, _short_keys(names, n_keys)):  # then `learning_rate` for `optimizer.`
        kept = _fitting(headers, rows, order, min(3 + n_keys, len(order)), width)
        if kept:
            names = headers
            break
    if not kept:
        return [_blocks(comparison, columns(comparison), rows, order, width)]
    kept.sort()
    table = _table(comparison, [names[i] for i in kept], [[r[i] for i in kept] for r in rows])
    dropped = [names[i] for i in range(len(names)) if i not in kept]
    if dropped:
        note = f"not shown: {', '.join(dropped)} (a wider terminal, or --format markdown)"
        table.caption = (table.caption or "") + "\n" + wrap_words(note, width)
    return [table]


def _fitting(
    names: list[str], rows: list[list[str]], order: list[int], required: int, width: int
) -> list[int]:
    """The most important columns that fit ``width`` (at least ``required``), or []."""
    widths = [max([cell_len(n), *(cell_len(r[i]) for r in rows)]) for i, n in enumerate(names)]
    kept = list(order)
    while len(kept) > required and _table_width([widths[i] for i in kept]) > width:
        kept.pop()
    return kept if _table_width([widths[i] for i in kept]) <= width else []


def _short_keys(names: list[str], n_keys: int) -> list[str]:
    """The headers with each config key less its section (``optimizer.``), when unambiguous."""
    keys = names[len(names) - n_keys :] if n_keys else []
    short = [k.split(".", 1)[1] if "." in k else k for k in keys]
    if len(set(short)) < len(short) or set(short) & set(names):
        return names
    return names[: len(names) - n_keys] + short


def _table(comparison: Comparison, names: list[str], rows: list[list[str]]) -> Table:
    table = Table(
        title=f"{len(comparison.records)} runs",
        caption=f"sorted by {comparison.sort.label} ({comparison.sort.direction})",
        header_style="bold",
    )
    numeric = _numeric_columns(comparison)
    for name in names:
        table.add_column(
            name,
            justify="right" if name in numeric else "left",
            no_wrap=True,
            overflow="ellipsis",
        )
    for row in rows:
        cells: list[str | Text] = list(row)
        if "status" in names:
            at = names.index("status")
            cells[at] = Text(row[at], style=STATUS_STYLES.get(row[at], ""))
        table.add_row(*cells)
    return table


NBSP = "\u00a0"  # textwrap does not break there: one ``name value`` pair per line


def glued(pair: str) -> str:
    """``name value`` with its spaces made unbreakable, so that wrapping keeps it whole."""
    return pair.replace(" ", NBSP)


def wrap_words(text: str, width: int, indent: str = "") -> str:
    """Wrap ``text`` between words (never inside one), later lines indented by two more."""
    return "\n".join(
        textwrap.wrap(
            text,
            width=max(width, 20),
            subsequent_indent=indent + "  ",
            initial_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
    )


def _blocks(
    comparison: Comparison, names: list[str], rows: list[list[str]], order: list[int], width: int
) -> RenderableType:
    """One block per run: ``run  status  metric value ...`` then ``  key value`` lines.

    Each ``name value`` pair stays on one line; pairs come in the columns' importance.
    """
    n_keys = len(comparison.diff.keys)
    keys = names[len(names) - n_keys :] if n_keys else []
    shown = [names[i] for i in order if names[i] not in ("run", "status", *keys)]
    parts: list[RenderableType] = [
        Text(
            f"{len(comparison.records)} runs, sorted by {comparison.sort.label} "
            f"({comparison.sort.direction})",
            style="bold",
        )
    ]
    for row in rows:
        cells = dict(zip(names, row, strict=True))
        figures = "  ".join(glued(f"{n} {cells[n]}") for n in shown if cells[n] != EMPTY)
        head = f"{cells['run']}  {cells['status']}" + (f"  {figures}" if figures else "")
        block = Text(wrap_words(head, width).replace(NBSP, " "))
        block.stylize("bold", 0, len(cells["run"]))
        at = len(cells["run"]) + 2
        block.stylize(STATUS_STYLES.get(cells["status"], ""), at, at + len(cells["status"]))
        for key in keys:
            block.append("\n" + wrap_words(f"{key} {cells[key]}", width, indent="  "))
        parts.append(Text(""))
        parts.append(block)
    return Group(*parts)
