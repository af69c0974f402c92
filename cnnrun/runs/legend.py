"""The legend of `compare --plot`: each run named by what differs between the runs."""

from __future__ import annotations

from cnnrun.runs.cells import format_value
from cnnrun.runs.compare import Comparison, _elided

MAX_LABEL = 60


def legend_labels(comparison: Comparison) -> list[str]:
    """One label per run of ``comparison`` (in its order): ``optimizer.name=sgd, ...``.

    Keys are shortened to their last part when that is unambiguous (``name=sgd``, but
    ``layers[2].Dropout=0.5``); a run whose values say nothing (no key differs) keeps its
    folder's name.
    """
    keys = comparison.diff.keys
    if not keys:
        return [r.name for r in comparison.records]
    short = {k: k.split(".", 1)[-1] if "." in k else k for k in keys}
    if len(set(short.values())) < len(keys):
        short = {k: k for k in keys}
    labels = []
    for values in _elided(comparison):
        label = ", ".join(f"{short[k]}={format_value(values[k])}" for k in keys)
        labels.append(label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…")
    return labels
