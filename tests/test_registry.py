import pytest

from cnnrun.errors import did_you_mean
from cnnrun.registry import Registry


def test_registry_get_and_suggestion():
    reg: Registry[int] = Registry("thing")
    reg.register("fashion_mnist", "clothes")(1)
    reg.register("mnist", "digits")(2)
    assert reg.get("mnist") == 2
    assert reg.names() == ["fashion_mnist", "mnist"]
    assert reg.help("mnist") == "digits"
    with pytest.raises(KeyError, match="Did you mean 'fashion_mnist'"):
        reg.get("fashion_mnst")
    with pytest.raises(ValueError, match="already registered"):
        reg.register("mnist")(3)


@pytest.mark.parametrize(
    ("name", "choices", "expected"),
    [
        ("Conv2d", ["Conv2D", "Dense"], "Conv2D"),
        ("adamm", ["adam", "sgd"], "adam"),
        ("zzz", ["adam", "sgd"], None),
    ],
)
def test_did_you_mean(name, choices, expected):
    assert did_you_mean(name, choices) == expected
