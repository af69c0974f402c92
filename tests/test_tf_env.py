"""Importing TensorFlow through cnnrun.tf_env leaves no start-up noise on stderr."""

import subprocess
import sys

import pytest

from cnnrun.tf_env import has_nvidia_device

SCRIPT = """
from cnnrun.tf_env import import_keras
keras = import_keras()
import tensorflow as tf
tf.config.list_physical_devices()
print(float(keras.ops.sum(keras.ops.ones(3))))
"""


@pytest.mark.skipif(has_nvidia_device(), reason="a GPU machine may rightly log CUDA errors")
def test_a_machine_without_a_gpu_sees_no_cuda_messages() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3.0"
    assert "cuInit" not in done.stderr
    assert "cuda" not in done.stderr.lower(), done.stderr
