"""The built-in data sets as NumPy arrays. No TensorFlow is imported here."""

from __future__ import annotations

import gzip
import pickle
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cnnrun.config.schema import DataConfig
from cnnrun.data import locate
from cnnrun.data.arrays import ArrayData
from cnnrun.errors import DataError
from cnnrun.registry import Registry

Loader = Callable[[DataConfig, tuple[int, ...], int], ArrayData]
DATASETS: Registry[Loader] = Registry("data set")

EMBEDDED_FILE = Path(__file__).with_name("embedded") / "fashion_mnist_sample.npz"

FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
MNIST_CLASSES = [str(i) for i in range(10)]
CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


def read_npz(path: Path, class_names: list[str] | None = None) -> ArrayData:
    """Read an ``.npz`` in the keras.datasets layout (``x_train, y_train, x_test, y_test``).

    Only numeric arrays are read (never pickled objects); a file that is not an ``.npz``,
    or a damaged one, is a one-line error naming it (and the array, when one is bad).

    Raises:
        DataError: When the file cannot be read or lacks a key.
    """
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror})") from None
    if not magic.startswith(b"PK\x03\x04"):
        raise DataError(
            f"{path}: not an .npz file (an .npz is a zip of .npy arrays, made by numpy.savez)"
        )
    key = None
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in f]
            if missing:
                raise DataError(
                    f"{path}: missing arrays {missing}; expected x_train, y_train, x_test, "
                    f"y_test (the keras.datasets layout); found {sorted(f.files)}"
                )
            arrays = {}
            for key in ("x_train", "y_train", "x_test", "y_test", "class_names"):
                if key in f:
                    arrays[key] = f[key]
            key = None
    except DataError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataError(
                f"{path}: {key or 'an array'} holds Python objects (pickled); cnnrun reads "
                "numeric arrays only"
            ) from None
        raise DataError(f"{path}: cannot read {key or 'it'} as an .npz array ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as exc:
        raise DataError(
            f"{path}: not a valid .npz (a truncated or damaged zip): "
            f"{' '.join(str(exc).split())[:200]}"
        ) from None
    names = class_names
    if "class_names" in arrays:
        names = [str(n) for n in arrays["class_names"]]
    return ArrayData(
        arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"], names, str(path)
    )


def _download(name: str, fetch: Callable[[], tuple], names: list[str], cfg: DataConfig) -> tuple:
    """Keras's own loader (downloads into its cache), with a clear error when offline."""
    from cnnrun.tf_env import import_keras

    import_keras()
    try:
        return fetch()
    except Exception as exc:  # any network or archive failure
        raise DataError(
            f"data set '{name}' was not found locally and could not be downloaded "
            f"({type(exc).__name__}: {str(exc)[:200]}).\n" + locate.where_message(names, cfg.path)
        ) from None


def _keras_builtin(
    name: str,
    npz_names: list[str],
    classes: list[str],
    fetch: Callable[[], tuple],
    read_other: Callable[[Path], ArrayData | None] | None = None,
) -> Loader:
    def load(cfg: DataConfig, input_shape: tuple[int, ...], num_classes: int) -> ArrayData:
        found = locate.find(npz_names, cfg.path)
        if found is not None and found.suffix == ".npz":
            return read_npz(found, classes)
        if found is not None and read_other is not None:
            data = read_other(found)
            if data is not None:
                return data
        (x_train, y_train), (x_test, y_test) = _download(name, fetch, npz_names[:1], cfg)
        return ArrayData(
            x_train, y_train.reshape(-1), x_test, y_test.reshape(-1), classes, "keras download"
        )

    return load


def _read_idx_folder(folder: Path) -> ArrayData | None:
    """Keras's Fashion-MNIST cache: four IDX ``.gz`` files in ``fashion-mnist/``."""
    files = [
        "train-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
    ]
    if not all((folder / f).exists() for f in files):
        return None
    arrays = []
    for fname in files:
        with gzip.open(folder / fname, "rb") as f:
            raw = f.read()
        arr = np.frombuffer(raw, np.uint8, offset=8 if "labels" in fname else 16)
        arrays.append(arr if "labels" in fname else arr.reshape(-1, 28, 28))
    return ArrayData(arrays[1], arrays[0], arrays[3], arrays[2], FASHION_CLASSES, str(folder))


def _read_cifar_folder(folder: Path) -> ArrayData | None:
    """The official ``cifar-10-batches-py`` folder (Python pickles of the data set's authors)."""
    if (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"
    batches = [folder / f"data_batch_{i}" for i in range(1, 6)]
    if not all(b.exists() for b in [*batches, folder / "test_batch"]):
        return None

    def read(path: Path) -> tuple[np.ndarray, np.ndarray]:
        with open(path, "rb") as f:
            d = pickle.load(f, encoding="bytes")  # the official format is a pickle
        x = np.asarray(d[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return x, np.asarray(d[b"labels"], np.uint8)

    parts = [read(b) for b in batches]
    x_test, y_test = read(folder / "test_batch")
    return ArrayData(
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        x_test,
        y_test,
        CIFAR10_CLASSES,
        str(folder),
    )


def _fetch(module: str) -> Callable[[], tuple]:
    def fetch() -> tuple:
        import keras

        return getattr(keras.datasets, module).load_data()

    return fetch


DATASETS.register("mnist", "MNIST handwritten digits, 28x28 grey, 10 classes (60k/10k)")(
    _keras_builtin("mnist", locate.FILES["mnist"], MNIST_CLASSES, _fetch("mnist"))
)
DATASETS.register("fashion_mnist", "Fashion-MNIST clothes, 28x28 grey, 10 classes (60k/10k)")(
    _keras_builtin(
        "fashion_mnist",
        locate.FILES["fashion_mnist"],
        FASHION_CLASSES,
        _fetch("fashion_mnist"),
        _read_idx_folder,
    )
)
DATASETS.register("cifar10", "CIFAR-10 photos, 32x32 colour, 10 classes (50k/10k)")(
    _keras_builtin(
        "cifar10",
        locate.FILES["cifar10"],
        CIFAR10_CLASSES,
        _fetch("cifar10"),
        _read_cifar_folder,
    )
)


@DATASETS.register("npz", "any .npz with x_train, y_train, x_test, y_test (set data.path)")
def load_npz(cfg: DataConfig, input_shape: tuple[int, ...], num_classes: int) -> ArrayData:
    """Read the ``.npz`` named by ``data.path``."""
    if not cfg.path:
        raise DataError("data set 'npz' needs data.path: the .npz file to read")
    path = Path(cfg.path).expanduser()
    if not path.is_file():
        raise DataError(f"data.path {str(path)!r} does not exist (data set 'npz')")
    return read_npz(path)


@DATASETS.register(
    "fashion_mnist_sample",
    "embedded: 6,000 real Fashion-MNIST images shipped with cnnrun (5,000 train / 1,000 test)",
)
def load_embedded(cfg: DataConfig, input_shape: tuple[int, ...], num_classes: int) -> ArrayData:
    """The small real subset that ships inside the package (no file or network needed)."""
    return read_npz(EMBEDDED_FILE, FASHION_CLASSES)


@DATASETS.register(
    "synthetic",
    "generated, deterministic, any shape and number of classes; for every task (class "
    "patterns, shapes with trimap-like masks, coloured keypoint blobs)",
)
def load_synthetic(
    cfg: DataConfig, input_shape: tuple[int, ...], num_classes: int, task: str = "classification"
) -> ArrayData:
    """Learnable generated data of the model's shape, for the experiment's task.

    - classification: each class is a fixed random pattern plus noise;
    - segmentation: filled circles and rectangles on noise, masks with ``num_classes``
      classes in the Oxford layout (0 shape, 1 background, 2 border);
    - keypoints: one coloured blob per visible joint, ``num_classes / 2`` joints.

    Sizes default to 512 training and 128 test examples (``limit`` / ``test_limit``).
    """
    n_train, n_test = cfg.limit or 512, cfg.test_limit or 128
    if task == "classification":
        from cnnrun.data.synthetic import classification

        return classification(input_shape, num_classes, n_train, n_test)
    from cnnrun.data import folders

    # One generator (one palette) for both sets: the test set is the last n_test examples.
    if task == "segmentation":
        x, y = folders.synthetic_segmentation(input_shape, num_classes, n_train + n_test)
        names = list(folders.OXFORD_CLASSES)[:num_classes]
        names += [f"class_{i}" for i in range(len(names), num_classes)]
    else:
        joints = _joints(num_classes, "synthetic")
        x, y = folders.synthetic_keypoints(input_shape, n_train + n_test, joints)
        names = [f"joint {j}" for j in range(joints)]  # no left/right: no swap on flips
    return ArrayData(x[:n_train], y[:n_train], x[n_train:], y[n_train:], names, "synthetic")


# The tasks each data set has labels for (the others: classification only).
DATASET_TASKS: dict[str, tuple[str, ...]] = {
    "synthetic": ("classification", "segmentation", "keypoints"),
    "oxford_pets": ("segmentation",),
    "stanford_extra": ("keypoints",),
}


def dataset_tasks(name: str) -> tuple[str, ...]:
    """The tasks data set ``name`` serves."""
    return DATASET_TASKS.get(name, ("classification",))


def _joints(outputs: int, dataset: str) -> int:
    if outputs % 2 or outputs < 2:
        raise DataError(
            f"data set '{dataset}': a keypoint model outputs x, y per joint, an even number "
            f"of values, but this one outputs {outputs}"
        )
    return outputs // 2


def _folder(cfg: DataConfig, dataset: str) -> Path:
    if not cfg.path:
        raise DataError(
            f"data set '{dataset}' needs data.path: the folder holding it "
            "(`--set data.path=FOLDER`)"
        )
    path = Path(cfg.path).expanduser()
    if not path.is_dir():
        raise DataError(f"data.path {str(path)!r} is not a folder (data set '{dataset}')")
    return path


def _channels(images: np.ndarray, input_shape: tuple[int, ...], dataset: str) -> np.ndarray:
    """RGB photos as the model's channels: kept (3) or made grey (1)."""
    channels = input_shape[-1] if len(input_shape) == 3 else 1
    if channels == 3:
        return images
    if channels == 1:
        grey = images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        if images.dtype != np.uint8:  # resize: tf_bilinear keeps float32, unrounded
            return grey[..., None]
        return np.clip(np.rint(grey), 0, 255).astype(np.uint8)[..., None]
    raise DataError(
        f"data set '{dataset}' has RGB photos, but the model's input_shape "
        f"{list(input_shape)} has {channels} channels (give 3, or 1 for grey)"
    )


# Folder data sets are sorted by breed (Oxford: cats first); their examples are put in
# one fixed random order (the Keras examples shuffle with seed 1337 too) before `limit`
# and the test / validation splits, which take the last ones. Independent of `seed:`, so
# runs with different seeds are tested on the same photos. `data.order` says how (its
# seed defaults to this one).
FOLDER_ORDER_SEED = 1337
# The data sets read from image files, which `data.resize` and `data.order` apply to.
FOLDER_DATASETS = ("oxford_pets", "stanford_extra", "folder")


def _console_progress() -> bool:
    import sys

    return sys.stdout.isatty()  # Rich's bar draws on stdout, transient


@DATASETS.register(
    "oxford_pets",
    "Oxford-IIIT Pet photos and trimaps (segmentation: pet, background, border); data.path: "
    "the folder with images/ and annotations/trimaps/; no test set: data.test_split",
)
def load_oxford_pets(
    cfg: DataConfig, input_shape: tuple[int, ...], num_classes: int, task: str = "segmentation"
) -> ArrayData:
    """Photos and masks resized to the model's input (masks nearest-neighbour)."""
    from cnnrun.data.folders import OXFORD_CLASSES, read_oxford_pets

    data = read_oxford_pets(
        _folder(cfg, "oxford_pets"), input_shape[:2], cfg.limit, cfg.skip_bad_images,
        progress=_console_progress(), shuffle_seed=cfg.order.seed, order=cfg.order.shuffle,
        resize=cfg.resize,
    )  # fmt: skip
    x = _channels(data.images, input_shape, "oxford_pets")
    empty = np.zeros((0, *x.shape[1:]), x.dtype), np.zeros((0, *data.masks.shape[1:]), np.uint8)
    return ArrayData(
        x, data.masks, *empty, list(OXFORD_CLASSES), str(cfg.path), own_test=False,
        skipped=list(data.skipped),
    )  # fmt: skip


@DATASETS.register(
    "stanford_extra",
    "Stanford Dogs photos with StanfordExtra's 24 keypoints; data.path: the folder with "
    "Images/ and the JSON (data.json_name); no test set: data.test_split",
)
def load_stanford_extra(
    cfg: DataConfig, input_shape: tuple[int, ...], num_classes: int, task: str = "keypoints"
) -> ArrayData:
    """Photos resized to the model's input, keypoints as fractions ``(N, 24, 3)``."""
    from cnnrun.data.folders import keypoint_definitions, read_stanford_extra

    folder = _folder(cfg, "stanford_extra")
    data = read_stanford_extra(
        folder, cfg.json_name, input_shape[:2], cfg.limit, cfg.skip_bad_images,
        progress=_console_progress(), shuffle_seed=cfg.order.seed, order=cfg.order.shuffle,
        resize=cfg.resize,
    )  # fmt: skip
    joints = data.keypoints.shape[1]
    if 2 * joints != num_classes:
        raise DataError(
            f"data set 'stanford_extra' has {joints} keypoints, but the model outputs "
            f"{num_classes} values: give it {2 * joints} outputs (x, y per joint)"
        )
    x = _channels(data.images, input_shape, "stanford_extra")
    names = [n for n, _ in keypoint_definitions(folder)]
    names = names if len(names) == joints else [f"joint {j}" for j in range(joints)]
    empty = np.zeros((0, *x.shape[1:]), x.dtype), np.zeros((0, joints, 3), np.float32)
    return ArrayData(
        x, data.keypoints, *empty, names, str(folder), own_test=False,
        skipped=list(data.skipped),
    )  # fmt: skip


@DATASETS.register(
    "folder",
    "your own images: data.path is DIR/<class>/*.jpg (optional train/ val/ test/) or a CSV "
    "of path,label; resized to the model's input_shape, grey when it has 1 channel",
)
def load_folder(cfg: DataConfig, input_shape: tuple[int, ...], num_classes: int) -> ArrayData:
    """A class-per-subfolder folder or a CSV (see :mod:`cnnrun.data.image_folder`)."""
    from cnnrun.data.image_folder import read_image_folder

    if not cfg.path:
        raise DataError(
            "data set 'folder' needs data.path: a folder of class folders (DIR/<class>/*.jpg) "
            "or a CSV of path,label (`--set data.path=DIR`)"
        )
    path = Path(cfg.path).expanduser()
    if not path.exists() and not path.is_absolute():  # e.g. imported into Keras's cache
        path = locate.find([cfg.path], None) or path
    data = read_image_folder(
        path, input_shape[:2], limit=cfg.limit, skip_bad=cfg.skip_bad_images,
        progress=_console_progress(), shuffle_seed=cfg.order.seed, order=cfg.order.shuffle,
        resize=cfg.resize,
    )  # fmt: skip
    data.x_train = _channels(data.x_train, input_shape, "folder")
    data.x_test = _channels(data.x_test, input_shape, "folder")
    if data.x_val is not None:
        data.x_val = _channels(data.x_val, input_shape, "folder")
    if len(data.class_names or []) > num_classes:
        raise DataError(
            f"data set 'folder' ({data.source}) has {len(data.class_names or [])} classes, "
            f"but the model predicts {num_classes}: give the last layer "
            f"{len(data.class_names or [])} units"
        )
    return data
