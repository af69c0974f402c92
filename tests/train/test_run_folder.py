"""run.json across resumes: history kept, a failed attempt's traceback moved aside."""

from __future__ import annotations

import json

from run_factory import make_run

from cnnrun import runfiles
from cnnrun.train.run_folder import RunJournal


def _record(run) -> dict:
    return json.loads((run / runfiles.RUN).read_text())


def test_resume_moves_each_failed_attempts_error_log_aside_under_its_number(tmp_path):
    run = make_run(tmp_path, status="failed", reason="OSError: disk full", results=False)
    (run / runfiles.ERROR_LOG).write_text("trace one\n")
    RunJournal.resume(run, from_epoch=2).finish(runfiles.STATUS_FAILED, "OSError: again")
    (run / runfiles.ERROR_LOG).write_text("trace two\n")
    RunJournal.resume(run, from_epoch=3)

    assert not (run / runfiles.ERROR_LOG).exists()
    assert (run / "error-before-resume-1.log").read_text() == "trace one\n"
    assert (run / "error-before-resume-2.log").read_text() == "trace two\n"
    resumes = _record(run)["resumes"]
    assert [(r["from_epoch"], r["previous_status"], r["error_log"]) for r in resumes] == [
        (2, "failed", "error-before-resume-1.log"),
        (3, "failed", "error-before-resume-2.log"),
    ]
    assert _record(run)["status"] == runfiles.STATUS_RUNNING


def test_resume_without_an_error_log_records_no_log(tmp_path):
    run = make_run(tmp_path, status="interrupted", results=False)
    RunJournal.resume(run, from_epoch=1)
    (entry,) = _record(run)["resumes"]
    assert "error_log" not in entry and entry["previous_status"] == "interrupted"
    assert not list(run.glob("error*.log"))
