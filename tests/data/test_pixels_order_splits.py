"""Issue 12 items 2-4: folder order (data.order), counted validation and train_limit,
resizing (data.resize) and the pixel range fed (data.pixel_range)."""

import os
import random

import numpy as np
import pytest
from PIL import Image

from cnnrun.config.schema import DataConfig
from cnnrun.data.folders import read_oxford_pets, read_trimap
from cnnrun.data.pixels import divide_by_255, for_display
from cnnrun.data.prepare import SplitCountError, load_splits

SHAPE = (16, 16, 3)


def make_numbered_pets(root, n=13, size=(20, 24)):
    """Oxford's layout; photo i is a flat grey 15 * i (its identity after decoding)."""
    (root / "images").mkdir(parents=True)
    (root / "annotations" / "trimaps").mkdir(parents=True)
    w, h = size
    names = [f"{breed}_{k}" for breed in ("Bengal", "Abyssinian", "pug") for k in (1, 10, 2, 3, 11)]
    for i, stem in enumerate(names[:n]):
        Image.new("RGB", (w, h), (15 * i,) * 3).save(root / "images" / f"{stem}.jpg", quality=95)
        trimap = np.full((h, w), 2, np.uint8)
        trimap[: h // 2] = 1
        trimap[h // 2 : h // 2 + 3] = 3
        Image.fromarray(trimap).save(root / "annotations" / "trimaps" / f"{stem}.png")
    return root, names[:n]


def identity(images):
    return [int(round(float(np.asarray(img, np.float32).mean()) / 15)) for img in images]


def keras_example_order(input_dir, target_dir, val_samples, max_dataset_len):
    """The §7.2 example's lines (keras-io oxford_pets_image_segmentation.py) on a folder."""
    input_img_paths = sorted(
        [
            os.path.join(input_dir, fname)
            for fname in os.listdir(input_dir)
            if fname.endswith(".jpg")
        ]
    )
    target_img_paths = sorted(
        [
            os.path.join(target_dir, fname)
            for fname in os.listdir(target_dir)
            if fname.endswith(".png") and not fname.startswith(".")
        ]
    )
    random.Random(1337).shuffle(input_img_paths)
    random.Random(1337).shuffle(target_img_paths)
    train_input_img_paths = input_img_paths[:-val_samples]
    train_target_img_paths = target_img_paths[:-val_samples]
    val_input_img_paths = input_img_paths[-val_samples:]
    val_target_img_paths = target_img_paths[-val_samples:]
    train_input_img_paths = train_input_img_paths[:max_dataset_len]
    train_target_img_paths = train_target_img_paths[:max_dataset_len]
    return (train_input_img_paths, train_target_img_paths), (val_input_img_paths,
                                                             val_target_img_paths)  # fmt: skip


def pets_cfg(folder, **data):
    return DataConfig(dataset="oxford_pets", path=str(folder), **data)


def test_python_random_order_and_splits_are_the_keras_examples(tmp_path):
    folder, names = make_numbered_pets(tmp_path / "pets")
    (train_x, train_y), (val_x, val_y) = keras_example_order(
        folder / "images", folder / "annotations" / "trimaps", val_samples=4, max_dataset_len=5
    )
    # the example pairs photos and trimaps by their two sorted lists: the same stems
    assert [os.path.basename(p)[:-4] for p in train_x] == [
        os.path.basename(p)[:-4] for p in train_y
    ]
    cfg = pets_cfg(
        folder, order={"shuffle": "python_random", "seed": 1337}, test_split=0,
        validation_split=4, train_limit=5,
    )  # fmt: skip
    splits = load_splits(cfg, SHAPE, 3, task="segmentation")
    want = {n: i for i, n in enumerate(names)}
    assert identity(splits.x_train) == [want[os.path.basename(p)[:-4]] for p in train_x]
    assert identity(splits.x_val) == [want[os.path.basename(p)[:-4]] for p in val_x]
    assert len(splits.x_test) == 0
    # and the order itself, file by file
    data = read_oxford_pets(folder, SHAPE[:2], order="python_random", shuffle_seed=1337)
    full = sorted(str(p) for p in (folder / "images").glob("*.jpg"))
    random.Random(1337).shuffle(full)
    assert data.names == [f"images/{os.path.basename(p)}" for p in full]


def test_numpy_order_is_unchanged_and_none_is_sorted(tmp_path):
    folder, names = make_numbered_pets(tmp_path / "pets")
    files = sorted(p.name for p in (folder / "images").glob("*.jpg"))
    numpy_order = [files[i] for i in np.random.default_rng(1337).permutation(len(files))]
    assert read_oxford_pets(folder, SHAPE[:2], shuffle_seed=1337).names == [
        f"images/{f}" for f in numpy_order
    ]
    none = read_oxford_pets(folder, SHAPE[:2], order="none", shuffle_seed=1337)
    assert none.names == [f"images/{f}" for f in files]


def test_validation_split_count_and_train_limit_after_the_test_set(tmp_path):
    folder, _ = make_numbered_pets(tmp_path / "pets")  # 13 photos
    cfg = pets_cfg(folder, order={"shuffle": "none"}, test_split=0.25, validation_split=3,
                   train_limit=2)  # fmt: skip
    splits = load_splits(cfg, SHAPE, 3, task="segmentation")
    # sorted; the last 3 of 13 test, the last 3 of the other 10 validation, then 2 of 7
    files = sorted(p.stem for p in (folder / "images").glob("*.jpg"))
    _, names = make_numbered_pets(tmp_path / "again")
    ids = [names.index(stem) for stem in files]
    assert identity(splits.x_test) == ids[10:]
    assert identity(splits.x_val) == ids[7:10]
    assert identity(splits.x_train) == ids[:2]
    # a fraction stays a fraction
    cfg = pets_cfg(folder, order={"shuffle": "none"}, test_split=0, validation_split=0.25)
    splits = load_splits(cfg, SHAPE, 3, task="segmentation")
    assert (len(splits.x_train), len(splits.x_val)) == (10, 3)


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        ({"validation_split": 13}, "data.validation_split", "13 validation examples"),
        ({"validation_split": 10, "test_split": 0.25}, "data.validation_split", "has 10 examples"),
        ({"validation_split": 3, "train_limit": 11}, "data.train_limit", "has 10 left"),
    ],
)
def test_counts_beyond_the_data_name_their_key(tmp_path, data, key, words):
    folder, _ = make_numbered_pets(tmp_path / "pets")
    cfg = pets_cfg(folder, **{"test_split": 0, **data})
    with pytest.raises(SplitCountError) as err:
        load_splits(cfg, SHAPE, 3, task="segmentation")
    assert err.value.key == key and words in str(err.value)


def test_a_smoke_run_shrinks_the_counts(tmp_path):
    folder, _ = make_numbered_pets(tmp_path / "pets")
    cfg = pets_cfg(folder, test_split=0, validation_split=1000, train_limit=1000, batch_size=2)
    splits = load_splits(cfg, SHAPE, 3, smoke=True, task="segmentation")
    assert (len(splits.x_train), len(splits.x_val)) == (6, 4)


# ---------------------------------------------------------------------------------------
# data.resize


def photo(tmp_path, size=(37, 29)):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    path = tmp_path / "images" / "Bengal_1.png"  # lossless: the decoded pixels are these
    path.parent.mkdir(parents=True)
    Image.fromarray(pixels).save(path)
    trimap = rng.integers(1, 4, (size[1], size[0]), dtype=np.uint8)
    (tmp_path / "annotations" / "trimaps").mkdir(parents=True)
    Image.fromarray(trimap).save(tmp_path / "annotations" / "trimaps" / "Bengal_1.png")
    return pixels, trimap


def test_tf_bilinear_is_tf_image_resize_kept_float32(tmp_path):
    import tensorflow as tf

    pixels, trimap = photo(tmp_path)
    data = read_oxford_pets(tmp_path, (16, 20), resize="tf_bilinear")
    want = tf.image.resize(pixels, (16, 20)).numpy()
    assert data.images.dtype == np.float32
    np.testing.assert_array_equal(data.images[0], want)
    assert not np.array_equal(want, np.rint(want))  # not rounded to uint8
    # masks: the example's tf.image.resize(method="nearest"), minus one
    mask = tf.image.resize(trimap[..., None], (16, 20), method="nearest").numpy()[..., 0] - 1
    np.testing.assert_array_equal(data.masks[0], mask)
    # the default is Pillow's, uint8
    assert read_oxford_pets(tmp_path, (16, 20)).images.dtype == np.uint8


def test_imgaug_linear_is_imgaugs_linear_resize(tmp_path):
    from cnnrun.data.augment import import_imgaug

    iaa = import_imgaug()
    pixels, _ = photo(tmp_path)
    data = read_oxford_pets(tmp_path, (16, 20), resize="imgaug_linear")
    want = iaa.Resize({"height": 16, "width": 20}, interpolation="linear")(image=pixels)
    assert data.images.dtype == np.uint8
    np.testing.assert_array_equal(data.images[0], want)
    pillow = read_oxford_pets(tmp_path, (16, 20)).images[0]
    assert not np.array_equal(pillow, want)  # a different resize indeed
    assert read_trimap(tmp_path / "annotations" / "trimaps" / "Bengal_1.png", (16, 20)).shape == (
        16,
        20,
    )


def test_folder_dataset_reads_float32_with_tf_bilinear(tmp_path):
    for cls in ("a", "b"):
        for k in range(3):
            (tmp_path / "imgs" / cls).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (9, 7), (40 * k, 90, 10)).save(tmp_path / "imgs" / cls / f"{k}.png")
    cfg = DataConfig(dataset="folder", path=str(tmp_path / "imgs"), resize="tf_bilinear",
                     test_split=0, validation="none")  # fmt: skip
    splits = load_splits(cfg, (4, 4, 3), 2)
    assert splits.x_train.dtype == np.float32 and splits.x_train.shape == (6, 4, 4, 3)


# ---------------------------------------------------------------------------------------
# data.pixel_range


def test_pixel_range_decides_the_division_by_255():
    uint8 = np.zeros((1, 2, 2, 3), np.uint8)
    floats = np.zeros((1, 2, 2, 3), np.float32)
    assert divide_by_255(DataConfig(), uint8)
    assert not divide_by_255(DataConfig(pixel_range="raw"), uint8)
    assert not divide_by_255(DataConfig(dataset="npz"), floats)  # floats of a file: as they are
    pets = {"dataset": "oxford_pets", "resize": "tf_bilinear"}
    assert divide_by_255(DataConfig(**pets), floats)  # tf_bilinear's 0..255 floats
    assert not divide_by_255(DataConfig(**pets, pixel_range="raw"), floats)
    shown = for_display(DataConfig(**pets), np.full((2, 2, 3), 200.4, np.float32))
    assert shown.dtype == np.uint8 and shown.max() == 200


def test_the_pipeline_feeds_raw_pixels_when_told():
    from cnnrun.train.pipeline import dataset, training_stream

    x = np.full((4, 2, 2, 3), 200, np.uint8)
    y = np.zeros((4,), np.int32)
    raw = DataConfig(pixel_range="raw")
    images, _ = next(iter(dataset(x, y, 4, scale=divide_by_255(raw, x))))
    assert float(np.max(images)) == 200.0
    images, _ = next(iter(dataset(x, y, 4, scale=divide_by_255(DataConfig(), x))))
    assert float(np.max(images)) == pytest.approx(200 / 255)
    stream, _ = training_stream(x, y, 4, first_epoch=0, epochs=1, seed=1, scale=False)
    images, _ = next(iter(stream))
    assert float(np.max(images)) == 200.0
