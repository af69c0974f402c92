"""A finished run folder as evaluate and predict see it: its config and its best model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnrun import runfiles
from cnnrun.errors import ConfigError, DataError

if TYPE_CHECKING:  # imported where used: `cnnrun --help` stays fast
    from cnnrun.config.schema import DataConfig


@dataclass
class SavedRun:
    """A run folder's config (as written) and its loaded model."""

    run_dir: Path
    config: dict[str, Any]
    model: Any
    checkpoint: Path

    @property
    def task(self) -> str:
        return str(self.config.get("task") or "classification")

    @property
    def data(self) -> dict[str, Any]:
        data = self.config.get("data")
        return data if isinstance(data, dict) else {}

    @property
    def data_config(self) -> DataConfig:
        """The run's data section, typed (defaults for keys an older run does not record)."""
        from cnnrun.config.schema import DataConfig

        try:
            return DataConfig.model_validate(self.data)
        except ValueError:  # pydantic's ValidationError: read the keys that matter alone
            keys = ("dataset", "pixel_range", "resize")
            return DataConfig.model_validate({k: self.data[k] for k in keys if k in self.data})

    @property
    def input_shape(self) -> tuple[int, int, int]:
        shape = self.model.input_shape
        shape = shape[0] if isinstance(shape, list) else shape
        h, w = int(shape[1]), int(shape[2])
        return h, w, int(shape[3]) if len(shape) > 3 else 1


# ---------------------------------------------------------------------------------------
# Loading a run


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """The run's ``config.yaml`` as a mapping (not validated: any task can be read).

    Raises:
        DataError: When the folder has no readable ``config.yaml``.
    """
    from cnnrun.config.yaml_io import load_yaml_file

    path = Path(run_dir) / runfiles.CONFIG
    if not path.is_file():
        raise DataError(f"{run_dir} is not a run folder: {runfiles.CONFIG} is missing")
    try:
        data, _ = load_yaml_file(path)
    except ConfigError as exc:
        raise DataError(f"{path}: cannot be read ({exc.message})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a mapping of keys")
    return data


def checkpoint_path(run_dir: Path) -> Path:
    """``checkpoints/best.keras``, or ``last.keras`` when there is no best one.

    Raises:
        DataError: When neither exists.
    """
    for name in (runfiles.BEST_MODEL, runfiles.LAST_MODEL):
        path = Path(run_dir) / name
        if path.is_file():
            return path
    raise DataError(
        f"{run_dir}: no saved model ({runfiles.BEST_MODEL} or {runfiles.LAST_MODEL}); "
        "a run saves one at the end of its first epoch"
    )


def load_model(path: Path) -> Any:
    """Load a ``.keras`` file in safe mode, compiled (its loss and metrics included).

    Raises:
        DataError: When Keras cannot load it (naming the file and the reason).
    """
    from cnnrun.tf_env import import_keras

    keras = import_keras()
    import cnnrun.model.losses  # noqa: F401 - registers the task losses and metrics
    import cnnrun.model.preprocess  # noqa: F401 - registers BackbonePreprocess

    try:
        return keras.saving.load_model(path, compile=True, safe_mode=True)
    except Exception as exc:  # a damaged zip, an unknown class, unsafe code, ...
        reason = str(exc).strip().splitlines()
        raise DataError(
            f"{path}: Keras cannot load the model ({type(exc).__name__}: "
            f"{reason[0][:300] if reason else ''})"
        ) from None


def saved_model(run_dir: Path) -> Any:
    """The model a run saved (``last.keras``, else ``best.keras``), loaded in safe mode.

    Nothing of the run's config is run: a builder's ``model.file`` is not imported (pass it
    with ``cnnrun --builders FILE`` when the model holds classes of its own).

    Raises:
        DataError: When the run has no saved model or Keras cannot load it.
    """
    for name in (runfiles.LAST_MODEL, runfiles.BEST_MODEL):
        path = Path(run_dir) / name
        if path.is_file():
            break
    else:
        path = checkpoint_path(run_dir)  # raises: neither exists
    try:
        return load_model(path)
    except DataError as exc:
        raise DataError(
            f"{exc} (a model with classes of its own needs them: cnnrun --builders FILE)"
        ) from None


def load_run(run_dir: Path) -> SavedRun:
    """The run's config and best (else last) model.

    Raises:
        DataError: When the folder, its config or its model cannot be read.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"{run_dir} is not a folder")
    config = read_run_config(run_dir)
    path = checkpoint_path(run_dir)
    return SavedRun(run_dir, config, load_model(path), path)


# ---------------------------------------------------------------------------------------
# evaluate
