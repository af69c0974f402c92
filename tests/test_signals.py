"""Ctrl-C and SIGTERM become exceptions once, and a swallowed one is raised again."""

import os
import signal

import pytest

from cnnrun import signals


def _swallowed(sig: int) -> None:
    """Deliver ``sig`` where library code catches everything (a finaliser, say)."""
    try:
        os.kill(os.getpid(), sig)
        signal.sigtimedwait([], 0.01)  # let the interpreter run the handler here
    except BaseException:  # noqa: BLE001 - the point: the exception goes astray
        pass


@pytest.mark.parametrize(
    ("sig", "exc"), [(signal.SIGTERM, signals.Terminated), (signal.SIGINT, KeyboardInterrupt)]
)
def test_a_swallowed_stop_is_raised_again_and_later_signals_are_ignored(sig, exc):
    # Whatever was installed before comes back (SIG_IGN in a shell's background job).
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with signals.stop_signals():
        signals.raise_if_stopped()  # nothing received yet: no-op
        _swallowed(sig)
        os.kill(os.getpid(), sig)  # a second one is ignored, not raised
        with pytest.raises(exc):
            signals.raise_if_stopped()
    signals.raise_if_stopped()  # the context is over: forgotten
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_the_stop_check_callback_raises_at_the_next_batch():
    from cnnrun.train.callbacks import StopCheck

    check = StopCheck()
    with signals.stop_signals():
        check.on_train_batch_end(0)
        _swallowed(signal.SIGTERM)
        with pytest.raises(signals.Terminated):
            check.on_train_batch_end(1)
        with pytest.raises(signals.Terminated):
            check.on_test_batch_end(0)


def _deliver(sig: int) -> None:
    os.kill(os.getpid(), sig)
    signal.sigtimedwait([], 0.01)  # let the interpreter run the handler here


@pytest.mark.parametrize(
    ("sig", "exc"), [(signal.SIGTERM, signals.Terminated), (signal.SIGINT, KeyboardInterrupt)]
)
def test_a_stop_inside_deferred_waits_for_the_end_of_the_block(sig, exc):
    done = []
    with signals.stop_signals():
        with pytest.raises(exc):
            with signals.deferred():
                _deliver(sig)
                done.append("the block went on")
        assert done == ["the block went on"]


def test_deferred_without_a_signal_raises_nothing():
    with signals.stop_signals():
        with signals.deferred():
            pass
        assert signals.pending_stop() is None


def test_pending_stop_names_the_signal_behind_another_error():
    with signals.stop_signals():
        _swallowed(signal.SIGTERM)
        assert isinstance(signals.pending_stop(), signals.Terminated)
    assert signals.pending_stop() is None
