"""Issue 13: `cnnrun compare` shows resolved defaults, and `--plot` writes what it is asked.

- A default the config did not set shows as ``null`` (``optimizer: {name: sgd}``: the
  learning rate); the resolved default (Keras's 0.01 for SGD) is to be shown.
- The ``--plot`` legend names runs by folder, not by what differs between them.
- ``--plot x.jpg`` writes PNG bytes into a .jpg: write the format the extension names
  (png, jpg, svg, pdf) or refuse.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from cli_helpers import cli, make_run, train_tiny


@pytest.fixture(scope="module")
def sgd_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two trained runs: SGD at Keras's default learning rate, and SGD at 0.001."""
    tmp = tmp_path_factory.mktemp("sgd")
    runs = tmp / "runs"
    for optimizer, name in (
        ("{name: sgd}", "sgd_default"),
        ("{name: sgd, learning_rate: 0.001}", "sgd_slow"),
    ):
        result, run = train_tiny(
            tmp, runs, "--epochs", "1", "--name", name, "--set", f"optimizer={optimizer}"
        )
        assert result.returncode == 0 and run is not None, result.stderr[-3000:]
    return runs


def test_compare_shows_the_resolved_default_learning_rate(sgd_runs):
    result = cli("compare", sgd_runs, "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = {r["run"].rsplit("-", 1)[-1]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert set(rows) == {"sgd_default", "sgd_slow"}, result.stdout
    assert "optimizer.learning_rate" in next(iter(rows.values())), result.stdout
    assert float(rows["sgd_slow"]["optimizer.learning_rate"]) == pytest.approx(0.001)
    shown = rows["sgd_default"]["optimizer.learning_rate"]
    assert shown not in ("", "null", "None"), f"the default shows as {shown!r}:\n{result.stdout}"
    assert float(shown) == pytest.approx(0.01), result.stdout  # Keras's SGD default


def test_compare_table_shows_no_null_for_a_default(sgd_runs):
    result = cli("compare", sgd_runs, columns=120)
    assert result.returncode == 0, result.stderr
    assert "null" not in result.stdout.split() and "None" not in result.stdout.split(), (
        result.stdout
    )


@pytest.fixture
def two_optimizers(tmp_path: Path) -> Path:
    """Two runs whose folders say nothing of what differs (the optimizer)."""
    root = tmp_path / "runs"
    make_run(root, "first", stamp="20240101-120000", quality=0.9)
    make_run(
        root, "second", stamp="20240101-130000", quality=0.8,
        optimizer={"name": "sgd", "learning_rate": 0.01},
    )  # fmt: skip
    return root


def test_plot_legend_names_runs_by_what_differs(two_optimizers, tmp_path):
    out = tmp_path / "curves.svg"
    result = cli("compare", two_optimizers, "--plot", out)
    assert result.returncode == 0, result.stderr
    svg = out.read_text(errors="replace")
    assert "<svg" in svg, "--plot x.svg did not write an SVG"
    # matplotlib keeps each text of an SVG as a comment (or a <text> element)
    for value in ("adam", "sgd"):
        assert value in svg, f"the legend does not say {value!r} (what differs)"


MAGIC = {
    "png": lambda b: b[:8] == b"\x89PNG\r\n\x1a\n",
    "jpg": lambda b: b[:3] == b"\xff\xd8\xff",
    "jpeg": lambda b: b[:3] == b"\xff\xd8\xff",
    "svg": lambda b: b"<svg" in b[:2000],
    "pdf": lambda b: b[:5] == b"%PDF-",
}


@pytest.mark.parametrize("ext", MAGIC)
def test_plot_writes_the_format_its_extension_names(two_optimizers, tmp_path, ext):
    out = tmp_path / f"curves.{ext}"
    result = cli("compare", two_optimizers, "--plot", out)
    assert result.returncode == 0, result.stderr
    data = out.read_bytes()
    assert MAGIC[ext](data), f"--plot {out.name} wrote {data[:8]!r}..."


def test_plot_refuses_an_extension_it_cannot_write(two_optimizers, tmp_path):
    out = tmp_path / "curves.txt"
    result = cli("compare", two_optimizers, "--plot", out)
    assert result.returncode == 2, result.stdout + result.stderr
    assert not out.exists()
    assert ".txt" in result.stderr or "txt" in result.stderr, result.stderr
