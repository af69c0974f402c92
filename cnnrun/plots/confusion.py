"""The confusion matrix picture: ``RUN_DIR/confusion.png``, normalised per true class.

Each row is divided by its class's support, so a cell is the share of that class's examples
predicted as the column's class (the diagonal is the recall). Readable from 2 to a few
hundred classes: the figure grows with the class count, cells are annotated with their
percentage up to ``ANNOTATE_MAX`` classes (above, the colour scale is a square root, so
small confusions stay visible), and class names are shortened and shrunk as the
count grows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnnrun.plots.curves import save_figure

ANNOTATE_MAX = 20  # classes; above that the colour alone tells the share
NAME_CHARS = 18


def _short(name: str, limit: int = NAME_CHARS) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def normalised(cm: np.ndarray) -> np.ndarray:
    """Rows divided by their sums (a class with no example stays 0)."""
    cm = np.asarray(cm, dtype=np.float64)
    support = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, support, out=np.zeros_like(cm), where=support > 0)


def plot_confusion(
    cm: np.ndarray | Sequence[Sequence[int]],
    class_names: Sequence[str],
    out: Path,
    title: str | None = None,
) -> Path:
    """Draw the row-normalised confusion matrix with the class names on both axes.

    Args:
        cm: ``(k, k)`` counts, rows true classes, columns predicted ones.
        class_names: One name per class.
        out: The PNG to write (atomically).
        title: Shown above the matrix.

    Returns:
        ``out``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(cm)
    k = counts.shape[0]
    share = normalised(counts)
    side = float(np.clip(2.5 + 0.42 * k, 5.0, 30.0))  # inches: ~0.3 in per class at 100
    font = float(np.clip(12 - 0.03 * k, 8, 10))  # points; a cell is >= 0.3 in (21 pt)
    fig, ax = plt.subplots(figsize=(side + 1.5, side), dpi=100)
    # Without numbers in the cells, a square-root colour scale keeps small confusions visible.
    from matplotlib.colors import Normalize, PowerNorm

    norm = Normalize(0.0, 1.0) if k <= ANNOTATE_MAX else PowerNorm(0.5, 0.0, 1.0)
    image = ax.imshow(share, cmap="Blues", norm=norm, interpolation="nearest")
    cbar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    cbar.set_label("share of the true class's examples")
    names = [_short(str(n)) for n in class_names][:k]
    names += [str(i) for i in range(len(names), k)]
    ax.set_xticks(range(k), names, rotation=90, fontsize=font)
    ax.set_yticks(range(k), names, fontsize=font)
    label_size = float(np.clip(0.5 * side, 10, 16))
    ax.set_xlabel("predicted class", fontsize=label_size)
    ax.set_ylabel("true class", fontsize=label_size)
    if k > 1:  # a faint grid between cells keeps rows followable at 100 classes
        ax.set_xticks(np.arange(-0.5, k), minor=True)
        ax.set_yticks(np.arange(-0.5, k), minor=True)
        ax.grid(which="minor", color="#dddddd", linewidth=0.3 if k > 40 else 0.6)
        ax.tick_params(which="minor", length=0)
    if k <= ANNOTATE_MAX:
        for i in range(k):
            for j in range(k):
                if counts[i, j]:
                    value = share[i, j]
                    ax.text(j, i, f"{100 * value:.0f}%" if value >= 0.005 else "<1%",
                            ha="center", va="center", fontsize=font,
                            color="white" if value > 0.55 else "black")  # fmt: skip
    total = int(counts.sum())
    accuracy = np.trace(counts) / total if total else 0.0
    heading = f"{title}\n" if title else ""
    ax.set_title(f"{heading}confusion matrix, normalised by true class "
                 f"({total:,} examples, accuracy {accuracy:.2%})", fontsize=label_size)  # fmt: skip
    fig.tight_layout()
    try:
        return save_figure(fig, Path(out))
    finally:
        plt.close(fig)
