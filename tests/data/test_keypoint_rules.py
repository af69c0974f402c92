"""data.keypoints: how augmentation moves keypoints (swap_flipped, out_of_image, invisible).

Each rule against a hand-computed case, and the chapter's setting against the few lines
of Keras's keypoint example (§7.3, chapter l.1318-1346) run with imgaug itself.
"""

import numpy as np
import pytest

from cnnrun.config.schema import KeypointsConfig
from cnnrun.data.augment import augment_batch, build_augmenter, flip_pairs, import_imgaug
from cnnrun.data.folders import STANFORD_JOINTS

PAIRS = flip_pairs([name for name, _ in STANFORD_JOINTS])  # (0, 6): left / right front paw
CHAPTER = KeypointsConfig(swap_flipped=False, out_of_image="keep", invisible="transform")
W = H = 32


def _one_dog() -> tuple[np.ndarray, np.ndarray]:
    """A 32x32 image; left front paw at (8, 16) px, nose at (16, 8) px, the rest invisible."""
    images = np.zeros((1, H, W, 3), np.uint8)
    kp = np.zeros((1, 24, 3), np.float32)
    kp[0, 0] = [8 / W, 16 / H, 1]  # left front paw
    kp[0, 16] = [16 / W, 8 / H, 1]  # nose (no pair)
    return images, kp


def _flip(rules: KeypointsConfig | None) -> np.ndarray:
    images, kp = _one_dog()
    _, _, out = augment_batch(build_augmenter([{"Fliplr": 1.0}]), images,
                              keypoints=kp, flip_pairs=PAIRS, seed=0, rules=rules)  # fmt: skip
    return out[0]


def test_a_flip_mirrors_a_known_point_and_swaps_left_and_right_by_default():
    out = _flip(None)
    # imgaug's Fliplr: x -> W - x, so x = 8 px -> 24 px = 0.75; the paw becomes the right one
    assert out[6] == pytest.approx([0.75, 0.5, 1])
    assert out[0] == pytest.approx([0, 0, 0])  # the right paw was invisible: now the left
    assert out[16] == pytest.approx([0.5, 0.25, 1])


def test_swap_flipped_false_keeps_the_labels_of_a_flipped_dog():
    out = _flip(KeypointsConfig(swap_flipped=False))
    assert out[0] == pytest.approx([0.75, 0.5, 1])  # still called the left paw
    assert out[6] == pytest.approx([0, 0, 0])


def test_invisible_transform_moves_the_placeholder_to_one_zero_on_a_flip():
    fixed = _flip(KeypointsConfig(swap_flipped=False))
    moved = _flip(KeypointsConfig(swap_flipped=False, invisible="transform"))
    invisible = [j for j in range(24) if j not in (0, 16)]
    assert np.all(fixed[invisible] == 0)
    # (0, 0) -> (W - 0, 0) = (32, 0) px = (1, 0), visibility still 0
    assert moved[invisible] == pytest.approx(np.tile([1.0, 0.0, 0.0], (22, 1)))
    assert moved[0] == pytest.approx([0.75, 0.5, 1])


def _pushed_out(rules: KeypointsConfig | None) -> np.ndarray:
    """A visible point at x = 28.8 px translated by 20 px: 48.8 px, outside the 32 px image."""
    images, kp = _one_dog()
    kp[0, 0] = [0.9, 0.5, 1]
    aug = build_augmenter([{"Affine": {"translate_px": {"x": 20}}}])
    _, _, out = augment_batch(aug, images, keypoints=kp, flip_pairs=PAIRS, seed=0, rules=rules)
    return out[0]


def test_out_of_image_hide_makes_a_point_pushed_out_invisible():
    out = _pushed_out(None)
    assert out[0] == pytest.approx([0, 0, 0])
    # the nose moved to x = 36 px, outside too: hidden as well
    assert out[16] == pytest.approx([0, 0, 0])


def test_out_of_image_keep_keeps_its_coordinates_and_visibility():
    out = _pushed_out(KeypointsConfig(out_of_image="keep"))
    assert out[0] == pytest.approx([(28.8 + 20) / W, 0.5, 1], abs=1e-5)
    assert out[0, 0] > 1
    assert out[16] == pytest.approx([(16 + 20) / W, 8 / H, 1], abs=1e-5)
    assert np.all(out[1:16, :] == 0)  # invisible joints: fixed at (0, 0, 0) by default


def test_the_chapter_rules_match_the_keras_example_with_imgaug():
    """keras-io keypoint_detection.py's __data_generation, for one batch, with a fixed augmenter.

    Points moved off the image (Affine translate), a flip, a rotation and a zoom out:
    every joint, invisible ones at (0, 0) too, through imgaug; nan_to_num; / IMG_SIZE.
    """
    import_imgaug()
    from imgaug.augmentables.kps import Keypoint, KeypointsOnImage

    img_size = 64
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (3, img_size, img_size, 3), dtype=np.uint8)
    joints = np.zeros((3, 24, 3), np.float32)
    joints[:, :, :2] = rng.uniform(0.02, 0.98, (3, 24, 2))
    joints[:, :, 2] = rng.uniform(size=(3, 24)) > 0.3
    joints[joints[:, :, 2] == 0] = 0  # StanfordExtra's invisible joints are (0, 0, 0)
    spec = [
        {"Fliplr": 1.0},
        {"Affine": {"rotate": 10, "scale": 0.6, "translate_px": {"x": 12, "y": -7}}},
    ]
    aug = build_augmenter(spec)

    # The example's lines (l.1318-1346), with the keypoints in pixels of the image.
    want = np.empty((3, 1, 1, 48), np.float32)
    for i in range(3):
        current_keypoint = joints[i, :, :2] * img_size
        kps = [Keypoint(x=current_keypoint[j][0], y=current_keypoint[j][1]) for j in range(24)]
        kps_obj = KeypointsOnImage(kps, shape=images[i].shape)
        _, new_kps_obj = aug(image=images[i], keypoints=kps_obj)
        kp_temp = []
        for keypoint in new_kps_obj:
            kp_temp.append(np.nan_to_num(keypoint.x))
            kp_temp.append(np.nan_to_num(keypoint.y))
        want[i,] = np.array(kp_temp).reshape(1, 1, 24 * 2)
    want = want / img_size

    _, _, got = augment_batch(aug, images, keypoints=joints, flip_pairs=PAIRS, seed=3,
                              rules=CHAPTER)  # fmt: skip
    assert got[:, :, :2].reshape(3, 1, 1, 48) == pytest.approx(want, abs=1e-5)
    assert (want < 0).any() or (want > 1).any(), "some points left the image"
    assert np.array_equal(got[:, :, 2], joints[:, :, 2]), "visibility is kept"
    # cnnrun's defaults differ from the example on this batch
    _, _, default = augment_batch(aug, images, keypoints=joints, flip_pairs=PAIRS, seed=3)
    assert default[:, :, :2].reshape(3, 1, 1, 48) != pytest.approx(want, abs=1e-5)


def test_no_visibility_column_means_every_joint_visible():
    images, kp = _one_dog()
    xy = kp[:, :, :2].copy()
    _, _, out = augment_batch(build_augmenter([{"Fliplr": 1.0}]), images, keypoints=xy,
                              seed=0, rules=CHAPTER)  # fmt: skip
    assert out.shape == xy.shape
    assert out[0, 0] == pytest.approx([0.75, 0.5])
    assert out[0, 5] == pytest.approx([1.0, 0.0])
