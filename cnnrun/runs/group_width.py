"""`cnnrun compare --by-seed / --group-by` in a terminal: the table when it fits, else blocks.

A group table holds a ``mean ± sd`` cell per metric and the config keys that differ; in
a narrow terminal Rich would fold its cells mid-word. When the table is wider than the
terminal, each group becomes a short block instead: the group, n and its figures (each
``metric mean ± sd`` kept on one line), then one ``key value`` line per differing key.
Pipes and files get the full table (`cnnrun.runs.groups.render_group_table`).
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.text import Text

from cnnrun.runs.cells import EMPTY
from cnnrun.runs.fit_width import NBSP, glued, wrap_words
from cnnrun.runs.groups import (
    Grouping,
    group_columns,
    group_rows,
    groups_title,
    render_group_table,
    sort_note,
)


def render_groups_for_width(grouping: Grouping, width: int) -> list[RenderableType]:
    """What the grouped `compare` prints in a terminal ``width`` columns wide."""
    names = group_columns(grouping)
    rows = group_rows(grouping)
    widths = [max([cell_len(n), *(cell_len(r[i]) for r in rows)]) for i, n in enumerate(names)]
    if sum(w + 3 for w in widths) + 1 <= width:  # a space either side, a border per column
        return [render_group_table(grouping)]
    return [_blocks(grouping, names, rows, width)]


def _blocks(grouping: Grouping, names: list[str], rows: list[list[str]], width: int) -> Group:
    n_keys = len(grouping.keys)
    keys = names[len(names) - n_keys :] if n_keys else []
    figures = [n for n in names if n not in ("group", "n", *keys)]
    if grouping.sort_metric in figures:  # the figure the groups are sorted by comes first
        figures.remove(grouping.sort_metric)
        figures.insert(0, grouping.sort_metric)
    parts: list[RenderableType] = [
        Text(
            wrap_words(
                f"{groups_title(grouping)} (by {', '.join(grouping.grouped_by)}), "
                f"mean ± sd (n-1), {sort_note(grouping)}",
                width,
            ),
            style="bold",
        )
    ]
    for row in rows:
        cells = dict(zip(names, row, strict=True))
        pairs = [glued(f"{n} {cells[n]}") for n in figures if cells[n] != EMPTY]
        head = "  ".join([glued(cells["group"]), glued(f"n {cells['n']}"), *pairs])
        block = Text(wrap_words(head, width).replace(NBSP, " "))
        block.stylize("bold", 0, len(cells["group"]))
        for key in keys:
            text = wrap_words(f"{key} {_breakable(cells[key])}", width, indent="  ")
            block.append("\n" + text.replace(_BREAK, "→"))  # the breaks not taken
        parts += [Text(""), block]
    return Group(*parts)


_BREAK = "→ "


def _breakable(value: str) -> str:
    """A layer chain with a break point (a space) after each ``→``.

    It then wraps between layers, not inside a layer's name; the spaces left inside a
    line are taken out again.
    """
    return value.replace("→", _BREAK)
