"""§5.1 — the §3 network on Fashion-MNIST (configs/fashion_basic.yaml), as a plain Keras script.

The chapter's code, l.336-368: the §3 model (l.356-362) compiled with SGD and sparse
categorical cross-entropy on the integer labels, fit for 5 epochs with no batch size
(Keras's default, 32) and no validation data. Keras 3: a keras.Input instead of
input_shape= on the first layer.
"""

import keras
from _common import main

BATCH_SIZE = 32  # model.fit(train_images, train_labels, epochs=5) (l.368): Keras's default
VALIDATION = None  # no validation data (l.368)
EPOCHS = 5  # epochs=5 (l.368)


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
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


if __name__ == "__main__":
    main(build, BATCH_SIZE, VALIDATION, epochs=EPOCHS)
