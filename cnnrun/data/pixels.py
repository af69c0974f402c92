"""How pixel values are fed to the model (``data.pixel_range``). No TensorFlow here."""

from __future__ import annotations

import numpy as np

from cnnrun.config.schema import DataConfig
from cnnrun.data.loaders import FOLDER_DATASETS


def holds_pixels(cfg: DataConfig, x: np.ndarray) -> bool:
    """Whether the images ``x`` are 0..255 pixel values.

    They are when ``uint8``, and when ``float32`` from a folder data set resized with
    ``tf_bilinear``; other float arrays (an ``.npz`` of floats) are what their file holds.
    """
    if x.dtype == np.uint8:
        return True
    return cfg.resize == "tf_bilinear" and cfg.dataset in FOLDER_DATASETS


def divide_by_255(cfg: DataConfig, x: np.ndarray) -> bool:
    """Whether the images ``x`` are divided by 255 as they are fed.

    With ``pixel_range: unit`` (the default) 0..255 pixels are (:func:`holds_pixels`); with
    ``raw`` nothing is: 0..255 pixels are fed as ``float32`` 0..255.
    """
    return cfg.pixel_range == "unit" and holds_pixels(cfg, x)


def for_display(cfg: DataConfig, x: np.ndarray) -> np.ndarray:
    """Images as pictures show them: 0..255 floats rounded to ``uint8``, others unchanged."""
    if x.dtype != np.uint8 and holds_pixels(cfg, x):
        return np.clip(np.rint(x), 0, 255).astype(np.uint8)
    return x
