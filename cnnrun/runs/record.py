"""Read run folders tolerantly, for `cnnrun compare` and `cnnrun show`.

Nothing here raises for a broken run folder: `load_run` records what it could read, a
status and one warning per problem. The module imports no TensorFlow and only
the standard library plus PyYAML, so reading hundreds of runs takes a fraction of a second.

Statuses are those of ``run.json`` (``running``, ``completed``, ``failed``,
``interrupted``) plus three that only readers assign:

- ``stale``: ``run.json`` says ``running`` but its heartbeat is older than
  `STALE_AFTER_S` and, when the run was started on this host, its process is gone.
- ``broken``: a run folder whose ``run.json`` is missing or unreadable, or a
  ``completed`` run without a readable ``results.json``.
- ``not a run``: a folder (or file) with none of the run-folder files; callers skip it.
"""

from __future__ import annotations

import csv
import io
import math
import re
import socket
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from cnnrun import locks, runfiles
from cnnrun.processes import pid_alive
from cnnrun.runs.defaults import fill_learning_rate, fill_newer_keys

STATUS_STALE = "stale"
STATUS_BROKEN = "broken"
STATUS_NOT_A_RUN = "not a run"

STALE_AFTER_S = 600.0
"""A ``running`` run whose heartbeat is older than this (seconds) may be ``stale``."""

_RUN_MARKERS = (runfiles.RUN, runfiles.CONFIG, runfiles.METRICS, runfiles.RESULTS)
_NOT_METRICS = {*runfiles.METRICS_FIRST_COLUMNS, runfiles.METRICS_LAST_COLUMN}
_LOWER_IS_BETTER = {"mse", "mae", "mape", "msle", "rmse", "logcosh", "kld", "hinge"}
_PREFIXES = ("test_", "val_")
_TOTAL_PARAMS = re.compile(r"total\s+params\s*:?\s*([\d,_ ]+)", re.IGNORECASE)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Number = float | None


@dataclass(frozen=True)
class Best:
    """The best epoch of a run for one monitored quantity.

    Attributes:
        epoch: 1-based epoch number.
        monitor: The monitored column, e.g. ``val_loss``.
        value: Its value at that epoch.
    """

    epoch: int | None
    monitor: str
    value: float | None


@dataclass
class RunRecord:
    """Everything read from one run folder; fields are empty where a file was unreadable.

    Attributes:
        path: The run folder.
        status: A ``run.json`` status, or ``stale``, ``broken`` or ``not a run``.
        reason: Why the run ended (from ``run.json``) or why it is ``broken``/``stale``.
        info: The ``run.json`` object.
        config: The resolved config (``config.yaml``), or None.
        config_text: The raw text of ``config.yaml``, or None.
        metric_columns: The ``metrics.csv`` header.
        epochs: One dict per complete ``metrics.csv`` row (None for an empty cell).
        results: The ``results.json`` object, or None.
        warnings: One line per problem found while reading.
    """

    path: Path
    status: str
    reason: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] | None = None
    config_text: str | None = None
    metric_columns: list[str] = field(default_factory=list)
    epochs: list[dict[str, Number]] = field(default_factory=list)
    results: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The run folder's name, e.g. ``20240101-120000-fashion_bn``."""
        return self.path.name

    @property
    def is_run(self) -> bool:
        """Whether the folder is a run folder at all (possibly a broken one)."""
        return self.status != STATUS_NOT_A_RUN

    @property
    def task(self) -> str | None:
        """The task (classification, segmentation, keypoints), if known."""
        return _first_str(self.info.get("task"), (self.config or {}).get("task"))

    @property
    def dataset(self) -> str | None:
        """The data set's registry name, if known."""
        data = (self.config or {}).get("data")
        from_config = data.get("dataset") if isinstance(data, dict) else None
        return _first_str(self.info.get("dataset"), from_config)

    @property
    def test(self) -> dict[str, float]:
        """Test metrics from ``results.json`` (empty when absent)."""
        test = (self.results or {}).get("test")
        if not isinstance(test, dict):
            return {}
        return {str(k): v for k, v in test.items() if _is_number(v)}

    @property
    def main_metric(self) -> str:
        """The main metric: ``accuracy`` if present, else the first non-loss metric."""
        names = [c for c in self.metric_columns if not c.startswith("val_")]
        names += list(self.test)
        config_metrics = (self.config or {}).get("metrics")
        if isinstance(config_metrics, list):
            names += [m for m in config_metrics if isinstance(m, str)]
        return main_metric(names)

    @property
    def params_total(self) -> int | None:
        """Total parameter count, from ``results.json`` or else ``summary.txt``."""
        params = (self.results or {}).get("params")
        if isinstance(params, dict) and _is_number(params.get("total")):
            return int(params["total"])
        return _params_from_summary(self.path / runfiles.SUMMARY)

    @property
    def epochs_completed(self) -> int:
        """Epochs done: ``results.json``'s count, else the rows of ``metrics.csv``."""
        done = (self.results or {}).get("epochs_completed")
        return int(done) if _is_number(done) else len(self.epochs)

    @property
    def wall_time_s(self) -> float | None:
        """Wall time from ``results.json``, else the sum of the epochs' ``seconds``."""
        wall = (self.results or {}).get("wall_time_s")
        if _is_number(wall):
            return float(wall)
        seconds = [v for v in self.series(runfiles.METRICS_LAST_COLUMN) if v is not None]
        return round(float(sum(seconds)), 3) if seconds else None

    @property
    def samples_per_s(self) -> float | None:
        """Training throughput from ``results.json``."""
        value = (self.results or {}).get("train_samples_per_s")
        return float(value) if _is_number(value) else None

    @property
    def best(self) -> Best | None:
        """The best epoch: ``results.json``'s, else computed from ``metrics.csv``."""
        best = (self.results or {}).get("best")
        if isinstance(best, dict) and isinstance(best.get("monitor"), str):
            epoch = best.get("epoch")
            value = best.get("value")
            return Best(
                epoch=int(epoch) if _is_number(epoch) else None,
                monitor=best["monitor"],
                value=float(value) if _is_number(value) else None,
            )
        return self.best_of(self._monitor())

    def series(self, column: str) -> list[Number]:
        """Return one ``metrics.csv`` column, a value per epoch (None where missing)."""
        return [row.get(column) for row in self.epochs]

    def best_of(self, column: str) -> Best | None:
        """Find the best epoch for a ``metrics.csv`` column (min for losses, else max).

        Args:
            column: A ``metrics.csv`` column, e.g. ``val_accuracy``.

        Returns:
            The best epoch, or None when the column has no finite value.
        """
        points = [
            (row.get("epoch"), row[column])
            for row in self.epochs
            if row.get(column) is not None and math.isfinite(row[column])  # type: ignore[arg-type]
        ]
        if not points:
            return None
        pick = min if is_lower_better(column) else max
        epoch, value = pick(points, key=lambda p: p[1])
        return Best(epoch=int(epoch) if epoch is not None else None, monitor=column, value=value)

    def _monitor(self) -> str:
        """Return the config's monitor (top level or a callback's), else val_loss or loss."""
        monitor = (self.config or {}).get("monitor")
        if isinstance(monitor, str) and monitor in self.metric_columns:
            return monitor
        for callback in (self.config or {}).get("callbacks") or []:
            if isinstance(callback, dict):
                for args in callback.values():
                    if isinstance(args, dict) and isinstance(args.get("monitor"), str):
                        return args["monitor"]
        return "val_loss" if "val_loss" in self.metric_columns else "loss"


def main_metric(names: Iterable[str]) -> str:
    """Pick the main metric among metric names.

    Args:
        names: Metric names, e.g. a ``metrics.csv`` header or ``results.json`` test keys.

    Returns:
        ``accuracy`` if present, else the first name that is not a loss and not a
        bookkeeping column, else ``loss``.

    Example:
        >>> main_metric(["epoch", "lr", "loss", "mean_iou", "val_loss"])
        'mean_iou'
    """
    candidates = [n for n in names if n not in _NOT_METRICS and "loss" not in n]
    candidates = [n for n in candidates if not n.startswith(_PREFIXES)]
    if "accuracy" in candidates:
        return "accuracy"
    return candidates[0] if candidates else "loss"


def is_lower_better(name: str) -> bool:
    """Whether smaller is better for a metric (losses and error-like metrics).

    Example:
        >>> is_lower_better("val_loss"), is_lower_better("test_accuracy")
        (True, False)
    """
    base = name
    for prefix in _PREFIXES:
        base = base.removeprefix(prefix)
    return "loss" in base or "error" in base or base in _LOWER_IS_BETTER


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` is a folder holding at least one run-folder file.

    Args:
        path: Any path.

    Returns:
        True for a run folder, even a half-written one; False otherwise.
    """
    path = Path(path)
    try:
        return path.is_dir() and any((path / marker).is_file() for marker in _RUN_MARKERS)
    except OSError:  # e.g. a folder we may not read
        return False


def expand_run_paths(paths: Sequence[Path]) -> Iterator[Path]:
    """Expand the paths given on the command line into candidate run folders.

    A path that is a run folder is kept; a folder that is not a run folder but holds
    run folders (such as ``runs/``) is replaced by its sub-folders (hidden ones aside),
    sorted by name, so that those that are not runs get reported too; a sub-folder that
    is a `cnnrun sweep` folder (it holds ``sweep.json``) is replaced by its trials' run
    folders in turn; anything else is kept so that `load_run` reports it. Duplicates are
    dropped.

    Args:
        paths: Paths as typed by the user.

    Yields:
        Candidate run folders, in order.
    """
    seen: set[Path] = set()
    for path in paths:
        path = Path(path)
        children: list[Path] = []
        if path.is_dir() and not is_run_dir(path):
            children = [
                grandchild
                for child in _sub_folders(path)
                for grandchild in (_sub_folders(child) if _is_sweep_dir(child) else [child])
            ]
            if not any(map(is_run_dir, children)):
                children = []
        for candidate in children or [path]:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                yield candidate


def _is_sweep_dir(path: Path) -> bool:
    return (path / runfiles.SWEEP).is_file() and not is_run_dir(path)


def _sub_folders(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_dir() and p.name[:1] != ".")
    except OSError:
        return []


def load_run(path: Path, *, now: datetime | None = None) -> RunRecord:
    """Read one run folder without ever raising for its content.

    Args:
        path: The run folder.
        now: The current time (for the stale-heartbeat check); defaults to now.

    Returns:
        A `RunRecord`; its ``status`` is ``not a run`` when ``path`` is not a run folder,
        and its ``warnings`` list every file that could not be read.
    """
    path = Path(path)
    if not path.exists():
        return RunRecord(path, STATUS_NOT_A_RUN, reason="no such file or folder")
    if not path.is_dir():
        return RunRecord(path, STATUS_NOT_A_RUN, reason="not a folder")
    if not is_run_dir(path):
        return RunRecord(path, STATUS_NOT_A_RUN, reason="no run.json, config.yaml or metrics.csv")
    record = RunRecord(path, STATUS_BROKEN)
    try:
        _read_info(record)
        _read_config(record)
        _read_metrics(record)
        _read_results(record)
        fill_learning_rate(record.config, record.epochs)  # Keras's default, as trained
        _settle_status(record, now or datetime.now(UTC))
    except OSError as error:  # a file vanished or became unreadable while we read it
        record.status, record.reason = STATUS_BROKEN, f"unreadable: {_one_line(error)}"
        record.warnings.append(record.reason)
    return record


def load_runs(paths: Sequence[Path], *, now: datetime | None = None) -> list[RunRecord]:
    """Expand ``paths`` (see `expand_run_paths`) and load every candidate.

    Args:
        paths: Run folders or folders of run folders.
        now: The current time, for the stale check.

    Returns:
        One record per candidate, ``not a run`` ones included.
    """
    now = now or datetime.now(UTC)
    records = [load_run(p, now=now) for p in expand_run_paths(paths)]
    fill_newer_keys([r.config for r in records])  # older runs next to newer ones
    return records


def _read_info(record: RunRecord) -> None:
    info = _read_json_tolerantly(record, runfiles.RUN)
    if info is None:
        record.reason = f"{runfiles.RUN} is missing or unreadable"
        return
    record.info = info
    status = info.get("status")
    if status in runfiles.STATUSES:
        record.status = status
        record.reason = info.get("reason") if isinstance(info.get("reason"), str) else None
    else:
        record.reason = f"{runfiles.RUN}: unknown status {status!r}"
        record.warnings.append(record.reason)


def _read_config(record: RunRecord) -> None:
    file = record.path / runfiles.CONFIG
    if not file.is_file():
        record.warnings.append(f"{runfiles.CONFIG} is missing")
        return
    try:
        text = file.read_text(encoding="utf-8")
        config = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        record.warnings.append(f"{runfiles.CONFIG} is unreadable: {_one_line(error)}")
        return
    record.config_text = text
    if isinstance(config, dict):
        record.config = config
    else:
        record.warnings.append(f"{runfiles.CONFIG}: expected a mapping")


def _read_metrics(record: RunRecord) -> None:
    file = record.path / runfiles.METRICS
    if not file.is_file():
        return
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        record.warnings.append(f"{runfiles.METRICS} is unreadable: {_one_line(error)}")
        return
    columns, rows, problems = parse_metrics_csv(text)
    record.metric_columns, record.epochs = columns, rows
    record.warnings.extend(f"{runfiles.METRICS}: {p}" for p in problems)


def parse_metrics_csv(text: str) -> tuple[list[str], list[dict[str, Number]], list[str]]:
    """Parse ``metrics.csv`` text, dropping torn or malformed rows.

    Args:
        text: The file's content.

    Returns:
        The header, one dict per complete row (cells that are empty or not numbers are
        None), and one message per dropped row.
    """
    reader = csv.reader(io.StringIO(text))
    header = [c.strip() for c in next(reader, [])]
    rows: list[dict[str, Number]] = []
    problems: list[str] = []
    for line_number, cells in enumerate(reader, start=2):
        if not cells:
            continue
        if len(cells) != len(header):
            problems.append(f"line {line_number} has {len(cells)} fields, expected {len(header)}")
            continue
        rows.append({name: _to_number(cell) for name, cell in zip(header, cells, strict=True)})
    return header, rows, problems


def _read_results(record: RunRecord) -> None:
    if not (record.path / runfiles.RESULTS).exists():
        return
    record.results = _read_json_tolerantly(record, runfiles.RESULTS)


def _read_json_tolerantly(record: RunRecord, name: str) -> dict[str, Any] | None:
    file = record.path / name
    if not file.is_file():
        return None
    try:
        return runfiles.read_json(file)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        record.warnings.append(f"{name} is unreadable: {_one_line(error)}")
        return None


def _settle_status(record: RunRecord, now: datetime) -> None:
    if record.status == runfiles.STATUS_COMPLETED and record.results is None:
        record.status = STATUS_BROKEN
        record.reason = f"completed but {runfiles.RESULTS} is missing or unreadable"
    elif record.status == runfiles.STATUS_RUNNING:
        free = locks.is_free(record.path)
        if free is not None:  # the training process holds the lock for as long as it lives
            if free:
                record.status = STATUS_STALE
                record.reason = (
                    "still 'running' but the training process is gone (its lock is free)"
                )
            return
        silence = _silence_s(record.info, now)  # a run without a lock file (older cnnrun)
        if silence is not None and _is_stale(record.info, silence):
            record.status = STATUS_STALE
            record.reason = (
                f"still 'running' but no heartbeat for {silence / 60:.0f} minutes: "
                "the training process is gone"
            )


def _silence_s(info: dict[str, Any], now: datetime) -> float | None:
    """Return the seconds since the last heartbeat (or the start), None if unknown."""
    beat = _parse_time(info.get("heartbeat_at")) or _parse_time(info.get("started_at"))
    return None if beat is None else (now - beat).total_seconds()


def _is_stale(info: dict[str, Any], silence_s: float) -> bool:
    if silence_s <= STALE_AFTER_S:
        return False
    pid = info.get("pid")
    if info.get("host") == socket.gethostname() and isinstance(pid, int):
        return not pid_alive(pid)
    return True


def _parse_time(value: Any) -> datetime | None:
    """Parse an ISO-8601 time; a naive one is taken as local time."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        return None


def _params_from_summary(file: Path) -> int | None:
    try:
        match = _TOTAL_PARAMS.search(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    digits = re.sub(r"\D", "", match.group(1)) if match else ""
    return int(digits) if digits else None


def _to_number(cell: str) -> Number:
    try:
        return float(cell)
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _first_str(*values: Any) -> str | None:
    return next((v for v in values if isinstance(v, str) and v), None)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


# ---------------------------------------------------------------------------------------
# Config flattening and differences
# ---------------------------------------------------------------------------------------

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
"""Marks a dotted key that a config does not have."""

_EXCLUDED_KEYS = {"name", "data.dataset"}  # already shown as the run and dataset columns
_LAYER_ABBREVIATIONS = {
    "BatchNormalization": "BN",
    "LayerNormalization": "LN",
    "MaxPooling2D": "MaxPool",
    "AveragePooling2D": "AvgPool",
    "GlobalAveragePooling2D": "GAP",
    "GlobalMaxPooling2D": "GMP",
    "SeparableConv2D": "SepConv2D",
    "Conv2DTranspose": "ConvT2D",
    "UpSampling2D": "UpSample",
}
SEPARATOR = "→"
"""Joins layer labels in a `layer_chain`."""
_LAYER_MAIN_ARGS = ("filters", "units", "rate", "pool_size", "size", "kernel_size")


def is_layer_item(item: Any) -> bool:
    """Whether a list item looks like a layer: ``Flatten`` or ``{Dense: ...}``."""
    if isinstance(item, str):
        return item[:1].isupper()
    return isinstance(item, dict) and len(item) == 1 and str(next(iter(item)))[:1].isupper()


def layer_type(item: Any) -> str:
    """Return the class name of a layer item."""
    return item if isinstance(item, str) else str(next(iter(item)))


def layer_label(item: Any) -> str:
    """Label a layer item compactly: ``Conv2D(32,3)``, ``BN``, ``Dropout(0.25)``.

    Example:
        >>> layer_label({"Conv2D": {"filters": 32, "kernel_size": 3, "activation": "relu"}})
        'Conv2D(32,3)'
    """
    kind = layer_type(item)
    short = _LAYER_ABBREVIATIONS.get(kind, kind)
    args = None if isinstance(item, str) else item[kind]
    if isinstance(args, dict):
        values = [args[k] for k in _LAYER_MAIN_ARGS if k in args and args[k] is not None]
    elif isinstance(args, list):
        values = [_compact(args)]
    else:
        values = [] if args is None else [args]
    return f"{short}({','.join(_compact(v) for v in values)})" if values else short


def layer_chain(items: Sequence[Any]) -> str:
    """Render a layer list compactly: ``Conv2D(32,3)→BN→Dropout(0.25)→Flatten→Dense(10)``."""
    return SEPARATOR.join(layer_label(item) for item in items)


def _compact(value: Any) -> str:
    if isinstance(value, list | tuple):
        if value and len(set(map(str, value))) == 1 and len(value) == 2:
            return f"{value[0]}x{value[0]}"
        return "x".join(_compact(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _is_layer_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(map(is_layer_item, value))


def _is_leaf_list(value: list[Any]) -> bool:
    return not any(isinstance(v, dict | list) for v in value)


def _layer_lists(config: Any, prefix: str = "") -> Iterator[tuple[str, list[Any]]]:
    """Yield ``(dotted key, list)`` for every layer list inside ``config``."""
    if isinstance(config, dict):
        for key, value in config.items():
            yield from _layer_lists(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(config, list):
        if _is_layer_list(config):
            yield prefix, config
        for index, value in enumerate(config):
            yield from _layer_lists(value, f"{prefix}[{index}]")


def flatten_config(
    config: Any, prefix: str = "", *, compact: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Flatten a nested config to dotted keys with list indices.

    Lists of scalars (``input_shape: [28, 28, 1]``) stay one value; other lists are
    indexed. A bare layer name is the value of its index (``model.layers[4]: Flatten``).

    Args:
        config: The config (or any part of it).
        prefix: The dotted key of ``config`` itself.
        compact: Dotted keys of layer lists to render as one `layer_chain` string.

    Returns:
        An ordered mapping from dotted key to leaf value.

    Example:
        >>> flatten_config({"model": {"layers": ["Flatten", {"Dropout": 0.25}]}})
        {'model.layers[0]': 'Flatten', 'model.layers[1].Dropout': 0.25}
    """
    if prefix in compact and isinstance(config, list):
        return {prefix: layer_chain(config)}
    if isinstance(config, dict) and config:
        flat: dict[str, Any] = {}
        for key, value in config.items():
            child = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_config(value, child, compact=compact))
        return flat
    if isinstance(config, list) and config and not _is_leaf_list(config):
        flat = {}
        for index, value in enumerate(config):
            flat.update(flatten_config(value, f"{prefix}[{index}]", compact=compact))
        return flat
    return {prefix: config}


@dataclass(frozen=True)
class ConfigDiff:
    """The config keys that differ between runs, and each run's value for them.

    Attributes:
        keys: Dotted keys whose values differ, in config order.
        compacted: Layer-list keys rendered as one chain because their structure differs.
        values: One mapping per input config, from each key to its value (or `MISSING`).
    """

    keys: list[str]
    compacted: frozenset[str]
    values: list[dict[str, Any]]


def diff_configs(configs: Sequence[dict[str, Any] | None]) -> ConfigDiff:
    """Find the config keys whose values differ between runs.

    Layer lists with the same length and layer types in every run are compared per
    index (``model.layers[3].Dropout``); layer lists that differ in length or types become
    one ``model.layers`` value rendered with `layer_chain`. A section that is null in
    one run and a mapping in another (``schedule: null``) shows as null in each of the
    mapping's keys. ``name`` and ``data.dataset`` are left out (the run folder's name
    and the dataset column already say them). None configs are ignored.

    Args:
        configs: One config per run (None where unreadable).

    Returns:
        The differing keys and, for every input config, its values for those keys.
    """
    present = [c for c in configs if c is not None]
    compacted = _differing_layer_lists(present)
    flats = [flatten_config(c, compact=compacted) if c is not None else {} for c in configs]
    present_flats = [f for f, c in zip(flats, configs, strict=True) if c is not None]
    order: dict[str, None] = {}
    for flat in present_flats:
        order.update(dict.fromkeys(flat))
    parents = {a for key in order for a in _ancestors(key)}
    parents = {p for p in parents if all(f.get(p) is None for f in present_flats)}
    values = [
        {key: _lookup(flat, key) for key in order if key not in parents} if c is not None else {}
        for flat, c in zip(flats, configs, strict=True)
    ]
    present_values = [v for v, c in zip(values, configs, strict=True) if c is not None]
    keys = [
        key
        for key in order
        if key not in parents
        and key not in _EXCLUDED_KEYS
        and _differs([v[key] for v in present_values])
    ]
    values = [{key: v.get(key, MISSING) for key in keys} for v in values]
    return ConfigDiff(keys=keys, compacted=compacted, values=values)


def _ancestors(key: str) -> list[str]:
    """Return the dotted keys above ``key``: ``a.b[2].c`` gives ``a``, ``a.b``, ``a.b[2]``."""
    return [key[: m.start()] for m in re.finditer(r"[.\[]", key) if m.start() > 0]


def _lookup(flat: dict[str, Any], key: str) -> Any:
    """Return ``flat[key]``; None when an ancestor of ``key`` is null; else `MISSING`."""
    if key in flat:
        return flat[key]
    if any(flat.get(a, MISSING) is None for a in _ancestors(key)):
        return None
    return MISSING


def differing_keys(records: Sequence[RunRecord]) -> list[str]:
    """Return the dotted config keys whose values differ between runs (see `diff_configs`)."""
    return diff_configs([r.config for r in records]).keys


def _differing_layer_lists(configs: Sequence[dict[str, Any]]) -> frozenset[str]:
    shapes: dict[str, set[tuple[str, ...]]] = {}
    for config in configs:
        for key, items in _layer_lists(config):
            shapes.setdefault(key, set()).add(tuple(map(layer_type, items)))
    return frozenset(key for key, seen in shapes.items() if len(seen) > 1)


def _differs(values: list[Any]) -> bool:
    first = values[0]
    return any(v is not first and (v is MISSING or first is MISSING or v != first) for v in values)
