"""``init_from``: start a run from another run's weights (the chapter's §5.4).

``init_from: RUN_DIR`` (or ``{run: RUN_DIR, checkpoint: last|best}``) names a completed run
folder; its ``checkpoints/last.keras`` (default: the model as it ended) or ``best.keras``
is loaded into the freshly built model before the first epoch. Every weight is copied, the
non-trainable ones too (BatchNormalization's statistics); the optimizer is this config's
own, new (no state carried over), and epochs count from 1. A resumed run (``--resume``)
continues from its own checkpoints instead.

``init_from: FILE.yaml`` (``{config: ...}``) is turned into a run folder before this, by
:mod:`cnnrun.train.base_run`; :func:`check_models_match` checks either form for
``cnnrun validate --build``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnrun import runfiles
from cnnrun.config.load import LoadedConfig
from cnnrun.errors import DataError
from cnnrun.train import run_folder

CHECKPOINTS = {"last": runfiles.LAST_MODEL, "best": runfiles.BEST_MODEL}


def check_source(loaded: LoadedConfig) -> dict[str, Any] | None:
    """Check that ``init_from`` names a completed run with the checkpoint asked for.

    Returns:
        What run.json and results.json record: ``{"run", "checkpoint", "file",
        "epochs"}``; None when the experiment has no ``init_from``.

    Raises:
        DataError: When the folder is missing, not a run, not completed, or lacks the file.
    """
    spec = loaded.experiment.init_from
    if spec is None:
        return None
    if spec.run is None:  # base_run.resolve makes every config form a run folder first
        raise ValueError("init_from names an experiment file that was not trained first")
    run = Path(spec.run)
    if not run.is_dir():
        raise DataError(f"init_from: {run} is not a folder (expected a completed run folder)")
    record = run_folder.read_record(run)
    status = record.get("status")
    if status != runfiles.STATUS_COMPLETED:
        raise DataError(
            f"init_from: {run} is not a completed run (status: {status}); finish it first "
            "(`cnnrun train --resume`) or name another run"
        )
    file = run / CHECKPOINTS[spec.checkpoint]
    if not file.is_file():
        raise DataError(f"init_from: {run} has no {CHECKPOINTS[spec.checkpoint]}")
    return {
        "run": str(run),
        "checkpoint": spec.checkpoint,
        "file": str(file),
        "epochs": record.get("epochs_completed"),
    }


def load_into(model: Any, source: dict[str, Any], loaded: LoadedConfig) -> None:
    """Copy the source checkpoint's weights into ``model``, checking every shape first.

    Raises:
        ConfigError: When the two models' weights differ in number or shape (exit 2); the
            message names the first layer that does not match.
    """
    from cnnrun.tf_env import import_keras

    keras = import_keras()
    saved = keras.saving.load_model(source["file"], compile=False, safe_mode=True)
    mine, theirs = list(model.weights), list(saved.weights)
    _check_match(mine, theirs, loaded, f"the one of {source['run']}")
    for a, b in zip(mine, theirs, strict=True):
        a.assign(keras.ops.cast(b.value, a.dtype))


def check_models_match(model: Any, loaded: LoadedConfig) -> None:
    """``validate --build``: ``model`` has the weights of ``init_from``'s model, in shape.

    The run folder's checkpoint, or the model built from the experiment file (no training).
    A run folder without the checkpoint is left to ``train`` (which says why, exit 1).

    Raises:
        ConfigError: As :func:`load_into`, naming the first layer that does not match.
    """
    spec = loaded.experiment.init_from
    if spec is None:
        return
    from cnnrun.tf_env import import_keras

    keras = import_keras()
    if spec.run is not None:
        file = Path(spec.run) / CHECKPOINTS[spec.checkpoint]
        try:
            theirs = keras.saving.load_model(file, compile=False, safe_mode=True).weights
        except Exception:  # missing or unreadable: `train` says why (exit 1)
            return
        what = f"the one of {spec.run}"
    else:
        from cnnrun.checks import load_experiment
        from cnnrun.model.backbones import random_weights_if_missing
        from cnnrun.model.build import build_model

        base = load_experiment(spec.config)
        with random_weights_if_missing():
            theirs = build_model(base.experiment, base).weights
        what = f"the one built from {spec.config}"
    _check_match(list(model.weights), list(theirs), loaded, what)


def _check_match(mine: list[Any], theirs: list[Any], loaded: LoadedConfig, what: str) -> None:
    for a, b in zip(mine, theirs, strict=False):
        if tuple(a.shape) != tuple(b.shape):
            detail = f"{tuple(a.shape)} here, {tuple(b.shape)} there"
            raise _mismatch(loaded, what, a.path, detail)
    if len(mine) != len(theirs):
        extra = mine[len(theirs)] if len(mine) > len(theirs) else theirs[len(mine)]
        raise _mismatch(loaded, what, extra.path, f"{len(mine)} weights here, {len(theirs)} there")


def _mismatch(loaded: LoadedConfig, what: str, where: str, detail: str) -> Exception:
    layer = where.split("/")[0]
    return loaded.error(
        f"the model does not match {what}: first difference at layer '{layer}' ({where}: {detail})",
        "init_from",
        expected="the same layers, in the same order and shapes, as that model",
    )
