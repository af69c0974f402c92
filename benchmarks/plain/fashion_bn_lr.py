"""§5.4 — learning-rate decay (configs/fashion_bn_lr.yaml), as a plain Keras script.

The chapter's code, l.469-480, continues the §5.3 model: it is first trained as §5.3 does
(fashion_bn.py: Adam, 5 epochs, l.452-455), then compiled again with a new
Adam(lr=0.001) — Keras 3: learning_rate=0.001 — and fit for 30 more epochs with
LearningRateScheduler(lambda x: 1e-3 * 0.9 ** x), no batch size (Keras's default, 32) and
no validation data (configs/fashion_bn_lr.yaml: `init_from: fashion_bn.yaml`). Only the
30 epochs are timed; ``--pretrain-epochs 0`` skips the §5.3 training.
"""

import keras
from _common import main
from fashion_bn import BATCH_SIZE, VALIDATION
from fashion_bn import build as build_section_5_3

PRETRAIN_EPOCHS = 5  # the §5.3 model as trained there (l.455)
EPOCHS = 30  # epochs=30 (l.479)


def schedule(epoch: int) -> float:
    return 1e-3 * 0.9**epoch  # l.476-477


def build(model: keras.Model | None = None) -> keras.Model:
    """The §5.3 model (a new one when none is given) compiled as §5.4 (l.470-474)."""
    model = model if model is not None else build_section_5_3()
    optimizer = keras.optimizers.Adam(learning_rate=0.001)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


if __name__ == "__main__":
    main(
        build,
        BATCH_SIZE,
        VALIDATION,
        [keras.callbacks.LearningRateScheduler(schedule)],
        pretrain=(build_section_5_3, PRETRAIN_EPOCHS),
        epochs=EPOCHS,
    )
