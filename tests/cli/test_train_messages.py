"""Issue 13: what `train` says — warnings worded as warnings, real paths in hints, an ETA.

- A missed ``expect:`` without ``--check`` prints ``error: expectation not met ...`` and
  exits 0 today: it is a warning, and must be worded as one (``error:`` only with a
  non-zero exit).
- After Ctrl-C (and SIGTERM) the hint says ``cnnrun train --resume RUN_DIR`` with the
  placeholder: print the real path, and keep the run folder as stdout's last line.
- In a terminal, the in-epoch progress bar has no ETA and no samples/s.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest
from cli_helpers import TINY, cli_popen, plain, run_in_terminal, train_tiny

MISSED = TINY + 'expect: {test.accuracy: ">= 0.999"}\n'


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().lower().startswith("error")]


def test_a_missed_expectation_without_check_is_a_warning(tmp_path):
    result, run = train_tiny(tmp_path, tmp_path / "runs", "--epochs", "1", text=MISSED)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert not _error_lines(out), "exit 0 but the output says error:\n" + out
    warned = [line for line in out.splitlines() if line.lower().startswith("warning")]
    assert any("expect" in line for line in warned), "no warning about the expectation:\n" + out
    assert result.stdout.strip().splitlines()[-1] == str(run)


def test_a_missed_expectation_with_check_is_an_error(tmp_path):
    """Guard (passes today): with --check the miss is an error, exit 3."""
    result, _ = train_tiny(tmp_path, tmp_path / "runs", "--epochs", "1", "--check", text=MISSED)
    assert result.returncode == 3, result.stdout + result.stderr
    assert any("expect" in line for line in _error_lines(result.stderr)), result.stderr


def _first_epoch_written(runs: Path, proc, timeout: float = 180.0) -> Path:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, "training ended before it could be stopped"
        for metrics in runs.glob("*/metrics.csv"):
            if len(metrics.read_text().splitlines()) > 1:
                return metrics.parent
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("training did not reach its first epoch")


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"]
)
def test_a_stopped_run_names_its_folder_in_the_resume_hint_and_last(tmp_path, sig, code):
    config = tmp_path / "long.yaml"
    config.write_text(TINY.replace("epochs: 2", "epochs: 400"))
    runs = tmp_path / "runs"
    proc = cli_popen("train", config, "--runs-dir", runs)
    run = _first_epoch_written(runs, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err[-3000:]
    assert "RUN_DIR" not in err, "the hint shows a placeholder, not the run:\n" + err
    assert f"cnnrun train --resume {run}" in err.replace("`", ""), err
    assert out.strip().splitlines()[-1] == str(run), "stdout's last line is not the run:\n" + out


def test_the_progress_bar_in_a_terminal_shows_eta_and_samples_per_second(tmp_path):
    """Run in a pseudo-terminal: an epoch of 500 small batches shows the bar for seconds."""
    config = tmp_path / "bar.yaml"
    config.write_text(
        TINY.replace("limit: 96", "limit: 4000").replace("batch_size: 16", "batch_size: 8")
    )
    code, raw = run_in_terminal(
        "train", config, "--runs-dir", tmp_path / "runs", "--epochs", "1", columns=120
    )
    out = plain(raw)
    assert code == 0, out[-3000:]
    assert "━" in out, "no progress bar was drawn:\n" + out[-3000:]  # the bar itself
    frames = [line for line in re.split(r"[\r\n]", out) if "━" in line]
    assert any(re.search(r"\beta\b", f, re.IGNORECASE) for f in frames), (
        "the progress bar has no ETA:\n" + "\n".join(frames[-5:])
    )
    assert any(re.search(r"samples/s|examples/s", f) for f in frames), (
        "the progress bar has no samples/s:\n" + "\n".join(frames[-5:])
    )
