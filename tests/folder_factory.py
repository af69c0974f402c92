"""Tiny Oxford-IIIT Pet and StanfordExtra folders in the official layouts, for tests."""

import json

import numpy as np
from PIL import Image


def write_jpeg(path, w, h, colour=(200, 100, 50), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (w, h), colour if mode == "RGB" else colour[0]).save(path, "JPEG")


def make_pets(root, n=3, size=(40, 30)):
    """n images of size (w, h) whose left half is the pet, with a border column."""
    w, h = size
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / "trimaps").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = np.zeros((h, w, 3), np.uint8)
        img[:, : w // 2] = (250, 10 * i, 0)
        Image.fromarray(img).save(root / "images" / f"Cat_{i}.jpg")
        trimap = np.full((h, w), 2, np.uint8)
        trimap[:, : w // 2] = 1
        trimap[:, w // 2 : w // 2 + 2] = 3
        Image.fromarray(trimap).save(root / "annotations" / "trimaps" / f"Cat_{i}.png")
    (root / "annotations" / "trimaps" / "._Cat_0.png").write_bytes(b"\x00\x05")  # macOS fork
    (root / "images" / "Cat_0.mat").write_bytes(b"not an image")
    return root


def make_dogs(root, n=2, json_name="StanfordExtra_v12.json"):
    entries = []
    for i in range(n):
        rel = f"n02085620-Chihuahua/n02085620_{i}.jpg"
        write_jpeg(root / "Images" / rel, 100, 50)
        joints = [[0.0, 0.0, 0.0] for _ in range(24)]
        joints[0] = [25.0, 10.0, 1.0]
        joints[6] = [75.0, 40.0, 1.0]
        joints[16] = [120.0, -3.0, 1.0]  # annotated just outside the image: clipped
        entries.append(
            {"img_path": rel, "img_width": 100, "img_height": 50, "img_bbox": [0, 0, 100, 50],
             "joints": joints, "is_multiple_dogs": False}
        )  # fmt: skip
    (root / json_name).write_text(json.dumps(entries))
    return root
