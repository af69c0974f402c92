import numpy as np
import pytest

from cnnrun.config.schema import DataConfig
from cnnrun.data import locate
from cnnrun.data.arrays import ArrayData, split
from cnnrun.data.loaders import DATASETS, EMBEDDED_FILE, read_npz
from cnnrun.data.prepare import load_splits
from cnnrun.data.synthetic import classification
from cnnrun.errors import DataError


def _npz(path, n_train=20, n_test=10, shape=(28, 28)):
    rng = np.random.default_rng(0)
    np.savez(
        path,
        x_train=rng.integers(0, 255, (n_train, *shape), dtype=np.uint8),
        y_train=np.arange(n_train) % 10,
        x_test=rng.integers(0, 255, (n_test, *shape), dtype=np.uint8),
        y_test=np.arange(n_test) % 10,
    )
    return path


def test_embedded_sample_is_real_balanced_fashion_mnist():
    data = read_npz(EMBEDDED_FILE)
    assert data.x_train.shape == (5000, 28, 28) and data.x_train.dtype == np.uint8
    assert data.x_test.shape == (1000, 28, 28)
    assert np.bincount(data.y_train).tolist() == [500] * 10
    assert data.class_names[0] == "T-shirt/top" and len(data.class_names) == 10


def test_synthetic_is_deterministic_and_shaped():
    a = classification((8, 8, 3), 4, 40, 12)
    b = classification((8, 8, 3), 4, 40, 12)
    assert a.x_train.shape == (40, 8, 8, 3) and a.x_test.shape == (12, 8, 8, 3)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert set(a.y_train.tolist()) == {0, 1, 2, 3}


def test_split_holds_out_the_last_examples_like_keras():
    data = ArrayData(
        np.arange(10 * 4).reshape(10, 2, 2), np.arange(10), np.zeros((3, 2, 2)), np.zeros(3, int)
    )
    s = split(data, (2, 2, 1), "split", 0.2)
    assert s.x_train.shape == (8, 2, 2, 1)
    assert s.y_val.tolist() == [8, 9]
    t = split(data, (4,), "test", 0.2)
    assert t.x_val.shape == (3, 4) and len(t.x_train) == 10
    n = split(data, (2, 2, 1), "none", 0.2)
    assert n.x_val is None and len(n.x_train) == 10


def test_split_rejects_shapes_that_do_not_fit():
    data = ArrayData(np.zeros((4, 28, 28)), np.zeros(4), np.zeros((2, 28, 28)), np.zeros(2))
    with pytest.raises(
        ValueError, match=r"cannot be reshaped to the model's input_shape \[32, 32, 3\]"
    ):
        split(data, (32, 32, 3), "none", 0.0)


def test_local_files_are_found_before_any_download(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNRUN_DATA", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    _npz(tmp_path / "mnist.npz", n_train=30)
    data = DATASETS.get("mnist")(DataConfig(dataset="mnist"), (28, 28, 1), 10)
    assert data.x_train.shape == (30, 28, 28)
    assert data.source == str(tmp_path / "mnist.npz")


def test_config_path_wins_over_cnnrun_data(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _npz(tmp_path / "a" / "fashion_mnist.npz", n_train=11)
    _npz(tmp_path / "b" / "fashion_mnist.npz", n_train=22)
    monkeypatch.setenv("CNNRUN_DATA", str(tmp_path / "b"))
    cfg = DataConfig(dataset="fashion_mnist", path=str(tmp_path / "a"))
    assert len(DATASETS.get("fashion_mnist")(cfg, (28, 28, 1), 10).x_train) == 11


def test_where_message_names_the_file_and_the_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNRUN_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    msg = locate.where_message(["mnist.npz"], None)
    assert "'mnist.npz'" in msg
    assert str(tmp_path / "data") in msg and str(tmp_path / "kh" / "datasets") in msg


def test_npz_without_path_or_keys_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="needs data.path"):
        DATASETS.get("npz")(DataConfig(dataset="npz"), (28, 28, 1), 10)
    bad = tmp_path / "bad.npz"
    np.savez(bad, images=np.zeros(3))
    with pytest.raises(DataError, match="missing arrays"):
        DATASETS.get("npz")(DataConfig(dataset="npz", path=str(bad)), (28, 28, 1), 10)


def test_labels_beyond_the_model_classes_are_caught(tmp_path):
    cfg = DataConfig(dataset="npz", path=str(_npz(tmp_path / "d.npz")), validation="none")
    with pytest.raises(DataError, match="labels up to 9, but the model predicts 5 classes"):
        load_splits(cfg, (28, 28, 1), 5)


def test_smoke_keeps_a_few_batches(tmp_path):
    cfg = DataConfig(dataset="npz", path=str(_npz(tmp_path / "d.npz", 500, 200)), batch_size=8)
    s = load_splits(cfg, (28, 28, 1), 10, smoke=True)
    assert 24 <= len(s.x_train) <= 26  # 3 batches, plus the rounding of the 10% split
    assert len(s.x_val) <= 16 and len(s.x_test) == 16


def test_real_mnist_loads_from_shared_data(shared_data, monkeypatch):
    monkeypatch.setenv("CNNRUN_DATA", str(shared_data))
    data = DATASETS.get("mnist")(DataConfig(dataset="mnist"), (28, 28, 1), 10)
    assert data.x_train.shape == (60000, 28, 28) and data.x_test.shape == (10000, 28, 28)


def test_a_limit_copies_its_cut_so_the_full_arrays_can_be_freed():
    full = ArrayData(np.zeros((100, 4, 4, 1), np.uint8), np.zeros(100), np.zeros((30, 4, 4, 1)),
                     np.zeros(30))  # fmt: skip
    cut = full.limited(10, None)
    assert len(cut.x_train) == 10 and len(cut.y_train) == 10
    assert not np.shares_memory(cut.x_train, full.x_train)
    assert cut.x_test is full.x_test  # nothing cut: nothing copied
