"""Folder data sets (Oxford-IIIT Pet, StanfordExtra) and their synthetic stand-ins."""

import numpy as np
import pytest
from conftest import SHARED_DATA
from folder_factory import make_dogs, make_pets, write_jpeg
from PIL import Image

from cnnrun.data import folders
from cnnrun.data.folders import (
    read_oxford_pets,
    read_stanford_extra,
    synthetic_keypoints,
    synthetic_segmentation,
)
from cnnrun.errors import DataError

PETS = SHARED_DATA / "oxford_pets_sample"
DOGS = SHARED_DATA / "stanford_extra"


def test_oxford_pets_pairs_images_with_trimaps_and_maps_labels(tmp_path):
    data = read_oxford_pets(make_pets(tmp_path), image_size=(16, 20))
    assert data.images.shape == (3, 16, 20, 3) and data.images.dtype == np.uint8
    assert data.masks.shape == (3, 16, 20) and data.masks.dtype == np.uint8
    assert data.names == ["images/Cat_0.jpg", "images/Cat_1.jpg", "images/Cat_2.jpg"]
    assert set(np.unique(data.masks)) == {0, 1, 2}  # 1,2,3 -> 0,1,2
    assert (data.masks[:, :, :9] == 0).all() and (data.masks[:, :, 11:] == 1).all()
    assert data.images[0, 5, 2, 0] > 200 and data.images[0, 5, 18, 0] < 30  # pet on the left
    assert data.skipped == []
    assert len(read_oxford_pets(tmp_path, (8, 8), limit=2).names) == 2


def test_masks_are_resized_with_nearest_neighbour(tmp_path):
    data = read_oxford_pets(make_pets(tmp_path, n=1, size=(41, 7)), image_size=(13, 13))
    assert set(np.unique(data.masks)) <= {0, 1, 2}  # no interpolated in-between values


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(p.read_bytes()[:200]), "truncated"),
        (lambda p: p.write_bytes(b"GIF89a garbage"), "not an image"),
    ],
)
def test_a_bad_image_is_named_or_skipped_and_counted(tmp_path, damage, words):
    make_pets(tmp_path, n=3)
    bad = tmp_path / "images" / "Cat_1.jpg"
    damage(bad)
    with pytest.raises(DataError, match="Cat_1.jpg") as info:
        read_oxford_pets(tmp_path, (8, 8))
    assert words in str(info.value)
    data = read_oxford_pets(tmp_path, (8, 8), skip_bad=True)
    assert data.names == ["images/Cat_0.jpg", "images/Cat_2.jpg"]
    assert len(data.images) == len(data.masks) == 2
    assert [name for name, _ in data.skipped] == [str(bad)]


def test_a_missing_or_wrong_trimap_is_reported(tmp_path):
    make_pets(tmp_path, n=2)
    (tmp_path / "annotations" / "trimaps" / "Cat_0.png").unlink()
    with pytest.raises(DataError, match="Cat_0.jpg: its trimap is missing"):
        read_oxford_pets(tmp_path, (8, 8))
    Image.fromarray(np.full((5, 5), 7, np.uint8)).save(tmp_path / "annotations/trimaps/Cat_0.png")
    with pytest.raises(DataError, match="not all 1, 2 or 3"):
        read_oxford_pets(tmp_path, (8, 8))


def test_wrong_layout_says_what_is_expected(tmp_path):
    with pytest.raises(DataError, match="images/\\*.jpg"):
        read_oxford_pets(tmp_path)
    with pytest.raises(DataError, match="StanfordExtra_v12.json not found"):
        read_stanford_extra(tmp_path)


def test_grey_and_cmyk_jpegs_become_rgb(tmp_path):
    make_pets(tmp_path, n=2)
    write_jpeg(tmp_path / "images" / "Cat_0.jpg", 40, 30, (90, 0, 0), mode="L")
    write_jpeg(tmp_path / "images" / "Cat_1.jpg", 40, 30, (0, 0, 0), mode="CMYK")
    data = read_oxford_pets(tmp_path, (8, 8))
    assert data.images.shape == (2, 8, 8, 3)
    assert (data.images[0] == data.images[0, :, :, :1]).all()  # grey: R = G = B


def test_stanford_extra_scales_keypoints_to_fractions(tmp_path):
    data = read_stanford_extra(make_dogs(tmp_path), image_size=(32, 32), progress=False)
    assert data.images.shape == (2, 32, 32, 3) and data.keypoints.shape == (2, 24, 3)
    assert data.keypoints.dtype == np.float32
    np.testing.assert_allclose(data.keypoints[0, 0], [0.25, 0.2, 1])
    np.testing.assert_allclose(data.keypoints[0, 6], [0.75, 0.8, 1])
    np.testing.assert_allclose(data.keypoints[0, 16], [1.0, 0.0, 1])  # clipped
    assert (data.keypoints[0, 1] == 0).all()  # invisible: (0, 0, 0)
    assert data.names[0] == "n02085620-Chihuahua/n02085620_0.jpg"


def test_stanford_extra_takes_another_json_name(tmp_path):
    make_dogs(tmp_path, n=1, json_name="StanfordExtra_sample.json")
    assert len(read_stanford_extra(tmp_path).names) == 1  # the only JSON there
    (tmp_path / "other.json").write_text("[]")
    with pytest.raises(DataError, match="StanfordExtra_sample.json, other.json"):
        read_stanford_extra(tmp_path)
    data = read_stanford_extra(tmp_path, json_name="StanfordExtra_sample.json")
    assert len(data.names) == 1


def test_stanford_extra_bad_json_and_missing_image(tmp_path):
    make_dogs(tmp_path, n=2)
    (tmp_path / "Images/n02085620-Chihuahua/n02085620_1.jpg").unlink()
    with pytest.raises(DataError, match="n02085620_1.jpg: the file does not exist"):
        read_stanford_extra(tmp_path, image_size=(8, 8))
    data = read_stanford_extra(tmp_path, image_size=(8, 8), skip_bad=True)
    assert len(data.names) == 1 and len(data.skipped) == 1
    (tmp_path / "StanfordExtra_v12.json").write_text('[{"img_path": "a.jpg", "joints": [[1, 2]]}]')
    with pytest.raises(DataError, match="entry 0 is not a StanfordExtra annotation"):
        read_stanford_extra(tmp_path)


def test_keypoint_definitions_and_fallback(tmp_path):
    assert folders.keypoint_definitions(tmp_path) == folders.STANFORD_JOINTS
    assert len(folders.STANFORD_JOINTS) == 24


def test_synthetic_segmentation_is_deterministic_and_trimap_like():
    x, m = synthetic_segmentation((24, 32, 3), classes=3, n=5, seed=1)
    x2, m2 = synthetic_segmentation((24, 32, 3), classes=3, n=5, seed=1)
    assert x.shape == (5, 24, 32, 3) and m.shape == (5, 24, 32)
    assert np.array_equal(x, x2) and np.array_equal(m, m2)
    assert set(np.unique(m)) == {0, 1, 2}
    # learnable: shapes are brighter than the background
    assert x[m == 0].mean() > x[m == 1].mean() + 60
    grey, masks = synthetic_segmentation((16, 16, 1), classes=5, n=20, seed=0)
    assert grey.shape == (20, 16, 16, 1) and masks.max() <= 4
    _, two = synthetic_segmentation((16, 16), classes=2, n=3)
    assert set(np.unique(two)) <= {0, 1}


def test_synthetic_keypoints_mark_some_joints_invisible():
    x, kp = synthetic_keypoints((32, 32, 3), n=6, seed=2)
    x2, kp2 = synthetic_keypoints((32, 32, 3), n=6, seed=2)
    assert np.array_equal(x, x2) and np.array_equal(kp, kp2)
    assert x.shape == (6, 32, 32, 3) and kp.shape == (6, 24, 3) and kp.dtype == np.float32
    v = kp[..., 2]
    assert 0.6 < v.mean() < 0.95
    assert (kp[v == 0][:, :2] == 0).all()
    assert (kp[v == 1][:, :2] > 0).all() and (kp[..., :2] <= 1).all()
    # a blob is drawn at each visible joint: brighter than the background
    i, j = np.argwhere(v == 1)[0]
    px, py = int(kp[i, j, 0] * 32), int(kp[i, j, 1] * 32)
    assert x[i, py, px].max() > x[i].mean() + 40


@pytest.mark.skipif(not PETS.is_dir(), reason="shared data not found")
def test_real_oxford_pets_sample():
    data = read_oxford_pets(PETS, (64, 64), limit=6)
    assert data.images.shape == (6, 64, 64, 3) and set(np.unique(data.masks)) == {0, 1, 2}
    fractions = np.bincount(data.masks.ravel(), minlength=3) / data.masks.size
    assert fractions[1] > 0.3 and fractions[0] > 0.1  # background and pet both present


@pytest.mark.skipif(not DOGS.is_dir(), reason="shared data not found")
def test_real_stanford_extra_sample():
    data = read_stanford_extra(DOGS, "StanfordExtra_sample.json", (48, 48), limit=5)
    assert data.images.shape == (5, 48, 48, 3)
    v = data.keypoints[..., 2]
    assert set(np.unique(v)) == {0.0, 1.0}
    assert ((data.keypoints[..., :2] >= 0) & (data.keypoints[..., :2] <= 1)).all()
    defs = folders.keypoint_definitions(DOGS)
    assert defs == folders.STANFORD_JOINTS  # the built-in copy matches the file


def test_a_progress_bar_can_be_shown(tmp_path):
    import io

    from rich.console import Console

    make_pets(tmp_path, n=3)
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=80)
    data = read_oxford_pets(tmp_path, (8, 8), progress=console, workers=1)
    assert len(data.names) == 3 and "Oxford-IIIT Pet" in stream.getvalue()
