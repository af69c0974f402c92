"""Predicting image files with a run's best model, and drawing each prediction.

Both load a run folder's saved model, ``checkpoints/best.keras`` (or ``last.keras`` when
there is no best one), with Keras's safe mode: a model file that would run arbitrary
Python code (a ``Lambda`` layer's function) is refused. The run's ``config.yaml`` says
which task the model does (``task:``), and so which picture ``predict`` draws:

- classification: the image beside its top 3 classes;
- segmentation: the image, the true mask when it is known (the image sits in an
  Oxford-IIIT Pet folder, ``images/X.jpg`` with ``annotations/trimaps/X.png``) and the
  predicted mask;
- keypoints: the image with the predicted joints, and the true ones when the image is
  part of a StanfordExtra folder (``Images/`` and its JSON), in StanfordExtra's colours.

Images given to ``predict`` are read with Pillow, converted to the model's channels
(grey or RGB), resized to its input size and divided by 255, as the trainer feeds them:
the run's ``data.resize`` says how they are resized and its ``data.pixel_range`` whether
they are divided (``raw``: fed as 0..255).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnrun import runfiles
from cnnrun.errors import DataError

if TYPE_CHECKING:
    import numpy as np  # imported where used: `cnnrun --help` stays fast

from cnnrun.predict.saved import SavedRun, load_run

PREDICT_BATCH = 32

# Class names of the built-in data sets, for predict's pictures.
KNOWN_CLASS_NAMES: dict[str, str] = {
    "mnist": "MNIST_CLASSES",
    "fashion_mnist": "FASHION_CLASSES",
    "fashion_mnist_sample": "FASHION_CLASSES",
    "cifar10": "CIFAR10_CLASSES",
}


def read_input_image(
    path: Path,
    shape: tuple[int, int, int],
    *,
    resize: str = "pillow_bilinear",
    pixel_range: str = "unit",
) -> tuple[np.ndarray, np.ndarray]:
    """An image file as the model takes it, and the original (RGB or grey) for pictures.

    Args:
        path: The image file.
        shape: The model's ``(height, width, channels)``.
        resize: The run's ``data.resize`` (``pillow_bilinear``, ``tf_bilinear``,
            ``imgaug_linear``).
        pixel_range: The run's ``data.pixel_range``: ``unit`` divides by 255, ``raw`` not.

    Returns:
        ``(model_input, original)``: ``float32`` ``(H, W, C)`` in ``[0, 1]`` (``raw``:
        0..255), and the file's pixels as ``uint8``.

    Raises:
        DataError: When the file cannot be read, naming it.
    """
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from cnnrun.data.image_files import TooManyPixels, open_image

    h, w, c = shape
    try:
        with open_image(path) as im:
            im.load()
            original = im.convert("L" if c == 1 else "RGB")
    except TooManyPixels as exc:
        raise DataError(f"{path}: {exc}") from None
    except FileNotFoundError:
        raise DataError(f"{path}: the file does not exist") from None
    except UnidentifiedImageError:
        raise DataError(f"{path}: not an image Pillow can read (or an empty file)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"{path}: corrupt or truncated image ({exc})") from None
    if resize == "pillow_bilinear":
        x = np.asarray(original.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)
    else:  # as the folder data sets read them: RGB resized, then made grey
        from cnnrun.data.folders import resize_array

        rgb = resize_array(np.asarray(original.convert("RGB"), np.uint8), (h, w), resize)
        x = rgb.astype(np.float32)
        if c == 1:
            x = x @ np.array([0.299, 0.587, 0.114], np.float32)
            x = x if resize == "tf_bilinear" else np.clip(np.rint(x), 0, 255)
    x = x.reshape(h, w, c)
    if pixel_range != "raw":
        x = x / 255.0
    return x, np.asarray(original, dtype=np.uint8)


def _expand_inputs(inputs: list[Path]) -> list[Path]:
    from cnnrun.data.folders import IMAGE_SUFFIXES

    files: list[Path] = []
    for p in inputs:
        p = Path(p)
        if p.is_dir():
            files += sorted(
                f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()
            )
        else:
            files.append(p)
    if not files:
        raise DataError("no images to predict: give image files or folders holding some")
    return files


def _out_names(files: list[Path], out: Path) -> list[Path]:
    """``out/<stem>.png`` per file, numbered when two files share a stem."""
    seen: dict[str, int] = {}
    names = []
    for f in files:
        n = seen.get(f.stem, 0)
        seen[f.stem] = n + 1
        names.append(out / (f"{f.stem}.png" if n == 0 else f"{f.stem}-{n}.png"))
    return names


def _class_names(run: SavedRun, n: int) -> list[str]:
    dataset = str(run.data.get("dataset") or "")
    if run.task == "segmentation" and (dataset == "oxford_pets" or n == 3):
        from cnnrun.data.folders import OXFORD_CLASSES

        return list(OXFORD_CLASSES)[:n] + [f"class {i}" for i in range(3, n)]
    names_file = run.run_dir / runfiles.CLASS_NAMES
    if names_file.is_file():
        try:
            names = json.loads(names_file.read_text(encoding="utf-8"))
            if isinstance(names, list) and len(names) == n:
                return [str(v) for v in names]
        except ValueError:
            pass
    if dataset in KNOWN_CLASS_NAMES:
        from cnnrun.data import loaders

        names = getattr(loaders, KNOWN_CLASS_NAMES[dataset])
        if len(names) == n:
            return list(names)
    return [f"class {i}" for i in range(n)]


def _probabilities(scores: np.ndarray) -> np.ndarray:
    """Softmax of logits; probabilities pass unchanged."""
    import numpy as np

    if scores.min() >= 0 and np.allclose(scores.sum(-1), 1.0, atol=1e-3):
        return scores
    e = np.exp(scores - scores.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _true_mask(image: Path, size: tuple[int, int]) -> np.ndarray | None:
    """The trimap of an image in an Oxford-IIIT Pet folder, as classes, or None."""
    from cnnrun.data.folders import read_trimap

    trimap = image.resolve().parent.parent / "annotations" / "trimaps" / f"{image.stem}.png"
    if not trimap.is_file():
        return None
    try:
        return read_trimap(trimap, size)
    except DataError:
        return None


class _StanfordIndex:
    """Finds the StanfordExtra annotation of an image, when it is in such a folder."""

    def __init__(self, config_path: str | None, json_name: str | None) -> None:
        self.json_name = json_name
        self.roots: dict[Path, dict[str, Any] | None] = {}
        self.hint = Path(config_path).expanduser().resolve() if config_path else None

    def _entries(self, root: Path) -> dict[str, Any] | None:
        if root not in self.roots:
            from cnnrun.data.folders import find_stanford_json, read_stanford_json

            try:
                entries = read_stanford_json(find_stanford_json(root, self.json_name))
                self.roots[root] = {e["img_path"]: e for e in entries}
            except DataError:
                self.roots[root] = None
        return self.roots[root]

    def find(self, image: Path) -> tuple[Path, dict[str, Any]] | None:
        image = image.resolve()
        candidates = [self.hint] if self.hint else []
        candidates += list(image.parents)[1:4]
        for root in candidates:
            for images in (root / "Images", root / "images"):
                if images.is_dir() and image.is_relative_to(images):
                    entries = self._entries(root)
                    key = image.relative_to(images).as_posix()
                    if entries and key in entries:
                        return root, entries[key]
        return None


TOP_CLASSES = 3  # classes per image in `predict`'s records


def predict_files(
    run_dir: Path,
    inputs: list[Path],
    out: Path | None = None,
    records: list[dict[str, Any]] | None = None,
    on_bad_file: Callable[[Path, DataError], None] | None = None,
) -> list[Path]:
    """Predict each image with the run's best model and write one PNG per image.

    Args:
        run_dir: The run folder.
        inputs: Image files, or folders of images.
        out: Where the PNGs go (default ``RUN_DIR/predictions``).
        records: When given, one record per image is appended: ``{"image", "picture",
            "top": [{"class", "probability"}, ...]}`` (the top 3 classes; an empty list
            for segmentation and keypoints).
        on_bad_file: Called with each image that cannot be read, which is then skipped;
            without it the first such image raises.

    Returns:
        The PNG files written, in the order of ``inputs``.

    Raises:
        DataError: When the run or an image cannot be read (naming it).
    """
    import numpy as np

    from cnnrun.data.folders import keypoint_definitions, normalized_joints
    from cnnrun.plots import pictures

    run = load_run(run_dir)
    files = _expand_inputs(inputs)
    out = Path(out) if out is not None else run.run_dir / runfiles.PREDICTIONS
    shape = run.input_shape
    task = run.task
    targets = _out_names(files, out)
    stanford = _StanfordIndex(run.data.get("path"), run.data.get("json_name"))
    resize, pixel_range = run.data_config.resize, run.data_config.pixel_range
    written: list[Path] = []
    for start in range(0, len(files), PREDICT_BATCH):
        chunk, read, chunk_targets = [], [], []
        for f, target in zip(files[start : start + PREDICT_BATCH], targets[start:], strict=False):
            try:
                read.append(read_input_image(f, shape, resize=resize, pixel_range=pixel_range))
            except DataError as exc:
                if on_bad_file is None:
                    raise
                on_bad_file(f, exc)
                continue
            chunk.append(f)
            chunk_targets.append(target)
        if not chunk:
            continue
        batch = np.stack([x for x, _ in read])
        outputs = np.asarray(run.model.predict(batch, verbose=0))
        for i, f in enumerate(chunk):
            x, original = read[i]
            target = chunk_targets[i]
            if task == "segmentation":
                pred = outputs[i]
                n = int(pred.shape[-1])
                shown = x / 255.0 if pixel_range == "raw" else x
                pictures.segmentation_png(
                    shown, _true_mask(f, shape[:2]), pred, target,
                    class_names=_class_names(run, n), title=f.name,
                )  # fmt: skip
            elif task == "keypoints":
                found = stanford.find(f)
                true = None
                defs = keypoint_definitions(found[0] if found else run.data.get("path"))
                if found:
                    h0, w0 = original.shape[:2]
                    true = normalized_joints(found[1], w0, h0)
                pred = outputs[i].reshape(-1, 2)
                joints = len(pred)
                colours = [c for _, c in defs] if len(defs) == joints else None
                names = [n for n, _ in defs] if len(defs) == joints else None
                pictures.keypoints_png(
                    original, pred, true, target, colours=colours, names=names, title=f.name
                )
            else:
                probs = _probabilities(outputs[i].reshape(-1))
                pictures.classification_png(
                    original, probs, _class_names(run, len(probs)), target, title=f.name
                )
            if records is not None:
                records.append({"image": str(f), "picture": str(target), "top": []})
                if task not in ("segmentation", "keypoints"):
                    classes = _class_names(run, len(probs))
                    records[-1]["top"] = [
                        {"class": classes[k], "probability": round(float(probs[k]), 4)}
                        for k in np.argsort(-probs)[:TOP_CLASSES]
                    ]
            written.append(target)
    return written


# ---------------------------------------------------------------------------------------
# The commands
