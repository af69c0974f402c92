"""Folder data sets for segmentation and keypoints (chapter §7.2, §7.3) as NumPy arrays.

Two layouts, as their authors distribute them:

``oxford_pets`` (Oxford-IIIT Pet)::

    FOLDER/images/Abyssinian_1.jpg ...
    FOLDER/annotations/trimaps/Abyssinian_1.png ...   values 1 pet, 2 background, 3 border

Images are paired with trimaps by file stem (files whose name starts with ``.``, such as
the archive's ``._*`` resource forks, and non-image files such as the ``.mat`` ones in
``images/`` are ignored). Masks come back as classes 0 pet, 1 background, 2 border
(the trimap value minus one, as in the Keras example).

``stanford_extra`` (Stanford Dogs photos with StanfordExtra keypoints)::

    FOLDER/Images/n02085620-Chihuahua/n02085620_10074.jpg ...
    FOLDER/StanfordExtra_v12.json      a list of {img_path, img_width, img_height,
                                       img_bbox, joints: 24 x [x, y, visible], ...}
    FOLDER/keypoint_definitions.csv    optional: joint names and colours

Another JSON name may be given (``json_name``); without one, ``StanfordExtra_v12.json``
is looked for in FOLDER and in ``FOLDER/StanfordExtra_v12/``, then the only ``*.json``
file of FOLDER. As in the Keras keypoint example, the whole photo is resized to the
model's size (no crop to the dog's bounding box): the keypoints are divided by the
annotated ``img_width`` / ``img_height``, so ``(x, y)`` are fractions of the image,
``[0, 1]``, valid at any resized size. Joints marked invisible keep ``x = y = 0`` (the
JSON's own placeholder) and ``v = 0``; the loss and metrics of
:mod:`cnnrun.model.losses` ignore them, so they do not teach the model to point at the
corner. No EXIF rotation is applied (the annotations are in the stored pixel grid).

Images are decoded in parallel threads (Pillow releases the GIL while decoding) and
resized as ``resize`` says (``data.resize``): with Pillow, bilinearly (antialiased), to
``uint8`` (the default); with ``tf.image.resize`` (bilinear, no antialiasing), kept
``float32`` in 0..255, as the §7.2 example (4x the memory); or with imgaug's linear
``Resize`` (OpenCV ``INTER_LINEAR``), ``uint8``, as the §7.3 example. Masks are resized
with nearest neighbour: ``tf.image.resize(method="nearest")`` with ``tf_bilinear`` (the
§7.2 example's; it picks other pixels than Pillow's at some sizes), Pillow's otherwise.
Before ``limit`` and the splits the examples are put in an order (``order``): NumPy's
permutation (the default), ``python_random`` (sorted by image path, then
``random.Random(seed).shuffle``, as the Keras examples) or ``none`` (sorted by path).
A file that cannot be read raises :class:`~cnnrun.errors.DataError` naming it; with
``skip_bad=True`` it is skipped instead and listed in the result's ``skipped``.

No TensorFlow is imported here, except to resize with ``tf_bilinear``.
"""

from __future__ import annotations

import csv
import json
import os
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from cnnrun.data.image_files import TooManyPixels, open_image
from cnnrun.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
OXFORD_CLASSES = ["pet", "background", "border"]
OXFORD_BACKGROUND = 1  # the class of pixels brought in from outside an image by augmentation
STANFORD_JSON = "StanfordExtra_v12.json"
KEYPOINT_DEFINITIONS = "keypoint_definitions.csv"

# keypoint_definitions.csv of StanfordExtra (MIT licence, benjiebob/StanfordExtra):
# joint names and their colours, used when the file is not beside the data.
STANFORD_JOINTS: list[tuple[str, str]] = [
    ("Left front leg: paw", "#d82400"),
    ("Left front leg: middle joint", "#d82400"),
    ("Left front leg: top", "#d82400"),
    ("Left rear leg: paw", "#fcfc00"),
    ("Left rear leg: middle joint", "#fcfc00"),
    ("Left rear leg: top", "#fcfc00"),
    ("Right front leg: paw", "#48b455"),
    ("Right front leg: middle joint", "#48b455"),
    ("Right front leg: top", "#48b455"),
    ("Right rear leg: paw", "#0090aa"),
    ("Right rear leg: middle joint", "#0090aa"),
    ("Right rear leg: top", "#0090aa"),
    ("Tail start", "#d848ff"),
    ("Tail end", "#d848ff"),
    ("Base of left ear", "#fc90aa"),
    ("Base of right ear", "#006caa"),
    ("Nose", "#d89000"),
    ("Chin", "#d89000"),
    ("Left ear tip", "#fc90aa"),
    ("Right ear tip", "#006caa"),
    ("Left eye", "#ededed"),
    ("Right eye", "#ededed"),
    ("Withers", "#a9d08e"),
    ("Throat", "#a9d08e"),
]
NUM_JOINTS = len(STANFORD_JOINTS)
RESIZE_METHODS = ("pillow_bilinear", "tf_bilinear", "imgaug_linear")
ORDERS = ("numpy", "python_random", "none")


def resized_dtype(resize: str) -> type:
    """The dtype of images resized with ``resize`` (``float32`` for ``tf_bilinear``)."""
    return np.float32 if resize == "tf_bilinear" else np.uint8


class SegmentationSet(NamedTuple):
    """Images and their masks, read from a folder.

    Attributes:
        images: ``uint8`` array ``(N, H, W, 3)``.
        masks: ``uint8`` array ``(N, H, W)`` of class indices.
        names: The image file of each example, relative to the data set's folder.
        skipped: ``(file, reason)`` of each unreadable example (``skip_bad=True`` only).
    """

    images: np.ndarray
    masks: np.ndarray
    names: list[str]
    skipped: list[tuple[str, str]]


class KeypointSet(NamedTuple):
    """Images and their keypoints, read from a folder.

    Attributes:
        images: ``uint8`` array ``(N, H, W, 3)``.
        keypoints: ``float32`` array ``(N, joints, 3)``: ``x``, ``y`` as fractions of the
            image's width and height, and ``v`` (1 visible, 0 not; then ``x = y = 0``).
        names: The image file of each example, relative to the ``Images`` folder.
        skipped: ``(file, reason)`` of each unreadable example (``skip_bad=True`` only).
    """

    images: np.ndarray
    keypoints: np.ndarray
    names: list[str]
    skipped: list[tuple[str, str]]


class _Bad(Exception):
    """One example cannot be read; the message says why."""


# ---------------------------------------------------------------------------------------
# Decoding


def _size(image_size: Sequence[int]) -> tuple[int, int]:
    """``(height, width)`` from a pair (or an ``input_shape`` with channels)."""
    if len(image_size) < 2 or any(int(s) < 1 for s in image_size[:2]):
        raise ValueError(f"image_size must be (height, width), got {image_size!r}")
    return int(image_size[0]), int(image_size[1])


def decode_image(
    path: Path, size: tuple[int, int] | None = None, resize: str = "pillow_bilinear"
) -> tuple[np.ndarray, int, int]:
    """Decode an image file into RGB, optionally resized to ``size = (h, w)``.

    Args:
        path: The image file.
        size: ``(height, width)``, or None to keep the file's size.
        resize: ``pillow_bilinear``, ``tf_bilinear`` or ``imgaug_linear`` (module docstring).

    Returns:
        The array (``uint8``; ``float32`` 0..255 with ``tf_bilinear``) and the original
        width and height.

    Raises:
        _Bad: When the file is missing, empty, truncated or not an image.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with open_image(path) as im:
            width, height = im.size
            pillow = resize == "pillow_bilinear"
            if size is not None and pillow and im.format == "JPEG":
                im.draft("RGB", (size[1], size[0]))  # DCT scaling: faster, still >= size
            im.load()  # decode now: a truncated file fails here, not later
            im = im.convert("RGB")
            if size is not None and pillow and im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            array = np.asarray(im, dtype=np.uint8)
    except TooManyPixels as exc:
        raise _Bad(str(exc)) from None
    except FileNotFoundError:
        raise _Bad("the file does not exist") from None
    except UnidentifiedImageError:
        reason = "the file is empty" if _empty(path) else "not an image Pillow can read"
        raise _Bad(reason) from None
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt data
        raise _Bad(f"corrupt or truncated image ({exc})") from None
    except Image.DecompressionBombError as exc:
        raise _Bad(str(exc)) from None
    if size is not None and resize != "pillow_bilinear":
        array = resize_array(array, size, resize)
    return array, width, height


def resize_array(image: np.ndarray, size: tuple[int, int], resize: str) -> np.ndarray:
    """One ``(H, W, C)`` ``uint8`` image resized by ``tf_bilinear`` or ``imgaug_linear``."""
    if resize == "tf_bilinear":
        from cnnrun.tf_env import import_keras

        import_keras()  # TensorFlow, quietly
        import tensorflow as tf

        # bilinear, antialias=False, half-pixel centres; float32 0..255, not rounded
        return tf.image.resize(image, size).numpy().astype(np.float32, copy=False)
    if resize == "imgaug_linear":
        from cnnrun.data.augment import import_imgaug

        iaa = import_imgaug()  # imgaug 0.4.0 on NumPy 2
        resizer = iaa.Resize({"height": size[0], "width": size[1]}, interpolation="linear")
        return np.asarray(resizer(image=image), dtype=np.uint8)
    raise ValueError(f"resize must be one of {RESIZE_METHODS}, got {resize!r}")


def _empty(path: Path) -> bool:
    try:
        return os.path.getsize(path) == 0
    except OSError:
        return False


def _decode_mask(path: Path, size: tuple[int, int], tf_nearest: bool = False) -> np.ndarray:
    """A trimap (values 1, 2, 3) as classes 0, 1, 2, resized with nearest neighbour.

    ``tf_nearest``: with ``tf.image.resize(method="nearest")`` instead of Pillow's.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with open_image(path) as im:
            im.load()
            if im.mode not in ("L", "P", "I", "I;16", "1"):
                im = im.getchannel(0)
            if im.size != (size[1], size[0]) and not tf_nearest:
                im = im.resize((size[1], size[0]), Image.Resampling.NEAREST)
            arr = np.asarray(im)
    except TooManyPixels as exc:
        raise _Bad(f"its trimap {Path(path).name}: {exc}") from None
    except FileNotFoundError:
        raise _Bad("its trimap is missing") from None
    except UnidentifiedImageError:
        reason = "the trimap is empty" if _empty(path) else "the trimap is not an image"
        raise _Bad(reason) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise _Bad(f"corrupt or truncated trimap ({exc})") from None
    if tf_nearest and arr.shape[:2] != size:
        from cnnrun.tf_env import import_keras

        import_keras()
        import tensorflow as tf

        arr = tf.image.resize(arr[..., None], size, method="nearest").numpy()[..., 0]
    values = np.unique(arr)
    if values.size and (values.min() < 1 or values.max() > 3):
        raise _Bad(f"trimap values {values.tolist()[:8]} are not all 1, 2 or 3")
    return (arr.astype(np.int16) - 1).astype(np.uint8)


def read_trimap(path: str | Path, image_size: Sequence[int]) -> np.ndarray:
    """One Oxford-IIIT Pet trimap as classes 0 pet, 1 background, 2 border, resized.

    Raises:
        DataError: When it cannot be read or holds other values than 1, 2, 3.
    """
    try:
        return _decode_mask(Path(path), _size(image_size))
    except _Bad as exc:
        raise DataError(f"{path}: {exc}") from None


def _read_all(
    items: Sequence[Any],
    read_one: Callable[[int, Any], None],
    label: Callable[[Any], str],
    *,
    skip_bad: bool,
    progress: bool | Any,
    description: str,
    workers: int | None,
) -> list[tuple[int, str, str]]:
    """Run ``read_one(i, item)`` for every item in threads; return the bad ones.

    Raises:
        DataError: At the first bad item (in order), unless ``skip_bad``.
    """
    bad: list[tuple[int, str, str]] = []

    def run(i: int) -> tuple[int, str, str] | None:
        try:
            read_one(i, items[i])
        except _Bad as exc:
            return (i, label(items[i]), str(exc))
        return None

    workers = workers or min(8, (os.cpu_count() or 1) + 2)
    bar = _progress(progress, description, len(items))
    with bar as advance, ThreadPoolExecutor(max_workers=workers) as pool:
        for outcome in pool.map(run, range(len(items))):
            advance()
            if outcome is None:
                continue
            if not skip_bad:
                pool.shutdown(wait=True, cancel_futures=True)
                _, name, reason = outcome
                raise DataError(
                    f"{name}: {reason}. Remove or replace the file, or set "
                    "data.skip_bad_images: true to skip unreadable files"
                )
            bad.append(outcome)
    return bad


class _NoBar:
    def __enter__(self) -> Callable[[], None]:
        return lambda: None

    def __exit__(self, *exc: object) -> None:
        return None


class _RichBar:
    def __init__(self, console: Any, description: str, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self.progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task(description, total=total)

    def __enter__(self) -> Callable[[], None]:
        self.progress.start()
        return lambda: self.progress.advance(self.task)

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _progress(progress: bool | Any, description: str, total: int) -> Any:
    if progress is False or progress is None:
        return _NoBar()
    return _RichBar(None if progress is True else progress, description, total)


def _compact(arrays: list[np.ndarray], names: list[str], bad: list[tuple[int, str, str]]):
    """Drop the rows of the bad examples."""
    if not bad:
        return arrays, names
    drop = {i for i, _, _ in bad}
    keep = np.array([i for i in range(len(names)) if i not in drop], dtype=np.int64)
    return [a[keep] for a in arrays], [names[i] for i in keep]


# ---------------------------------------------------------------------------------------
# Oxford-IIIT Pet


def _shuffled(items: list, seed: int | None) -> list:
    """``items`` in a random order fixed by ``seed`` (unchanged when None)."""
    if seed is None:
        return items
    order = np.random.default_rng(seed).permutation(len(items))
    return [items[i] for i in order]


def ordered(items: list, order: str, seed: int | None, key: Callable[[Any], str] = str) -> list:
    """``items`` in the order ``data.order`` names.

    Args:
        items: Image paths (or entries naming them).
        order: ``numpy``: NumPy's permutation of ``items`` as given, fixed by ``seed``
            (unchanged when None); ``python_random``: sorted by ``key`` (the image path),
            then ``random.Random(seed).shuffle``, as the Keras examples; ``none``: sorted.
        seed: The shuffle's seed.
        key: The image path of an item.
    """
    if order == "numpy":
        return _shuffled(items, seed)
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    items = sorted(items, key=key)
    if order == "python_random":
        random.Random(seed).shuffle(items)
    return items


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def read_oxford_pets(
    folder: str | Path,
    image_size: Sequence[int] = (160, 160),
    limit: int | None = None,
    skip_bad: bool = False,
    *,
    progress: bool | Any = False,
    workers: int | None = None,
    shuffle_seed: int | None = None,
    order: str = "numpy",
    resize: str = "pillow_bilinear",
) -> SegmentationSet:
    """Read Oxford-IIIT Pet photos and trimaps, resized to ``image_size``.

    Args:
        folder: The folder holding ``images/`` and ``annotations/trimaps/``.
        image_size: ``(height, width)`` of the returned images and masks.
        limit: Read only the first ``limit`` examples (in file-name order, or in the
            shuffled order).
        skip_bad: Skip unreadable images or trimaps (listed in ``skipped``) instead of
            raising.
        progress: Show a Rich progress bar (``True``, or a ``rich.console.Console``).
        workers: Decoding threads (default: CPU count + 2, at most 8).
        shuffle_seed: Put the files in a random order fixed by this seed before ``limit``
            (the official files are sorted by breed, cats first).
        order: How ``shuffle_seed`` orders them (:func:`ordered`).
        resize: How the photos are resized (``data.resize``; the module docstring).

    Returns:
        Images, masks (0 pet, 1 background, 2 border), names, skipped files.

    Raises:
        DataError: When the layout is wrong, or a file cannot be read (naming it).

    Example:
        >>> data = read_oxford_pets("pets", (160, 160))  # doctest: +SKIP
        >>> data.images.shape, data.masks.shape  # doctest: +SKIP
        ((7390, 160, 160, 3), (7390, 160, 160))
    """
    root = Path(folder).expanduser()
    size = _size(image_size)
    images_dir, trimaps_dir = root / "images", root / "annotations" / "trimaps"
    for d in (images_dir, trimaps_dir):
        if not d.is_dir():
            raise DataError(
                f"data set 'oxford_pets': {d} is not a folder; expected the official layout "
                f"{root}/images/*.jpg and {root}/annotations/trimaps/*.png"
            )
    files = sorted((p for p in images_dir.iterdir() if _is_image(p)), key=lambda p: p.name)
    if not files:
        raise DataError(f"data set 'oxford_pets': no images in {images_dir}")
    files = ordered(files, order, shuffle_seed)
    files = files[:limit] if limit is not None else files
    n = len(files)
    images = np.zeros((n, *size, 3), resized_dtype(resize))
    masks = np.zeros((n, *size), np.uint8)
    tf_nearest = resize == "tf_bilinear"

    def read_one(i: int, path: Path) -> None:
        images[i] = decode_image(path, size, resize)[0]
        masks[i] = _decode_mask(trimaps_dir / f"{path.stem}.png", size, tf_nearest)

    bad = _read_all(
        files, read_one, lambda p: str(p), skip_bad=skip_bad, progress=progress,
        description="reading Oxford-IIIT Pet", workers=workers,
    )  # fmt: skip
    names = [f"images/{p.name}" for p in files]
    (images, masks), names = _compact([images, masks], names, bad)
    if not names:
        raise DataError(f"data set 'oxford_pets': none of the {n} images in {root} can be read")
    return SegmentationSet(images, masks, names, [(name, why) for _, name, why in bad])


# ---------------------------------------------------------------------------------------
# StanfordExtra


def find_stanford_json(folder: Path, json_name: str | None = None) -> Path:
    """The StanfordExtra JSON of ``folder`` (see the module's docstring).

    Raises:
        DataError: When it cannot be found, with what was looked for.
    """
    if json_name:
        path = Path(json_name).expanduser()
        path = path if path.is_absolute() else folder / path
        if not path.is_file():
            raise DataError(f"data set 'stanford_extra': the JSON file {path} does not exist")
        return path
    for candidate in (folder / STANFORD_JSON, folder / "StanfordExtra_v12" / STANFORD_JSON):
        if candidate.is_file():
            return candidate
    found = sorted(p for p in folder.glob("*.json") if not p.name.startswith("."))
    if len(found) == 1:
        return found[0]
    listed = ", ".join(p.name for p in found) if found else "none"
    raise DataError(
        f"data set 'stanford_extra': {folder / STANFORD_JSON} not found (JSON files there: "
        f"{listed}); place the StanfordExtra JSON there or name it (json_name)"
    )


def _images_dir(folder: Path) -> Path:
    for name in ("Images", "images"):
        if (folder / name).is_dir():
            return folder / name
    raise DataError(
        f"data set 'stanford_extra': {folder}/Images is not a folder; expected the Stanford "
        "Dogs photos in Images/<wnid-breed>/*.jpg beside the StanfordExtra JSON"
    )


def read_stanford_json(path: Path, joints: int = NUM_JOINTS) -> list[dict[str, Any]]:
    """The annotation list of a StanfordExtra JSON, checked.

    Raises:
        DataError: When the file is not a list of entries with ``img_path`` and
            ``joints`` (``joints`` x ``[x, y, visible]``), naming the first bad entry.
    """
    try:
        with open(path, encoding="utf-8") as f:
            entries = json.load(f)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read it as JSON ({exc})") from None
    if isinstance(entries, dict):  # tolerate {"annotations": [...]} wrappers
        entries = next((v for v in entries.values() if isinstance(v, list)), None)
    if not isinstance(entries, list) or not entries:
        raise DataError(f"{path}: expected a non-empty list of StanfordExtra annotations")
    for i, e in enumerate(entries):
        ok = isinstance(e, dict) and isinstance(e.get("img_path"), str)
        kp = e.get("joints") if ok else None
        ok = ok and isinstance(kp, list) and len(kp) == joints
        ok = ok and all(isinstance(j, list | tuple) and len(j) >= 3 for j in kp)
        if not ok:
            raise DataError(
                f"{path}: entry {i} is not a StanfordExtra annotation: expected img_path and "
                f"joints ({joints} x [x, y, visible]); received {str(e)[:120]}"
            )
    return entries


def normalized_joints(entry: dict[str, Any], width: int, height: int) -> np.ndarray:
    """An entry's joints as ``(J, 3)`` ``float32``: ``x / width``, ``y / height``, visible.

    The annotated ``img_width`` / ``img_height`` are used when present (the joints are in
    that grid), else ``width`` / ``height``. Invisible joints get ``x = y = 0``; visible
    ones are clipped to ``[0, 1]``.
    """
    w = float(entry.get("img_width") or width)
    h = float(entry.get("img_height") or height)
    kp = np.asarray([j[:3] for j in entry["joints"]], dtype=np.float64)
    visible = (kp[:, 2] > 0).astype(np.float32)
    xy = np.clip(kp[:, :2] / np.array([w, h]), 0.0, 1.0) * visible[:, None]
    return np.concatenate([xy, visible[:, None]], axis=1).astype(np.float32)


def read_stanford_extra(
    folder: str | Path,
    json_name: str | None = None,
    image_size: Sequence[int] = (224, 224),
    limit: int | None = None,
    skip_bad: bool = False,
    *,
    progress: bool | Any = False,
    workers: int | None = None,
    shuffle_seed: int | None = None,
    order: str = "numpy",
    resize: str = "pillow_bilinear",
) -> KeypointSet:
    """Read Stanford Dogs photos with their StanfordExtra keypoints.

    Args:
        folder: The folder holding ``Images/`` and the JSON.
        json_name: The JSON's file name (or path); default ``StanfordExtra_v12.json``.
        image_size: ``(height, width)`` of the returned images.
        limit: Read only the first ``limit`` annotations (in the JSON's order, or in the
            shuffled order).
        skip_bad: Skip unreadable images (listed in ``skipped``) instead of raising.
        progress: Show a Rich progress bar (``True``, or a ``rich.console.Console``).
        workers: Decoding threads (default: CPU count + 2, at most 8).
        shuffle_seed: Put the annotations in a random order fixed by this seed before
            ``limit`` (the JSON is sorted by breed).
        order: How ``shuffle_seed`` orders them (:func:`ordered`; sorted by ``img_path``).
        resize: How the photos are resized (``data.resize``; the module docstring).

    Returns:
        Images, keypoints ``(N, 24, 3)`` in ``[0, 1]``, names (``img_path``), skipped.

    Raises:
        DataError: When the layout or JSON is wrong, or an image cannot be read.
    """
    root = Path(folder).expanduser()
    size = _size(image_size)
    if not root.is_dir():
        raise DataError(f"data set 'stanford_extra': {root} is not a folder")
    json_path = find_stanford_json(root, json_name)
    images_dir = _images_dir(root)
    entries = read_stanford_json(json_path)
    entries = ordered(entries, order, shuffle_seed, key=lambda e: e["img_path"])
    entries = entries[:limit] if limit is not None else entries
    n = len(entries)
    joints = len(entries[0]["joints"])
    images = np.zeros((n, *size, 3), resized_dtype(resize))
    keypoints = np.zeros((n, joints, 3), np.float32)

    def read_one(i: int, entry: dict[str, Any]) -> None:
        images[i], width, height = decode_image(images_dir / entry["img_path"], size, resize)
        keypoints[i] = normalized_joints(entry, width, height)

    bad = _read_all(
        entries, read_one, lambda e: str(images_dir / e["img_path"]), skip_bad=skip_bad,
        progress=progress, description="reading StanfordExtra", workers=workers,
    )  # fmt: skip
    names = [e["img_path"] for e in entries]
    (images, keypoints), names = _compact([images, keypoints], names, bad)
    if not names:
        raise DataError(f"data set 'stanford_extra': none of the {n} images can be read")
    return KeypointSet(images, keypoints, names, [(name, why) for _, name, why in bad])


def keypoint_definitions(folder: str | Path | None = None) -> list[tuple[str, str]]:
    """Joint names and colours (``#rrggbb``) from ``keypoint_definitions.csv``.

    Args:
        folder: A folder holding the CSV, or the CSV itself; None (or no file there)
            gives StanfordExtra's own 24 definitions.
    """
    if folder is None:
        return list(STANFORD_JOINTS)
    path = Path(folder)
    path = path / KEYPOINT_DEFINITIONS if path.is_dir() else path
    if not path.is_file():
        return list(STANFORD_JOINTS)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        return [(r["Name"].strip(), "#" + r["Hex colour"].strip().lstrip("#")) for r in rows]
    except (OSError, KeyError, AttributeError) as exc:
        raise DataError(
            f"{path}: expected the columns Name and 'Hex colour' of StanfordExtra's "
            f"keypoint_definitions.csv ({exc})"
        ) from None


# ---------------------------------------------------------------------------------------
# Synthetic data with the same shapes


def synthetic_segmentation(
    shape: Sequence[int], classes: int = 3, n: int = 64, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Images of a few filled circles and rectangles, with trimap-like masks.

    With 3 classes the masks follow the Oxford layout: 0 inside a shape, 1 background,
    2 a border band around each shape's edge (like a trimap's uncertain region). With 2
    classes there is no border; with more, shapes of class ``k >= 3`` are drawn in their
    own colour. Shapes are brighter than the noisy background, so the task is learnable.

    Args:
        shape: One image's shape, ``(H, W, C)`` (``C`` 1 or 3) or ``(H, W)``.
        classes: Number of mask classes (at least 2).
        n: Number of examples.
        seed: The same seed gives the same arrays.

    Returns:
        ``uint8`` images ``(n, H, W, C)`` and ``uint8`` masks ``(n, H, W)``.
    """
    h, w = int(shape[0]), int(shape[1])
    c = int(shape[2]) if len(shape) > 2 else 1
    if classes < 2:
        raise ValueError("synthetic segmentation needs at least 2 classes")
    rng = np.random.default_rng(seed)
    object_classes = [0, *range(3, classes)]
    palette = rng.uniform(150, 255, size=(classes, c))
    palette[0] = 230 if c == 1 else palette[0]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    border = max(1.0, min(h, w) / 40)
    images = np.zeros((n, h, w, c), np.uint8)
    masks = np.full((n, h, w), 1, np.uint8)
    for i in range(n):
        img = rng.normal(60, 20, size=(h, w, c))
        mask = masks[i]
        edge = np.zeros((h, w), bool)
        for _ in range(int(rng.integers(1, 4))):
            k = int(rng.choice(object_classes))
            cy, cx = rng.uniform(0.15, 0.85) * h, rng.uniform(0.15, 0.85) * w
            r = rng.uniform(0.08, 0.25) * min(h, w)
            if rng.random() < 0.5:  # circle: signed distance to the edge
                dist = np.hypot(yy - cy, xx - cx) - r
            else:  # rectangle (half sides r and r * aspect)
                ry = r * rng.uniform(0.6, 1.4)
                dist = np.maximum(np.abs(yy - cy) - ry, np.abs(xx - cx) - r)
            inside = dist <= 0
            img[inside] = palette[k] + rng.normal(0, 10, size=(int(inside.sum()), c))
            mask[inside] = k
            edge |= np.abs(dist) <= border
        if classes >= 3:
            mask[edge] = 2
        images[i] = np.clip(img, 0, 255).astype(np.uint8)
    return images, masks


def synthetic_keypoints(
    shape: Sequence[int], n: int = 64, joints: int = NUM_JOINTS, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Images with one bright blob per visible joint, each joint its own colour.

    About 20% of the joints are invisible: not drawn, ``v = 0`` and ``x = y = 0``, as
    StanfordExtra marks them.

    Args:
        shape: One image's shape, ``(H, W, C)`` or ``(H, W)``.
        n: Number of examples.
        joints: Keypoints per image.
        seed: The same seed gives the same arrays.

    Returns:
        ``uint8`` images ``(n, H, W, C)`` and ``float32`` keypoints ``(n, joints, 3)``
        (``x``, ``y`` in ``[0, 1]``, ``v``), as :func:`read_stanford_extra` gives.
    """
    h, w = int(shape[0]), int(shape[1])
    c = int(shape[2]) if len(shape) > 2 else 1
    rng = np.random.default_rng(seed)
    if c == 1:
        colours = np.linspace(90, 255, joints)[:, None]
    else:  # hues around the colour wheel
        hue = np.arange(joints) / joints
        phase = np.array([0.0, 1 / 3, 2 / 3])
        colours = 150 + 105 * np.cos(2 * np.pi * (hue[:, None] - phase[None, :]))
        colours = colours[:, :c]
    radius = max(1.5, min(h, w) / 30)
    pad = int(np.ceil(3 * radius))
    images = np.zeros((n, h, w, c), np.uint8)
    keypoints = np.zeros((n, joints, 3), np.float32)
    for i in range(n):
        img = rng.normal(40, 12, size=(h, w, c))
        xy = rng.uniform(0.05, 0.95, size=(joints, 2))
        visible = rng.random(joints) >= 0.2
        for j in np.flatnonzero(visible):
            px, py = xy[j, 0] * w, xy[j, 1] * h
            y0, y1 = max(0, int(py) - pad), min(h, int(py) + pad + 1)
            x0, x1 = max(0, int(px) - pad), min(w, int(px) + pad + 1)
            gy, gx = np.mgrid[y0:y1, x0:x1]
            weight = np.exp(-((gx + 0.5 - px) ** 2 + (gy + 0.5 - py) ** 2) / (2 * radius**2))
            patch = img[y0:y1, x0:x1]
            img[y0:y1, x0:x1] = patch * (1 - weight[..., None]) + colours[j] * weight[..., None]
        images[i] = np.clip(img, 0, 255).astype(np.uint8)
        keypoints[i, :, :2] = xy * visible[:, None]
        keypoints[i, :, 2] = visible
    return images, keypoints
