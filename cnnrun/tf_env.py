"""Importing TensorFlow and Keras quietly, only where a command needs them."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType


def import_keras() -> ModuleType:
    """Import and return ``keras`` on the TensorFlow backend, without TensorFlow's start-up noise.

    TensorFlow's C++ runtime prints INFO lines to file descriptor 2 before its logging is
    configured; they are hidden for the duration of the import only. On a machine without
    an NVIDIA device the GPU build of TensorFlow also prints "failed call to cuInit" when it
    first lists its devices, so there the devices are listed inside the quiet window too.
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
        import tensorflow

        if not has_nvidia_device():
            tensorflow.config.list_physical_devices()
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
    return keras


def has_nvidia_device() -> bool:
    """Whether this machine shows an NVIDIA device node (Linux), so CUDA could start.

    Elsewhere (macOS, Windows: no ``/dev/nvidia*``) TensorFlow has no CUDA to try either.
    """
    return any(Path("/dev").glob("nvidia[0-9]*"))


def import_tensorflow() -> ModuleType:
    """Import and return ``tensorflow`` quietly (through :func:`import_keras`)."""
    import_keras()
    return sys.modules["tensorflow"]
