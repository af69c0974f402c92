"""§3 — the chapter's basic CNN on MNIST (configs/mnist_basic.yaml), as a plain Keras script.

The chapter's code, l.216-257: the model of l.216-222, compiled with categorical
cross-entropy on one-hot labels (to_categorical) and SGD, fit with batch_size=100 for 5
epochs and no validation data. Keras 3: a keras.Input instead of input_shape= on the
first layer.
"""

import keras
from _common import main

BATCH_SIZE = 100  # batch_size = 100 (l.255)
VALIDATION = None  # fit() is given no validation data (l.254-257)
EPOCHS = 5  # epochs=5 (l.256)


def build() -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(32, (5, 5), activation="relu"),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Conv2D(64, (5, 5), activation="relu"),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    return model


if __name__ == "__main__":
    main(build, BATCH_SIZE, VALIDATION, epochs=EPOCHS)
