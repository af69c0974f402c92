"""`cnnrun data show` for the folder data sets: masks over the photos, joints on the dogs.

A grid like `cnnrun.plots.samples.save_grid`, each photo with its labels drawn on it:
Oxford-IIIT Pet's trimap blended over the photo (pet, background, border, with a legend),
StanfordExtra's visible joints as coloured dots.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cnnrun.config.schema import DataConfig

DISPLAY_SHAPE = (160, 160, 3)  # photos are read at this size (masks nearest-neighbour)
CELL_INCHES = 1.8
DPI = 110
MASK_ALPHA = 0.45


def show_labelled(
    name: str,
    task: str,
    out: Path,
    n: int,
    path: str | None,
    choose: Callable[[int, int], np.ndarray],
) -> Path:
    """Save a grid of ``n`` photos of a segmentation or keypoint data set with their labels.

    ``choose(total, n)`` picks the examples' indices (`cnnrun.plots.samples.pick`).

    Raises:
        DataError: When its files cannot be found or read.
    """
    from cnnrun.data.folders import NUM_JOINTS
    from cnnrun.data.loaders import DATASETS

    outputs = 2 * NUM_JOINTS if task == "keypoints" else 3
    data = DATASETS.get(name)(DataConfig(dataset=name, path=path), DISPLAY_SHAPE, outputs)
    idx = choose(len(data.x_train), n)
    title = f"{name}: {len(idx)} of {len(data.x_train):,} images ({task})"
    names = list(data.class_names or [])
    return _save(data.x_train[idx], data.y_train[idx], task, names, Path(out), title)


def _save(
    images: np.ndarray, labels: np.ndarray, task: str, names: list[str], out: Path, title: str
) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from cnnrun.plots.curves import save_figure
    from cnnrun.plots.pictures import MASK_COLOURS, _mask_rgb, default_colours

    count = len(images)
    cols = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / cols))
    fig = Figure(
        figsize=(max(cols * CELL_INCHES, 3.2), rows * CELL_INCHES + 0.8),
        dpi=DPI,
        layout="constrained",
    )
    FigureCanvasAgg(fig)
    colours = MASK_COLOURS[: max(len(names), 3)]
    for i in range(rows * cols):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.set_axis_off()
        if i >= count:
            continue
        img = np.asarray(images[i])
        img = img[..., 0] if img.ndim == 3 and img.shape[-1] == 1 else img
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255)
        if task == "segmentation":
            ax.imshow(_mask_rgb(labels[i], colours), alpha=MASK_ALPHA)
        else:
            joints = np.asarray(labels[i], dtype=np.float32).reshape(-1, 3)
            h, w = img.shape[:2]
            dots = default_colours(len(joints))
            seen = joints[:, 2] > 0
            ax.scatter(
                joints[seen, 0] * w, joints[seen, 1] * h, s=14,
                c=[dots[j] for j in np.flatnonzero(seen)], edgecolors="white", linewidths=0.5,
            )  # fmt: skip
    if task == "segmentation" and names:
        handles = [Patch(color=c, label=n) for n, c in zip(names, colours, strict=False)]
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, out)
