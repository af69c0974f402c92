"""``cnnrun export``: a run's best model as a TF SavedModel, a TFLite file or an ONNX file.

All three go through Keras's own ``model.export`` (``tf_saved_model``; ``litert``, which
is TensorFlow's TFLite converter; ``onnx``, which is tf2onnx, the optional extra
``pip install 'cnnrun[export]'``). The exported graph takes what the trainer feeds the
model: ``float32`` images ``(N, H, W, C)`` in ``[0, 1]`` (pixels divided by 255), and
returns its outputs (class probabilities for a classifier, in ``class_names.json``'s
order). Layers inside the model, such as a backbone's ``BackbonePreprocess``, are traced
into the graph: the files run without cnnrun or Keras.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnrun import runfiles
from cnnrun.errors import DataError

FORMATS = tuple(runfiles.EXPORT_NAMES)
EXTRA_HINT = "pip install 'cnnrun[export]'"


@dataclass
class Exported:
    """Where an export went and what it takes."""

    path: Path
    format: str
    input_shape: tuple[int | None, ...]
    checkpoint: Path


def best_checkpoint(run_dir: Path) -> Path:
    """``checkpoints/best.keras``, else ``last.keras``.

    Raises:
        DataError: When the run has neither.
    """
    for name in (runfiles.BEST_MODEL, runfiles.LAST_MODEL):
        if (Path(run_dir) / name).is_file():
            return Path(run_dir) / name
    raise DataError(
        f"{run_dir}: no saved model ({runfiles.BEST_MODEL} or {runfiles.LAST_MODEL}) to export"
    )


def load_checkpoint(path: Path) -> Any:
    """A run's ``.keras`` file, loaded in safe mode without its training setup.

    Raises:
        DataError: When Keras cannot load it.
    """
    from cnnrun.tf_env import import_keras

    keras = import_keras()
    import cnnrun.model.losses  # noqa: F401 - registers the task losses and metrics
    import cnnrun.model.preprocess  # noqa: F401 - registers BackbonePreprocess

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # a damaged zip, an unknown class, ...
        raise DataError(
            f"{path}: Keras cannot load the model ({type(exc).__name__}: {exc})"
        ) from None


def default_path(run_dir: Path, fmt: str) -> Path:
    """``RUN/exports/saved_model``, ``.../model.tflite`` or ``.../model.onnx``."""
    return Path(run_dir) / runfiles.EXPORTS / runfiles.EXPORT_NAMES[fmt]


def export_model(model: Any, fmt: str, out: Path) -> Path:
    """Write ``model`` in format ``fmt`` to ``out`` (replaced if it exists).

    Raises:
        DataError: For an unknown format, a missing optional package, or a failed export.
    """
    if fmt not in FORMATS:
        raise DataError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    out = Path(out)
    if fmt == "tflite" and out.suffix != ".tflite":
        raise DataError(f"--out {out}: a TFLite file's name ends in .tflite")
    if fmt == "onnx":
        try:
            import tf2onnx  # noqa: F401
        except ImportError:
            raise DataError(f"ONNX export needs tf2onnx and onnx: {EXTRA_HINT}") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".partial-{out.name}")  # keeps the suffix litert wants
    _remove(partial)
    try:
        if fmt == "savedmodel":
            model.export(str(partial), format="tf_saved_model", verbose=False)
        elif fmt == "tflite":
            model.export(str(partial), format="litert", verbose=False)
        else:
            # A loaded model has never been called: ONNX needs the signature given.
            model.export(
                str(partial), format="onnx", verbose=False, input_signature=model.inputs
            )  # fmt: skip
    except Exception as exc:
        _remove(partial)
        raise DataError(f"the {fmt} export failed ({type(exc).__name__}: {exc})") from None
    _remove(out)
    partial.replace(out)
    return out


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def export_run(run_dir: Path, fmt: str, out: Path | None = None) -> Exported:
    """Export a run's best model (see the module docstring).

    Args:
        run_dir: The run folder.
        fmt: ``savedmodel``, ``tflite`` or ``onnx``.
        out: The folder (SavedModel) or file to write; default ``RUN/exports/...``.

    Raises:
        DataError: When the run has no model, or the export fails.
    """
    checkpoint = best_checkpoint(run_dir)
    model = load_checkpoint(checkpoint)
    path = export_model(model, fmt, out or default_path(run_dir, fmt))
    shape = model.inputs[0].shape
    return Exported(path, fmt, tuple(shape), checkpoint)
