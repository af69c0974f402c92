"""Data augmentation with imgaug, described in YAML, applied to images and their masks or keypoints.

The experiment names imgaug augmenters (``imgaug.augmenters``, "iaa") and their
arguments, in the same forms as model layers::

    augment:
      - Resize: {size: 224}              # mapping: keyword arguments
      - Fliplr: 0.3                      # scalar: the first positional argument
      - GaussianBlur: [[0.0, 1.0]]       # list: positional arguments
      - Grayscale                        # bare name: no arguments
      - Sometimes:                       # with probability p: `then`, else `else`
          p: 0.3
          then:
            - Affine: {rotate: 10, scale: [0.5, 0.7]}
          else: [Fliplr: 1.0]            # optional
      - OneOf: [Fliplr: 1.0, Flipud: 1.0]          # a list: the children
      - SomeOf: {n: [1, 2], children: [Multiply: [[0.8, 1.2]], LinearContrast: [[0.8, 1.2]]]}
      - Sequential: {children: [...], random_order: true}
      - pillike.Equalize                 # imgaug's sub-modules: pillike.*

Rules:

- A list of augmenters is a ``Sequential`` (the top level is one too).
- ``Sequential``, ``OneOf`` and ``SomeOf`` take their children as a list, or as the
  ``children`` key of a mapping with their other arguments. ``Sometimes`` takes ``p``,
  ``then`` (``then_list``) and ``else`` (``else_list``). Any other argument named
  ``children``, ``then_list``, ``else_list``, ``foreground`` or ``background`` (as in
  ``WithChannels``, ``BlendAlpha``) is read as augmenters too.
- Inside arguments, a list of two numbers is a *range*, imgaug's tuple ``(a, b)``:
  ``rotate: [-10, 10]`` is ``rotate=(-10, 10)`` (a value drawn uniformly;
  ``scale: [0.5, 0.7]`` is the chapter's ``scale=(0.5, 0.7)``). Other lists stay lists,
  which imgaug reads as "one of these values"; for two values write
  ``{choice: [1, 3]}``.
- Names are imgaug's class names; an unknown name is a :class:`~cnnrun.errors.ConfigError`
  with a "did you mean". Augmenters that need Python functions (``Lambda``, ...) cannot
  be written in YAML.

:func:`augment_batch` moves masks and keypoints with their image: imgaug's
``SegmentationMapsOnImage`` (nearest-neighbour, so masks keep their classes) and
``KeypointsOnImage``. By default (``data.keypoints``,
:class:`~cnnrun.config.schema.KeypointsConfig`): when an image is mirrored (``Fliplr``,
``Flipud``, a negative ``Affine`` scale: any orientation-reversing transform) its left
and right joints are swapped (``flip_pairs``), so a flipped dog's left paw is still
labelled left; joints that leave the image become invisible ``(0, 0, 0)``; invisible ones
stay ``(0, 0, 0)``. Keras's keypoint example (the
chapter's §7.3) does none of these: it moves every point, the ``(0, 0)`` placeholders of
invisible joints too, and keeps what comes out (``swap_flipped=False``,
``out_of_image="keep"``, ``invisible="transform"``).

imgaug 0.4.0 (its last release) uses NumPy aliases that NumPy 2 removed;
:func:`import_imgaug` restores them, only where missing, before importing it. Under
NumPy 2 a few augmenters still fail inside imgaug (:data:`BROKEN_ON_NUMPY2`); naming one
is a ConfigError.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np

from cnnrun.config.schema import KeypointsConfig
from cnnrun.errors import ConfigError, did_you_mean

# Arguments whose values are augmenters, not numbers.
CHILD_ARGS = ("children", "then_list", "else_list", "foreground", "background")
ARG_ALIASES = {"then": "then_list", "else": "else_list"}
CONTAINERS = ("Sequential", "OneOf", "SomeOf")  # a bare list value is their children
# Augmenters that YAML cannot describe (they take Python functions) or that are abstract.
NOT_FROM_YAML = frozenset({"Augmenter", "Lambda", "AssertLambda", "AssertShape"})
# Fail inside imgaug 0.4.0 under NumPy 2 (found by tests/test_augment.py's survey).
BROKEN_ON_NUMPY2 = {
    "ElasticTransformation": "OpenCV rejects the displacement maps imgaug makes",
    "pillike.Autocontrast": "it converts an array to a Python scalar",
}


# ---------------------------------------------------------------------------------------
# Importing imgaug on NumPy 2


def _numpy_aliases() -> dict[str, Any]:
    """The NumPy 1 names that imgaug 0.4.0 uses, with their NumPy 1 values.

    (``np.bool``, gone in NumPy 1.24, is back in NumPy 2 as ``np.bool_``.)
    """
    return {
        "bool": bool,
        "complex": complex,
        "sctypes": {
            "int": [np.int8, np.int16, np.int32, np.int64],
            "uint": [np.uint8, np.uint16, np.uint32, np.uint64],
            "float": [np.float16, np.float32, np.float64, np.longdouble],
            "complex": [np.complex64, np.complex128, np.clongdouble],
            "others": [bool, object, bytes, str, np.void],
        },
    }


def import_imgaug() -> ModuleType:
    """Import imgaug 0.4.0 on the installed NumPy; return ``imgaug.augmenters``.

    imgaug 0.4.0 reads ``np.sctypes`` at import and uses ``np.bool`` / ``np.complex``
    in some augmenters: NumPy 2 removed ``sctypes`` and ``complex``. Each missing name
    is set back to its NumPy 1 value (the built-in type, or the dtype lists); names
    NumPy has are left alone, so on NumPy 1 this changes nothing. No other NumPy name
    is added.

    Raises:
        ImportError: When imgaug is not installed (with the package to install).
    """
    for name, value in _numpy_aliases().items():
        try:
            getattr(np, name)
        except AttributeError:  # NumPy 2 raises AttributeError for removed names
            setattr(np, name, value)
    try:
        import imgaug.augmenters as iaa
    except ImportError as exc:
        raise ImportError(
            f"data augmentation needs imgaug 0.4.0 (pip install imgaug==0.4.0): {exc}"
        ) from exc
    return iaa


@cache
def augmenter_names() -> dict[str, type]:
    """Every imgaug augmenter a YAML file can name, by name (``pillike.*`` included)."""
    iaa = import_imgaug()
    base = iaa.meta.Augmenter
    names: dict[str, type] = {}
    for prefix, module in (("", iaa), ("pillike.", iaa.pillike)):
        for attr in dir(module):
            cls = getattr(module, attr)
            if (
                isinstance(cls, type)
                and issubclass(cls, base)
                and not attr.startswith("_")
                and attr not in NOT_FROM_YAML
            ):
                names[prefix + attr] = cls
    return names


# ---------------------------------------------------------------------------------------
# From YAML data to augmenters


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value(value: Any) -> Any:
    """An argument value: ``[a, b]`` of numbers -> ``(a, b)``; ``{choice: [...]}`` -> list."""
    if isinstance(value, list):
        if len(value) == 2 and all(_is_number(v) for v in value):
            return tuple(value)
        return [_value(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"choice"} and isinstance(value["choice"], list):
            return [_value(v) for v in value["choice"]]
        return {k: _value(v) for k, v in value.items()}
    return value


def _split_item(item: Any, path: str) -> tuple[str, Any]:
    if isinstance(item, str):
        return item, None
    if isinstance(item, dict) and len(item) == 1:
        name, args = next(iter(item.items()))
        if isinstance(name, str):
            return name, args
    raise ConfigError(
        "an augmenter is a name or a one-key mapping",
        path=path,
        expected="an imgaug augmenter: `Fliplr`, `Fliplr: 0.5`, `Affine: {rotate: 10}`",
        received=repr(item)[:80],
    )


def _children(value: Any, path: str) -> Any:
    """Augmenter specs given as an argument: one, or a list (a list stays a list)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [build_augmenter(v, f"{path}[{i}]", top=False) for i, v in enumerate(value)]
    return build_augmenter(value, path, top=False)


def _lookup(name: str, path: str) -> type:
    names = augmenter_names()
    if name in BROKEN_ON_NUMPY2:
        raise ConfigError(
            f"the imgaug augmenter '{name}' does not work with NumPy 2 ({BROKEN_ON_NUMPY2[name]})",
            path=path,
            expected="another augmenter (imgaug 0.4.0 is its last release)",
            received=repr(name),
        )
    if name not in names:
        shown = sorted(n for n in names if "." not in n)
        raise ConfigError(
            f"unknown imgaug augmenter '{name}'",
            path=path,
            expected="an imgaug augmenter name: " + ", ".join(shown),
            received=repr(name),
            suggestion=did_you_mean(name, names),
        )
    return names[name]


def _parameters(cls: type) -> set[str] | None:
    """The keyword arguments ``cls`` takes (None when it takes ``**kwargs``)."""
    try:
        params = inspect.signature(cls.__init__).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    names.discard("self")
    return names | {alias for alias, key in ARG_ALIASES.items() if key in names}


def build_augmenter(spec: Any, path: str = "augment", *, top: bool = True) -> Any:
    """Build an imgaug augmenter from its YAML description (see the module docstring).

    Args:
        spec: A list (a ``Sequential``), a name, or a one-key mapping ``{Name: args}``.
        path: The key path of ``spec``, for error messages.
        top: Whether ``spec`` is the whole description (a list is then a Sequential).

    Returns:
        An ``imgaug.augmenters.Augmenter``.

    Raises:
        ConfigError: For an unknown name (with a "did you mean") or arguments imgaug
            rejects, located at the augmenter's key path.

    Example:
        >>> aug = build_augmenter([{"Fliplr": 0.5}, {"Affine": {"rotate": [-10, 10]}}])
        >>> type(aug).__name__, [type(a).__name__ for a in aug]
        ('Sequential', ['Fliplr', 'Affine'])
    """
    iaa = import_imgaug()
    if isinstance(spec, list):
        return iaa.Sequential(_children(spec, path))
    name, args = _split_item(spec, path)
    here = f"{path}.{name}"
    cls = _lookup(name, path)
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    if name in CONTAINERS and isinstance(args, list):
        keywords["children"] = _children(args, here)
    elif isinstance(args, dict):
        accepted = _parameters(cls)
        for written, value in args.items():
            key = ARG_ALIASES.get(str(written), str(written))
            if accepted is not None and key not in accepted:
                raise ConfigError(
                    f"{name} has no argument '{written}'",
                    path=f"{here}.{written}",
                    expected=f"one of: {', '.join(sorted(accepted))}",
                    received=repr(written),
                    suggestion=did_you_mean(str(written), accepted),
                )
            if key in CHILD_ARGS:
                keywords[key] = _children(value, f"{here}.{written}")
            else:
                keywords[key] = _value(value)
    elif isinstance(args, list):
        positional = [_value(v) for v in args]
    elif args is not None:
        positional = [_value(args)]
    try:
        return cls(*positional, **keywords)
    except Exception as exc:  # imgaug raises TypeError, ValueError, AssertionError, ...
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"imgaug rejected the arguments of {name}",
            path=here,
            expected=f"the arguments of imgaug.augmenters.{name}",
            received=f"{type(exc).__name__}: {message[:200]}",
        ) from None


# ---------------------------------------------------------------------------------------
# Left / right joints


def flip_pairs(names: Sequence[str]) -> list[tuple[int, int]]:
    """Pairs of joint indices whose names differ by left/right (case-insensitive).

    Example:
        >>> flip_pairs(["Left eye", "Nose", "Right eye", "Base of left ear", "Base of right ear"])
        [(0, 2), (3, 4)]
    """
    index = {n.strip().lower(): i for i, n in enumerate(names)}
    pairs: list[tuple[int, int]] = []
    for i, name in enumerate(names):
        key = name.strip().lower()
        if not re.search(r"\bleft\b", key):
            continue
        j = index.get(re.sub(r"\bleft\b", "right", key))
        if j is not None and j != i:
            pairs.append((i, j))
    return pairs


# ---------------------------------------------------------------------------------------
# Applying an augmenter


def _probe(h: int, w: int) -> list[tuple[float, float]]:
    """Three non-collinear points; their orientation tells whether an image was mirrored."""
    return [(0.25 * w, 0.25 * h), (0.75 * w, 0.25 * h), (0.25 * w, 0.75 * h)]


def _mirrored(points: np.ndarray) -> bool:
    (x0, y0), (x1, y1), (x2, y2) = points
    return (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0) < 0  # positive before: see _probe


def augment_batch(
    aug: Any,
    images: np.ndarray,
    masks: np.ndarray | None = None,
    keypoints: np.ndarray | None = None,
    flip_pairs: Sequence[tuple[int, int]] | None = None,
    seed: int | None = None,
    mask_fill: int | None = None,
    rules: KeypointsConfig | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Augment images together with their masks and/or keypoints.

    Args:
        aug: An imgaug augmenter (:func:`build_augmenter`).
        images: ``uint8`` ``(N, H, W, C)``.
        masks: Integer class masks ``(N, H, W)``, moved with their image (nearest
            neighbour).
        keypoints: ``(N, J, 3)``: ``x``, ``y`` as fractions of the image's width and
            height, and ``v`` (1 visible). Returned the same way, as fractions of the
            augmented image, following ``rules``.
        flip_pairs: ``(left, right)`` joint indices swapped in mirrored images
            (:func:`flip_pairs`) when ``rules.swap_flipped``.
        seed: Seeds a copy of ``aug`` (``aug`` itself is left as it was), so the same
            seed gives the same result; None uses and advances ``aug``'s own generator.
        mask_fill: The class of mask pixels that come from outside the image (rotation,
            translation, zoom out, padding); imgaug's own value is 0. Give the
            background class (:data:`cnnrun.data.folders.OXFORD_BACKGROUND`, 1, for
            Oxford-IIIT Pet, whose class 0 is the pet).
        rules: How keypoints move (``data.keypoints``); default
            ``KeypointsConfig()``: left/right swapped on mirrored images, joints that
            leave the image ``(0, 0, 0)``, invisible joints kept at ``(0, 0, 0)``.
            ``out_of_image="keep"``: a visible joint outside keeps its coordinates (< 0
            or > 1) and stays visible. ``invisible="transform"``: an invisible joint's
            ``(x, y)`` moves with the image like any point, wherever it lands
            (``out_of_image`` is about visible joints), and stays invisible.

    Returns:
        Images, masks (or None) and keypoints (or None), as arrays.

    Raises:
        ValueError: When the augmented images do not all have one size (end the
            pipeline with a ``Resize``).
    """
    import_imgaug()
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W, C), got shape {images.shape}")
    if seed is not None:
        aug = aug.deepcopy()
        aug.seed_(int(seed))
    batch: dict[str, Any] = {"images": images}
    if masks is not None:
        masks = np.asarray(masks)
        batch["segmentation_maps"] = _segmaps_in(images, masks, mask_fill)
    if keypoints is not None:
        keypoints = np.asarray(keypoints, dtype=np.float32)
        batch["keypoints"] = _keypoints_in(images, keypoints)
    result = aug.augment(**batch, return_batch=True)
    out_images = _same_size(result.images_aug)
    out_masks = None
    if masks is not None:
        arrs = np.stack([s.get_arr() for s in result.segmentation_maps_aug])
        if mask_fill is not None:
            arrs = np.where(arrs == 0, mask_fill + 1, arrs) - 1
        out_masks = arrs.astype(masks.dtype)
    out_kp = None
    if keypoints is not None:
        out_kp = _keypoints_out(
            result.keypoints_aug, keypoints, out_images.shape[1:3], flip_pairs,
            rules or KeypointsConfig(),
        )  # fmt: skip
    return out_images, out_masks, out_kp


def _segmaps_in(images: np.ndarray, masks: np.ndarray, mask_fill: int | None) -> list[Any]:
    """Masks as imgaug segmentation maps; shifted by one when pixels from outside get a fill."""
    from imgaug.augmentables.segmaps import SegmentationMapsOnImage

    if masks.shape[:3] != images.shape[:3]:
        raise ValueError(f"masks {masks.shape} do not match images {images.shape}")
    shift = 1 if mask_fill is not None else 0
    arr = masks.astype(np.int32) + shift
    return [SegmentationMapsOnImage(m, shape=images.shape[1:]) for m in arr]


def _keypoints_in(images: np.ndarray, keypoints: np.ndarray) -> list[Any]:
    """Joints in pixels, followed by the probe points that reveal a mirror."""
    from imgaug.augmentables.kps import Keypoint, KeypointsOnImage

    n, h, w = images.shape[:3]
    if keypoints.ndim != 3 or keypoints.shape[0] != n or keypoints.shape[2] < 2:
        raise ValueError(f"keypoints must be (N, J, 3), got shape {keypoints.shape}")
    probe = _probe(h, w)
    return [
        KeypointsOnImage(
            [Keypoint(float(x) * w, float(y) * h) for x, y in kp[:, :2]]
            + [Keypoint(x, y) for x, y in probe],
            shape=images.shape[1:],
        )
        for kp in keypoints
    ]


def _same_size(images: Any) -> np.ndarray:
    """The augmented images as one array; they must all have one size."""
    shapes = {tuple(np.shape(im)) for im in images}
    if len(shapes) != 1:
        raise ValueError(
            f"the augmented images have different sizes {sorted(shapes)[:4]}: end the "
            "augmenters with a Resize to the model's input size"
        )
    return np.stack(list(images)) if not isinstance(images, np.ndarray) else images


def _keypoints_out(
    augmented: list[Any],
    keypoints: np.ndarray,
    size: tuple[int, int],
    flip_pairs: Sequence[tuple[int, int]] | None,
    rules: KeypointsConfig,
) -> np.ndarray:
    """Augmented joints as fractions of the new image, following ``rules`` (see augment_batch)."""
    oh, ow = size
    joints = keypoints.shape[1]
    has_v = keypoints.shape[2] > 2
    out = np.zeros_like(keypoints)
    for i, kpsoi in enumerate(augmented):
        xy = kpsoi.to_xy_array()
        pts, probe_xy = xy[:joints], xy[joints:]
        was_visible = keypoints[i, :, 2] > 0 if has_v else np.ones(joints, bool)
        inside = (pts[:, 0] >= 0) & (pts[:, 0] <= ow) & (pts[:, 1] >= 0) & (pts[:, 1] <= oh)
        visible = was_visible.copy()
        if rules.out_of_image == "hide":
            visible &= inside & np.isfinite(pts).all(axis=1)
        kept = visible | (~was_visible if rules.invisible == "transform" else False)
        pts = np.nan_to_num(pts)  # as Keras's example (nan_to_num, then / IMG_SIZE)
        row = np.zeros((joints, keypoints.shape[2]), np.float32)
        row[:, 0] = np.where(kept, pts[:, 0] / ow, 0.0)
        row[:, 1] = np.where(kept, pts[:, 1] / oh, 0.0)
        if has_v:
            row[:, 2] = visible
        if flip_pairs and rules.swap_flipped and _mirrored(probe_xy):
            for a, b in flip_pairs:
                row[[a, b]] = row[[b, a]]
        out[i] = row
    return out


def describe(aug: Any) -> str:
    """A one-line description of an augmenter tree, for logs."""
    children = getattr(aug, "get_children_lists", lambda: [])()
    inner = [describe(c) for lst in children for c in lst]
    return type(aug).__name__ + (f"[{', '.join(inner)}]" if inner else "")
