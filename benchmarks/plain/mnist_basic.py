"""§3 — the chapter's basic CNN on MNIST (configs/mnist_basic.yaml), as a plain Keras script."""

import keras
from _common import main

BATCH_SIZE = 100
VALIDATION = "test"


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
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


if __name__ == "__main__":
    main(build, BATCH_SIZE, VALIDATION)
