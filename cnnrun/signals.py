"""Turning Ctrl-C and SIGTERM into exceptions, once (no TensorFlow here)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any

STOPS = (signal.SIGINT, signal.SIGTERM)

# The stop signal received inside `stop_signals()`, kept until the context ends: an
# exception raised by a handler can be swallowed (it lands in a finaliser or in library code
# that catches everything), and the handler has already ignored the next signals.
_pending: list[int] = []
# Inside `deferred()` the handler only records the signal: raised there, the exception
# could leave a file half-written or be turned into another error by the library code it
# interrupts (Keras's saving raises UnboundLocalError from its `finally`).
_deferring: list[bool] = []


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


def _stop(signum: int) -> BaseException:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _raise_once(signum: int, frame: Any) -> None:
    for sig in STOPS:
        signal.signal(sig, signal.SIG_IGN)
    _pending.append(signum)
    if not _deferring:
        raise _stop(signum)


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated`, Ctrl-C ``KeyboardInterrupt`` — once.

    The first signal also ignores the ones after it, so a second Ctrl-C or SIGTERM cannot
    cut short what the caller does to record the stop. Code running inside should call
    :func:`raise_if_stopped` at safe points, in case the first exception was swallowed.
    """
    _pending.clear()
    try:
        with _handling(_raise_once):
            yield
    finally:
        _pending.clear()


def raise_if_stopped() -> None:
    """Raise again the stop of a signal received earlier whose exception went astray.

    Raises:
        Terminated: SIGTERM was received.
        KeyboardInterrupt: Ctrl-C was received.
    """
    if _pending:
        raise _stop(_pending[0])


def pending_stop() -> BaseException | None:
    """The stop (``KeyboardInterrupt`` or :class:`Terminated`) of a signal received, if any.

    For code that caught another exception and must know whether a stop caused it.
    """
    return _stop(_pending[0]) if _pending else None


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold a Ctrl-C or SIGTERM until the block ends, then raise it (checkpoint saving).

    Raises:
        Terminated: SIGTERM arrived during the block.
        KeyboardInterrupt: Ctrl-C arrived during the block.
    """
    _deferring.append(True)
    try:
        yield
    finally:
        _deferring.pop()
    if not _deferring:
        raise_if_stopped()


def ignored() -> contextlib.AbstractContextManager[None]:
    """Ignore Ctrl-C and SIGTERM for the duration (while a stop is being recorded)."""
    return _handling(signal.SIG_IGN)
