"""§7.1 — Keras's "simple MNIST convnet" (configs/mnist_convnet.yaml), as a plain script.

The chapter's code, l.676-753: the model of l.710-721 (34,826 parameters), compiled with
categorical cross-entropy on one-hot labels and Adam, fit with batch_size=128 for 15
epochs and validation_split=0.1.
"""

import keras
from _common import main

BATCH_SIZE = 128  # batch_size = 128 (l.748)
VALIDATION = 0.1  # validation_split=0.1 (l.753): the last 10% of the training examples
EPOCHS = 15  # epochs = 15 (l.749)


def build() -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


if __name__ == "__main__":
    main(build, BATCH_SIZE, VALIDATION, epochs=EPOCHS)
