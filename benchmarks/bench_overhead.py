"""cnnrun's training speed against a plain Keras script of the same model, data and batch size.

For each chapter config, ``cnnrun train`` and ``benchmarks/plain/<config>.py`` are run one
after the other (ABBA order: cnnrun, plain, plain, cnnrun, ...), each in a fresh process, on
the same first N training examples, the same validation (test set or the last fraction of
the training examples) and the same number of epochs.

- Epoch time: cnnrun's ``metrics.csv`` ``seconds``; the plain script's own callback
  (``on_epoch_begin`` → ``on_epoch_end``: both include validation). The median over epochs
  2..E (epoch 1 includes tracing) and over repetitions.
- Samples/s: training examples / that epoch time. Ratio: cnnrun epoch / plain epoch (the
  requirement: at most 1.05).
- Fit wall ratio: the whole ``model.fit`` (epoch 1, callbacks between epochs, checkpoints
  included) of cnnrun over the plain script's.
- Peak memory: the max RSS of each child process (``os.wait4``).

Real data is read from ``$CNNRUN_SHARED_DATA`` (``make bench`` sets it to ../shared/data);
without it, cnnrun trains on its ``synthetic`` data set and the plain script on the same
arrays written to an ``.npz``.

Usage:
    python benchmarks/bench_overhead.py --out benchmarks/results [--quick]
        [--configs mnist_convnet,fashion_bn] [--reps 3] [--epochs 3]

Writes ``OUT/overhead.md`` and ``OUT/overhead.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PLAIN = REPO / "benchmarks" / "plain"
MAX_RATIO = 1.05
CHILD_TIMEOUT_S = 600


@dataclass(frozen=True)
class Case:
    """One config and the data sizes that keep its epoch near two seconds on 2 cores."""

    config: str
    dataset: str  # file stem in the shared data folder
    limit: int  # training examples (before the validation split)
    test_limit: int  # test examples (validation when the config says `validation: test`)


CASES = (
    Case("mnist_basic", "mnist", 12000, 2000),
    Case("fashion_basic", "fashion_mnist", 12000, 2000),
    Case("fashion_wide", "fashion_mnist", 3000, 1000),
    Case("fashion_bn", "fashion_mnist", 800, 500),
    Case("fashion_bn_lr", "fashion_mnist", 800, 500),
    Case("mnist_convnet", "mnist", 12000, 2000),
)


@dataclass
class Child:
    """One finished child process."""

    rc: int
    wall_s: float
    max_rss_mib: float
    cpu_s: float
    stdout: str
    stderr_tail: str


@dataclass
class Side:
    """One training run (cnnrun or plain) as measured."""

    epoch_seconds: list[float]
    fit_wall_s: float | None
    train_examples: int
    val_examples: int | None
    samples_per_s_reported: float | None
    test_accuracy: float | None
    process_wall_s: float
    max_rss_mib: float
    cpu_s: float


@dataclass
class Result:
    """Both sides of one config, every repetition."""

    case: dict[str, Any]
    batch_size: int
    data: str
    cnnrun: list[Side] = field(default_factory=list)
    plain: list[Side] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def run_child(cmd: list[str], env: dict[str, str]) -> Child:
    """Run ``cmd`` to completion and read its own peak RSS and CPU time from ``wait4``."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=REPO)
        killer = threading.Timer(CHILD_TIMEOUT_S, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Child(
            rc=proc.returncode,
            wall_s=wall,
            max_rss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
            cpu_s=usage.ru_utime + usage.ru_stime,
            stdout=out.read(),
            stderr_tail=err.read()[-2000:],
        )


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO / "src"), env.get("PYTHONPATH", "")) if p
    )
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("KERAS_BACKEND", "tensorflow")
    return env


def data_dir(arg: Path | None) -> Path | None:
    """The folder of real ``mnist.npz`` / ``fashion_mnist.npz``, or None (synthetic)."""
    if arg is not None:
        return arg
    env = os.environ.get("CNNRUN_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def write_synthetic_npz(case: Case, path: Path) -> None:
    """The arrays cnnrun's ``synthetic`` data set generates for this case, as an ``.npz``."""
    import numpy as np

    from cnnrun.data.synthetic import classification

    data = classification((28, 28, 1), 10, case.limit, case.test_limit)
    np.savez(path, x_train=data.x_train, y_train=data.y_train,
             x_test=data.x_test, y_test=data.y_test)  # fmt: skip


COUNTS = re.compile(r"([\d,]+)\s+training\s+/\s+([\d,]+)\s+validation\s+/\s+([\d,]+)\s+test")


def run_cnnrun(case: Case, npz: Path | None, epochs: int, runs_dir: Path) -> Side:
    cmd = [sys.executable, "-m", "cnnrun", "train", f"configs/{case.config}.yaml",
           "--runs-dir", str(runs_dir), "--epochs", str(epochs),
           "--set", f"data.limit={case.limit}", "--set", f"data.test_limit={case.test_limit}"]  # fmt: skip
    if npz is None:
        cmd += ["--synthetic"]
    else:
        cmd += ["--set", f"data.path={npz}"]
    child = run_child(cmd, child_env())
    if child.rc != 0:
        raise RuntimeError(f"cnnrun exited {child.rc}: {child.stderr_tail.strip()[-800:]}")
    run_dir = Path(child.stdout.strip().splitlines()[-1])
    with open(run_dir / "metrics.csv", encoding="utf-8") as f:
        seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    counts = COUNTS.search(child.stdout)
    n_train, n_val = (
        (int(counts[1].replace(",", "")), int(counts[2].replace(",", "")))
        if counts
        else (-1, None)
    )
    return Side(
        epoch_seconds=seconds,
        fit_wall_s=results.get("wall_time_s"),
        train_examples=n_train,
        val_examples=n_val,
        samples_per_s_reported=results.get("train_samples_per_s"),
        test_accuracy=results.get("test", {}).get("accuracy"),
        process_wall_s=round(child.wall_s, 3),
        max_rss_mib=round(child.max_rss_mib, 1),
        cpu_s=round(child.cpu_s, 2),
    )


def run_plain(case: Case, npz: Path, epochs: int, out_json: Path) -> Side:
    cmd = [sys.executable, str(PLAIN / f"{case.config}.py"), "--data", str(npz),
           "--limit", str(case.limit), "--test-limit", str(case.test_limit),
           "--epochs", str(epochs), "--out", str(out_json)]  # fmt: skip
    child = run_child(cmd, child_env())
    if child.rc != 0:
        raise RuntimeError(f"plain script exited {child.rc}: {child.stderr_tail.strip()[-800:]}")
    res = json.loads(out_json.read_text(encoding="utf-8"))
    return Side(
        epoch_seconds=res["epoch_seconds"],
        fit_wall_s=res["fit_wall_s"],
        train_examples=res["train_examples"],
        val_examples=res["val_examples"],
        samples_per_s_reported=res["samples_per_s"],
        test_accuracy=res["test"].get("accuracy"),
        process_wall_s=round(child.wall_s, 3),
        max_rss_mib=round(child.max_rss_mib, 1),
        cpu_s=round(child.cpu_s, 2),
    )


def steady_epochs(side: Side) -> list[float]:
    """Epochs 2..E (epoch 1 includes tracing); epoch 1 only when it is the only one."""
    return side.epoch_seconds[1:] or side.epoch_seconds


def median_epoch(sides: list[Side]) -> float:
    return statistics.median(s for side in sides for s in steady_epochs(side))


def batch_size_of(config: str) -> int:
    from cnnrun.config.load import load_experiment

    return load_experiment(REPO / "configs" / f"{config}.yaml", []).experiment.data.batch_size


def bench_case(case: Case, data: Path | None, epochs: int, reps: int, work: Path) -> Result:
    npz = None if data is None else data / f"{case.dataset}.npz"
    if npz is None:
        plain_npz = work / f"synthetic-{case.config}.npz"
        write_synthetic_npz(case, plain_npz)
        label = "synthetic"
    else:
        plain_npz, label = npz, case.dataset
    result = Result(asdict(case), batch_size_of(case.config), label)
    for rep in range(reps):
        order = ("cnnrun", "plain") if rep % 2 == 0 else ("plain", "cnnrun")
        for which in order:
            try:
                if which == "cnnrun":
                    side = run_cnnrun(case, npz, epochs, work / "runs")
                else:
                    side = run_plain(case, plain_npz, epochs, work / f"plain-{rep}.json")
            except Exception as exc:  # keep going: one broken config must not hide the rest
                result.errors.append(f"rep {rep + 1} {which}: {exc}")
                continue
            getattr(result, which).append(side)
            print(f"  {case.config} rep {rep + 1} {which:6s} epochs "
                  f"{[round(s, 2) for s in side.epoch_seconds]}  rss {side.max_rss_mib:.0f} MiB",
                  flush=True)  # fmt: skip
    return result


def summarize(result: Result) -> dict[str, Any]:
    """Median figures of one config (None where a side has no successful run)."""
    if not result.cnnrun or not result.plain:
        return {"ok": False}
    c_epoch, p_epoch = median_epoch(result.cnnrun), median_epoch(result.plain)
    n_train = result.plain[0].train_examples
    pairs = zip(result.cnnrun, result.plain, strict=False)
    per_rep = [median_epoch([c]) / median_epoch([p]) for c, p in pairs]
    fit_c = [s.fit_wall_s for s in result.cnnrun if s.fit_wall_s]
    fit_p = [s.fit_wall_s for s in result.plain if s.fit_wall_s]
    same_data = all(
        s.train_examples == n_train and s.val_examples == result.plain[0].val_examples
        for s in result.cnnrun
    )
    ratio = c_epoch / p_epoch
    return {
        "ok": ratio <= MAX_RATIO,
        "train_examples": n_train,
        "val_examples": result.plain[0].val_examples,
        "same_examples": same_data,
        "cnnrun_epoch_s": round(c_epoch, 4),
        "plain_epoch_s": round(p_epoch, 4),
        "cnnrun_samples_per_s": round(n_train / c_epoch, 1),
        "plain_samples_per_s": round(n_train / p_epoch, 1),
        "ratio": round(ratio, 4),
        "ratio_per_rep": [round(r, 3) for r in per_rep],
        "fit_wall_ratio": round(statistics.median(fit_c) / statistics.median(fit_p), 4)
        if fit_c and fit_p
        else None,
        "cnnrun_max_rss_mib": max(s.max_rss_mib for s in result.cnnrun),
        "plain_max_rss_mib": max(s.max_rss_mib for s in result.plain),
        "cnnrun_process_s": round(statistics.median(s.process_wall_s for s in result.cnnrun), 2),
        "plain_process_s": round(statistics.median(s.process_wall_s for s in result.plain), 2),
        "cnnrun_test_accuracy": statistics.median(
            s.test_accuracy for s in result.cnnrun if s.test_accuracy is not None
        ),
        "plain_test_accuracy": statistics.median(
            s.test_accuracy for s in result.plain if s.test_accuracy is not None
        ),
    }


def markdown(results: list[Result], summaries: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "## Training overhead: cnnrun vs a plain Keras script",
        "",
        f"Same model, data, batch size and validation; {meta['epochs']} epochs per run, "
        f"{meta['reps']} run(s) of each side in ABBA order, each a fresh process. Epoch time: "
        "median over epochs 2..E and runs (training + validation, epoch 1 excluded: tracing). "
        f"Ratio = cnnrun epoch / plain epoch; the requirement is at most {MAX_RATIO:.2f}. "
        "Fit wall = the whole `model.fit`, epoch 1 and between-epoch callbacks "
        "(checkpoints) included. RSS = peak resident memory of the process.",
        "",
    ]
    if meta["data"] == "synthetic":
        lines += [
            "**Data: synthetic** — `$CNNRUN_SHARED_DATA` has no MNIST / Fashion-MNIST `.npz`, "
            "so cnnrun used its `synthetic` data set and the plain script the same arrays.",
            "",
        ]
    lines += [
        "| config | data | train / val | batch | cnnrun samples/s | plain samples/s "
        "| ratio | per run | fit wall ratio | cnnrun RSS MiB | plain RSS MiB "
        "| test acc cnnrun / plain | verdict |",
        "|---|---|---|--:|--:|--:|--:|---|--:|--:|--:|---|---|",
    ]
    for res, s in zip(results, summaries, strict=True):
        name = res.case["config"]
        if "ratio" not in s:
            lines.append(f"| {name} | {res.data} | — | {res.batch_size} | — | — | — | — | — "
                         f"| — | — | — | error: {'; '.join(res.errors)[:200]} |")  # fmt: skip
            continue
        verdict = "ok" if s["ok"] else f"**slower than {MAX_RATIO:.2f}x**"
        if not s["same_examples"]:
            verdict += " (example counts differ!)"
        per_run = " ".join(f"{r:.2f}" for r in s["ratio_per_rep"])
        fit = "—" if s["fit_wall_ratio"] is None else f"{s['fit_wall_ratio']:.2f}"
        lines.append(
            f"| {name} | {res.data} | {s['train_examples']:,} / {s['val_examples']:,} "
            f"| {res.batch_size} | {s['cnnrun_samples_per_s']:,.0f} "
            f"| {s['plain_samples_per_s']:,.0f} | **{s['ratio']:.3f}** | {per_run} | {fit} "
            f"| {s['cnnrun_max_rss_mib']:,.0f} | {s['plain_max_rss_mib']:,.0f} "
            f"| {s['cnnrun_test_accuracy']:.3f} / {s['plain_test_accuracy']:.3f} | {verdict} |"
        )
    lines += [
        "",
        f"Load average before / after: {meta['load_before']} / {meta['load_after']} "
        f"({os.cpu_count()} CPUs); {meta['elapsed_s']:.0f} s in all.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for overhead.md/.json")
    parser.add_argument("--quick", action="store_true", help="one run of each side")
    parser.add_argument("--reps", type=int, default=None, help="runs of each side (default 3)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (at least 2)")
    parser.add_argument("--configs", default=None, help="comma-separated subset of the configs")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder of mnist.npz / fashion_mnist.npz "
                        "(default: $CNNRUN_SHARED_DATA, then ../shared/data)")  # fmt: skip
    args = parser.parse_args(argv)
    reps = args.reps or (1 if args.quick else 3)
    cases = list(CASES)
    if args.configs:
        wanted = args.configs.split(",")
        unknown = sorted(set(wanted) - {c.config for c in CASES})
        if unknown:
            parser.error(f"unknown configs {unknown}; known: {[c.config for c in CASES]}")
        cases = [c for c in CASES if c.config in wanted]

    sys.path.insert(0, str(REPO / "src"))
    folder = data_dir(args.data_dir)
    real = folder is not None and all((folder / f"{c.dataset}.npz").is_file() for c in cases)
    data = folder if real else None
    args.out.mkdir(parents=True, exist_ok=True)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    t0 = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="cnnrun-bench-") as tmp:
        for case in cases:
            print(f"{case.config}: {reps} run(s) of each side, {args.epochs} epochs", flush=True)
            results.append(bench_case(case, data, args.epochs, reps, Path(tmp)))
    summaries = [summarize(r) for r in results]
    meta = {
        "epochs": args.epochs,
        "reps": reps,
        "data": str(data) if data else "synthetic",
        "load_before": load_before,
        "load_after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "elapsed_s": time.perf_counter() - t0,
        "max_ratio": MAX_RATIO,
        "cpus": os.cpu_count(),
    }
    payload = {
        "meta": meta,
        "configs": [
            {**asdict(r), "summary": s} for r, s in zip(results, summaries, strict=True)
        ],
    }
    (args.out / "overhead.json").write_text(json.dumps(payload, indent=2) + "\n")
    (args.out / "overhead.md").write_text(markdown(results, summaries, meta))
    print(f"-> {args.out / 'overhead.md'}")
    return 0 if all("ratio" in s for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
