"""``cnnrun data import`` of your own images: a class-per-subfolder folder or a CSV.

Both become a class-per-subfolder folder in the target folder (Keras's data set cache by
default), every image checked on the way: unreadable files are named and left out, so
training never meets them. A CSV's images are copied into ``NAME/<label>/`` (``NAME``:
the CSV's file name without ``.csv``); a folder keeps its layout (``train/``, ``val/``,
``test/`` included). The folder is then ``data: {dataset: folder, path: NAME}``.

No TensorFlow is imported here.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cnnrun.data.folders import _read_all, decode_image
from cnnrun.data.image_folder import FileList, list_csv, list_folder
from cnnrun.errors import DataError


@dataclass
class ImportReport:
    """What an import wrote."""

    target: Path
    class_names: list[str]
    counts: dict[str, int]  # images per split (train, val, test)
    per_class: Counter = field(default_factory=Counter)
    bad: list[tuple[str, str]] = field(default_factory=list)  # (file, reason), not copied


def is_image_source(source: Path) -> bool:
    """Whether ``source`` is a CSV or a folder of class folders holding images."""
    if source.is_file():
        return source.suffix.lower() == ".csv"
    try:
        list_folder(source)
    except DataError:
        return False
    return True


def _check(listing: FileList) -> list[tuple[int, str, str]]:
    items = [p for split in ("train", "val", "test") for p, _ in listing.files[split]]

    def read_one(i: int, path: Path) -> None:
        decode_image(path, (8, 8))  # a full decode (resizing is cheap): truncated files fail

    return _read_all(
        items, read_one, str, skip_bad=True, progress=False, description="checking images",
        workers=None,
    )  # fmt: skip


def import_images(source: Path, target_dir: Path) -> ImportReport:
    """Check and copy a CSV's or a class folder's images into ``target_dir/NAME``.

    Raises:
        DataError: When the source is not such a folder or CSV, or the target exists.
    """
    source = Path(source)
    is_csv = source.is_file()
    listing = list_csv(source) if is_csv else list_folder(source)
    target = Path(target_dir) / (source.stem if is_csv else source.name)
    if target.exists():
        raise DataError(f"{target} already exists; not overwritten")
    bad = {name: why for _, name, why in _check(listing)}
    report = ImportReport(target, listing.class_names, {})
    root = source if not is_csv else None
    used: set[Path] = set()
    for split in ("train", "val", "test"):
        copied = 0
        for path, label in listing.files[split]:
            if str(path) in bad:
                continue
            if root is not None:  # a folder: the same relative place
                dest = target / path.relative_to(root)
            else:  # a CSV: NAME/<label>/<file>, numbered when two files share a name
                dest = target / listing.class_names[label] / path.name
                n = 1
                while dest in used:
                    dest = dest.with_name(f"{path.stem}-{n}{path.suffix}")
                    n += 1
            used.add(dest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
            report.per_class[listing.class_names[label]] += 1
            copied += 1
        if copied:
            report.counts[split] = copied
    report.bad = sorted(bad.items())
    return report
