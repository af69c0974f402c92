from rich.console import Console
from run_factory import make_run, metric_rows, results_for

from cnnrun.runs.class_table import class_table
from cnnrun.runs.compare import build_comparison
from cnnrun.runs.record import load_run
from cnnrun.runs.show import print_run
from cnnrun.train.class_report import class_report, confusion_matrix


def _results(macro_f1_of: list[int]) -> dict:
    rows = metric_rows(2)
    results = results_for(rows, ["accuracy"], 1000)
    report = class_report(confusion_matrix([0, 0, 1, 1], macro_f1_of, 2), ["cat", "dog"])
    results["per_class"] = report
    results["test"]["macro_f1"] = report["macro"]["f1"]
    return results


def test_show_prints_the_per_class_table(tmp_path):
    run = make_run(tmp_path / "r", results=_results([0, 1, 1, 1]))
    console = Console(record=True, width=140)
    print_run(load_run(run), console)
    text = console.export_text()
    assert "Per class (test)" in text
    cat = next(line for line in text.splitlines() if line.strip("│ ").startswith("cat "))
    assert "1.0000" in cat and "0.5000" in cat and "dog (50%)" in cat  # precision, recall
    assert "macro avg" in text


def test_compare_sorts_by_macro_f1(tmp_path):
    good = make_run(tmp_path / "good", results=_results([0, 0, 1, 1]))
    bad = make_run(tmp_path / "bad", results=_results([1, 1, 1, 1]))
    comparison = build_comparison([load_run(bad), load_run(good)], sort="macro_f1")
    assert [r.path for r in comparison.records] == [good, bad]
    assert comparison.sort.label == "test_macro_f1" and comparison.sort.descending


def test_a_malformed_report_is_a_note_not_a_crash():
    assert "no per-class results" in str(class_table({"names": ["a"], "precision": []}))
