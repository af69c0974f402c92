"""What a run needs to continue after a stop: per-epoch checkpoints and ``state.json``.

After each epoch the model (with its optimizer state) is saved to
``checkpoints/epoch-NNNN.keras`` and then ``checkpoints/state.json`` is rewritten to
point at it, with what Keras does not save in the model: the callbacks' counters, the best
value so far, and the random-generator states of layers such as Dropout. Both writes are
atomic (temp file + fsync + rename), so a kill at any instant leaves a consistent pair; the
two newest checkpoints are kept, so a damaged newest one falls back to the one before.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnrun import runfiles
from cnnrun.errors import DataError

STATE = "checkpoints/state.json"
KEEP = 2

# Keras callbacks whose counters must survive a resume, and the attributes that hold them.
CALLBACK_STATE = {
    "EarlyStopping": ("wait", "stopped_epoch", "best", "best_epoch"),
    "ReduceLROnPlateau": ("wait", "best", "cooldown_counter"),
    "Checkpointer": ("best_value", "best_epoch"),
}


def epoch_checkpoint(epoch: int) -> str:
    """The run-relative path of the checkpoint saved after ``epoch`` (1-based)."""
    return f"{runfiles.CHECKPOINTS}/epoch-{epoch:04d}.keras"


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # 'inf', '-inf', 'nan': JSON has no such numbers
    if hasattr(value, "item"):
        return _plain(value.item())
    return value


def _unplain(value: Any) -> Any:
    return float(value) if value in ("inf", "-inf", "nan") else value


def callback_state(callbacks: list[Any]) -> dict[str, dict[str, Any]]:
    """The counters of the callbacks listed in ``CALLBACK_STATE``, by class name."""
    state: dict[str, dict[str, Any]] = {}
    for cb in callbacks:
        attrs = CALLBACK_STATE.get(type(cb).__name__)
        if attrs:
            state[type(cb).__name__] = {a: _plain(getattr(cb, a, None)) for a in attrs}
    return state


def restore_callback_state(callbacks: list[Any], state: dict[str, dict[str, Any]]) -> None:
    """Put saved counters back (call after the callbacks' own ``on_train_begin``)."""
    for cb in callbacks:
        saved = state.get(type(cb).__name__)
        for attr, value in (saved or {}).items():
            setattr(cb, attr, _unplain(value))


def rng_state(model: Any) -> dict[str, list[int]]:
    """The seed-generator states of the model's layers (Dropout, ...), by variable path."""
    return {
        v.path: [int(i) for i in v.numpy().ravel()]
        for v in model.variables
        if "seed_generator_state" in v.path
    }


def restore_rng_state(model: Any, state: dict[str, list[int]]) -> None:
    """Assign saved seed-generator states."""
    import numpy as np

    for v in model.variables:
        if v.path in state:
            v.assign(np.asarray(state[v.path], dtype=v.dtype).reshape(v.shape))


@dataclass
class EpochState:
    """Everything recorded after one epoch."""

    epoch: int
    checkpoint: str
    callbacks: dict[str, dict[str, Any]]
    rng: dict[str, list[int]]


def save(
    run_dir: Path, model: Any, epoch: int, callbacks: list[Any], is_best: bool = False
) -> None:
    """Checkpoint the model after ``epoch`` and record the state to resume from it.

    ``last.keras`` (and ``best.keras`` when ``is_best``) become hard links to the new
    checkpoint, so the model is written once per epoch.

    Raises:
        OSError: When the disk is full or not writable; the previous checkpoint and state
            stay intact.
    """
    run_dir = Path(run_dir)
    ckpt = epoch_checkpoint(epoch)
    final = run_dir / ckpt
    tmp = final.with_name(f".tmp-{final.name}")  # keeps the .keras suffix Keras requires
    try:
        save_keras(model, tmp)
        _fsync(tmp)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    history = [e for e in _read(run_dir) if e["epoch"] < epoch]
    entry = EpochState(epoch, ckpt, callback_state(callbacks), rng_state(model))
    history = [*history, entry.__dict__][-KEEP:]
    runfiles.atomic_write_text(run_dir / STATE, json.dumps({"epochs": history}, indent=1))
    _link(final, run_dir / runfiles.LAST_MODEL)
    if is_best:
        _link(final, run_dir / runfiles.BEST_MODEL)
    keep = {e["checkpoint"] for e in history}
    for old in (run_dir / runfiles.CHECKPOINTS).glob("epoch-*.keras"):
        if f"{runfiles.CHECKPOINTS}/{old.name}" not in keep:
            old.unlink(missing_ok=True)


def save_keras(model: Any, path: Path) -> None:
    """Write ``model`` as a ``.keras`` file without holding its weights in memory.

    Keras zips the weights through an in-memory buffer when it thinks memory suffices (a
    model's size more, at every checkpoint); here they go to a file next to ``path`` first
    and are streamed into the same zip layout, which ``keras.saving.load_model`` reads.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix=f".tmp-{path.name}-", dir=path.parent) as scratch:
        folder = Path(scratch) / "model"
        model.save(folder, zipped=False)
        first = ["metadata.json", "config.json"]  # Keras's own order
        rest = sorted(f.relative_to(folder).as_posix() for f in folder.rglob("*") if f.is_file())
        with zipfile.ZipFile(path, "w") as zf:
            for name in first + [n for n in rest if n not in first]:
                zf.write(folder / name, name)


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _link(target: Path, link: Path) -> None:
    """Make ``link`` a hard link to ``target``, replaced atomically."""
    tmp = link.with_name(f".tmp-{link.name}")
    tmp.unlink(missing_ok=True)
    try:
        os.link(target, tmp)
    except OSError:  # file systems without hard links
        import shutil

        shutil.copyfile(target, tmp)
    os.replace(tmp, link)


def _read(run_dir: Path) -> list[dict[str, Any]]:
    """The epochs ``state.json`` records (none when it does not exist).

    Raises:
        DataError: When it exists but is not what :func:`save` writes.
    """
    path = Path(run_dir) / STATE
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _damaged(path, f"not readable JSON ({type(exc).__name__})") from None
    epochs = data.get("epochs") if isinstance(data, dict) else None
    if not isinstance(epochs, list) or not epochs:
        raise _damaged(path, 'expected {"epochs": [...]} with at least one epoch')
    for entry in epochs:
        problem = _entry_problem(entry)
        if problem:
            raise _damaged(path, problem)
    return epochs


def _entry_problem(entry: Any) -> str | None:
    """What is wrong with one epoch entry of ``state.json``, or None."""
    if not isinstance(entry, dict):
        return f"an epoch entry is a {type(entry).__name__}, not a mapping"
    epoch = entry.get("epoch")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 1:
        return f"epoch {epoch!r} is not a number of epochs"
    if entry.get("checkpoint") != epoch_checkpoint(epoch):
        return f"epoch {epoch}'s checkpoint is {entry.get('checkpoint')!r}"
    if not isinstance(entry.get("callbacks"), dict):
        return f"epoch {epoch}'s callbacks are not a mapping"
    rng = entry.get("rng")
    if not isinstance(rng, dict) or not all(
        isinstance(v, list) and all(isinstance(i, int) for i in v) for v in rng.values()
    ):
        return f"epoch {epoch}'s rng states are not lists of integers"
    if set(entry) != {"epoch", "checkpoint", "callbacks", "rng"}:
        return f"epoch {epoch} has other keys: {sorted(map(str, entry))}"
    return None


def _damaged(path: Path, what: str) -> DataError:
    return DataError(f"{path}: {what}; the run was left as it was")


def check_resumable_files(run_dir: Path, epochs_completed: int, completed: bool) -> None:
    """Check ``state.json`` and ``metrics.csv`` before a resume writes anything.

    An epoch's metrics row (and heartbeat) is written just before its checkpoint, so a
    stop in between leaves one epoch without a state; two, or a completed run, cannot.

    Raises:
        DataError: When one is damaged, or state.json is missing behind completed epochs
            (the run would silently start again from epoch 1).
    """
    states = _read(run_dir)
    rows = _metric_rows(Path(run_dir) / runfiles.METRICS)
    if not states and (completed or max(epochs_completed, rows) >= 2):
        raise _damaged(
            Path(run_dir) / STATE,
            f"missing, although {max(epochs_completed, rows)} epoch(s) were completed "
            "(without it the run would start again from epoch 1)",
        )


def _metric_rows(path: Path) -> int:
    """The number of epochs ``metrics.csv`` records, checking every cell.

    Raises:
        DataError: When it is not UTF-8, lacks the header, or a row is malformed.
    """
    if not path.exists():
        return 0
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise _damaged(path, f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise _damaged(path, f"unreadable ({exc.strerror})") from None
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0] if rows else []
    if tuple(header[:2]) != runfiles.METRICS_FIRST_COLUMNS:
        raise _damaged(
            path, f"the header does not start with {','.join(runfiles.METRICS_FIRST_COLUMNS)}"
        )
    n = 0
    for line, cells in enumerate(rows[1:], start=2):
        if not cells:
            continue
        n += 1
        if len(cells) != len(header) or cells[0] != str(n):
            raise _damaged(path, f"line {line} is not the row of epoch {n}")
        for name, cell in zip(header[1:], cells[1:], strict=True):
            try:
                float(cell) if cell.strip() else None
            except ValueError:
                raise _damaged(path, f"line {line}: {name} is not a number") from None
    return n


def candidates(run_dir: Path) -> list[EpochState]:
    """Saved epoch states, newest first."""
    return [EpochState(**e) for e in reversed(_read(run_dir))]
