"""TensorBoard logs of every run (``RUN/tensorboard/``), with the config as HParams.

Keras's ``TensorBoard`` callback writes the per-epoch scalars (``train/`` and
``validation/``: ``epoch_loss``, ``epoch_accuracy``, ...); this module adds the HParams
plugin's session for the run folder: the resolved config, flattened to dotted keys
(``optimizer.learning_rate``, ``model.layers[5].Dropout``), at the start, and the test
figures (``test_accuracy``, ``test_macro_f1``, ...) with the session's end at the end. So
``tensorboard --logdir runs`` shows every run in the HParams tab, one row each, with its
configuration beside its validation and test figures.

``tensorboard: false`` turns it off; a ``tensorboard`` entry in ``callbacks:`` replaces the
default Keras callback (its arguments are kept) and still gets the HParams.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnrun import runfiles
from cnnrun.config.schema import Experiment
from cnnrun.runs.record import flatten_config
from cnnrun.tf_env import import_keras, import_tensorflow


def hparams(exp: Experiment) -> dict[str, bool | int | float | str]:
    """The resolved config as HParams values (dotted keys; lists and None as text)."""
    out: dict[str, bool | int | float | str] = {}
    for key, value in flatten_config(exp.to_dict()).items():
        if isinstance(value, bool | int | float | str):
            out[key] = value
        else:  # None, scalar lists: the plugin takes only bool, number or string
            out[key] = "null" if value is None else str(value)
    return out


def log_dir(run_dir: Path) -> Path:
    """``RUN/tensorboard``."""
    return Path(run_dir) / runfiles.TENSORBOARD


def tensorboard_callbacks(exp: Experiment, run_dir: Path, user_has_one: bool) -> list[Any]:
    """The default TensorBoard callback (unless the user gave one), and the HParams start.

    Returns:
        Keras callbacks to add to the run's (empty when ``exp.tensorboard`` is false).
    """
    if not exp.tensorboard:
        return []
    keras = import_keras()
    start_session(exp, run_dir)
    if user_has_one:
        return []
    # No graph: it is written by tracing the model, which costs time on every run start.
    return [keras.callbacks.TensorBoard(str(log_dir(run_dir)), write_graph=False)]


def start_session(exp: Experiment, run_dir: Path) -> None:
    """Write the HParams session start (the config) into ``RUN/tensorboard``."""
    tf = import_tensorflow()
    from tensorboard.plugins.hparams import api as hp

    with tf.summary.create_file_writer(str(log_dir(run_dir))).as_default():
        hp.hparams(hparams(exp), trial_id=Path(run_dir).name)


def end_session(exp: Experiment, run_dir: Path, test: dict[str, float] | None) -> None:
    """Write the test figures (``test_<metric>``, if any) and the session's successful end."""
    if not exp.tensorboard:
        return
    tf = import_tensorflow()
    from tensorboard.plugins.hparams import api_pb2
    from tensorboard.plugins.hparams import summary as hp_summary

    with tf.summary.create_file_writer(str(log_dir(run_dir))).as_default() as writer:
        for name, value in (test or {}).items():
            tf.summary.scalar(f"test_{name}", float(value), step=0)
        end = hp_summary.session_end_pb(api_pb2.STATUS_SUCCESS)
        tf.summary.experimental.write_raw_pb(end.SerializeToString(), step=0)
        writer.flush()
