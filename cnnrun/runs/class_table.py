"""The per-class table of a classification run (``results.json``'s ``per_class``), no TensorFlow.

Used by ``cnnrun show`` (from the run folder) and ``cnnrun evaluate`` (from a fresh report).
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

FIGURES = ("precision", "recall", "f1")


def _valid(report: Any) -> bool:
    if not isinstance(report, dict) or not isinstance(report.get("names"), list):
        return False
    n = len(report["names"])
    return all(
        isinstance(report.get(k), list) and len(report[k]) == n for k in (*FIGURES, "support")
    )


def _cell(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "—"


def class_table(report: Any, title: str | None = None) -> Table | Text:
    """A row per class (precision, recall, F1, support, top confusion), then the averages.

    Args:
        report: A ``per_class`` mapping as :mod:`cnnrun.train.class_report` makes it.
        title: The table's title.

    Returns:
        The table, or a dim note when ``report`` is missing or malformed.
    """
    if not _valid(report):
        return Text("no per-class results (classification runs only)", style="dim")
    table = Table(title=title, header_style="bold")
    table.add_column("class")
    for name in (*FIGURES, "support"):
        table.add_column(name, justify="right")
    table.add_column("most often taken for")
    cm = report.get("confusion_matrix")
    names = report["names"]
    for i, name in enumerate(names):
        table.add_row(
            str(name), *(_cell(report[k][i]) for k in FIGURES), str(report["support"][i]),
            _top_confusion(cm, i, names),
        )  # fmt: skip
    table.add_section()
    support = sum(s for s in report["support"] if isinstance(s, int))
    for average in ("macro", "weighted"):
        figures = report.get(average)
        if isinstance(figures, dict):
            table.add_row(
                Text(f"{average} avg", style="bold"), *(_cell(figures.get(k)) for k in FIGURES),
                str(support), "",
            )  # fmt: skip
    return table


def _top_confusion(cm: Any, i: int, names: list[str]) -> str:
    """The class most often predicted instead of class ``i`` (and its share)."""
    try:
        row = [int(v) for v in cm[i]]
    except (TypeError, ValueError, IndexError):
        return ""
    total = sum(row)
    others = [(v, j) for j, v in enumerate(row) if j != i and v > 0]
    if not total or not others:
        return ""
    count, j = max(others)
    return f"{names[j]} ({count / total:.0%})"
