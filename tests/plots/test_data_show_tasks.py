"""Issue 13: `cnnrun data show` for the segmentation and keypoint data sets.

Today `data show oxford_pets` and `data show stanford_extra` exit 2 ("... labels, not
classes"). They are to draw the masks over the photos and the joints over the dogs. The
folders here are small fakes of the real layouts (as tests/train/test_tasks_train.py and
tests/data/test_folders.py make them). Whether the drawing looks right is checked by eye.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import cli
from PIL import Image

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_pet_folder(root: Path, n: int = 12, size: tuple[int, int] = (48, 36)) -> Path:
    """Oxford-IIIT Pet's layout: photos with a bright ellipse (the pet) and trimaps 1/2/3."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "annotations" / "trimaps").mkdir(parents=True)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
        d = np.hypot((xx - cx) / (0.25 * w), (yy - cy) / (0.25 * h))
        img = rng.normal(50, 15, (h, w, 3))
        img[d <= 1] = (230, 180, 90)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
            root / "images" / f"Bengal_{i}.jpg", quality=90
        )
        trimap = np.where(d <= 0.9, 1, np.where(d <= 1.1, 3, 2)).astype(np.uint8)
        Image.fromarray(trimap).save(root / "annotations" / "trimaps" / f"Bengal_{i}.png")
    return root


def make_dog_folder(root: Path, n: int = 12) -> Path:
    """StanfordExtra's layout: Images/<breed>/<photo>.jpg and StanfordExtra_v12.json."""
    entries = []
    for i in range(n):
        rel = f"n02085620-Chihuahua/n02085620_{i}.jpg"
        path = root / "Images" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (100, 50), (200, 100, 50)).save(path, "JPEG")
        joints = [[0.0, 0.0, 0.0] for _ in range(24)]
        joints[0] = [25.0, 10.0, 1.0]
        joints[6] = [75.0, 40.0, 1.0]
        joints[16] = [60.0, 30.0, 1.0]
        entries.append(
            {"img_path": rel, "img_width": 100, "img_height": 50, "img_bbox": [0, 0, 100, 50],
             "joints": joints, "is_multiple_dogs": False}
        )  # fmt: skip
    (root / "StanfordExtra_v12.json").write_text(json.dumps(entries))
    return root


@pytest.mark.parametrize(
    ("dataset", "make"),
    [("oxford_pets", make_pet_folder), ("stanford_extra", make_dog_folder)],
    ids=["masks", "joints"],
)
def test_data_show_draws_the_labels_of_folder_data_sets(tmp_path, dataset, make):
    folder = make(tmp_path / dataset)
    out = tmp_path / f"{dataset}.png"
    result = cli("data", "show", dataset, "--path", folder, "--out", out, "--n", "4")
    assert result.returncode == 0, result.stdout + result.stderr
    assert out.is_file() and out.read_bytes()[:8] == PNG_MAGIC
    with Image.open(out) as picture:
        assert picture.width >= 100 and picture.height >= 100
    assert str(out) in result.stdout
