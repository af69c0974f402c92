"""``keras.applications`` networks as layers of an experiment (the chapter's §6).

A layer whose name is a ``keras.applications`` network (``ResNet50V2``, ``VGG19``, ...)
is a backbone::

    - ResNet50V2: {include_top: false, weights: imagenet, pooling: avg, trainable: false}

Its keys are the network's own constructor arguments (``include_top``, ``weights``,
``pooling``, ``classes``, ``input_shape``, ``alpha``, ...; `cnnrun list backbones`) plus:

- ``trainable`` (default true): false freezes it; a frozen backbone is also called with
  ``training=False``, so its BatchNormalization layers stay in inference mode, even after
  ``fine_tune`` unfreezes it (as Keras's transfer-learning guide recommends);
- ``preprocess`` (default true): cnnrun feeds ``uint8`` images scaled to [0, 1], while the
  networks' ``preprocess_input`` expects 0..255; the backbone is preceded by a
  :class:`~cnnrun.model.preprocess.BackbonePreprocess` layer that multiplies by 255 (by 1
  with ``data.pixel_range: raw``, which feeds 0..255) and then applies the network's own
  ``preprocess_input`` (caffe, tf or torch mode, or nothing for the networks that rescale
  inside). Set it false when the images reaching
  the backbone are already what the network expects.

``weights``: ``imagenet`` (Keras's default) is read from Keras's cache,
``$KERAS_HOME/models`` or ``~/.keras/models``; when the file is not there Keras downloads it,
and when that fails (offline) the build stops with a :class:`ConfigError` naming the exact
file and the folder to place it in (set ``CNNRUN_OFFLINE=1`` to never try the network);
commands that only need shapes build it with random weights instead
(`random_weights_if_missing`).
``null`` is a random initialisation; a path loads a local ``.weights.h5``, ``.h5`` or
``.keras`` file (a whole saved model is searched for a sub-model of the same shapes).
Paths written in an experiment file are relative to that file.

Nothing here imports TensorFlow until a backbone is built.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import socket
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cnnrun import catalog
from cnnrun.errors import first_line, located

# cnnrun's own keys of a backbone layer, beside the network's constructor arguments.
EXTRA_PARAMS = {
    "trainable": "false freezes the backbone (and keeps its BatchNormalization in inference)",
    "preprocess": "multiply [0, 1] images by 255 and apply the network's preprocess_input",
}
WEIGHT_SUFFIXES = (".weights.h5", ".h5", ".keras")
DOWNLOAD_TIMEOUT_S = 20.0
OFFLINE_ENV = "CNNRUN_OFFLINE"
NOT_LOADED_NOTE = "(ImageNet weights not found: not loaded)"

# Set by `random_weights_if_missing`: the (network, file) pairs built without their weights.
_MISSING_OK: contextvars.ContextVar[list[tuple[str, str]] | None] = contextvars.ContextVar(
    "cnnrun_missing_imagenet_ok", default=None
)


def applications() -> dict[str, Any]:
    """The ``keras.applications`` networks of the catalog, by class name."""
    return catalog.load()["applications"]


def is_backbone(name: str) -> bool:
    """Whether a layer name is a ``keras.applications`` network."""
    return name in applications()


def weights_cache_dir() -> Path:
    """Where Keras keeps downloaded weights: ``$KERAS_HOME/models`` or ``~/.keras/models``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def _cache_dirs() -> list[Path]:
    # Keras falls back to /tmp/.keras when the home folder is not writable.
    return [weights_cache_dir(), Path("/tmp") / ".keras" / "models"]


def find_cached_weights(file_name: str) -> Path | None:
    """The cached weight file called ``file_name``, or None when Keras has not got it."""
    for folder in _cache_dirs():
        if (folder / file_name).is_file():
            return folder / file_name
    return None


def imagenet_file_name(network: str, include_top: bool) -> str:
    """The ImageNet weight file of ``network`` for its default arguments (no TensorFlow).

    MobileNet's file names also depend on ``alpha`` and the input size; the build reports
    the exact name Keras asks for.
    """
    return applications()[network]["weights"]["top" if include_top else "notop"]


def split_args(network: str, kwargs: dict[str, Any]) -> tuple[dict[str, Any], bool, bool]:
    """Split a backbone's keys into (Keras constructor arguments, trainable, preprocess)."""
    args = dict(kwargs)
    trainable = bool(args.pop("trainable", True))
    preprocess = bool(args.pop("preprocess", True))
    args.setdefault("weights", applications()[network]["defaults"].get("weights", "imagenet"))
    if isinstance(args.get("input_shape"), list):
        args["input_shape"] = tuple(args["input_shape"])
    return args, trainable, preprocess


def resolve_weights_path(value: str, relative_to: Path | None) -> Path:
    """A ``weights: PATH`` value as an absolute path (relative to the experiment file)."""
    path = Path(value).expanduser()
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    return path.resolve()


@contextlib.contextmanager
def random_weights_if_missing() -> Iterator[list[tuple[str, str]]]:
    """Build backbones whose ImageNet weights are missing with random weights instead.

    For commands that only need shapes (`cnnrun summary`, `validate --build`): inside this
    block a missing ImageNet file is not an error. Yields the list of ``(network, file
    name)`` pairs that were built without their weights; training never uses this.
    """
    skipped: list[tuple[str, str]] = []
    token = _MISSING_OK.set(skipped)
    try:
        yield skipped
    finally:
        _MISSING_OK.reset(token)


class MissingWeights(Exception):
    """Keras asked for a weight file that is neither cached nor downloadable."""

    def __init__(self, file_name: str, origin: str | None, reason: str) -> None:
        super().__init__(file_name)
        self.file_name = file_name
        self.origin = origin
        self.reason = reason


def _offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").lower() not in ("", "0", "false", "no")


@contextlib.contextmanager
def _weights_from_cache() -> Iterator[list[Path]]:
    """Serve ``keras.applications`` weight requests from the cache, or fail with the name.

    Keras's applications call ``file_utils.get_file(file_name, url, cache_subdir="models")``;
    inside this block that call returns the cached file when there is one (whatever its
    hash), tries the download otherwise (unless ``CNNRUN_OFFLINE`` is set), and raises
    :class:`MissingWeights` with the exact file name when both fail. Yields the list of
    weight files served.
    """
    from keras.src.utils import file_utils

    original = file_utils.get_file
    served: list[Path] = []

    def get_file(fname: Any = None, origin: Any = None, *args: Any, **kwargs: Any) -> str:
        if kwargs.get("cache_subdir") != "models" or not fname:
            return original(fname, origin, *args, **kwargs)
        hit = find_cached_weights(str(fname))
        if hit is not None:
            served.append(hit)
            return str(hit)
        if _offline():
            raise MissingWeights(str(fname), origin, f"{OFFLINE_ENV} is set")
        kwargs["cache_dir"] = str(weights_cache_dir().parent)
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
        try:
            path = original(fname, origin, *args, **kwargs)
            served.append(Path(path))
            return path
        except Exception as exc:
            reason = str(exc).rsplit(" -- ", 1)[-1]  # Keras: "URL fetch failure on URL: ... -- why"
            raise MissingWeights(str(fname), origin, f"download failed: {reason}") from None
        finally:
            socket.setdefaulttimeout(previous)

    file_utils.get_file = get_file
    try:
        yield served
    finally:
        file_utils.get_file = original


def construct(
    keras: Any, network: str, args: dict[str, Any], loaded: Any = None, path: str = ""
) -> Any:
    """Create ``keras.applications.<network>(**args)`` with its weights.

    Args:
        keras: The ``keras`` module.
        network: The class name, e.g. ``ResNet50V2``.
        args: Constructor arguments; ``weights`` is ``imagenet``, None or a file path.
        loaded: The loaded config, to locate errors.
        path: The layer's key path, e.g. ``model.layers[0]``.

    Returns:
        The network, a functional Keras model.

    Raises:
        ConfigError: When Keras rejects the arguments or the weights cannot be found or
            loaded; a missing ImageNet file is named with the folder to place it in.
    """
    fn = getattr(keras.applications, network)
    weights = args.get("weights")
    where = f"{path}.{network}"
    kwargs = dict(args)
    if weights not in ("imagenet", None):
        kwargs["weights"] = None
    served: list[Path] = []
    try:
        with _weights_from_cache() as served:
            model = fn(**kwargs)
    except MissingWeights as exc:
        skipped = _MISSING_OK.get()
        if skipped is not None:  # shapes only: random weights will do
            skipped.append((network, exc.file_name))
            return fn(**{**kwargs, "weights": None})
        raise located(
            loaded,
            f"the ImageNet weights of {network} are not in Keras's cache and could not be fetched",
            f"{where}.weights",
            expected=f"the file '{exc.file_name}' in {weights_cache_dir()} "
            f"(Keras's cache: $KERAS_HOME/models or ~/.keras/models)"
            + (f", downloaded from {exc.origin}" if exc.origin else "")
            + "; or `weights: null` (random initialisation) or `weights: PATH` (a local file)",
            received=f"weights: imagenet ({exc.reason[:160]})",
        ) from None
    except Exception as exc:
        if served:  # the network was built; its cached weights did not load
            raise located(
                loaded,
                f"the cached ImageNet weights of {network} cannot be loaded (an incomplete "
                "download?)",
                f"{where}.weights",
                expected=f"a complete copy of {served[-1].name}: delete {served[-1]} "
                "(Keras downloads it again) or replace it",
                received=first_line(exc),
            ) from None
        raise located(
            loaded,
            f"Keras rejected the arguments of {network}",
            where,
            expected=f"arguments keras.applications.{network} accepts (`cnnrun list backbones`)",
            received=first_line(exc),
        ) from None
    if weights not in ("imagenet", None):
        try:
            load_weights(keras, model, str(weights))
        except Exception as exc:
            raise located(
                loaded,
                f"cannot load the weights of {network} from {weights}",
                f"{where}.weights",
                expected=f"a {' / '.join(WEIGHT_SUFFIXES)} file saved from {network} "
                "with the same arguments",
                received=first_line(exc),
            ) from None
    return model


def load_weights(keras: Any, model: Any, path: str) -> None:
    """Load ``path`` into ``model``: a weights file, or a ``.keras`` model holding it.

    A ``.keras`` file is read as a whole model (a saved backbone, or a cnnrun checkpoint
    with a backbone inside) and searched for a (sub-)model whose weights have the same
    shapes, whose weights are then copied.

    Raises:
        ValueError: When the file holds no weights of this shape.
    """
    if not path.endswith(".keras"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.load_weights(path)  # raises on a mismatch; its warnings are noise then
        skipped = [str(w.message) for w in caught if "Skipping" in str(w.message)]
        if skipped:  # loaded, but some layers kept their random weights: refuse
            raise ValueError(f"some layers were not in the file: {skipped[0]}")
        return
    from cnnrun.model.preprocess import BackbonePreprocess  # noqa: F401 - registers it

    whole = keras.saving.load_model(path, compile=False)
    shapes = [tuple(w.shape) for w in model.weights]
    for layer in _walk(whole):
        if [tuple(w.shape) for w in layer.weights] == shapes:
            model.set_weights(layer.get_weights())
            return
    raise ValueError(
        f"no model inside {path} has the weights of {model.name} "
        f"({len(shapes)} arrays, {model.count_params():,} parameters)"
    )


def _walk(model: Any) -> Iterator[Any]:
    yield model
    for layer in getattr(model, "layers", []):
        yield from _walk(layer)


def apply_backbone(
    keras: Any,
    network: str,
    kwargs: dict[str, Any],
    x: Any,
    *,
    name: str | None = None,
    seen: Counter[str] | None = None,
    loaded: Any = None,
    path: str = "",
    float32_output: bool = False,
    pixel_range: str = "unit",
) -> Any:
    """Apply a backbone (and its preprocessing) to the tensor ``x``; return the output.

    Args:
        keras: The ``keras`` module.
        network: The ``keras.applications`` class name.
        kwargs: The layer's keys from the experiment file.
        x: The incoming tensor; its shape is the backbone's ``input_shape`` unless given.
        name: The backbone's layer name (a graph node's name); by default Keras's own
            (``resnet50v2``), numbered when it repeats.
        seen: Names used so far in a stack, for that numbering.
        loaded: The loaded config, to locate errors.
        path: The layer's key path.
        float32_output: Cast the output to float32 (the model's output under a mixed
            precision policy, so that softmax and the loss stay in float32).
        pixel_range: The experiment's ``data.pixel_range``: the preprocessing multiplies
            by 255 only for ``unit`` (with ``raw`` its input is 0..255 already).
    """
    args, trainable, preprocess = split_args(network, kwargs)
    args.setdefault("input_shape", tuple(int(d) for d in x.shape[1:]))
    model = construct(keras, network, args, loaded, path)
    if name is None:
        base = model.name
        name = base if seen is None or not seen[base] else f"{base}_{seen[base]}"
        if seen is not None:
            seen[base] += 1
    model.name = name
    model.trainable = trainable
    model._cnnrun_backbone = network  # shown by `cnnrun summary`
    if preprocess:
        from cnnrun.model.preprocess import BackbonePreprocess

        module = applications()[network]["module"]
        scale = 1.0 if pixel_range == "raw" else 255.0
        x = BackbonePreprocess(module, scale=scale, name=f"{name}_preprocess")(x)
    try:
        y = model(x, training=False) if not trainable else model(x)
    except Exception as exc:
        raise located(
            loaded,
            f"{network} cannot be applied to its input of shape {tuple(x.shape)}",
            path,
            expected=f"an input of the shape {network} was built for ({model.input_shape})",
            received=first_line(exc),
        ) from None
    if float32_output:
        y = keras.layers.Activation("linear", dtype="float32", name=f"{name}_float32")(y)
    return y


def backbones_of(model: Any) -> list[Any]:
    """The backbones built by :func:`apply_backbone` inside ``model``, in order."""
    return [layer for layer in model.layers if getattr(layer, "_cnnrun_backbone", None)]


def custom_objects() -> dict[str, Any]:
    """What ``keras.saving.load_model`` needs to read a cnnrun model with a backbone."""
    from cnnrun.model.preprocess import BackbonePreprocess

    return {"BackbonePreprocess": BackbonePreprocess}
