"""CIFAR-10 from the official `cifar-10-batches-py` folder, and `cnnrun data show` (§6.2)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cnnrun.cli.app import app
from cnnrun.config.schema import DataConfig
from cnnrun.data.loaders import CIFAR10_CLASSES, DATASETS
from cnnrun.errors import ConfigError
from cnnrun.plots.samples import pick, save_grid, show_dataset

runner = CliRunner()
PER_BATCH = 4


def cifar_batch(path: Path, start: int, n: int = PER_BATCH) -> None:
    """One pickle of the official layout: b"data" (n, 3072) channel-major, b"labels"."""
    images = np.zeros((n, 3, 32, 32), np.uint8)
    for i in range(n):
        images[i, 0] = (start + i) % 256  # red channel: the example's index
        images[i, 1, :, :16] = 200  # green on the left half
    labels = [(start + i) % 10 for i in range(n)]
    with open(path, "wb") as f:
        pickle.dump({b"data": images.reshape(n, -1), b"labels": labels}, f)


@pytest.fixture
def cifar_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for b in range(5):
        cifar_batch(folder / f"data_batch_{b + 1}", b * PER_BATCH)
    cifar_batch(folder / "test_batch", 100, n=3)
    return folder


def load_cifar(path: str | None):  # noqa: ANN201
    return DATASETS.get("cifar10")(DataConfig(dataset="cifar10", path=path), (32, 32, 3), 10)


def test_cifar10_reads_the_official_folder(cifar_folder):
    data = load_cifar(str(cifar_folder))
    assert data.x_train.shape == (5 * PER_BATCH, 32, 32, 3) and data.x_train.dtype == np.uint8
    assert data.x_test.shape == (3, 32, 32, 3)
    assert data.class_names == CIFAR10_CLASSES
    assert list(data.y_train[:12]) == [i % 10 for i in range(12)]
    # channel-major rows become height x width x (red, green, blue), batches in order
    assert list(data.x_train[:, 0, 0, 0]) == list(range(5 * PER_BATCH))
    assert data.x_train[7, 5, 3, 1] == 200 and data.x_train[7, 5, 20, 1] == 0
    assert data.x_test[2, 0, 0, 0] == 102
    assert data.source == str(cifar_folder)


def test_cifar10_is_found_through_its_parent_folder_and_the_search_path(
    cifar_folder, monkeypatch, tmp_path
):
    assert load_cifar(str(cifar_folder.parent)).x_train.shape[0] == 5 * PER_BATCH
    monkeypatch.setenv("CNNRUN_DATA", str(cifar_folder.parent))
    assert load_cifar(None).source == str(cifar_folder)
    monkeypatch.delenv("CNNRUN_DATA")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    (tmp_path / "kh" / "datasets").mkdir(parents=True)
    cifar_folder.rename(tmp_path / "kh" / "datasets" / "cifar-10-batches-py")
    assert load_cifar(None).x_test.shape == (3, 32, 32, 3)


def test_cifar10_npz_is_read_first(tmp_path):
    x = np.zeros((2, 32, 32, 3), np.uint8)
    y = np.array([[3], [4]], np.uint8)  # keras.datasets gives (n, 1) labels
    np.savez(tmp_path / "cifar10.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    data = load_cifar(str(tmp_path))
    assert list(data.y_train) == [3, 4] and data.class_names == CIFAR10_CLASSES


def test_data_show_writes_a_grid_with_class_names(cifar_folder, tmp_path):
    out = tmp_path / "grid.png"
    res = runner.invoke(
        app,
        ["data", "show", "cifar10", "--path", str(cifar_folder), "--out", str(out), "--n", "9"],
    )
    assert res.exit_code == 0, res.output
    assert res.output.strip() == f"wrote {out}"
    with Image.open(out) as img:
        assert img.format == "PNG"
        width, height = img.size
    assert 300 < width < 600 and 300 < height < 700  # a 3x3 grid


def test_data_show_test_split_and_first_images(cifar_folder, tmp_path):
    out = show_dataset("cifar10", tmp_path / "t.png", n=50, split="test",
                       path=str(cifar_folder), seed=None)  # fmt: skip
    assert out.stat().st_size > 0


def test_data_show_unknown_dataset_suggests_a_name(tmp_path):
    res = runner.invoke(app, ["data", "show", "cifar_10", "--out", str(tmp_path / "x.png")])
    assert res.exit_code == 2
    assert "unknown data set 'cifar_10'. Did you mean 'cifar10'?" in res.output
    with pytest.raises(ConfigError):
        show_dataset("nope", tmp_path / "y.png")


def test_data_show_missing_files_is_a_data_error(tmp_path, monkeypatch):
    res = runner.invoke(
        app, ["data", "show", "npz", "--path", str(tmp_path / "none.npz"), "--out", "x.png"]
    )
    assert res.exit_code == 1
    assert "does not exist" in res.output


def test_grid_handles_grey_float_and_a_partial_last_row(tmp_path):
    grey = np.random.default_rng(0).uniform(size=(5, 8, 8, 1)).astype("float32")
    out = save_grid(grey, np.array([0, 1, 2, 0, 1]), ["a", "b", "c"], tmp_path / "g.png")
    assert out.exists()
    synthetic = show_dataset("synthetic", tmp_path / "s.png", n=4)
    assert synthetic.exists()


def test_pick_is_seeded_and_sorted():
    assert list(pick(10, 3, None)) == [0, 1, 2]
    a, b = pick(100, 5, 1), pick(100, 5, 1)
    assert list(a) == list(b) == sorted(a) and len(set(a)) == 5
    assert len(pick(3, 10, 0)) == 3
