"""The PNGs of `cnnrun predict`: classes, masks and keypoints drawn over the image."""

import numpy as np
import pytest
from conftest import SHARED_DATA
from PIL import Image

from cnnrun.data.folders import (
    OXFORD_CLASSES,
    keypoint_definitions,
    read_oxford_pets,
    read_stanford_extra,
)
from cnnrun.plots import pictures

RNG = np.random.default_rng(0)


def _png(path):
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGB"))


def test_classification_png(tmp_path):
    out = pictures.classification_png(
        RNG.integers(0, 255, (28, 28, 1), dtype=np.uint8),
        [0.1, 0.6, 0.05, 0.25], ["a", "b", "c", "d"], tmp_path / "sub" / "c.png",
        true_label=3, title="x.png",
    )  # fmt: skip
    img = _png(out)
    assert img.shape[1] > img.shape[0] > 200
    # the wrong top-1 bar is red, the true class's bar green
    assert (np.abs(img.astype(int) - [198, 40, 40]).sum(-1) < 30).sum() > 100
    assert (np.abs(img.astype(int) - [46, 125, 50]).sum(-1) < 30).sum() > 100
    assert not list(tmp_path.glob("sub/.*"))  # no temporary file left
    pictures.classification_png(np.zeros((8, 8)), np.ones(12) / 12, None, tmp_path / "d.png")


def test_segmentation_png_with_and_without_truth(tmp_path):
    image = RNG.random((32, 32, 3))
    truth = np.ones((32, 32), np.uint8)
    truth[8:24, 8:24] = 0
    scores = np.zeros((32, 32, 3), np.float32)
    scores[..., 1] = 1
    scores[10:24, 8:24, 0] = 2
    three = _png(pictures.segmentation_png(image, truth, scores, tmp_path / "s.png",
                                          class_names=OXFORD_CLASSES))  # fmt: skip
    two = _png(pictures.segmentation_png(image, None, scores.argmax(-1), tmp_path / "t.png"))
    assert three.shape[1] > two.shape[1] * 1.3  # a third panel
    pet = np.array([0xF2, 0x8E, 0x2B])
    assert (np.abs(three.astype(int) - pet).sum(-1) < 20).sum() > 500


def test_keypoints_png_uses_the_joint_colours(tmp_path):
    image = np.full((40, 60, 3), 30, np.uint8)
    true = np.zeros((24, 3), np.float32)
    true[:12] = [0.3, 0.4, 1]
    pred = np.stack([np.linspace(0.1, 0.9, 24), np.full(24, 0.7)], -1)  # apart
    colours = [c for _, c in keypoint_definitions()]
    out = pictures.keypoints_png(image, pred.reshape(-1), true, tmp_path / "k.png")
    img = _png(out)
    red = np.array([0xD8, 0x24, 0x00])  # StanfordExtra's left front leg
    assert (np.abs(img.astype(int) - red).sum(-1) < 40).sum() > 20
    named = pictures.keypoints_png(image, pred, None, tmp_path / "n.png", colours=colours,
                                   names=[n for n, _ in keypoint_definitions()])  # fmt: skip
    assert _png(named).shape[1] > img.shape[1]  # room for the legend
    assert len(pictures.default_colours(5)) == 5


@pytest.mark.skipif(not (SHARED_DATA / "stanford_extra").is_dir(), reason="no shared data")
def test_pictures_of_the_real_samples(tmp_path):
    pets = read_oxford_pets(SHARED_DATA / "oxford_pets_sample", (160, 160), limit=2)
    pred = pets.masks[1].copy()
    pred[40:80, 40:80] = 0
    pictures.segmentation_png(pets.images[1], pets.masks[1], pred, tmp_path / "pet.png",
                              class_names=OXFORD_CLASSES, title=pets.names[1])  # fmt: skip
    dogs = read_stanford_extra(SHARED_DATA / "stanford_extra", image_size=(224, 224), limit=1)
    noisy = dogs.keypoints[0, :, :2] + RNG.normal(0, 0.03, (24, 2))
    defs = keypoint_definitions(SHARED_DATA / "stanford_extra")
    pictures.keypoints_png(dogs.images[0], noisy, dogs.keypoints[0], tmp_path / "dog.png",
                           colours=[c for _, c in defs], names=[n for n, _ in defs])  # fmt: skip
    assert _png(tmp_path / "pet.png").shape[0] > 300 and _png(tmp_path / "dog.png").shape[0] > 400
