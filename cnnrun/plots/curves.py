"""Training curves: one run's ``curves.png`` and an overlay of several runs.

matplotlib is imported inside the functions (and only its Agg canvas is used, never
pyplot), so importing this module costs nothing and it works without a display. Nothing
here imports TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cnnrun.runs.record import RunRecord, is_lower_better, main_metric, parse_metrics_csv

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Row = dict[str, float | None]

TRAIN_COLOR = "#1f77b4"
VAL_COLOR = "#ff7f0e"
LR_COLOR = "#2ca02c"
OTHER_COLOR = "#c8c8c8"
DPI = 110
MAX_LEGEND = 20
"""At most this many runs are named in the legend of `plot_compare` (the first ones)."""
MARKERS_UP_TO = 40
"""Epoch markers are drawn when a curve has at most this many points."""


def plot_curves(metrics_csv: Path, out_png: Path, title: str | None = None) -> Path:
    """Draw a run's loss and main metric, train and validation, per epoch, into a PNG.

    The learning rate gets its own panel when it varies between epochs; the best epoch
    (lowest ``val_loss``, else ``loss``) is marked. Works from one row on, with or
    without ``val_`` columns; torn rows are skipped. Takes ~0.1 s after matplotlib's
    first import, so it can be called after every epoch.

    Args:
        metrics_csv: A run's ``metrics.csv``.
        out_png: Where to write the picture (replaced atomically).
        title: Figure title; defaults to the run folder's name.

    Returns:
        ``out_png``.

    Raises:
        FileNotFoundError: When ``metrics_csv`` does not exist.

    Example:
        >>> plot_curves(run / "metrics.csv", run / "curves.png")  # doctest: +SKIP
    """
    metrics_csv = Path(metrics_csv)
    header, rows, _ = parse_metrics_csv(metrics_csv.read_text(encoding="utf-8"))
    figure = curves_figure(header, rows, title or metrics_csv.parent.name)
    return save_figure(figure, Path(out_png))


def curves_figure(header: Sequence[str], rows: Sequence[Row], title: str) -> Figure:
    """Build (without saving) the figure of `plot_curves`.

    Args:
        header: The ``metrics.csv`` columns.
        rows: One dict per epoch.
        title: Figure title.

    Returns:
        A matplotlib figure whose axes are the loss panel, the metric panel (when the
        run has a metric) and the learning-rate panel (when the rate varies).
    """
    from matplotlib.figure import Figure

    metric = main_metric(header)
    panels = ["loss"] + ([metric] if metric != "loss" and metric in header else [])
    show_lr = _varies(_values(rows, "lr"))
    figure = Figure(figsize=(5.2 * len(panels), 5.6 if show_lr else 4.2), dpi=DPI)
    grid = figure.add_gridspec(2 if show_lr else 1, len(panels), height_ratios=_ratios(show_lr))
    best_epoch = _best_epoch(rows, header)
    axes = [figure.add_subplot(grid[0, i]) for i in range(len(panels))]
    for ax, name in zip(axes, panels, strict=True):
        _draw_panel(ax, rows, header, name, best_epoch)
    if show_lr:
        _draw_lr(figure.add_subplot(grid[1, :], sharex=axes[0]), rows)
    figure.suptitle(_title(title, rows, header, best_epoch), fontsize=11)
    if not rows:
        axes[0].text(0.5, 0.5, "no completed epoch yet", ha="center", transform=axes[0].transAxes)
    figure.set_layout_engine("constrained")
    return figure


# What `compare --plot FILE` writes, by FILE's extension.
PLOT_FORMATS = {"png": "png", "jpg": "jpg", "jpeg": "jpg", "svg": "svg", "pdf": "pdf"}


def plot_format(path: Path) -> str | None:
    """The image format ``path``'s extension names (``png``, ``jpg``, ``svg``, ``pdf``), or None."""
    return PLOT_FORMATS.get(Path(path).suffix.lower().lstrip("."))


def plot_compare(
    records: Sequence[RunRecord],
    out_png: Path,
    metric: str | None = None,
    labels: Sequence[str] | None = None,
) -> Path:
    """Overlay the train and validation curves of several runs for one metric.

    Each run gets a colour; validation is a solid line, training a dashed one. The
    legend names the first `MAX_LEGEND` runs, so pass them best first; any further runs
    are drawn as thin grey lines behind them.

    Args:
        records: Runs (those without ``metrics.csv`` rows are skipped).
        out_png: Where to write the picture; its extension picks the format (PNG, JPEG,
            SVG or PDF: `plot_format`).
        metric: A ``metrics.csv`` metric (``loss``, ``accuracy``, ``mean_iou``…);
            defaults to the main metric of the first run that has epochs.
        labels: The legend's name of each run (e.g. what differs between them), in the
            order of ``records``; default: the run folders' names.

    Returns:
        ``out_png``.
    """
    figure = compare_figure(records, metric, labels)
    return save_figure(figure, Path(out_png), plot_format(Path(out_png)) or "png")


def compare_figure(
    records: Sequence[RunRecord],
    metric: str | None = None,
    labels: Sequence[str] | None = None,
) -> Figure:
    """Build (without saving) the figure of `plot_compare`; its one axes holds the curves."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    label_of = {id(r): label for r, label in zip(records, labels or [], strict=False)}

    runs = [r for r in records if r.epochs]
    metric = metric or (runs[0].main_metric if runs else "loss")
    runs = [r for r in runs if {metric, f"val_{metric}"} & set(r.metric_columns)]
    named = runs if len(runs) <= MAX_LEGEND else runs[: MAX_LEGEND - 1]
    figure = Figure(figsize=(10.5, 5), dpi=DPI)
    ax = figure.add_subplot()
    markers = len(runs) <= 10
    for record in runs[len(named) :]:  # beyond the legend: thin grey background lines
        _draw_run(ax, record, metric, OTHER_COLOR, markers=False, lw=0.7, zorder=1.0)
    handles = []
    for index, (record, color) in enumerate(zip(named, _colors(len(named)), strict=True)):
        _draw_run(ax, record, metric, color, markers=markers, zorder=3.0 - index / len(named))
        label = label_of.get(id(record), record.name)
        handles.append(Line2D([], [], color=color, lw=2, label=label))
    if len(runs) > len(named):
        more = f"{len(runs) - len(named)} more (grey)"
        handles.append(Line2D([], [], color=OTHER_COLOR, lw=1, label=more))
    styles = [
        Line2D([], [], color="0.3", lw=2, label="validation"),
        Line2D([], [], color="0.3", lw=1.2, ls="--", label="training"),
    ]
    _style_axes(ax, metric)
    direction = "lower is better" if is_lower_better(metric) else "higher is better"
    ax.set_title(f"{metric} per epoch, {len(runs)} runs ({direction})", fontsize=11)
    _one_epoch_limits(ax, [e for r in runs for e in _xy(r.epochs, "epoch")[1]])
    if handles:
        figure.legend(handles=handles, title="run", loc="outside right upper", fontsize=8)
        figure.legend(handles=styles, loc="outside right lower", fontsize=8)
    else:
        ax.text(0.5, 0.5, f"no run has {metric!r} per epoch", ha="center", transform=ax.transAxes)
    figure.set_layout_engine("constrained")
    return figure


def _draw_panel(
    ax: Axes, rows: Sequence[Row], header: Sequence[str], name: str, best: int | None
) -> None:
    for column, color, label in ((name, TRAIN_COLOR, "train"), (f"val_{name}", VAL_COLOR, "val")):
        if column in header:
            epochs, values = _xy(rows, column)
            ax.plot(epochs, values, color=color, label=label, **_marker(len(epochs)))
    if best is not None:
        ax.axvline(best, color="0.5", ls=":", lw=1, label=f"best epoch ({best})")
    _style_axes(ax, name)
    _one_epoch_limits(ax, _values(rows, "epoch"))
    if ax.get_lines():
        ax.legend(fontsize=8)


def _draw_lr(ax: Axes, rows: Sequence[Row]) -> None:
    epochs, values = _xy(rows, "lr")
    ax.plot(epochs, values, color=LR_COLOR, drawstyle="steps-mid", **_marker(len(epochs)))
    finite = [v for v in values if v > 0 and math.isfinite(v)]
    if finite and max(finite) / min(finite) > 10:
        ax.set_yscale("log")
    _style_axes(ax, "learning rate")


def _draw_run(
    ax: Axes, record: RunRecord, metric: str, color: str, *, markers: bool, **style: float
) -> None:
    width = style.pop("lw", 2.0)
    for column, line in ((f"val_{metric}", {"lw": width}), (metric, {"lw": width * 0.6})):
        if column in record.metric_columns:
            epochs, values = _xy(record.epochs, column)
            dashes = {} if column.startswith("val_") else {"ls": "--"}
            dots = _marker(len(epochs), size=3) if markers else {}
            ax.plot(epochs, values, color=color, **line, **dashes, **dots, **style)


def _style_axes(ax: Axes, ylabel: str) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)


def _one_epoch_limits(ax: Axes, epochs: Sequence[float]) -> None:
    """Give a lone epoch some room (else matplotlib ticks 0.95, 0.975, …)."""
    if epochs and max(epochs) - min(epochs) < 1:
        ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
        ax.set_xticks(sorted({round(e) for e in epochs}))


def _xy(rows: Sequence[Row], column: str) -> tuple[list[float], list[float]]:
    """Return epochs and values of ``column``, skipping missing cells (NaN for inf)."""
    epochs, values = [], []
    for index, row in enumerate(rows, start=1):
        value = row.get(column)
        if value is None:
            continue
        epoch = row.get("epoch")
        epochs.append(epoch if epoch is not None else float(index))
        values.append(value if math.isfinite(value) else math.nan)
    return epochs, values


def _values(rows: Sequence[Row], column: str) -> list[float]:
    return [v for v in (row.get(column) for row in rows) if v is not None and math.isfinite(v)]


def _varies(values: Sequence[float]) -> bool:
    return len(values) > 1 and max(values) - min(values) > 1e-12 * max(map(abs, values))


def _best_epoch(rows: Sequence[Row], header: Sequence[str]) -> int | None:
    monitor = "val_loss" if "val_loss" in header else "loss"
    epochs, values = _xy(rows, monitor)
    points = [(v, e) for e, v in zip(epochs, values, strict=True) if not math.isnan(v)]
    return int(min(points)[1]) if len(points) > 1 else None


def _title(title: str, rows: Sequence[Row], header: Sequence[str], best: int | None) -> str:
    if best is None or not rows:
        return title
    row = next((r for r in rows if r.get("epoch") == best), rows[-1])
    metric = main_metric(header)
    parts = [f"{c} {row[c]:.4g}" for c in (f"val_{metric}", "val_loss") if row.get(c) is not None]
    return f"{title}\nbest epoch {best}/{len(rows)}" + (": " + ", ".join(parts) if parts else "")


def _ratios(show_lr: bool) -> list[float] | None:
    return [3.0, 1.0] if show_lr else None


def _marker(points: int, size: float = 4) -> dict[str, object]:
    return {"marker": "o", "markersize": size} if points <= MARKERS_UP_TO else {}


def _colors(count: int) -> list[str]:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["tab10" if count <= 10 else "tab20"]
    return [to_hex(cmap(i % cmap.N)) for i in range(count)]


def save_figure(figure: Figure, out_png: Path, fmt: str = "png") -> Path:
    """Write ``figure`` next to ``out_png`` and move it in place (no torn file on a crash)."""
    out_png.parent.mkdir(parents=True, exist_ok=True)
    partial = out_png.with_name(f".{out_png.name}.partial.{fmt}")
    figure.savefig(partial, format=fmt)
    partial.replace(out_png)
    return out_png
