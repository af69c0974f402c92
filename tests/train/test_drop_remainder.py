"""data.drop_remainder: floor(n / batch) steps for training and validation, the test whole."""

import csv
import json

import numpy as np
import pytest
from rich.console import Console

from cnnrun import runfiles
from cnnrun.checks import load_experiment
from cnnrun.data.prepare import load_splits
from cnnrun.errors import DataError
from cnnrun.train import callbacks as cb
from cnnrun.train import fit
from cnnrun.train.pipeline import dataset, training_stream
from cnnrun.train.trainer import TrainOptions, train

DROP = ["data.drop_remainder=true"]


def _train(path, tmp_path, overrides=(), resume_dir=None, runs="runs", smoke=False):
    loaded = load_experiment(path, list(overrides))
    console = Console(file=open(tmp_path / "console.txt", "a"), width=120)
    options = TrainOptions(runs_dir=tmp_path / runs, resume_dir=resume_dir, smoke=smoke)
    return train(loaded, options, console)


def _epochs_of(stream, steps, epochs):
    """The label batches of each epoch, from a stream of ``epochs * steps`` batches."""
    batches = [y.numpy() for _, y in stream]
    assert len(batches) == steps * epochs
    return [batches[e * steps : (e + 1) * steps] for e in range(epochs)]


def test_training_stream_drops_a_different_remainder_each_epoch():
    x = np.zeros((10, 2, 2, 1), np.uint8)
    y = np.arange(10, dtype=np.int32)
    ds, steps = training_stream(x, y, 4, first_epoch=0, epochs=4, seed=3, drop_remainder=True)
    assert steps == 2  # floor(10 / 4)
    epochs = _epochs_of(ds, steps, 4)
    left_out = []
    for batches in epochs:
        assert [len(b) for b in batches] == [4, 4]
        seen = np.concatenate(batches)
        assert len(set(seen)) == 8
        left_out.append(frozenset(set(range(10)) - set(seen)))
    assert len(set(left_out)) > 1, "shuffling leaves out different examples each epoch"

    kept, steps_all = training_stream(x, y, 4, first_epoch=0, epochs=1, seed=3)
    assert steps_all == 3 and [len(b) for b in _epochs_of(kept, 3, 1)[0]] == [4, 4, 2]


def test_a_resumed_stream_drops_what_the_whole_one_dropped():
    x = np.zeros((10, 2, 2, 1), np.uint8)
    y = np.arange(10, dtype=np.int32)
    whole, steps = training_stream(x, y, 4, first_epoch=0, epochs=3, seed=9, drop_remainder=True)
    later, _ = training_stream(x, y, 4, first_epoch=2, epochs=3, seed=9, drop_remainder=True)
    third = _epochs_of(whole, steps, 3)[2]
    assert [b.tolist() for b in _epochs_of(later, steps, 1)[0]] == [b.tolist() for b in third]


def test_augmented_keypoint_batches_keep_a_fixed_size():
    x = np.zeros((7, 8, 8, 3), np.uint8)
    y = np.random.default_rng(0).uniform(size=(7, 6)).astype(np.float32)

    def augment(images, labels, seed):
        return images, labels[:, ::-1].copy()

    ds, steps = training_stream(
        x, y, 3, first_epoch=0, epochs=2, seed=1, augment=augment, drop_remainder=True
    )
    assert steps == 2
    assert ds.element_spec[0].shape[0] == 3  # a static batch: no partial one can come
    assert [b.shape for b in _epochs_of(ds, steps, 2)[1]] == [(3, 6), (3, 6)]


def test_validation_dataset_drops_its_partial_batch():
    x = np.zeros((10, 2, 2, 1), np.uint8)
    y = np.arange(10, dtype=np.int32)
    assert [len(b[1]) for b in dataset(x, y, 4, drop_remainder=True)] == [4, 4]
    assert [len(b[1]) for b in dataset(x, y, 4)] == [4, 4, 2]


@pytest.fixture
def steps_seen(monkeypatch):
    """The progress bar's step count and the batches each epoch really ran."""
    seen = {"steps": [], "batches": []}

    class Recording(cb.RichProgress):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen["steps"].append(self.steps)

        def on_epoch_begin(self, epoch, logs=None):
            seen["batches"].append(0)
            super().on_epoch_begin(epoch, logs)

        def on_train_batch_end(self, batch, logs=None):
            seen["batches"][-1] = batch + 1
            super().on_train_batch_end(batch, logs)

    monkeypatch.setattr(cb, "RichProgress", Recording)
    return seen


def test_a_run_trains_whole_batches_validates_whole_batches_and_tests_everything(
    tiny_config, tmp_path, steps_seen
):
    import keras

    sets = [*DROP, "data.test_limit=40"]  # test: 2 batches of 16 and one of 8
    run = _train(tiny_config, tmp_path, sets).run_dir
    # TINY: 96 examples, 25% validation: 72 training (4 x 16 + 8), 24 validation (16 + 8)
    assert steps_seen["steps"] == [4] and steps_seen["batches"] == [4, 4]
    results = json.loads((run / runfiles.RESULTS).read_text())
    exp = load_experiment(tiny_config, sets).experiment
    splits = load_splits(exp.data, tuple(exp.model.input_shape), 3)
    assert (len(splits.x_train), len(splits.x_val), len(splits.x_test)) == (72, 24, 40)
    model = keras.saving.load_model(run / runfiles.LAST_MODEL)
    with open(run / runfiles.METRICS) as f:
        val_loss = float(list(csv.DictReader(f))[-1]["val_loss"])

    def loss(x, y):
        return model.evaluate(dataset(x, y, 16), verbose=0, return_dict=True)["loss"]

    assert val_loss == pytest.approx(loss(splits.x_val[:16], splits.y_val[:16]), rel=1e-4)
    assert val_loss != pytest.approx(loss(splits.x_val, splits.y_val), rel=1e-4)
    assert results["test"]["loss"] == pytest.approx(loss(splits.x_test, splits.y_test), rel=1e-4)
    # samples/s counts the 64 examples trained per epoch, not the 72 of the split
    assert fit.trained_per_epoch(exp, 72) == 64
    seconds = sum(float(r["seconds"]) for r in csv.DictReader(open(run / runfiles.METRICS)))
    assert results["train_samples_per_s"] == pytest.approx(64 * 2 / seconds, rel=0.5)


def test_without_it_every_example_trains(tiny_config, tmp_path, steps_seen):
    _train(tiny_config, tmp_path)
    assert steps_seen["steps"] == [5] and steps_seen["batches"] == [5, 5]


def test_a_resumed_run_equals_an_uninterrupted_one(tiny_config, tmp_path):
    import keras

    whole = _train(tiny_config, tmp_path, [*DROP, "epochs=3"], runs="a").run_dir
    part = _train(tiny_config, tmp_path, [*DROP, "epochs=2"], runs="b").run_dir
    _train(part / runfiles.CONFIG, tmp_path, ["epochs=3"], resume_dir=part)
    a = keras.saving.load_model(whole / runfiles.LAST_MODEL).get_weights()
    b = keras.saving.load_model(part / runfiles.LAST_MODEL).get_weights()
    for wa, wb in zip(a, b, strict=True):
        np.testing.assert_allclose(wa, wb, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("sets", "split", "size"),
    [
        (["data.batch_size=32"], "validation", 24),
        (["data.batch_size=100", "data.validation=none"], "training", 96),
    ],
)
def test_a_split_smaller_than_one_batch_is_an_error(tiny_config, tmp_path, sets, split, size):
    with pytest.raises(DataError) as info:
        _train(tiny_config, tmp_path, [*DROP, *sets])
    message = str(info.value)
    assert f"the {split} split has {size} examples" in message
    bs = sets[0].split("=")[1]
    assert f"one batch of {bs}" in message and "data.drop_remainder" in message
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_a_smoke_run_has_one_whole_validation_batch(tiny_config, tmp_path, steps_seen):
    # batch 16, 5% validation: a smoke run reads 321 examples (16 of them validation),
    # not the 51 that give 3 training batches (and 2 validation examples)
    sets = [*DROP, "data.limit=1000", "data.validation_split=0.05"]
    run = _train(tiny_config, tmp_path, sets, smoke=True).run_dir
    assert json.loads((run / runfiles.RUN).read_text())["status"] == "completed"
    assert steps_seen["steps"] == [305 // 16]
