"""A classifier's per-class test results: ``results.json``'s ``per_class``, ``confusion.png``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnnrun import runfiles
from cnnrun.train.class_report import report_from_probabilities
from cnnrun.train.pipeline import dataset


def predict_report(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    class_names: Sequence[str] | None,
    callbacks: Sequence[Any] = (),
    scale: bool | None = None,
) -> dict[str, Any] | None:
    """The per-class report of ``model`` on ``(x, y)``; None when it is not a classifier.

    A model with several outputs, or with outputs that are not ``(N, classes)``, has no
    report. ``scale``: divide the images by 255 (None: when they are ``uint8``).
    """
    if len(x) == 0 or np.asarray(y).ndim != 1:
        return None
    outputs = model.predict(
        dataset(x, y, batch_size, scale=scale), verbose=0, callbacks=list(callbacks)
    )  # fmt: skip
    if not isinstance(outputs, np.ndarray) or outputs.ndim != 2:
        return None
    return report_from_probabilities(y, outputs, class_names)


def write_class_results(
    results: dict[str, Any], report: dict[str, Any], run_dir: Path, title: str
) -> None:
    """Put the report in ``results`` (``per_class``, ``test.macro_f1``); draw confusion.png."""
    results["test"]["macro_f1"] = report["macro"]["f1"]
    results["per_class"] = report
    from cnnrun.plots.confusion import plot_confusion

    plot_confusion(
        report["confusion_matrix"], report["names"], Path(run_dir) / runfiles.CONFUSION, title
    )
