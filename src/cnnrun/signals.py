"""Turning Ctrl-C and SIGTERM into exceptions, once (no TensorFlow here)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any

STOPS = (signal.SIGINT, signal.SIGTERM)


class Terminated(BaseException):
    """SIGTERM arrived (a scheduler or ``kill`` stopped the process)."""


@contextlib.contextmanager
def _handling(handler: Any) -> Iterator[None]:
    """Install ``handler`` for Ctrl-C and SIGTERM, restoring the previous ones after."""
    try:
        previous = {s: signal.signal(s, handler) for s in STOPS}
    except ValueError:  # not the main thread: signals stay as they are
        yield
        return
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _raise_once(signum: int, frame: Any) -> None:
    for sig in STOPS:
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def stop_signals() -> contextlib.AbstractContextManager[None]:
    """SIGTERM raises :class:`Terminated`, Ctrl-C ``KeyboardInterrupt`` — once.

    The first signal also ignores the ones after it, so a second Ctrl-C or SIGTERM cannot
    cut short what the caller does to record the stop.
    """
    return _handling(_raise_once)


def ignored() -> contextlib.AbstractContextManager[None]:
    """Ignore Ctrl-C and SIGTERM for the duration (while a stop is being recorded)."""
    return _handling(signal.SIG_IGN)
