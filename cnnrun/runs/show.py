"""Render one run folder for `cnnrun show`: status, config, per-epoch metrics, results, files.

Reads only what `cnnrun.runs.record.load_run` gathered; imports no TensorFlow.
"""

from __future__ import annotations

import math
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from cnnrun import runfiles
from cnnrun.runs.cells import format_duration, format_metric
from cnnrun.runs.compare import STATUS_STYLES
from cnnrun.runs.record import RunRecord

MAX_PICTURES = 20
_PLAIN_COLUMNS = {"epoch", "lr", "seconds"}


def print_run(record: RunRecord, console: Console) -> None:
    """Print every section of `render_run` to ``console``.

    Args:
        record: A loaded run (see `cnnrun.runs.record.load_run`).
        console: Where to print.
    """
    for section in render_run(record):
        console.print(section)
        console.print()


def render_run(record: RunRecord) -> list[RenderableType]:
    """Build the sections that describe one run.

    Args:
        record: A loaded run.

    Returns:
        Renderables, in order: the header (status, reason, times, command, versions),
        the resolved config, the per-epoch metrics, the final results, the files
        (pictures and checkpoints) and, if any, the warnings met while reading.
    """
    sections: list[RenderableType] = [header_panel(record)]
    if record.config_text is not None:
        sections.append(_titled(f"Config ({runfiles.CONFIG})", _config_syntax(record)))
    sections.append(_titled(f"Metrics per epoch ({runfiles.METRICS})", metrics_table(record)))
    sections.append(_titled(f"Results ({runfiles.RESULTS})", results_table(record)))
    per_class = (record.results or {}).get("per_class")
    if per_class is not None:
        from cnnrun.runs.class_table import class_table

        sections.append(_titled("Per class (test)", class_table(per_class)))
    sections.append(_titled("Files", files_table(record)))
    if record.warnings:
        warnings = Text("\n".join(f"• {w}" for w in record.warnings), style="yellow")
        sections.append(_titled("Warnings", warnings))
    return sections


def header_panel(record: RunRecord) -> Panel:
    """Build the panel with the run's status, reason, times, command and versions."""
    info = record.info
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    status = Text(record.status, style=f"bold {STATUS_STYLES.get(record.status, '')}")
    grid.add_row("status", status)
    if record.reason:
        grid.add_row("reason", Text(record.reason))
    for label, value in _header_rows(record, info):
        if value:
            grid.add_row(label, Text(value))
    return Panel(grid, title=Text(record.name, style="bold"), title_align="left", expand=False)


def metrics_table(record: RunRecord) -> RenderableType:
    """Build the per-epoch metrics table; the best epoch's row is marked."""
    if not record.epochs:
        return Text("no completed epoch yet", style="dim")
    best = record.best
    best_epoch = best.epoch if best else None
    table = Table(header_style="bold")
    for column in record.metric_columns:
        table.add_column(column, justify="right")
    table.add_column("")
    for row in record.epochs:
        cells = [_metric_cell(column, row.get(column)) for column in record.metric_columns]
        is_best = best_epoch is not None and row.get("epoch") == best_epoch
        cells.append(f"◀ best {best.monitor}" if is_best and best else "")
        table.add_row(*cells, style="bold green" if is_best else None)
    return table


def results_table(record: RunRecord) -> RenderableType:
    """Build the final results: test metrics, best epoch, parameters, timing."""
    if record.results is None:
        note = "not written yet" if record.status == "running" else "missing or unreadable"
        return Text(f"{runfiles.RESULTS} {note}", style="dim")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(justify="right")
    for name, value in record.test.items():
        grid.add_row(f"test {name}", format_metric(value))
    if "test" in record.results and record.results["test"] is None:  # data.test_split: 0
        grid.add_row("test", "— (no test set)")
    best = record.best
    if best:
        at = f" (epoch {best.epoch})" if best.epoch is not None else ""
        grid.add_row(f"best {best.monitor}", f"{format_metric(best.value)}{at}")
    params = (record.results or {}).get("params")
    if isinstance(params, dict):
        for key in ("total", "trainable", "non_trainable"):
            if isinstance(params.get(key), int):
                grid.add_row(f"{key.replace('_', '-')} params", f"{params[key]:,}")
    grid.add_row("epochs completed", str(record.epochs_completed))
    grid.add_row("wall time", format_duration(record.wall_time_s))
    if record.samples_per_s is not None:
        grid.add_row("train samples/s", f"{record.samples_per_s:,.0f}")
    return grid


def files_table(record: RunRecord) -> RenderableType:
    """List the run's pictures (``*.png``), checkpoints and layer summary, with their paths."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    pictures = sorted(record.path.rglob("*.png"))
    for picture in pictures[:MAX_PICTURES]:
        if not picture.name.startswith("."):
            grid.add_row("picture", str(picture))
    if len(pictures) > MAX_PICTURES:
        grid.add_row("", f"… and {len(pictures) - MAX_PICTURES} more")
    for label, name in (
        ("best model", runfiles.BEST_MODEL),
        ("last model", runfiles.LAST_MODEL),
        ("layer summary", runfiles.SUMMARY),
    ):
        if (record.path / name).exists():
            grid.add_row(label, str(record.path / name))
    if (record.path / runfiles.ERROR_LOG).exists():
        grid.add_row("error log", str(record.path / runfiles.ERROR_LOG))
    for earlier in sorted(record.path.glob(runfiles.EARLIER_ERROR_LOG.format("*"))):
        grid.add_row("earlier error log", str(earlier))
    if not grid.rows:
        return Text("no pictures or checkpoints yet", style="dim")
    return grid


def _header_rows(record: RunRecord, info: dict[str, Any]) -> list[tuple[str, str | None]]:
    command = info.get("command")
    versions = info.get("versions")
    return [
        ("task", " / ".join(filter(None, [record.task, record.dataset])) or None),
        ("folder", str(record.path)),
        ("started", _when(info.get("started_at"))),
        ("ended", _ended(info)),
        ("heartbeat", _heartbeat(info) if record.status in ("running", "stale") else None),
        ("command", shlex.join(map(str, command)) if isinstance(command, list) else None),
        ("config file", _str(info.get("config_file"))),
        ("seed", _str(info.get("seed"))),
        ("resumed", _resumes(info.get("resumes"))),
        ("smoke", "yes" if info.get("smoke") is True else None),
        ("git commit", _str(info.get("git_commit"))),
        ("host", _host(info)),
        ("versions", _versions(versions) if isinstance(versions, dict) else None),
    ]


def _resumes(resumes: Any) -> str | None:
    """Say from which epoch, and after which ending, each resume went on."""
    if not isinstance(resumes, list) or not resumes:
        return None
    parts = []
    for entry in resumes:
        if not isinstance(entry, dict):
            continue
        part = f"after epoch {entry.get('from_epoch', '?')} "
        part += f"({_ended_as(entry.get('previous_status'))})"
        at = _when(entry.get("at"))
        parts.append(f"{part} on {at}" if at else part)
    return ", ".join(parts) or None


def _ended_as(status: Any) -> str:
    # A run still `running` when resumed had its process die without a word (SIGKILL,
    # power loss, a closed session): say that rather than "running".
    return "process died" if status == runfiles.STATUS_RUNNING else str(status or "?")


def _ended(info: dict[str, Any]) -> str | None:
    ended = _when(info.get("ended_at"))
    if ended is None:
        return None
    took = _seconds_between(info.get("started_at"), info.get("ended_at"))
    if took is None:
        return ended
    if isinstance(info.get("resumes"), list) and info["resumes"]:
        # The time it stood stopped before a resume counts too: say so.
        return f"{ended} ({format_duration(took)} after the start, stopped time included)"
    return f"{ended} (after {format_duration(took)})"


def _heartbeat(info: dict[str, Any]) -> str | None:
    beat = _when(info.get("heartbeat_at"))
    now = datetime.now(UTC).isoformat()
    age = _seconds_between(info.get("heartbeat_at"), now)
    return f"{beat} ({format_duration(age)} ago)" if beat and age is not None else beat


def _host(info: dict[str, Any]) -> str | None:
    host, pid = info.get("host"), info.get("pid")
    if not host:
        return None
    return f"{host} (pid {pid})" if pid is not None else str(host)


def _versions(versions: dict[str, Any]) -> str:
    return ", ".join(f"{name} {version}" for name, version in versions.items() if version)


def _when(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value


def _seconds_between(start: Any, end: Any) -> float | None:
    try:
        first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
        return (last.astimezone(UTC) - first.astimezone(UTC)).total_seconds()
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _metric_cell(column: str, value: float | None) -> str:
    if value is None:
        return "—"
    if column == "epoch":
        return str(int(value)) if math.isfinite(value) else str(value)
    if column == "lr":
        return f"{value:.3g}"
    if column == "seconds":
        return f"{value:.1f}"
    return format_metric(value)


def _config_syntax(record: RunRecord) -> Syntax:
    text = (record.config_text or "").rstrip("\n")
    return Syntax(text, "yaml", theme="ansi_dark", background_color="default", word_wrap=True)


def _titled(title: str, body: RenderableType) -> Group:
    return Group(Text(title, style="bold underline"), body)


def describe_path(path: Path) -> str:
    """Say why ``path`` cannot be shown, suggesting run folders found inside it.

    Args:
        path: A path that is not a run folder.

    Returns:
        A one-line message.
    """
    from cnnrun.runs.record import is_run_dir

    inside = sorted(p.name for p in path.iterdir() if is_run_dir(p)) if path.is_dir() else []
    if inside:
        return (
            f"{path} is not a run folder but holds {len(inside)} runs; "
            f"show one of them, e.g. {path / inside[-1]}"
        )
    return (
        f"{path} is not a run folder (no {runfiles.RUN}, {runfiles.CONFIG} or {runfiles.METRICS})"
    )
