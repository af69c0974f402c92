"""Run an exported model in its own runtime and compare it with the Keras model.

SavedModel: ``tf.saved_model.load(...).serve``; TFLite: ``ai_edge_litert``'s interpreter
(TensorFlow's ``tf.lite.Interpreter`` when it is not installed); ONNX: ``onnxruntime``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

PARITY_IMAGES = 16


def sample_inputs(shape: tuple[int | None, ...], n: int = PARITY_IMAGES, seed: int = 0):
    """``n`` random ``float32`` images in ``[0, 1]`` of one input's shape (batch axis first)."""
    dims = [int(d) for d in shape[1:]]
    return np.random.default_rng(seed).random((n, *dims), dtype=np.float32)


def run_exported(path: Path, fmt: str, x: np.ndarray) -> np.ndarray:
    """The exported model's outputs for the batch ``x``.

    Raises:
        ImportError: When the runtime of ``fmt`` is not installed.
    """
    if fmt == "savedmodel":
        from cnnrun.tf_env import import_tensorflow

        tf = import_tensorflow()
        loaded = tf.saved_model.load(str(path))  # kept: its variables die with it
        return np.asarray(loaded.serve(tf.constant(x)))
    if fmt == "tflite":
        return _run_tflite(path, x)
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {session.get_inputs()[0].name: x})[0])


def _interpreter(path: Path) -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        from cnnrun.tf_env import import_tensorflow

        Interpreter = import_tensorflow().lite.Interpreter  # noqa: N806 - a class
    return Interpreter(model_path=str(path))


def _run_tflite(path: Path, x: np.ndarray) -> np.ndarray:
    it = _interpreter(path)
    inp = it.get_input_details()[0]
    it.resize_tensor_input(inp["index"], list(x.shape))  # the batch axis defaults to 1
    it.allocate_tensors()
    it.set_tensor(inp["index"], x)
    it.invoke()
    return np.asarray(it.get_tensor(it.get_output_details()[0]["index"]))


def max_difference(model: Any, path: Path, fmt: str, x: np.ndarray) -> float:
    """The largest ``|exported - keras|`` over the outputs of ``x``."""
    reference = np.asarray(model.predict(x, verbose=0))
    return float(np.max(np.abs(run_exported(path, fmt, x) - reference)))
