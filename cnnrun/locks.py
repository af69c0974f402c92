"""One process at a time per run folder or sweep folder: an OS lock on ``FOLDER/.lock``.

The lock is ``flock`` on an open file, so the kernel frees it whenever its process ends,
SIGKILL included: a free lock on a folder whose ``run.json`` says ``running`` means the
training process is gone. The file holds the holder's pid, host, start time and command,
for the message of whoever finds the folder in use; it is written in place (the lock is
on the file itself, never replace it) and left behind when the lock is released.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from cnnrun import runfiles
from cnnrun.errors import DataError

_HELD: dict[Path, int] = {}  # folder -> open file descriptor holding its lock


def hold(folder: Path) -> None:
    """Take the lock of ``folder`` for the rest of this process (or until :func:`release`).

    Taking a lock this process already holds does nothing.

    Raises:
        DataError: When another process holds it (the message names its pid and host).
    """
    key = Path(folder).resolve()
    if key in _HELD:
        return
    fd = os.open(key / runfiles.LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise DataError(
            f"{folder} is in use by {holder}: wait for that process to end, or stop it"
        ) from None
    except OSError:  # a file system without locks: carry on unlocked, as before
        os.close(fd)
        return
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": ["cnnrun", *sys.argv[1:]],
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
    _HELD[key] = fd


def check_free(folder: Path) -> None:
    """Raise what :func:`hold` would when another process holds the lock; write nothing.

    Raises:
        DataError: When another process holds it (the message names its pid and host).
    """
    if Path(folder).resolve() in _HELD or is_free(folder) is not False:
        return
    fd = os.open(Path(folder) / runfiles.LOCK, os.O_RDONLY | os.O_CLOEXEC)
    try:
        holder = _holder(fd)
    finally:
        os.close(fd)
    raise DataError(f"{folder} is in use by {holder}: wait for that process to end, or stop it")


def release(folder: Path) -> None:
    """Give back the lock of ``folder`` if this process holds it (the file stays)."""
    fd = _HELD.pop(Path(folder).resolve(), None)
    if fd is not None:
        os.close(fd)


def is_free(folder: Path) -> bool | None:
    """Whether no process holds the lock of ``folder``; None when it has no lock file.

    Only reads: a folder without a lock file is left without one.
    """
    try:
        fd = os.open(Path(folder) / runfiles.LOCK, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return None
    finally:
        os.close(fd)  # closing also drops the shared lock taken just above
    return True


def _holder(fd: int) -> str:
    """Who holds the lock, as its file says (the holder may still be writing it)."""
    info: dict[str, Any] = {}
    for _ in range(50):
        try:
            raw = json.loads(os.pread(fd, 4096, 0) or b"null")
        except ValueError:
            raw = None
        if isinstance(raw, dict):
            info = raw
            break
        time.sleep(0.01)
    pid = info.get("pid", "?")
    host = info.get("host", "an unknown host")
    since = f" (since {info['started_at']})" if isinstance(info.get("started_at"), str) else ""
    return f"pid {pid} on {host}{since}"
