"""One small experiment file for the init_from tests, and the weights of a trained run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnrun import runfiles

EXPERIMENT = """\
name: {name}
seed: 3
data: {{dataset: {dataset}, limit: 64, test_limit: 16, batch_size: 16, validation_split: 0.25}}
model:
  input_shape: [28, 28, 1]
  layers:
    - Conv2D: {{filters: {filters}, kernel_size: 3, activation: relu}}
    - BatchNormalization
    - MaxPooling2D: [4, 4]
    - Flatten
    - Dense: {{units: 10, activation: softmax}}
optimizer: {{name: sgd, learning_rate: {lr}}}
epochs: 1
{extra}
"""


def write(
    folder: Path,
    file: str,
    name: str = "base",
    *,
    filters: int = 4,
    lr: float = 0.5,
    extra: str = "",
    dataset: str = "synthetic",
) -> Path:
    """Write the experiment as ``folder/file`` (a Conv2D of ``filters``, SGD at ``lr``)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file
    text = EXPERIMENT.format(name=name, filters=filters, lr=lr, extra=extra, dataset=dataset)
    path.write_text(text)
    return path


def kernel(run: Path) -> np.ndarray:
    """The first Conv2D kernel of a run's last checkpoint."""
    from cnnrun.tf_env import import_keras

    keras = import_keras()
    model = keras.saving.load_model(run / runfiles.LAST_MODEL, compile=False)
    return keras.ops.convert_to_numpy(model.weights[0].value)
