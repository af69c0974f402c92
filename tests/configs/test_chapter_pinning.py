"""Each config that names a chapter section is that section's code (issue 12).

The table below is written by hand from the chapter's code blocks
(`../shared/seed/000_6d4ccc90e16eea3a.txt`, line numbers in the comments), not from the
configs: layer classes in order, parameter counts worked out from those layers (and
checked against Keras), batch size (Keras's default 32 where `fit()` gives none),
optimizer and learning rate, loss, epochs, validation data, and the chapter's figure.

Every check runs the command line in a fresh interpreter (`python -m cnnrun ...`), so it
does not depend on where cnnrun's modules live:

- `cnnrun summary CONFIG --json`: the layers, the parameter counts, the batch size. The
  ImageNet configs are summarised offline as they are: without the weight file summary
  builds random weights (the counts do not depend on them) and says so.
- `cnnrun train CONFIG --smoke --synthetic` (marked slow: a training process per config):
  the run folder's `config.yaml` is the resolved config (extends and defaults applied)
  and its `metrics.csv` the learning rate each epoch really used. The model is swapped
  for a tiny one of the same task (`--set`) so that the few smoke batches are cheap; the
  model is what the summary checks.

The fast suite also reads the training keys straight from the files (with `extends`
merged as the README describes: the child's keys replace the base's), where a learning
rate left out means Keras's default for that optimizer (KERAS_DEFAULT_LR).

`CHAPTER_PINNING_CONFIGS=DIR` points the checks at another folder of configs (to see them
fail on an old file).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO

CONFIGS = Path(os.environ.get("CHAPTER_PINNING_CONFIGS", REPO / "configs"))
WORKERS = 3  # subprocesses at once (each is mostly TensorFlow's import)
KERAS_DEFAULT_LR = {"sgd": 0.01, "adam": 0.001}  # keras.optimizers.SGD() / Adam()

CONV, POOL, FLAT, DENSE, DROP, BN = (
    "Conv2D",
    "MaxPooling2D",
    "Flatten",
    "Dense",
    "Dropout",
    "BatchNormalization",
)


def unet_xception_layers() -> list[str]:
    """Keras's U-Net example (keras-io oxford_pets_image_segmentation.py, get_model).

    The chapter prints it at l.940-999 (with the decoder wrongly outside get_model);
    keras-io's code, layer by layer in the order Keras lists them.
    """
    act, sep, tconv, up, add = (
        "Activation",
        "SeparableConv2D",
        "Conv2DTranspose",
        "UpSampling2D",
        "Add",
    )
    layers = [CONV, BN, act]  # entry block
    for _ in (64, 128, 256):  # down blocks: 2 x (relu, separable conv, BN), pool, residual
        layers += [act, sep, BN, act, sep, BN, POOL, CONV, add]
    for _ in (256, 128, 64, 32):  # up blocks: 2 x (relu, transposed conv, BN), upsample, residual
        layers += [act, tconv, BN, act, tconv, BN, up, up, CONV, add]
    return [*layers, CONV]  # per-pixel softmax


@dataclass(frozen=True)
class Chapter:
    """What a section's code sets up (the expected values of one config)."""

    section: str
    lines: str
    layers: list[str]
    params: int
    batch_size: int
    optimizer: str
    learning_rate: float  # the rate the first epoch trains with
    loss: str
    epochs: int
    validation: str  # none | test | split
    validation_split: float | int | None = None
    non_trainable: int | None = None
    expect: dict[str, str] = field(default_factory=dict)  # the chapter's figure, if any
    extra: dict[str, Any] = field(default_factory=dict)  # other resolved keys (dotted)
    tiny_model: list[str] = field(default_factory=list)  # --set that shrink the smoke run
    # init_from (issue 12, §5.4): the file's value, and the base run's epochs once resolved
    init_from: str | None = None
    base_epochs: int | None = None


STACK_10 = ["model.layers=[Flatten, {Dense: {units: 10, activation: softmax}}]"]
BASIC = [CONV, POOL, CONV, POOL, FLAT, DENSE]  # §3, l.216-222 (and §5.1, l.356-362)

CHAPTER: dict[str, Chapter] = {
    # §3: 32·(5·5+1) = 832; 64·(5·5·32+1) = 51,264; 10·1,024+10 = 10,250 (l.180, 195, 227)
    "mnist_basic": Chapter(
        "§3", "216-264", BASIC, 832 + 51_264 + 10_250,
        batch_size=100, optimizer="sgd", learning_rate=0.01,  # 'sgd': Keras's SGD default
        loss="categorical_crossentropy", epochs=5, validation="none",
        non_trainable=0, expect={"test.accuracy": ">= 0.97"}, tiny_model=STACK_10,
    ),
    # §5.1: the same network; fit() gives no batch size; sparse labels (l.365)
    "fashion_basic": Chapter(
        "§5.1", "336-375", BASIC, 832 + 51_264 + 10_250,
        batch_size=32, optimizer="sgd", learning_rate=0.01,
        loss="sparse_categorical_crossentropy", epochs=5, validation="none",
        non_trainable=0, expect={"test.accuracy": "> 0.85"}, tiny_model=STACK_10,
    ),
    # §5.2: 64·(7·7+1) = 3,200; 128·(3·3·64+1) = 73,856; 64·(7·7·128+1) = 401,472;
    # 10·(64+1) = 650
    "fashion_wide": Chapter(
        "§5.2", "382-407", [CONV, POOL, CONV, POOL, FLAT, DENSE, DENSE],
        3_200 + 73_856 + 401_472 + 650,
        batch_size=32, optimizer="adam", learning_rate=0.001,  # 'adam': Keras's default
        loss="sparse_categorical_crossentropy", epochs=5, validation="none",
        non_trainable=0, expect={"test.accuracy": "> 0.90"}, tiny_model=STACK_10,
    ),
    # §5.3: convs 320 + 9,248 + 18,496 + 73,856; BN 4·(32+32+128+512+128) = 3,328 (half of
    # it the moving mean and variance: 1,664 non-trainable); Dense 25,088·512+512 =
    # 12,845,568, 512·128+128 = 65,664, 128·10+10 = 1,290
    "fashion_bn": Chapter(
        "§5.3", "413-461",
        [CONV, BN, CONV, BN, DROP, CONV, POOL, DROP, CONV, BN, DROP,
         FLAT, DENSE, BN, DROP, DENSE, BN, DROP, DENSE],
        320 + 9_248 + 18_496 + 73_856 + 3_328 + 12_845_568 + 65_664 + 1_290,
        batch_size=32, optimizer="adam", learning_rate=0.001,
        loss="sparse_categorical_crossentropy", epochs=5, validation="none",
        non_trainable=1_664, expect={"test.accuracy": "> 0.92"}, tiny_model=STACK_10,
    ),
    # §5.4: the §5.3 model already trained 5 epochs (l.455), compiled again with
    # Adam(lr=0.001) and fitted 30 more epochs with lr = 1e-3·0.9^epoch (l.469-480): 5 + 30.
    # No tiny model: the smoke run starts from fashion_bn.yaml's, whose weights must fit.
    "fashion_bn_lr": Chapter(
        "§5.4", "469-487",
        [CONV, BN, CONV, BN, DROP, CONV, POOL, DROP, CONV, BN, DROP,
         FLAT, DENSE, BN, DROP, DENSE, BN, DROP, DENSE],
        13_017_770,
        batch_size=32, optimizer="adam", learning_rate=0.001,
        loss="sparse_categorical_crossentropy", epochs=30, validation="none",
        non_trainable=1_664, expect={"test.accuracy": "> 0.94"},
        init_from="fashion_bn.yaml", base_epochs=5,
        extra={
            "schedule": {
                "name": "exponential_per_epoch",
                "initial_learning_rate": 0.001,
                "decay_rate": 0.9,
            },
            "lr_epoch_2": 0.0009,  # 1e-3 · 0.9^1, the scheduler's second epoch
        },
    ),
    # §7.1: 32·(3·3+1) = 320; 64·(3·3·32+1) = 18,496; 10·(1,600+1) = 16,010 (l.729-737)
    "mnist_convnet": Chapter(
        "§7.1", "676-803", [CONV, POOL, CONV, POOL, FLAT, DROP, DENSE],
        320 + 18_496 + 16_010,
        batch_size=128, optimizer="adam", learning_rate=0.001,
        loss="categorical_crossentropy", epochs=15, validation="split", validation_split=0.1,
        non_trainable=0, expect={"test.accuracy": "> 0.99"}, tiny_model=STACK_10,
    ),
    # §4 has no model or training code: the §3 network with the padding / strides the
    # text describes (l.292-326), trained as §3; no figure. Same: 832 + 51,264 + 10·
    # (7·7·64)+10 = 31,370 once the feature map stays 7x7.
    "padding_valid": Chapter(
        "§4", "292-303", BASIC, 832 + 51_264 + 10_250,
        batch_size=100, optimizer="sgd", learning_rate=0.01,
        loss="categorical_crossentropy", epochs=5, validation="none",
        non_trainable=0, tiny_model=STACK_10,
    ),
    "padding_same": Chapter(
        "§4", "292-303", BASIC, 832 + 51_264 + 31_370,
        batch_size=100, optimizer="sgd", learning_rate=0.01,
        loss="categorical_crossentropy", epochs=5, validation="none",
        non_trainable=0, tiny_model=STACK_10,
    ),
    "strides_2": Chapter(
        "§4", "305-326", [CONV, CONV, FLAT, DENSE], 832 + 51_264 + 31_370,
        batch_size=100, optimizer="sgd", learning_rate=0.01,
        loss="categorical_crossentropy", epochs=5, validation="none",
        non_trainable=0, tiny_model=STACK_10,
    ),
    # §6.3: ResNet50V2 without its top is 23,564,800 parameters (Keras's table: 25,613,800
    # with the 2,048 x 1,000 + 1,000 ImageNet head); a 10-class head is 2,048·10+10 = 20,490.
    # SGD(0.002), sparse labels, 10 epochs, validation_data=(test) (l.589-601).
    "cifar10_resnet50v2_scratch": Chapter(
        "§6.3", "586-604", ["ResNet50V2"], 23_564_800 + 20_490,
        batch_size=32, optimizer="sgd", learning_rate=0.002,
        loss="sparse_categorical_crossentropy", epochs=10, validation="test",
        expect={"test.accuracy": ">= 0.57"}, tiny_model=STACK_10,
    ),
    # images /255 straight in: no preprocess_input, so no BackbonePreprocess layer
    "cifar10_resnet50v2_imagenet": Chapter(
        "§6.3", "609-627", ["ResNet50V2", DENSE], 23_564_800 + 20_490,
        batch_size=32, optimizer="sgd", learning_rate=0.002,
        loss="sparse_categorical_crossentropy", epochs=10, validation="test",
        expect={"test.accuracy": ">= 0.73"}, tiny_model=STACK_10,
    ),
    # §6.4: VGG19's 16 convolutions: 1,792 + 36,928 + 73,856 + 147,584 + 295,168 +
    # 3·590,080 + 1,180,160 + 3·2,359,808 + 4·2,359,808 = 20,024,384; head 512·10+10 = 5,130
    "cifar10_vgg19_imagenet": Chapter(
        "§6.4", "631-646", ["VGG19", DENSE],
        1_792 + 36_928 + 73_856 + 147_584 + 295_168 + 3 * 590_080 + 1_180_160
        + 7 * 2_359_808 + 5_130,
        batch_size=32, optimizer="sgd", learning_rate=0.002,
        loss="sparse_categorical_crossentropy", epochs=10, validation="test",
        non_trainable=0, expect={"test.accuracy": "> 0.80"},
        tiny_model=STACK_10,
    ),
    # §7.2: keras-io's summary prints 2,058,979 (3,776 non-trainable: BN statistics).
    # Adam(1e-4), sparse labels, no metrics, batch 32, 50 epochs, no shuffle, no test set
    # (l.1042-1058); the sorted paths shuffled by random.Random(1337), the last 1,000 for
    # validation, the first 1,000 of the rest for training (l.1012-1029); tf.image.resize
    # to float32 0..255, not divided by 255 (l.911-914).
    "oxford_pets_unet": Chapter(
        "§7.2", "827-1058", unet_xception_layers(), 2_058_979,
        batch_size=32, optimizer="adam", learning_rate=1e-4,
        loss="sparse_categorical_crossentropy", epochs=50, validation="split",
        validation_split=1000, non_trainable=3_776,
        extra={"metrics": [], "data.shuffle": False, "data.test_split": 0, "monitor": "val_loss",
               "data.order.shuffle": "python_random", "data.order.seed": 1337,
               "data.train_limit": 1000, "data.pixel_range": "raw",
               "data.resize": "tf_bilinear"},
        # 96 synthetic examples: a smoke run validates on 64 (two batches) and trains on 32
        # in one batch
        tiny_model=["model.input_shape=[32, 32, 3]", "model.args.width=0.125", "data.limit=96"],
    ),
    # §7.3: MobileNetV2 without its top (224x224) is 2,257,984, all frozen; separable
    # convs 5·5·1,280 + 1,280·48 + 48 = 93,488 and 3·3·48 + 48·48 + 48 = 2,784. First the
    # example's preprocess_input (l.1418: cnnrun's BackbonePreprocess); the (1, 1, 48)
    # output as it is (l.1343). Plain mse, no metrics, Adam(1e-4), batch 64, 5 epochs, 15%
    # validation, no test set (l.1142-1144, 1371-1375, 1435); partial batches dropped
    # (l.1294-1295); every point moved with its image and kept as moved (l.1318-1346).
    "stanford_dogs_keypoints": Chapter(
        "§7.3", "1142-1436",
        ["BackbonePreprocess", "MobileNetV2", DROP, "SeparableConv2D", "SeparableConv2D"],
        2_257_984 + 93_488 + 2_784,
        batch_size=64, optimizer="adam", learning_rate=1e-4,
        loss="mse", epochs=5, validation="split", validation_split=0.15,
        non_trainable=2_257_984,
        extra={
            "metrics": [], "data.test_split": 0, "data.drop_remainder": True,
            "data.keypoints.swap_flipped": False, "data.keypoints.out_of_image": "keep",
            "data.keypoints.invisible": "transform", "data.resize": "imgaug_linear",
        },
        tiny_model=[
            "model.input_shape=[32, 32, 3]",
            "model.layers=[Flatten, {Dense: {units: 48, activation: sigmoid}}]",
        ],
    ),
}  # fmt: skip

# Files that are not a chapter section's code: they must not hold a chapter figure.
NOT_CHAPTER_CODE = [
    "fashion_bn_twopool",
    "fashion_residual",
    "fashion_inception",
    "fashion_small_resnet",
    "stanford_dogs_keypoints_flipswap",  # §7.3 with the left/right swap on flips
]


def cnnrun(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "CNNRUN_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", "cnnrun", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
    )


def config_path(stem: str) -> Path:
    return CONFIGS / f"{stem}.yaml"


SUMMARIES = """
import json, sys
from typer.testing import CliRunner
from cnnrun.cli.app import app
out = {}
for path in sys.argv[1:]:
    res = CliRunner().invoke(app, ["summary", path, "--json"])
    out[path] = [res.exit_code, res.stdout]
print("SUMMARIES " + json.dumps(out))
"""


def _summaries(stems: list[str]) -> dict[str, dict[str, Any] | str]:
    """`cnnrun summary CONFIG --json` of each config, in one interpreter (one TF import)."""
    env = {**os.environ, "CNNRUN_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    paths = [str(config_path(stem)) for stem in stems]
    res = subprocess.run(
        [sys.executable, "-c", SUMMARIES, *paths],
        capture_output=True, text=True, timeout=900, env=env, cwd=REPO,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    line = next(x for x in res.stdout.splitlines() if x.startswith("SUMMARIES "))
    answers = json.loads(line.removeprefix("SUMMARIES "))
    out: dict[str, dict[str, Any] | str] = {}
    for stem, path in zip(stems, paths, strict=True):
        code, text = answers[path]
        out[stem] = json.loads(text) if code == 0 else f"exit {code}: {text[-3000:]}"
    return out


def _smoke(stem: str, runs: Path) -> dict[str, Any] | str:
    sets = [arg for s in CHAPTER[stem].tiny_model for arg in ("--set", s)]
    res = cnnrun(
        "train", str(config_path(stem)), "--smoke", "--synthetic",
        "--runs-dir", str(runs / stem), *sets,
    )  # fmt: skip
    if res.returncode != 0:
        return f"exit {res.returncode}: {res.stdout[-1500:]}{res.stderr[-1500:]}"
    run = Path(res.stdout.strip().splitlines()[-1])
    with open(run / "metrics.csv", newline="") as f:
        lrs = [float(row["lr"]) for row in csv.DictReader(f)]
    config = yaml.safe_load((run / "config.yaml").read_text())
    base = None
    if config.get("init_from"):  # the run it started from: its resolved config
        base = yaml.safe_load((Path(config["init_from"]["run"]) / "config.yaml").read_text())
    return {"config": config, "lrs": lrs, "base": base}


def selected_stems(request: pytest.FixtureRequest, fixture: str) -> list[str]:
    """The configs of the selected tests that use ``fixture`` (so `-k` runs fewer processes)."""
    stems = {
        item.callspec.params["stem"]
        for item in request.session.items
        if fixture in getattr(item, "fixturenames", ()) and hasattr(item, "callspec")
    }
    return [stem for stem in CHAPTER if stem in stems]


@pytest.fixture(scope="module")
def summaries(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _summaries(selected_stems(request, "summaries"))


@pytest.fixture(scope="module")
def resolved(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    stems = selected_stems(request, "resolved")
    runs = tmp_path_factory.mktemp("pinning-runs")
    with ThreadPoolExecutor(WORKERS) as pool:
        return dict(zip(stems, pool.map(lambda stem: _smoke(stem, runs), stems), strict=True))


def merged(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = merged(base[key], value)
        else:
            out[key] = value
    return out


def file_config(path: Path) -> dict[str, Any]:
    """The experiment file with its `extends` chain merged (no defaults)."""
    data = yaml.safe_load(path.read_text()) or {}
    base = data.pop("extends", None)
    return merged(file_config(path.parent / base), data) if base else data


def dotted(config: dict[str, Any], key: str) -> Any:
    value: Any = config
    for part in key.split("."):
        value = value[part]
    return value


def test_the_table_covers_every_config_that_names_a_section():
    """A config whose first line names a § is in the table, or says it is not the code."""
    for path in sorted(CONFIGS.glob("*.yaml")):
        head = path.read_text().splitlines()[0]
        if path.stem in CHAPTER or path.stem in NOT_CHAPTER_CODE or "§" not in head:
            continue
        pytest.fail(f"{path.name} names a section ({head!r}) but is not in the table")


@pytest.mark.parametrize("stem", list(CHAPTER))
def test_config_opens_with_its_section_and_chapter_lines(stem):
    head = config_path(stem).read_text().split("\nname:")[0]
    assert head.startswith(f"# {CHAPTER[stem].section}"), head.splitlines()[0]
    assert "l." in head, "the opening comment gives the chapter's line numbers"


@pytest.mark.parametrize("stem", list(CHAPTER))
def test_layers_and_parameters_are_the_chapters(stem, summaries):
    info = summaries[stem]
    assert isinstance(info, dict), info
    want = CHAPTER[stem]
    assert info["params"]["total"] == want.params
    assert [layer["type"] for layer in info["layers"]] == want.layers
    assert info["params"]["trainable"] + info["params"]["non_trainable"] == want.params
    if want.non_trainable is not None:
        assert info["params"]["non_trainable"] == want.non_trainable


@pytest.mark.parametrize("stem", list(CHAPTER))
def test_batch_size_is_the_chapters(stem, summaries):
    info = summaries[stem]
    assert isinstance(info, dict), info
    assert info["training"]["batch_size"] == CHAPTER[stem].batch_size


@pytest.mark.parametrize("stem", list(CHAPTER))
def test_training_keys_in_the_file_are_the_chapters(stem):
    config = file_config(config_path(stem))
    want = CHAPTER[stem]
    assert config["data"]["batch_size"] == want.batch_size
    assert config["optimizer"]["name"] == want.optimizer
    lr = config["optimizer"].get("learning_rate") or KERAS_DEFAULT_LR[want.optimizer]
    assert lr == pytest.approx(want.learning_rate)
    assert config["loss"] == want.loss
    assert config["epochs"] == want.epochs
    assert config["data"]["validation"] == want.validation
    if want.validation_split is not None:
        assert config["data"]["validation_split"] == pytest.approx(want.validation_split)
    assert config.get("expect", {}) == want.expect
    assert config.get("init_from") == want.init_from
    for key, value in want.extra.items():
        if key != "lr_epoch_2":
            assert dotted(config, key) == value, key
    assert ("schedule" in config) == ("schedule" in want.extra)


@pytest.mark.slow
@pytest.mark.parametrize("stem", list(CHAPTER))
def test_resolved_training_is_the_chapters(stem, resolved):
    got = resolved[stem]
    assert isinstance(got, dict), got
    config, lrs = got["config"], got["lrs"]
    want = CHAPTER[stem]
    assert config["data"]["batch_size"] == want.batch_size
    assert config["optimizer"]["name"] == want.optimizer
    assert lrs[0] == pytest.approx(want.learning_rate), "the first epoch's learning rate"
    assert config["loss"] == want.loss
    assert config["epochs"] == want.epochs
    assert config["data"]["validation"] == want.validation
    if want.validation_split is not None:
        assert config["data"]["validation_split"] == pytest.approx(want.validation_split)
    assert config["expect"] == want.expect
    for key, value in want.extra.items():
        if key == "lr_epoch_2":
            assert lrs[1] == pytest.approx(value)
        else:
            assert dotted(config, key) == value, key
    if "schedule" not in want.extra:
        assert config["schedule"] is None
    if want.init_from is None:
        assert config["init_from"] is None
    else:  # the base file trained first, recorded as its run folder
        assert set(config["init_from"]) == {"run", "checkpoint"}
        assert config["init_from"]["checkpoint"] == "last"
        base = got["base"]
        assert base["name"] == Path(want.init_from).stem and base["epochs"] == want.base_epochs


@pytest.mark.parametrize("stem", NOT_CHAPTER_CODE)
def test_files_that_are_not_chapter_code_say_so_and_hold_no_chapter_figure(stem):
    text = config_path(stem).read_text()
    head = text.split("\nname:")[0]
    assert "Not a chapter section's code" in head or "Not the chapter's code" in head
    assert "\nexpect:" not in text
