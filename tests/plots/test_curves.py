"""curves.png and the overlay of several runs: what is drawn, and robustness."""

from __future__ import annotations

from pathlib import Path

import pytest
from run_factory import make_run, metric_rows, metrics_text

from cnnrun import runfiles
from cnnrun.plots.curves import (
    MAX_LEGEND,
    OTHER_COLOR,
    compare_figure,
    curves_figure,
    plot_compare,
    plot_curves,
)
from cnnrun.runs.record import load_run, parse_metrics_csv

PNG = b"\x89PNG\r\n\x1a\n"


def figure_for(text: str):
    header, rows, _ = parse_metrics_csv(text)
    return curves_figure(header, rows, "run")


def labels(ax) -> list[str]:
    return [line.get_label() for line in ax.get_lines()]


def test_curves_with_validation_and_varying_lr_has_three_panels(tmp_path: Path) -> None:
    rows = metric_rows(12, decay=0.9)
    best = min(rows, key=lambda r: r["val_loss"])["epoch"]
    assert 1 < best < 12
    figure = figure_for(metrics_text(rows))
    loss, accuracy, lr = figure.axes
    assert loss.get_ylabel() == "loss" and accuracy.get_ylabel() == "accuracy"
    assert lr.get_ylabel() == "learning rate"
    assert labels(loss) == ["train", "val", f"best epoch ({best})"]
    assert labels(accuracy) == ["train", "val", f"best epoch ({best})"]
    assert len(lr.get_lines()) == 1
    assert list(lr.get_lines()[0].get_ydata()) == [r["lr"] for r in rows]
    assert list(loss.get_lines()[0].get_xdata()) == list(range(1, 13))
    assert f"best epoch {best}/12" in figure.get_suptitle()


def test_constant_lr_gets_no_panel() -> None:
    figure = figure_for(metrics_text(metric_rows(3)))
    assert [ax.get_ylabel() for ax in figure.axes] == ["loss", "accuracy"]


def test_one_row_without_validation(tmp_path: Path) -> None:
    figure = figure_for(metrics_text(metric_rows(1, validation=False)))
    loss, accuracy = figure.axes
    assert labels(loss) == ["train"] and labels(accuracy) == ["train"]
    assert list(loss.get_xticks()) == [1]


def test_loss_only_has_one_panel() -> None:
    rows = [{k: v for k, v in r.items() if "accuracy" not in k} for r in metric_rows(3)]
    figure = figure_for(metrics_text(rows))
    assert [ax.get_ylabel() for ax in figure.axes] == ["loss"]


def test_other_main_metric_is_plotted() -> None:
    figure = figure_for(metrics_text(metric_rows(3, metrics=("pck",))))
    assert [ax.get_ylabel() for ax in figure.axes] == ["loss", "pck"]


def test_header_only_and_torn_rows_are_fine(tmp_path: Path) -> None:
    csv = tmp_path / runfiles.METRICS
    csv.write_text("epoch,lr,loss,accuracy,val_loss,val_accuracy,seconds\n")
    assert plot_curves(csv, tmp_path / "a.png").read_bytes()[:8] == PNG
    csv.write_text(metrics_text(metric_rows(2)) + "3,0.001,0.5\n")
    assert plot_curves(csv, tmp_path / "b.png").read_bytes()[:8] == PNG


def test_non_finite_values_are_drawn_as_gaps() -> None:
    rows = metric_rows(3)
    rows[1]["loss"] = float("inf")
    figure = figure_for(metrics_text(rows))
    ydata = list(figure.axes[0].get_lines()[0].get_ydata())
    assert ydata[0] == rows[0]["loss"] and ydata[1] != ydata[1]  # NaN


def test_plot_curves_writes_png_and_replaces_it(tmp_path: Path) -> None:
    run = make_run(tmp_path, epochs=4, lr_decay=0.5)
    out = run / runfiles.CURVES
    assert plot_curves(run / runfiles.METRICS, out, title="x") == out
    first = out.read_bytes()
    plot_curves(run / runfiles.METRICS, out)
    assert out.read_bytes()[:8] == PNG and first[:8] == PNG
    assert sorted(p.name for p in run.iterdir() if p.suffix == ".png") == [runfiles.CURVES]


def test_missing_csv_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        plot_curves(tmp_path / "nope.csv", tmp_path / "x.png")


def test_compare_figure_draws_train_and_val_per_run(tmp_path: Path) -> None:
    records = [
        load_run(make_run(tmp_path, "a", stamp="20240101-000001")),
        load_run(make_run(tmp_path, "b", stamp="20240101-000002", validation=False)),
        load_run(make_run(tmp_path, "c", stamp="20240101-000003", status="running", epochs=0)),
    ]
    figure = compare_figure(records, "accuracy")
    (ax,) = figure.axes
    assert len(ax.get_lines()) == 2 + 1  # a: val + train; b: train only; c: no epochs
    styles = [line.get_linestyle() for line in ax.get_lines()]
    assert styles == ["-", "--", "--"]
    assert ax.get_lines()[0].get_color() == ax.get_lines()[1].get_color()
    assert ax.get_ylabel() == "accuracy"
    run_legend = figure.legends[0]
    assert [t.get_text() for t in run_legend.get_texts()] == [r.name for r in records[:2]]


def test_compare_defaults_to_the_main_metric_and_writes_png(tmp_path: Path) -> None:
    records = [load_run(make_run(tmp_path, f"r{i}", stamp=f"20240101-00000{i}")) for i in range(3)]
    assert compare_figure(records).axes[0].get_ylabel() == "accuracy"
    out = plot_compare(records, tmp_path / "deep" / "cmp.png", "loss")
    assert out.read_bytes()[:8] == PNG


def test_compare_with_nothing_to_draw(tmp_path: Path) -> None:
    record = load_run(make_run(tmp_path, status="running", epochs=0))
    figure = compare_figure([record], "loss")
    assert figure.axes[0].get_lines() == []
    assert plot_compare([], tmp_path / "empty.png").read_bytes()[:8] == PNG


def test_many_runs_name_the_first_ones_and_grey_the_rest(tmp_path: Path) -> None:
    records = [
        load_run(make_run(tmp_path, f"r{i:02d}", stamp="20240101-000000", epochs=3))
        for i in range(MAX_LEGEND + 2)
    ]
    figure = compare_figure(records, "loss")
    lines = figure.axes[0].get_lines()
    assert len(lines) == 2 * len(records)
    grey = [line for line in lines if line.get_color() == OTHER_COLOR]
    assert len(grey) == 2 * 3  # the last three runs, val and train
    texts = [t.get_text() for t in figure.legends[0].get_texts()]
    assert texts[: MAX_LEGEND - 1] == [r.name for r in records[: MAX_LEGEND - 1]]
    assert texts[-1] == "3 more (grey)" and len(texts) == MAX_LEGEND
