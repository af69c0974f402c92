"""Issue 13: what `cnnrun predict` prints.

Today it prints only the PNG paths. It is to print, per image, the top class and its
probability (classification), and offer ``--format json|csv``. A URL argument becomes
``https:/example.com/a.png: the file does not exist``: it is to say that URLs are not read
(or fetch them with Keras's get_file when online; these tests run with CNNRUN_OFFLINE=1).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_helpers import cli
from PIL import Image

# 0.87, 1.00 or 87.3%, as a word of its own
PROBABILITY = re.compile(r"(?<![\w.])(0\.\d+|1\.0+|\d{1,3}(\.\d+)?%)(?![\w.])")


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = [tmp_path / "photo_a.png", tmp_path / "photo_b.jpg"]
    for path in paths:
        Image.fromarray((rng.random((20, 30, 3)) * 255).astype(np.uint8)).save(path)
    return paths


def _classes(run: Path) -> list[str]:
    return json.loads((run / "class_names.json").read_text())


def _records(node: Any) -> list[dict[str, Any]]:
    """Every JSON object in ``node`` (nested anywhere)."""
    found = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found += _records(value)
    elif isinstance(node, list):
        for value in node:
            found += _records(value)
    return found


def test_predict_prints_the_top_class_and_probability_per_image(trained_run, images, tmp_path):
    result = cli("predict", trained_run, *images, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    classes = _classes(trained_run)
    for image in images:
        lines = [line for line in result.stdout.splitlines() if image.name in line]
        assert lines, f"{image.name} is not named:\n{result.stdout}"
        assert any(any(c in line.split() for c in classes) for line in lines), (
            f"no top class for {image.name}:\n{result.stdout}"
        )
        assert any(PROBABILITY.search(line) for line in lines), (
            f"no probability for {image.name}:\n{result.stdout}"
        )
    assert (tmp_path / "out" / "photo_a.png").is_file()  # the pictures are still drawn


def test_predict_format_json(trained_run, images, tmp_path):
    result = cli("predict", trained_run, *images, "--out", tmp_path / "out", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # stdout is the JSON alone
    classes = _classes(trained_run)
    for image in images:
        mine = [r for r in _records(data) if any(image.name in str(v) for v in r.values())]
        assert mine, f"no record names {image.name}: {data}"
        flat = json.dumps(mine)
        assert any(f'"{c}"' in flat for c in classes), (image, mine)
        values = [v for r in _records(mine) for v in r.values() if isinstance(v, float)]
        assert any(0.0 <= v <= 1.0 for v in values), (image, mine)


def test_predict_format_csv(trained_run, images, tmp_path):
    result = cli("predict", trained_run, *images, "--out", tmp_path / "out", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == len(images), result.stdout
    classes = _classes(trained_run)
    for image, row in zip(images, rows, strict=True):
        cells = list(row.values())
        assert any(image.name in c for c in cells), row
        assert any(c in classes for c in cells), row
        numbers = []
        for c in cells:
            try:
                numbers.append(float(c))
            except ValueError:
                pass
        assert any(0.0 <= x <= 1.0 for x in numbers), row


def test_predict_says_that_urls_are_not_read(trained_run, tmp_path):
    url = "https://example.com/a.png"
    result = cli("predict", trained_run, url, "--out", tmp_path / "out")
    assert result.returncode != 0
    err = result.stderr
    assert url in err, f"the URL is not quoted as given:\n{err}"
    assert "url" in err.lower(), err
    assert "does not exist" not in err, err
