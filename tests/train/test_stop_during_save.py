"""A Ctrl-C that lands while a checkpoint is written stops the run as interrupted."""

import json
import os
import signal

import pytest
from rich.console import Console

from cnnrun import runfiles
from cnnrun.checks import load_experiment
from cnnrun.train import resume
from cnnrun.train.trainer import TrainOptions, train


def _train(path, tmp_path):
    loaded = load_experiment(path, ["epochs=3"])
    console = Console(file=open(tmp_path / "console.txt", "a"), width=120)
    return train(loaded, TrainOptions(runs_dir=tmp_path / "runs"), console)


def _status(tmp_path):
    (run,) = (tmp_path / "runs").iterdir()
    return run, json.loads((run / runfiles.RUN).read_text())


def test_ctrl_c_during_the_save_waits_for_the_checkpoint(tiny_config, tmp_path, monkeypatch):
    real_save = resume.save

    def save_with_a_ctrl_c(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        signal.sigtimedwait([], 0.01)  # the handler runs here, in the middle of the save
        return real_save(*args, **kwargs)

    monkeypatch.setattr(resume, "save", save_with_a_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        _train(tiny_config, tmp_path)
    run, record = _status(tmp_path)
    assert record["status"] == runfiles.STATUS_INTERRUPTED
    assert [s.epoch for s in resume.candidates(run)] == [1]  # epoch 1's save was finished


def test_a_ctrl_c_that_library_code_turns_into_another_error_is_an_interruption(
    tiny_config, tmp_path, monkeypatch
):
    real_save = resume.save

    def save_like_keras(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            signal.sigtimedwait([], 0.01)
            real_save(*args, **kwargs)
        finally:
            raise UnboundLocalError("cannot access local variable 'weights_store'")

    monkeypatch.setattr(resume, "save", save_like_keras)
    with pytest.raises(KeyboardInterrupt):
        _train(tiny_config, tmp_path)
    run, record = _status(tmp_path)
    assert record["status"] == runfiles.STATUS_INTERRUPTED
    assert not (run / runfiles.ERROR_LOG).exists()
