"""§5.2 — the wider CNN on Fashion-MNIST (configs/fashion_wide.yaml), as a plain Keras script.

The chapter's code, l.382-400: the model of l.382-390, compiled with Adam and sparse
categorical cross-entropy, fit for 5 epochs with no batch size (Keras's default, 32) and
no validation data. Keras 3: a keras.Input instead of input_shape= on the first layer.
"""

import keras
from _common import main

BATCH_SIZE = 32  # model.fit(train_images, train_labels, epochs=5) (l.400): Keras's default
VALIDATION = None  # no validation data (l.400)
EPOCHS = 5  # epochs=5 (l.400)


def build() -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(64, (7, 7), activation="relu", padding="same"),
            keras.layers.MaxPooling2D(2, 2),
            keras.layers.Conv2D(128, (3, 3), activation="relu", padding="same"),
            keras.layers.MaxPooling2D(2, 2),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


if __name__ == "__main__":
    main(build, BATCH_SIZE, VALIDATION, epochs=EPOCHS)
