"""Issue 15, item 8: image bombs, in `predict` and as trimaps of a folder data set.

Pillow's pixel limit (Image.MAX_IMAGE_PIXELS, about 89 million pixels) applies wherever
cnnrun reads an image: a bigger picture is a bad file, reported in one line naming it,
before it is decoded. `predict` on a folder skips unreadable files, counts them and
writes the others; `data.skip_bad_images: true` skips a bomb like any unreadable file.
"""

from __future__ import annotations

import numpy as np
import pytest
from hostile_support import (
    GiB,
    assert_clean_error,
    cnnrun,
    error_lines,
    no_traceback,
    png_of_zeros,
    run_folders,
    trained_run,
)
from PIL import Image

# Address space: a training's TensorFlow threads need over 3 GiB here (at 3 GiB, pthread_create
# fails in tf.data and TF aborts; 3.5 GiB trains); a decoded bomb and its copies need more.
MEM = 4 * GiB

SEGMENTATION = """\
name: seg
seed: 3
task: segmentation
data:
  dataset: oxford_pets
  path: pets
  test_split: 0.25
  validation_split: 0.25
  batch_size: 4
  skip_bad_images: {skip}
model:
  input_shape: [8, 8, 3]
  layers:
    - Conv2D: {{filters: 3, kernel_size: 1, activation: softmax}}
optimizer: {{name: adam, learning_rate: 1.0e-2}}
loss: sparse_categorical_crossentropy
metrics: [pixel_accuracy]
epochs: 1
"""


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bombs")
    return {
        "20k": png_of_zeros(folder / "bomb20k.png", 20000, 20000, bit_depth=1),  # 400 Mpx
        "10k": png_of_zeros(folder / "bomb10k.png", 10000, 10000, bit_depth=8),  # 100 Mpx, 97 KB
    }


def _small_pngs(folder, n=2):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        pixels = (np.random.default_rng(i).random((20, 20)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"ok{i}.png")


@pytest.mark.slow  # TensorFlow; in-process: the open_image / decode tests
@pytest.mark.parametrize("size", ["20k", "10k"])
def test_predict_refuses_an_image_bomb_in_one_line(tmp_path, tmp_path_factory, bombs, size):
    run = trained_run(tmp_path_factory)
    res = cnnrun("predict", run, bombs[size], "--out", tmp_path / "out", cwd=tmp_path,
                 timeout=120, mem=MEM)  # fmt: skip
    assert_clean_error(res, 1, bombs[size].name)
    assert "DecompressionBomb" not in res.output, res
    assert "pixels" in error_lines(res)[0], res
    assert res.seconds < 60, res


@pytest.mark.slow  # TensorFlow; in-process: the open_image / decode tests
def test_predict_on_a_folder_skips_bad_files_and_writes_the_rest(tmp_path, tmp_path_factory, bombs):
    run = trained_run(tmp_path_factory)
    images = tmp_path / "images"
    _small_pngs(images)
    (images / "broken.png").write_bytes(b"not a png at all")
    (images / "bomb.png").write_bytes(bombs["20k"].read_bytes())
    out = tmp_path / "out"
    res = cnnrun("predict", run, images, "--out", out, cwd=tmp_path, timeout=120, mem=MEM)
    no_traceback(res)
    assert res.returncode in (0, 1), res
    assert sorted(p.name for p in out.glob("*.png")) == ["ok0.png", "ok1.png"], res
    assert "broken.png" in res.stderr and "bomb.png" in res.stderr, res
    assert "2" in res.output and "skipped" in res.output.lower(), res  # the count


def _pets(root, bomb=None, n=8):
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "annotations" / "trimaps").mkdir(parents=True)
    for i in range(n):
        img = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
        Image.fromarray(img).save(root / "images" / f"Cat_{i}.jpg")
        trimap = rng.integers(1, 4, (12, 16), dtype=np.uint8)
        Image.fromarray(trimap).save(root / "annotations" / "trimaps" / f"Cat_{i}.png")
    if bomb is not None:
        (root / "annotations" / "trimaps" / "Cat_3.png").write_bytes(bomb.read_bytes())
    return root


@pytest.mark.slow  # TensorFlow; in-process: the open_image / decode tests
def test_a_trimap_bomb_is_a_named_data_error(tmp_path, bombs):
    _pets(tmp_path / "pets", bombs["20k"])
    (tmp_path / "seg.yaml").write_text(SEGMENTATION.format(skip="false"))
    res = cnnrun("train", "seg.yaml", "--runs-dir", "runs", cwd=tmp_path, timeout=240, mem=MEM)
    line = assert_clean_error(res, 1, "Cat_3.png")
    assert "data.skip_bad_images" in line, res
    assert not run_folders(tmp_path / "runs")


@pytest.mark.slow  # TensorFlow; in-process: the open_image / decode tests
def test_a_trimap_bomb_is_skipped_with_skip_bad_images(tmp_path, bombs):
    _pets(tmp_path / "pets", bombs["20k"])
    (tmp_path / "seg.yaml").write_text(SEGMENTATION.format(skip="true"))
    res = cnnrun("train", "seg.yaml", "--runs-dir", "runs", cwd=tmp_path, timeout=240, mem=MEM)
    no_traceback(res)
    assert res.returncode == 0, res
    assert "skipped 1" in res.stdout and "Cat_3" in res.stdout, res


# --- item 11: the hint for unreadable files ---------------------------------------------


@pytest.mark.slow  # TensorFlow; in-process: the open_image / decode tests
def test_the_unreadable_file_hint_names_the_real_key(tmp_path):
    pets = tmp_path / "pets"
    (pets / "images").mkdir(parents=True)
    (pets / "annotations" / "trimaps").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)).save(
            pets / "images" / f"Cat_{i}.jpg"
        )
        Image.fromarray(rng.integers(1, 4, (12, 16), dtype=np.uint8)).save(
            pets / "annotations" / "trimaps" / f"Cat_{i}.png"
        )
    (pets / "images" / "Cat_2.jpg").write_bytes(b"corrupt")
    (tmp_path / "seg.yaml").write_text(
        "name: seg\ntask: segmentation\n"
        "data: {dataset: oxford_pets, path: pets, test_split: 0.25, batch_size: 2}\n"
        "model:\n  input_shape: [8, 8, 3]\n"
        "  layers: [{Conv2D: {filters: 3, kernel_size: 1, activation: softmax}}]\n"
        "loss: sparse_categorical_crossentropy\nmetrics: [pixel_accuracy]\nepochs: 1\n"
    )
    res = cnnrun("train", "seg.yaml", "--runs-dir", "runs", cwd=tmp_path, timeout=240)
    line = assert_clean_error(res, 1, "Cat_2.jpg")
    assert "data.skip_bad_images" in line and "(skip_bad)" not in line, res


# --- in-process: the pixel limit wherever an image is opened -----------------------------


@pytest.mark.parametrize("size", ["20k", "10k"])
def test_open_image_refuses_a_bomb_before_decoding(bombs, size):
    from cnnrun.data.image_files import TooManyPixels, open_image

    with pytest.raises(TooManyPixels, match=r"pixels, over the limit of 89,478,485"):
        with open_image(bombs[size]):
            pass


def test_training_reads_of_a_bomb_are_bad_files(tmp_path, bombs):
    from cnnrun.data.folders import read_oxford_pets, read_trimap
    from cnnrun.errors import DataError

    with pytest.raises(DataError, match=r"bomb20k\.png: .*pixels, over the limit"):
        read_trimap(bombs["20k"], (8, 8))
    pets = _pets(tmp_path / "pets", bombs["20k"])
    with pytest.raises(DataError, match=r"Cat_3\.png.*data\.skip_bad_images: true"):
        read_oxford_pets(pets, (8, 8))
    read = read_oxford_pets(pets, (8, 8), skip_bad=True)
    assert len(read.skipped) == 1 and "Cat_3" in read.skipped[0][0]


def test_predict_reads_of_a_bomb_are_one_line(bombs):
    from cnnrun.errors import DataError
    from cnnrun.predict.images import read_input_image

    with pytest.raises(DataError, match=r"bomb10k\.png: 10000x10000 = 100,000,000 pixels"):
        read_input_image(bombs["10k"], (8, 8, 1))
