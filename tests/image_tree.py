"""Tiny image folders for the `folder` data set's tests (learnable: a colour per class)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

COLOURS = [(220, 40, 40), (40, 200, 60), (50, 60, 230), (230, 220, 40)]


def make_image_tree(
    root: Path,
    classes: tuple[str, ...] = ("cat", "dog", "fox"),
    per_class: int = 12,
    size: tuple[int, int] = (20, 24),
    seed: int = 0,
) -> Path:
    """``root/<class>/<i>.png|jpg``: noisy images whose mean colour is the class's."""
    rng = np.random.default_rng(seed)
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = np.clip(
                rng.normal(COLOURS[k % len(COLOURS)], 25, size=(*size, 3)), 0, 255
            ).astype(np.uint8)
            suffix = ".png" if i % 2 else ".jpg"
            Image.fromarray(pixels).save(root / name / f"{name}_{i:03d}{suffix}")
    return root
