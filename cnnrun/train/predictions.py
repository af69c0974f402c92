"""A few prediction pictures at the end of training: ``RUN_DIR/predictions/*.png``.

The first examples of the validation split (the test split when there is none), drawn by
:mod:`cnnrun.plots.pictures` with the model as training left it: the image and its top 3
classes (classification), the image, true and predicted masks (segmentation), or the
predicted and true joints over the image (keypoints).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cnnrun import runfiles
from cnnrun.config.schema import Experiment
from cnnrun.data.arrays import Splits
from cnnrun.data.pixels import divide_by_255, for_display

COUNT = 6


def write_predictions(
    model: Any, exp: Experiment, splits: Splits, run_dir: Path, count: int = COUNT
) -> list[Path]:
    """Draw the model's predictions of ``count`` examples; return the PNGs written."""
    from cnnrun.plots import pictures

    if splits.x_val is not None and len(splits.x_val):
        x, y, split = splits.x_val[:count], splits.y_val[:count], "val"
    else:
        x, y, split = splits.x_test[:count], splits.y_test[:count], "test"
    if len(x) == 0:
        return []
    fed = x.astype(np.float32) / 255.0 if divide_by_255(exp.data, x) else x.astype(np.float32)
    outputs = np.asarray(model.predict(fed, verbose=0, batch_size=count))
    x = for_display(exp.data, x)
    out_dir = Path(run_dir) / runfiles.PREDICTIONS
    names = splits.class_names
    written = []
    for i in range(len(x)):
        target = out_dir / f"{split}-{i:03d}.png"
        title = f"{split} example {i}"
        if exp.task == "segmentation":
            pictures.segmentation_png(
                x[i], y[i], outputs[i], target, class_names=names, title=title
            )
        elif exp.task == "keypoints":
            joints = outputs[i].size // 2
            legend = list(names) if names and len(names) == joints else None
            pictures.keypoints_png(x[i], outputs[i], y[i], target, names=legend, title=title)
        else:
            pictures.classification_png(
                x[i], outputs[i].reshape(-1), names, target, true_label=int(y[i]), title=title
            )
        written.append(target)
    return written
