import numpy as np
import pytest
from image_tree import make_image_tree

from cnnrun.config.schema import DataConfig
from cnnrun.data.image_folder import EXTENSIONS as EXT
from cnnrun.data.image_folder import read_image_folder
from cnnrun.data.loaders import DATASETS
from cnnrun.data.prepare import load_splits
from cnnrun.errors import DataError


def test_a_class_folder_is_read_with_sorted_class_names(tmp_path):
    make_image_tree(tmp_path / "imgs", classes=("dog", "Cat", "bird"), per_class=4)
    (tmp_path / "imgs" / "dog" / "notes.txt").write_text("not an image")
    data = read_image_folder(tmp_path / "imgs", (8, 10), EXT)
    assert data.class_names == ["Cat", "bird", "dog"]  # Python's sorted(), as Keras
    assert data.x_train.shape == (12, 8, 10, 3) and data.x_train.dtype == np.uint8
    assert sorted(np.bincount(data.y_train).tolist()) == [4, 4, 4]
    assert data.own_test is False and data.x_val is None
    # each class keeps its colour: red Cat, green bird, blue dog (the colours of make_image_tree)
    means = [data.x_train[data.y_train == k].mean(axis=(0, 1, 2)) for k in range(3)]
    assert [int(np.argmax(m)) for m in means] == [1, 2, 0]


def test_train_val_test_subfolders_give_their_own_splits(tmp_path):
    for split, n in (("train", 6), ("val", 2), ("test", 3)):
        make_image_tree(tmp_path / "d" / split, per_class=n, seed=n)
    cfg = DataConfig(dataset="folder", path=str(tmp_path / "d"), batch_size=4)
    splits = load_splits(cfg, (8, 8, 3), 3)
    assert (len(splits.x_train), len(splits.x_val), len(splits.x_test)) == (18, 6, 9)
    assert splits.class_names == ["cat", "dog", "fox"]


def test_without_val_and_test_a_fixed_shuffle_gives_mixed_splits(tmp_path):
    make_image_tree(tmp_path / "d", per_class=20)
    cfg = DataConfig(dataset="folder", path=str(tmp_path / "d"), validation_split=0.2,
                     test_split=0.25)  # fmt: skip
    a = load_splits(cfg, (8, 8, 1), 3)
    b = load_splits(cfg, (8, 8, 1), 3)
    assert (len(a.x_train), len(a.x_val), len(a.x_test)) == (36, 9, 15)
    assert a.x_train.shape[1:] == (8, 8, 1)  # grey for a 1-channel model
    assert len(set(a.y_val.tolist())) == 3 and len(set(a.y_test.tolist())) == 3
    np.testing.assert_array_equal(a.y_val, b.y_val)  # the same split every time


def test_a_corrupt_image_is_named_or_skipped_and_counted(tmp_path):
    make_image_tree(tmp_path / "d", per_class=3)
    bad = tmp_path / "d" / "dog" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff not really a jpeg")
    with pytest.raises(DataError, match="broken.jpg"):
        read_image_folder(tmp_path / "d", (8, 8), EXT)
    data = read_image_folder(tmp_path / "d", (8, 8), EXT, skip_bad=True)
    assert len(data.x_train) == 9 and len(data.skipped) == 1
    assert data.skipped[0][0].endswith("broken.jpg")


def test_a_csv_of_path_and_label(tmp_path):
    make_image_tree(tmp_path / "d", per_class=2)
    rows = ["path,label"] + [
        f"d/{p.parent.name}/{p.name},{p.parent.name}" for p in sorted(tmp_path.glob("d/*/*"))
    ]
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    data = read_image_folder(tmp_path / "labels.csv", (8, 8), EXT)
    assert data.class_names == ["cat", "dog", "fox"] and len(data.x_train) == 6
    (tmp_path / "bad.csv").write_text("d/cat/missing.png,cat\n")
    with pytest.raises(DataError, match="missing.png"):
        read_image_folder(tmp_path / "bad.csv", (8, 8), EXT)


def test_layout_errors_say_what_is_expected(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no class folders"):
        read_image_folder(tmp_path / "empty", (8, 8), EXT)
    make_image_tree(tmp_path / "d", per_class=2)
    cfg = DataConfig(dataset="folder", path=str(tmp_path / "d"))
    with pytest.raises(DataError, match="give the last layer 3 units"):
        DATASETS.get("folder")(cfg, (8, 8, 3), 2)


def test_images_that_cannot_fit_in_memory_are_refused(tmp_path, monkeypatch):
    import cnnrun.data.image_folder as image_folder

    make_image_tree(tmp_path / "d", per_class=2)
    monkeypatch.setattr(image_folder, "available_memory", lambda: 1000)
    with pytest.raises(DataError, match="GiB of memory"):
        read_image_folder(tmp_path / "d", (64, 64), EXT)


def test_data_import_checks_and_copies_a_folder_and_a_csv(tmp_path):
    from typer.testing import CliRunner

    from cnnrun.cli.app import app

    make_image_tree(tmp_path / "photos", per_class=3)
    (tmp_path / "photos" / "cat" / "broken.png").write_bytes(b"")
    runner = CliRunner()
    result = runner.invoke(app, ["data", "import", str(tmp_path / "photos"),
                                 "--dest", str(tmp_path / "data")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "left out" in result.output and "broken.png" in result.output
    assert "dataset: folder" in result.output
    data = read_image_folder(tmp_path / "data" / "photos", (8, 8))
    assert len(data.x_train) == 9  # the empty file was not copied
    rows = [f"photos/{p.parent.name}/{p.name},{p.parent.name.upper()}"
            for p in sorted(tmp_path.glob("photos/*/*.jpg"))]  # fmt: skip
    (tmp_path / "pets.csv").write_text("path,label\n" + "\n".join(rows) + "\n")
    result = runner.invoke(app, ["data", "import", str(tmp_path / "pets.csv"),
                                 "--dest", str(tmp_path / "data")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "data" / "pets").iterdir()) == ["CAT", "DOG", "FOX"]


def test_my_images_config_trains_on_a_folder_and_keeps_its_class_names(tmp_path):
    import json

    from conftest import REPO
    from typer.testing import CliRunner

    from cnnrun import runfiles
    from cnnrun.cli.app import app

    make_image_tree(tmp_path / "photos", classes=("ant", "bee", "wasp"), per_class=10)
    result = CliRunner().invoke(
        app,
        ["train", str(REPO / "configs" / "my_images.yaml"), "--set",
         f"data.path={tmp_path / 'photos'}", "--set", "model.input_shape=[16, 16, 3]",
         "--epochs", "1", "--runs-dir", str(tmp_path / "runs")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / result.output.strip().splitlines()[-1].split("/")[-1]
    assert json.loads((run / runfiles.CLASS_NAMES).read_text()) == ["ant", "bee", "wasp"]
    results = json.loads((run / runfiles.RESULTS).read_text())
    assert results["per_class"]["names"] == ["ant", "bee", "wasp"]
    assert sum(results["per_class"]["support"]) == 4  # 15% of 30 photos
