"""§5.3 — BatchNormalization and Dropout (configs/fashion_bn.yaml), as a plain Keras script.

The chapter's code, l.413-455: the model of l.416-444 (13,017,770 parameters), compiled
with Adam and sparse categorical cross-entropy, fit for 5 epochs with no batch size
(Keras's default, 32) and no validation data. Keras 3: a keras.Input instead of
input_shape= on the first layer.
"""

import keras
from _common import main

BATCH_SIZE = 32  # model.fit(train_images, train_labels, epochs=5) (l.455): Keras's default
VALIDATION = None  # no validation data (l.455)
EPOCHS = 5  # epochs=5 (l.455)


def conv(filters: int) -> keras.layers.Conv2D:
    """Conv2D(filters=..., kernel_size=(3,3), activation='relu', strides=1, padding='same')."""
    return keras.layers.Conv2D(
        filters=filters, kernel_size=(3, 3), activation="relu", strides=1, padding="same"
    )


def build() -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            conv(32),
            keras.layers.BatchNormalization(),
            conv(32),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.25),
            conv(64),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Dropout(0.25),
            conv(128),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.25),
            keras.layers.Flatten(),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


if __name__ == "__main__":
    main(build, BATCH_SIZE, VALIDATION, epochs=EPOCHS)
