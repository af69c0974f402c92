"""§5.4 — the §5.3 network with lr = 1e-3 · 0.9^epoch (configs/fashion_bn_lr.yaml)."""

import keras
from _common import main
from fashion_bn import BATCH_SIZE, VALIDATION, build


def schedule(epoch: int) -> float:
    return 1e-3 * 0.9**epoch


if __name__ == "__main__":
    main(build, BATCH_SIZE, VALIDATION, [keras.callbacks.LearningRateScheduler(schedule)])
