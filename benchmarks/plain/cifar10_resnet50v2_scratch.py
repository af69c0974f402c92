"""§6.3 — ResNet50V2 from scratch on CIFAR-10 (configs/cifar10_resnet50v2_scratch.yaml), plain.

The chapter's code, l.549-553 and l.586-601: the images divided by 255 (§6.2), then
``tf.keras.applications.ResNet50V2(include_top=True, weights=None, input_shape=(32, 32, 3),
classes=10)`` (23,585,290 parameters), ``SGD(0.002)``, sparse categorical cross-entropy on
the integer labels, ``fit(..., epochs=10, validation_data=(test_images, test_labels))``
with no batch size (Keras's default, 32). Not part of ``make bench`` (10 epochs take about
90 minutes on a 2-core CPU): it is the chapter's set-up beside cnnrun's, for the README's
chapter table. Usage: ``python benchmarks/plain/cifar10_resnet50v2_scratch.py --data
cifar10.npz --seed 1337 --out result.json``.
"""

import keras
from _common import main

BATCH_SIZE = 32  # fit() gives no batch_size (l.600): Keras's default
VALIDATION = "test"  # validation_data=(test_images, test_labels) (l.600-601)
EPOCHS = 10  # epochs=10 (l.600)


def build() -> keras.Model:
    model = keras.applications.ResNet50V2(
        include_top=True, weights=None, input_shape=(32, 32, 3), classes=10
    )
    opt = keras.optimizers.SGD(0.002)  # l.592
    model.compile(loss="sparse_categorical_crossentropy", optimizer=opt, metrics=["accuracy"])
    return model


if __name__ == "__main__":
    main(build, BATCH_SIZE, VALIDATION, epochs=EPOCHS)
