"""Importing TensorFlow and Keras quietly, only where a command needs them."""

from __future__ import annotations

import os
import sys
from types import ModuleType


def import_keras() -> ModuleType:
    """Import and return ``keras`` on the TensorFlow backend, without TensorFlow's start-up noise.

    TensorFlow's C++ runtime prints INFO lines to file descriptor 2 before its logging is
    configured; they are hidden for the duration of the import only.
    """
    if "keras" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    saved = None
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        saved = None
    try:
        import keras
        import tensorflow  # noqa: F401
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
    return keras


def import_tensorflow() -> ModuleType:
    """Import and return ``tensorflow`` quietly (through :func:`import_keras`)."""
    import_keras()
    return sys.modules["tensorflow"]
