"""PNG pictures of one prediction: classes, masks or keypoints drawn over the image.

Used by ``cnnrun predict``. Drawn with matplotlib's object API (``Figure`` and the Agg
canvas, no ``pyplot``), so it is thread-safe and needs no display. No TensorFlow here.

Images may be ``uint8`` (0..255) or floats in ``[0, 1]``, ``(H, W)``, ``(H, W, 1)`` or
``(H, W, 3)``. Keypoints are ``(J, 2)`` or ``(J, 3)`` arrays of ``x``, ``y`` as fractions
of the image's width and height (the model's outputs and :mod:`cnnrun.data.folders`'s
layout), with an optional visibility ``v``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnnrun.plots.curves import save_figure

# Mask colours: Oxford-IIIT Pet's pet, background, border, then matplotlib's tab10.
MASK_COLOURS = ["#f28e2b", "#2b3a55", "#f5e050", "#59a14f", "#e15759", "#76b7b2",
                "#b07aa1", "#9c755f", "#bab0ac", "#4e79a7"]  # fmt: skip
GOOD, BAD = "#2e7d32", "#c62828"


def _figure(width_in: float, height_in: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")


def _display(image: np.ndarray) -> tuple[np.ndarray, str | None]:
    """An image as matplotlib shows it, and the colour map for a grey one."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.dtype != np.uint8:
        img = np.clip(img.astype(np.float32), 0.0, 1.0)
    return img, ("gray" if img.ndim == 2 else None)


def _show(ax: Any, image: np.ndarray, title: str | None = None) -> None:
    img, cmap = _display(image)
    ax.imshow(img, cmap=cmap, vmin=0, vmax=255 if img.dtype == np.uint8 else 1.0)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)


def classification_png(
    image: np.ndarray,
    probs: Sequence[float],
    class_names: Sequence[str] | None,
    out: str | Path,
    *,
    true_label: int | None = None,
    top: int = 3,
    title: str | None = None,
) -> Path:
    """The image beside a bar chart of its ``top`` most probable classes.

    Args:
        image: The image the model saw.
        probs: One probability (or score) per class.
        class_names: A name per class (default ``class 0``, ``class 1``, ...).
        out: The PNG to write.
        true_label: The true class, when known: the bars turn green (right) or red.
        top: How many classes to show.
        title: Shown above the image (e.g. the file name).

    Returns:
        ``out``.
    """
    probs = np.asarray(probs, dtype=np.float64).reshape(-1)
    names = list(class_names) if class_names else [f"class {i}" for i in range(len(probs))]
    order = np.argsort(-probs, kind="stable")[: max(1, min(top, len(probs)))]
    fig = _figure(7.0, 3.2)
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.3])
    _show(left, image, title)
    labels = [names[i] if i < len(names) else f"class {i}" for i in order]
    colours = ["#4e79a7"] * len(order)
    if true_label is not None:
        colours = [GOOD if i == true_label else "#9aa5b1" for i in order]
        if order[0] != true_label:
            colours[0] = BAD
    y = np.arange(len(order))[::-1]
    bars = right.barh(y, probs[order], color=colours, height=0.6)
    right.set_yticks(y, labels, fontsize=10)
    right.set_xlim(0, 1.15)
    right.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25%", "50%", "75%", "100%"])
    right.set_xlabel("probability")
    for bar, p in zip(bars, probs[order], strict=True):
        right.text(bar.get_width() + 0.02, bar.get_y() + bar.get_height() / 2, f"{p:.1%}",
                   va="center", fontsize=9)  # fmt: skip
    for side in ("top", "right"):
        right.spines[side].set_visible(False)
    head = f"top {len(order)}"
    if true_label is not None:
        truth = names[true_label] if true_label < len(names) else f"class {true_label}"
        head += f" (true: {truth})"
    right.set_title(head, fontsize=10)
    return save_figure(fig, Path(out))


def _mask_rgb(mask: np.ndarray, colours: Sequence[str]) -> np.ndarray:
    from matplotlib.colors import to_rgb

    table = np.array([to_rgb(c) for c in colours])
    mask = np.asarray(mask).astype(np.int64)
    if mask.ndim == 3:
        mask = mask[..., 0]
    return table[np.clip(mask, 0, len(table) - 1)]


def segmentation_png(
    image: np.ndarray,
    true_mask: np.ndarray | None,
    pred_mask: np.ndarray,
    out: str | Path,
    *,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """The image, the true mask (when known) and the predicted mask, side by side.

    Args:
        image: The image the model saw.
        true_mask: ``(H, W)`` classes, or None.
        pred_mask: ``(H, W)`` classes, or ``(H, W, classes)`` scores (arg-max taken).
        out: The PNG to write.
        class_names: A name per class, for the legend (default ``class 0``, ...).
        title: Shown above the image (e.g. the file name).

    Returns:
        ``out``.
    """
    from matplotlib.patches import Patch

    pred = np.asarray(pred_mask)
    if pred.ndim == 3 and pred.shape[-1] > 1:
        pred = pred.argmax(axis=-1)
    pred = pred.reshape(pred.shape[:2])
    n_classes = int(max(pred.max(initial=0), -1 if true_mask is None else np.max(true_mask))) + 1
    n_classes = max(n_classes, len(class_names or []))
    names = list(class_names or [])
    names += [f"class {i}" for i in range(len(names), n_classes)]
    colours = [MASK_COLOURS[i % len(MASK_COLOURS)] for i in range(n_classes)]
    panels = [("image" if title is None else title, image, False)]
    if true_mask is not None:
        panels.append(("true mask", true_mask, True))
    panels.append(("predicted mask", pred, True))
    if true_mask is not None:
        truth = np.asarray(true_mask).reshape(pred.shape)
        panels[-1] = (f"predicted mask ({(truth == pred).mean():.1%} pixels right)", pred, True)
    fig = _figure(3.0 * len(panels), 3.5)
    axes = fig.subplots(1, len(panels))
    for ax, (name, arr, is_mask) in zip(np.atleast_1d(axes), panels, strict=True):
        if is_mask:
            ax.imshow(_mask_rgb(arr, colours), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(name, fontsize=10)
        else:
            _show(ax, arr, name)
    handles = [Patch(facecolor=colours[i], edgecolor="#555555", label=names[i])
               for i in range(n_classes)]  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncol=min(n_classes, 6),
               frameon=False, fontsize=9)  # fmt: skip
    return save_figure(fig, Path(out))


def default_colours(joints: int) -> list[str]:
    """StanfordExtra's joint colours for 24 joints, else a colour wheel."""
    from cnnrun.data.folders import STANFORD_JOINTS

    if joints == len(STANFORD_JOINTS):
        return [c for _, c in STANFORD_JOINTS]
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["hsv"]
    return [to_hex(cmap(i / joints)) for i in range(joints)]


def _as_points(kp: np.ndarray | None, w: int, h: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(J, 2|3)`` fractions -> pixel positions and visibility."""
    if kp is None:
        return None
    kp = np.asarray(kp, dtype=np.float64)
    xy = kp[:, :2] * np.array([w, h])
    visible = kp[:, 2] > 0 if kp.shape[1] > 2 else np.ones(len(kp), bool)
    return xy, visible


def _rows(kp: Any, width: int) -> np.ndarray:
    kp = np.asarray(kp)
    return kp.reshape(-1, width) if kp.ndim == 1 else kp


def keypoints_png(
    image: np.ndarray,
    pred_kp: np.ndarray,
    true_kp: np.ndarray | None,
    out: str | Path,
    *,
    colours: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """The image with predicted joints (filled dots) and true joints (rings) drawn on it.

    Each joint has its own colour (StanfordExtra's, from ``keypoint_definitions.csv``, by
    default); a thin line joins a predicted joint to its true position, so errors show.
    True joints marked invisible are not drawn.

    Args:
        image: The image the model saw.
        pred_kp: Predicted joints, ``(J, 2)`` fractions (or ``(J * 2,)``).
        true_kp: True joints ``(J, 3)`` with visibility (or ``(J * 3,)``; or ``(J, 2)``,
            all visible), or None.
        out: The PNG to write.
        colours: A colour per joint (default :func:`default_colours`).
        names: A name per joint; when given, a legend of colours is added.
        title: Shown above the image (e.g. the file name).

    Returns:
        ``out``.
    """
    from matplotlib.lines import Line2D

    img, _ = _display(image)
    h, w = img.shape[:2]
    pred = _as_points(np.asarray(pred_kp).reshape(-1, 2), w, h)
    true = None if true_kp is None else _as_points(_rows(true_kp, 3), w, h)
    joints = len(pred[0])
    colours = list(colours or default_colours(joints))
    colours += default_colours(joints)[len(colours) :]
    side = 5.0
    fig = _figure(side * (1.45 if names else 1.0), side * h / w + 0.4)
    ax = fig.subplots(1, 1)
    _show(ax, image, title)
    size = 7.0  # marker size in points: the figure has one size whatever the image's
    if true is not None:
        for j in range(joints):
            if j < len(true[0]) and true[1][j]:
                (tx, ty), (px, py) = true[0][j], pred[0][j]
                ax.plot([tx, px], [ty, py], color=colours[j], lw=1.0, alpha=0.8)
                ax.plot(tx, ty, "o", ms=size * 1.6, mfc="none", mec="white", mew=2.6)
                ax.plot(tx, ty, "o", ms=size * 1.6, mfc="none", mec=colours[j], mew=1.6)
    for j in range(joints):
        px, py = pred[0][j]
        ax.plot(px, py, "o", ms=size, mfc=colours[j], mec="black", mew=0.8)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    handles = [
        Line2D([], [], ls="", marker="o", ms=7, mfc="#bbbbbb", mec="black", label="predicted")
    ]
    if true is not None:
        handles.append(
            Line2D(
                [], [], ls="", marker="o", ms=10, mfc="none", mec="#444444", mew=1.6, label="true"
            )  # fmt: skip
        )
    if names:
        handles += [Line2D([], [], ls="", marker="o", ms=6, mfc=colours[j], mec="black",
                           label=names[j]) for j in range(min(joints, len(names)))]  # fmt: skip
        fig.legend(handles=handles, loc="outside right center", frameon=False, fontsize=7)
    else:
        fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False,
                   fontsize=9)  # fmt: skip
    return save_figure(fig, Path(out))
