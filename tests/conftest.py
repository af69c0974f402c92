"""Shared fixtures: tiny experiment files and paths to the optional real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))
SHARED_DATA = Path(os.environ.get("CNNRUN_SHARED_DATA", REPO.parent / "shared" / "data"))

TINY = """\
name: tiny
seed: 7
data:
  dataset: synthetic
  limit: 96
  test_limit: 32
  validation_split: 0.25
  batch_size: 16
model:
  input_shape: [12, 12, 1]
  layers:
    - Conv2D: {filters: 4, kernel_size: 3, activation: relu}
    - MaxPooling2D: [2, 2]
    - Flatten
    - Dense: {units: 3, activation: softmax}
optimizer: {name: adam, learning_rate: 1.0e-2}
loss: sparse_categorical_crossentropy
metrics: [accuracy]
epochs: 2
"""


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    """A small valid experiment on synthetic data that trains in about a second."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


@pytest.fixture
def shared_data() -> Path:
    """The real MNIST / Fashion-MNIST files, or skip when they are absent."""
    if not (SHARED_DATA / "mnist.npz").exists():
        pytest.skip(f"real data not found in {SHARED_DATA}")
    return SHARED_DATA
