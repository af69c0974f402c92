"""`cnnrun data show`: a grid of sample images with their class names (the chapter's §6.2).

Segmentation and keypoint data sets draw their masks and joints (`label_grids`).

matplotlib's Agg canvas only (no pyplot, no display); no TensorFlow for local files.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from cnnrun.config.schema import DataConfig
from cnnrun.data.arrays import ArrayData
from cnnrun.errors import ConfigError

# The shape and class count used for data sets that generate their examples (synthetic).
SYNTHETIC_SHAPE = (32, 32, 3)
SYNTHETIC_CLASSES = 10
CELL_INCHES = 1.45
DPI = 110


def load_dataset(name: str, path: str | None = None) -> ArrayData:
    """Load a registered data set's arrays (``data.path`` = ``path``).

    Raises:
        ConfigError: When ``name`` is not a registered data set (with "did you mean").
        DataError: When its files cannot be found or read.
    """
    from cnnrun.data.loaders import DATASETS

    if name not in DATASETS:
        raise ConfigError(
            f"unknown data set '{name}'",
            expected="a name from `cnnrun list datasets`",
            received=repr(name),
            suggestion=DATASETS.suggest(name),
        )
    from cnnrun.data.loaders import dataset_tasks

    if "classification" not in dataset_tasks(name):
        raise ConfigError(
            f"data set '{name}' has {dataset_tasks(name)[0]} labels, not classes",
            expected="a classification data set; a run of this data set draws its "
            "predictions with the truth in RUN_DIR/predictions/ (and `cnnrun predict`)",
            received=repr(name),
        )
    cfg = DataConfig(dataset=name, path=path)
    return DATASETS.get(name)(cfg, SYNTHETIC_SHAPE, SYNTHETIC_CLASSES)


def pick(n_total: int, n: int, seed: int | None) -> np.ndarray:
    """Indices of ``n`` examples: a seeded random sample, or the first ``n`` (seed None)."""
    n = min(n, n_total)
    if seed is None:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n_total, size=n, replace=False))


def save_grid(
    images: np.ndarray,
    labels: np.ndarray,
    class_names: list[str] | None,
    out: Path,
    title: str = "",
) -> Path:
    """Draw ``images`` in a square-ish grid, each titled with its class name; save a PNG.

    Args:
        images: ``(n, h, w)``, ``(n, h, w, 1)`` or ``(n, h, w, 3)``; ``uint8`` or floats.
        labels: Integer class of each image.
        class_names: Names by class index (the index is shown when missing).
        out: The PNG to write (its folder is created).
        title: A line above the grid.

    Returns:
        ``out``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = len(images)
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    head = 0.3 + 0.2 * title.count("\n") if title else 0.1
    fig = Figure(
        figsize=(cols * CELL_INCHES, rows * (CELL_INCHES + 0.25) + head),
        dpi=DPI,
        layout="constrained",
    )
    FigureCanvasAgg(fig)
    for i in range(rows * cols):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.set_axis_off()
        if i >= n:
            continue
        img = np.asarray(images[i])
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        if img.dtype != np.uint8:
            img = np.clip(img, 0, 1 if float(np.max(img)) <= 1.0 else 255)
            img = (img * (255 if float(np.max(img)) <= 1.0 else 1)).astype(np.uint8)
        grey = img.ndim == 2
        ax.imshow(img, cmap="gray" if grey else None, vmin=0, vmax=255, interpolation="nearest")
        label = int(labels[i])
        name = class_names[label] if class_names and 0 <= label < len(class_names) else ""
        ax.set_title(f"{name} ({label})" if name else str(label), fontsize=8, pad=3)
    if title:
        fig.suptitle(title, fontsize=10)
    from cnnrun.plots.curves import save_figure

    return save_figure(fig, Path(out))


def show_dataset(
    name: str,
    out: Path,
    n: int = 25,
    split: str = "train",
    path: str | None = None,
    seed: int | None = 0,
) -> Path:
    """Save a grid of ``n`` images of data set ``name`` with their class names.

    Args:
        name: A registered data set (`cnnrun list datasets`).
        out: The PNG to write.
        n: How many images.
        split: ``train`` or ``test``.
        path: Where to look for its files first (as ``data.path``).
        seed: Seed of the random sample; None shows the first ``n``.

    Returns:
        ``out``.

    Raises:
        ConfigError: On an unknown data set name.
        DataError: When its files cannot be found or read.
    """
    from cnnrun.data.loaders import DATASETS, dataset_tasks

    if name in DATASETS and "classification" not in dataset_tasks(name):
        from cnnrun.plots.label_grids import show_labelled

        task = dataset_tasks(name)[0]
        return show_labelled(name, task, out, n, path, lambda total, k: pick(total, k, seed))
    data = load_dataset(name, path)
    x, y = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)
    idx = pick(len(x), n, seed)
    source = Path(data.source).name if data.source else ""
    title = f"{name}, {split}: {len(idx)} of {len(x):,} images" + (
        f"\nfrom {source}" if source else ""
    )
    return save_grid(x[idx], y[idx], data.class_names, out, title)
