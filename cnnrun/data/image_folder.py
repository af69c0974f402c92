"""Your own images: a class-per-subfolder folder, or a CSV of ``path,label``, as arrays.

The layouts read (the ``folder`` data set, ``data.path``)::

    DIR/<class>/*.jpg|png|...               every image; validation and test are split off
    DIR/train/<class>/...  DIR/val/<class>/...  DIR/test/<class>/...   (val/, test/ optional)
    labels.csv                              rows ``path,label`` (an optional header line;
                                            paths relative to the CSV's folder)

Class names are the subfolder names (or the CSV's labels) in Python's ``sorted()`` order,
as Keras's ``image_dataset_from_directory`` orders them; labels that are all whole
numbers are ordered as numbers. Images in nested folders of a class count for the class.
Files whose suffix is not in ``EXTENSIONS`` (.jpg .jpeg .png .bmp .gif .webp, any case)
or whose name starts with ``.`` are ignored.

Images are decoded once, in threads, with :mod:`cnnrun.data.folders`'s decoder (RGB,
resized bilinearly with Pillow to the model's input size, as ``cnnrun predict`` reads
them) into one ``uint8`` array held in memory, which the pipeline scales per batch. A
set that would not fit in the memory available is refused before decoding, with its
size. An unreadable file stops the run naming it, or is skipped and counted
(``data.skip_bad_images``).

The training images are put in one fixed random order (``FOLDER_ORDER_SEED``, not the
experiment's ``seed``: runs with different seeds are validated and tested on the same
images) before ``limit``, ``test_split`` (without ``test/``) and ``validation_split``
(without ``val/``) take their parts, so every part holds every class.

No TensorFlow is imported here.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnrun.data.arrays import ArrayData
from cnnrun.data.folders import _read_all, _size, decode_image, ordered, resized_dtype
from cnnrun.errors import DataError

SPLIT_DIRS = ("train", "val", "test")
# Keras's image_dataset_from_directory reads these (and Pillow also .webp); case-insensitive.
EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
MEMORY_FRACTION = 0.7  # of the memory available now, at most, for the decoded images


@dataclass
class FileList:
    """Image files and their class indices, per split (``val`` / ``test`` may be empty)."""

    class_names: list[str]
    files: dict[str, list[tuple[Path, int]]]
    source: str


def _suffixes(extensions: Sequence[str]) -> tuple[str, ...]:
    return tuple("." + e.lower().lstrip(".") for e in extensions)


def _images_under(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [
            Path(root) / f
            for f in sorted(files)
            if not f.startswith(".") and f.lower().endswith(suffixes)
        ]
    return found


def _class_dirs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def list_folder(path: str | Path, extensions: Sequence[str] = EXTENSIONS) -> FileList:
    """The image files of a class-per-subfolder folder (optionally with train/val/test).

    Raises:
        DataError: When the folder has no class subfolders or no images, or val/ or test/
            holds a class train/ has not.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"data set 'folder': {root} is not a folder")
    suffixes = _suffixes(extensions)
    split_layout = (root / "train").is_dir() and bool(_class_dirs(root / "train"))
    top = root / "train" if split_layout else root
    names = _class_dirs(top)
    if not names:
        raise DataError(
            f"data set 'folder': {top} holds no class folders; expected {top}/<class>/*.jpg "
            "(one folder per class)"
        )
    index = {n: i for i, n in enumerate(names)}
    files: dict[str, list[tuple[Path, int]]] = {s: [] for s in SPLIT_DIRS}
    for split in SPLIT_DIRS if split_layout else ("train",):
        base = root / split if split_layout else root
        if not base.is_dir():
            continue
        for name in _class_dirs(base):
            if name not in index:
                raise DataError(
                    f"data set 'folder': {base / name} is a class that {top} does not have "
                    f"(its classes: {', '.join(names)})"
                )
            files[split] += [(p, index[name]) for p in _images_under(base / name, suffixes)]
    if not files["train"]:
        raise DataError(
            f"data set 'folder': no images with the suffixes {', '.join(suffixes)} in the "
            f"class folders of {top}"
        )
    empty = [n for n in names if not any(label == index[n] for _, label in files["train"])]
    if empty:
        raise DataError(
            f"data set 'folder': the class folder(s) {', '.join(empty)} of {top} hold no "
            "images; remove them or add images"
        )
    return FileList(names, files, str(root))


def _class_order(labels: set[str]) -> list[str]:
    if all(label.lstrip("-").isdigit() for label in labels):
        return sorted(labels, key=int)
    return sorted(labels)


def list_csv(path: str | Path) -> FileList:
    """The images and labels of a CSV with the columns ``path,label``.

    Raises:
        DataError: When the file cannot be read, a row is malformed, or a file is missing.
    """
    csv_path = Path(path).expanduser()
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{csv_path}: cannot read it as a CSV file ({exc})") from None
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["path", "label"]:
        rows = rows[1:]
    if not rows:
        raise DataError(f"{csv_path}: no rows; expected lines `path,label`")
    pairs = []
    for n, row in enumerate(rows, 1):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise DataError(
                f"{csv_path}: row {n} is {','.join(row)!r}; expected `path,label` "
                "(a file and its class)"
            )
        file = Path(row[0].strip()).expanduser()
        file = file if file.is_absolute() else csv_path.parent / file
        pairs.append((file, row[1].strip()))
    missing = [str(p) for p, _ in pairs if not p.is_file()]
    if missing:
        raise DataError(
            f"{csv_path}: {len(missing)} file(s) listed do not exist, e.g. {missing[0]}"
        )
    names = _class_order({label for _, label in pairs})
    index = {n: i for i, n in enumerate(names)}
    files = {"train": [(p, index[label]) for p, label in pairs], "val": [], "test": []}
    return FileList(names, files, str(csv_path))


def list_images(path: str | Path, extensions: Sequence[str] = EXTENSIONS) -> FileList:
    """A folder (:func:`list_folder`) or a ``.csv`` file (:func:`list_csv`)."""
    p = Path(path).expanduser()
    if p.is_file() and p.suffix.lower() == ".csv":
        return list_csv(p)
    return list_folder(p, extensions)


def available_memory() -> int | None:
    """Bytes of memory available now (Linux), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _check_memory(n: int, size: tuple[int, int], source: str, itemsize: int = 1) -> None:
    need = n * size[0] * size[1] * 3 * itemsize
    free = available_memory()
    if free is not None and need > MEMORY_FRACTION * free:
        raise DataError(
            f"data set 'folder' ({source}): {n:,} images of {size[0]}x{size[1]} need "
            f"{need / 2**30:.1f} GiB decoded, more than the {free / 2**30:.1f} GiB of memory "
            "available; use a smaller model.input_shape or data.limit"
        )


def decode_files(
    items: list[tuple[Path, int]],
    size: tuple[int, int],
    skip_bad: bool,
    *,
    progress: bool | Any = False,
    description: str = "reading images",
    resize: str = "pillow_bilinear",
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str]]]:
    """Decode images into one RGB array; labels ``int32``; the skipped files.

    The array is ``uint8``, or ``float32`` with ``resize="tf_bilinear"``.

    Raises:
        DataError: At the first unreadable file (unless ``skip_bad``), naming it.
    """
    images = np.zeros((len(items), *size, 3), resized_dtype(resize))
    labels = np.array([label for _, label in items], np.int32)

    def read_one(i: int, item: tuple[Path, int]) -> None:
        images[i] = decode_image(item[0], size, resize)[0]

    bad = _read_all(
        items, read_one, lambda item: str(item[0]), skip_bad=skip_bad, progress=progress,
        description=description, workers=None,
    )  # fmt: skip
    if bad:
        keep = np.setdiff1d(np.arange(len(items)), [i for i, _, _ in bad])
        images, labels = images[keep], labels[keep]
    return images, labels, [(name, why) for _, name, why in bad]


def read_image_folder(
    path: str | Path,
    image_size: Sequence[int],
    extensions: Sequence[str] = EXTENSIONS,
    limit: int | None = None,
    skip_bad: bool = False,
    *,
    progress: bool | Any = False,
    shuffle_seed: int | None = None,
    order: str = "numpy",
    resize: str = "pillow_bilinear",
) -> ArrayData:
    """Read a class-per-subfolder folder or a ``path,label`` CSV (see the module docstring).

    Args:
        path: The folder, or the CSV file.
        image_size: ``(height, width)`` of the returned images.
        extensions: Image file suffixes to read.
        limit: Read only the first ``limit`` training images (after the shuffle).
        skip_bad: Skip unreadable images (listed in ``skipped``) instead of raising.
        progress: Show a Rich progress bar.
        shuffle_seed: The fixed random order of the training images (None: file order).
        order: How ``shuffle_seed`` orders them (:func:`cnnrun.data.folders.ordered`).
        resize: How they are resized (``data.resize``, :mod:`cnnrun.data.folders`).

    Returns:
        RGB ``uint8`` images and ``int32`` labels; ``x_val`` when there is a ``val/``, a
        test set when there is a ``test/`` (else ``own_test`` is false).

    Raises:
        DataError: When the layout is wrong, the images would not fit in memory, or a
            file cannot be read.
    """
    size = _size(image_size)
    listing = list_images(path, extensions)
    train = ordered(listing.files["train"], order, shuffle_seed, key=lambda item: str(item[0]))
    train = train[:limit] if limit is not None else train
    val, test = listing.files["val"], listing.files["test"]
    dtype = resized_dtype(resize)
    _check_memory(len(train) + len(val) + len(test), size, listing.source, dtype().itemsize)
    skipped: list[tuple[str, str]] = []
    parts = {}
    for name, items in (("train", train), ("val", val), ("test", test)):
        if not items:
            continue
        x, y, bad = decode_files(
            items, size, skip_bad, progress=progress, description=f"reading {name} images",
            resize=resize,
        )  # fmt: skip
        skipped += bad
        parts[name] = (x, y)
    if "train" not in parts or not len(parts["train"][0]):
        raise DataError(f"data set 'folder': none of the training images in {path} can be read")
    empty = np.zeros((0, *size, 3), dtype), np.zeros((0,), np.int32)
    x_test, y_test = parts.get("test", empty)
    x_val, y_val = parts.get("val", (None, None))
    return ArrayData(
        *parts["train"], x_test, y_test, listing.class_names, listing.source,
        own_test="test" in parts, skipped=skipped, x_val=x_val, y_val=y_val,
    )  # fmt: skip
