"""imgaug on NumPy 2, augmenters from YAML, and masks / keypoints moving with their image."""

import numpy as np
import pytest
from conftest import SHARED_DATA

from cnnrun.config.yaml_io import parse_yaml
from cnnrun.data.augment import (
    BROKEN_ON_NUMPY2,
    augment_batch,
    augmenter_names,
    build_augmenter,
    flip_pairs,
    import_imgaug,
)
from cnnrun.data.folders import OXFORD_BACKGROUND, STANFORD_JOINTS, read_stanford_extra
from cnnrun.errors import ConfigError

STANFORD_PAIRS = flip_pairs([name for name, _ in STANFORD_JOINTS])


def _yaml(text):
    return parse_yaml(text)[0]


def test_imgaug_imports_on_the_installed_numpy():
    iaa = import_imgaug()
    import imgaug

    assert imgaug.__version__ == "0.4.0"
    assert hasattr(iaa, "Fliplr") and np.float32 in np.sctypes["float"]
    before = np.bool
    import_imgaug()  # twice is harmless, and names NumPy has are left alone
    assert np.bool is before
    if int(np.__version__.split(".")[0]) >= 2:
        assert np.bool is np.bool_
    # an augmenter that uses np.bool (SomeOf) and one that uses np.complex run
    img = np.zeros((1, 8, 8, 3), np.uint8)
    iaa.SomeOf(1, [iaa.Fliplr(1.0)])(images=img)


def test_the_chapter_pipeline_from_yaml():
    spec = _yaml(
        """
- Resize: {size: 224, interpolation: linear}
- Fliplr: 0.3
- Sometimes:
    p: 0.3
    then:
      - Affine: {rotate: 10, scale: [0.5, 0.7]}
"""
    )
    aug = build_augmenter(spec)
    iaa = import_imgaug()
    assert isinstance(aug, iaa.Sequential) and len(aug) == 3
    resize, flip, sometimes = aug
    assert isinstance(flip, iaa.Fliplr) and flip.p.p.value == pytest.approx(0.3)
    assert isinstance(sometimes, iaa.Sometimes) and sometimes.p.p.value == pytest.approx(0.3)
    affine = sometimes.then_list[0]
    assert isinstance(affine, iaa.Affine)
    # [0.5, 0.7] is a range (imgaug's tuple), not a choice
    assert type(affine.scale).__name__ == "Uniform"


def test_yaml_forms_and_containers():
    iaa = import_imgaug()
    aug = build_augmenter(
        _yaml(
            """
- Grayscale
- GaussianBlur: [[0.0, 1.0]]
- OneOf: [Fliplr: 1.0, Flipud: 1.0]
- SomeOf: {n: [1, 2], children: [Multiply: [[0.8, 1.2]], LinearContrast: [[0.8, 1.2]]]}
- Sequential: {children: [Fliplr: 0.5], random_order: true}
- Sometimes: {p: 0.5, then: Fliplr, else: [Flipud: 1.0]}
- Rot90: {k: {choice: [1, 3]}}
- pillike.Equalize
"""
        )
    )
    kinds = [type(a).__name__ for a in aug]
    assert kinds == ["Grayscale", "GaussianBlur", "OneOf", "SomeOf", "Sequential", "Sometimes",
                     "Rot90", "Equalize"]  # fmt: skip
    assert [type(c).__name__ for c in aug[2]] == ["Fliplr", "Flipud"]
    assert len(aug[3]) == 2 and aug[4].random_order
    assert isinstance(aug[5].else_list[0], iaa.Flipud)
    assert type(aug[6].k).__name__ == "Choice"
    aug(images=np.zeros((2, 8, 8, 3), np.uint8))  # all of them run


@pytest.mark.parametrize(
    "spec, message, suggestion",
    [
        (["Flipr"], "unknown imgaug augmenter 'Flipr'", "Fliplr"),
        ([{"Affine": {"rotat": 10}}], "Affine has no argument 'rotat'", "rotate"),
        ([{"Sometimes": {"p": 0.3, "then": ["Fliplr", "rotate"]}}], "'rotate'", "Rotate"),
    ],
)
def test_unknown_names_say_did_you_mean(spec, message, suggestion):
    with pytest.raises(ConfigError) as info:
        build_augmenter(spec)
    assert message in info.value.message
    assert info.value.suggestion == suggestion
    if "then" in str(spec):
        assert info.value.path == "augment[0].Sometimes.then[1]"
    if "Flipr" in str(spec):
        assert "Fliplr" in info.value.expected and "Affine" in info.value.expected


def test_rejected_arguments_and_broken_augmenters_are_config_errors():
    with pytest.raises(ConfigError, match="imgaug rejected the arguments of Fliplr"):
        build_augmenter([{"Fliplr": "often"}])
    with pytest.raises(ConfigError, match="a name or a one-key mapping"):
        build_augmenter([3])
    for name in BROKEN_ON_NUMPY2:
        with pytest.raises(ConfigError, match="does not work with NumPy 2"):
            build_augmenter([name])
    assert "Lambda" not in augmenter_names() and "Affine" in augmenter_names()


def test_flip_pairs_of_stanford_extra():
    assert STANFORD_PAIRS == [(0, 6), (1, 7), (2, 8), (3, 9), (4, 10), (5, 11), (14, 15),
                              (18, 19), (20, 21)]  # fmt: skip


def _marked(n=1, h=20, w=40):
    """Images with one bright pixel at (x=3, y=5); masks marking it; keypoints on it."""
    images = np.zeros((n, h, w, 3), np.uint8)
    images[:, 5, 3] = 255
    masks = np.ones((n, h, w), np.uint8)
    masks[:, 5, 3] = 0
    kp = np.zeros((n, 24, 3), np.float32)
    kp[:, 0] = [3.5 / w, 5.5 / h, 1]  # left front paw on the marked pixel
    kp[:, 6] = [0.9, 0.9, 1]  # right front paw elsewhere
    kp[:, 16] = [0.5, 0.5, 1]  # the nose: no pair
    return images, masks, kp


def test_fliplr_moves_masks_and_keypoints_and_swaps_left_and_right():
    images, masks, kp = _marked()
    aug = build_augmenter(["Fliplr"])  # p = 1 by default
    out, out_masks, out_kp = augment_batch(aug, images, masks, kp, STANFORD_PAIRS, seed=0)
    assert [tuple(p) for p in np.argwhere(out[0, :, :, 0])] == [(5, 36)]
    assert [tuple(p) for p in np.argwhere(out_masks[0] == 0)] == [(5, 36)]
    w, h = 40, 20
    # the marked paw was the left one: after the flip it is labelled right (index 6) ...
    np.testing.assert_allclose(out_kp[0, 6] * [w, h, 1], [36.5, 5.5, 1], atol=1e-4)
    # ... and the old right paw, mirrored, is now the left one
    np.testing.assert_allclose(out_kp[0, 0], [0.1, 0.9, 1], atol=1e-5)
    np.testing.assert_allclose(out_kp[0, 16], [0.5, 0.5, 1], atol=1e-5)
    assert (out_kp[0, 1] == 0).all()  # invisible stays invisible, at (0, 0)
    # without flip pairs, the positions move but the labels stay
    _, _, plain = augment_batch(aug, images, None, kp, None, seed=0)
    np.testing.assert_allclose(plain[0, 0] * [w, h, 1], [36.5, 5.5, 1], atol=1e-4)


def test_any_mirror_swaps_but_a_half_turn_does_not():
    images, _, kp = _marked()
    for spec, swapped in (
        (["Flipud"], True),
        (["Fliplr", {"Rot90": 1}], True),  # a mirror and a turn: still a mirror
        (["Fliplr", "Flipud"], False),  # two mirrors make a half turn
        ([{"Affine": {"rotate": 30}}], False),
        ([{"Rot90": 1}], False),
    ):
        _, _, out = augment_batch(build_augmenter(spec), images, None, kp, STANFORD_PAIRS, seed=1)
        _, _, raw = augment_batch(build_augmenter(spec), images, None, kp, None, seed=1)
        expect = raw[0, [6, 0]] if swapped else raw[0, [0, 6]]
        np.testing.assert_allclose(out[0, [0, 6]], expect, atol=1e-5, err_msg=str(spec))


def test_keypoints_follow_a_rotation():
    images, masks, kp = _marked(h=40, w=40)
    images[:] = 0
    images[:, 9:12, 7:10] = 255  # a 3x3 blob centred on pixel (8, 10)
    kp[:, 0, :2] = [8.5 / 40, 10.5 / 40]
    aug = build_augmenter([{"Affine": {"rotate": 25, "order": 1}}])
    out, _, out_kp = augment_batch(aug, images, masks, kp, STANFORD_PAIRS, seed=0)
    ys, xs = np.nonzero(out[0, :, :, 0] > 100)
    blob = np.array([xs.mean() + 0.5, ys.mean() + 0.5]) / 40
    assert out_kp[0, 0, 2] == 1
    assert np.abs(out_kp[0, 0, :2] - blob).max() < 0.5 / 40


def test_joints_leaving_the_image_become_invisible_and_masks_get_the_fill_class():
    images, masks, kp = _marked(h=20, w=40)
    aug = build_augmenter([{"Affine": {"translate_px": {"x": 30}}}])
    _, out_masks, out_kp = augment_batch(
        aug, images, masks, kp, STANFORD_PAIRS, seed=0, mask_fill=OXFORD_BACKGROUND
    )
    assert (out_kp[0, 6] == 0).all()  # x 36 + 30 is outside: invisible, (0, 0, 0)
    assert out_kp[0, 0, 2] == 1
    assert (out_masks[0, :, :30] == OXFORD_BACKGROUND).all()  # filled: background, not "pet"
    assert out_masks[0, 5, 33] == 0
    _, plain_masks, _ = augment_batch(aug, images, masks, None, seed=0)
    assert (plain_masks[0, :, :30] == 0).all()  # imgaug's own fill is class 0


def test_resize_keeps_fractions_and_masks_classes():
    images, masks, kp = _marked(n=2, h=20, w=40)
    masks[:, 10:, :] = 2
    aug = build_augmenter([{"Resize": {"size": {"height": 10, "width": 10}}}])
    out, out_masks, out_kp = augment_batch(aug, images, masks, kp, STANFORD_PAIRS)
    assert out.shape == (2, 10, 10, 3) and out_masks.shape == (2, 10, 10)
    assert set(np.unique(out_masks)) <= {0, 1, 2}
    np.testing.assert_allclose(out_kp, kp, atol=1e-5)


def test_a_seed_makes_it_deterministic_and_leaves_the_augmenter_alone():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (6, 16, 16, 3), dtype=np.uint8)
    kp = np.concatenate([rng.uniform(0.2, 0.8, (6, 24, 2)), np.ones((6, 24, 1))], -1)
    aug = build_augmenter(
        [{"Fliplr": 0.5}, {"Affine": {"rotate": [-20, 20]}}, {"Multiply": [[0.5, 1.5]]}]
    )
    a = augment_batch(aug, images, None, kp, STANFORD_PAIRS, seed=42)
    b = augment_batch(aug, images, None, kp, STANFORD_PAIRS, seed=42)
    c = augment_batch(aug, images, None, kp, STANFORD_PAIRS, seed=43)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[2], b[2])
    assert not np.array_equal(a[0], c[0])
    unseeded = [augment_batch(aug, images)[0] for _ in range(2)]
    assert not np.array_equal(*unseeded)  # None advances the augmenter's own generator


def test_images_of_different_sizes_need_a_resize():
    aug = build_augmenter([{"Crop": {"px": [0, 6], "keep_size": False}}])
    images = np.zeros((8, 16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="end the augmenters with a Resize"):
        augment_batch(aug, images, seed=0)


@pytest.mark.skipif(not (SHARED_DATA / "stanford_extra").is_dir(), reason="no shared data")
def test_real_dogs_flipped_keep_their_joints_on_the_dog():
    data = read_stanford_extra(SHARED_DATA / "stanford_extra", image_size=(64, 64), limit=4)
    aug = build_augmenter(["Fliplr"])
    out, _, kp = augment_batch(aug, data.images, None, data.keypoints, STANFORD_PAIRS, seed=0)
    assert np.array_equal(out, data.images[:, :, ::-1])
    v = data.keypoints[..., 2] > 0
    for left, right in STANFORD_PAIRS:
        both = v[:, left] & v[:, right]
        np.testing.assert_allclose(kp[both, right, 0], 1 - data.keypoints[both, left, 0], atol=1e-5)
        np.testing.assert_allclose(kp[both, right, 1], data.keypoints[both, left, 1], atol=1e-5)
    assert kp[..., 2].sum() == data.keypoints[..., 2].sum()  # none lost at the edges
