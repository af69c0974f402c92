import json

import pytest

from cnnrun import catalog


def test_catalog_lists_the_chapter_layers_with_their_arguments():
    cat = catalog.load()
    for name in ("Conv2D", "MaxPooling2D", "Dense", "Dropout", "BatchNormalization", "Flatten"):
        assert name in cat["layers"]
    assert cat["layers"]["Conv2D"]["required"] == ["filters", "kernel_size"]
    assert cat["layers"]["Dropout"]["params"][0] == "rate"
    assert {"adam", "sgd", "rmsprop"} <= set(cat["optimizers"])
    assert "sparse_categorical_crossentropy" in cat["losses"]
    assert "accuracy" in cat["metrics"]


def test_shipped_catalog_matches_the_installed_keras():
    """Fails after a Keras upgrade until `python -m cnnrun.catalog` regenerates the file."""
    pytest.importorskip("keras")
    generated = json.loads(json.dumps(catalog.generate(), sort_keys=True))
    assert generated == catalog.load(), "regenerate with: python -m cnnrun.catalog"
