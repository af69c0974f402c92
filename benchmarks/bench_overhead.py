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
    sets: tuple[str, ...] = ()  # extra --set for cnnrun


CASES = (
    Case("mnist_basic", "mnist", 12000, 2000),
    Case("fashion_basic", "fashion_mnist", 12000, 2000),
    Case("fashion_wide", "fashion_mnist", 3000, 1000),
    Case("fashion_bn", "fashion_mnist", 1600, 500),
    # Its `init_from: fashion_bn.yaml` would train the §5.3 base first (with the config's own
    # data: --set does not pass down); the scheduled epochs are what is timed, as in plain.
    Case("fashion_bn_lr", "fashion_mnist", 1600, 500, sets=("init_from=null",)),
    Case("mnist_convnet", "mnist", 12000, 2000),
)


@dataclass
class Child:
    """One finished child process, and what was seen each time one of its epochs ended."""

    rc: int
    wall_s: float
    max_rss_mib: float
    cpu_s: float
    stdout: str
    stderr_tail: str
    epoch_end_wall: list[float] = field(default_factory=list)
    epoch_end_cpu: list[float] = field(default_factory=list)


@dataclass
class Side:
    """One training run (cnnrun or plain) as measured."""

    epoch_seconds: list[float]  # on_epoch_begin -> on_epoch_end, as the process timed it
    train_examples: int
    val_examples: int | None
    samples_per_s_reported: float | None
    test_accuracy: float | None
    process_wall_s: float
    max_rss_mib: float
    cpu_s: float
    cycle_seconds: list[float]  # wall, from the end of epoch k-1 to the end of epoch k, k >= 2
    cycle_cpu_s: list[float]  # the process's CPU seconds over the same spans


@dataclass
class Result:
    """Both sides of one config, every repetition."""

    case: dict[str, Any]
    batch_size: int
    data: str
    cnnrun: list[Side] = field(default_factory=list)
    plain: list[Side] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


CLK_TCK = os.sysconf("SC_CLK_TCK")
POLL_S = 0.005


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a running process, all threads (``/proc/PID/stat``)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime: fields 14 and 15


def count_lines(pattern_dir: Path, pattern: str) -> int:
    """Lines in the newest file matching ``pattern`` under ``pattern_dir`` (0 if none)."""
    found = sorted(pattern_dir.glob(pattern))
    if not found:
        return 0
    try:
        return found[-1].read_bytes().count(b"\n")
    except OSError:
        return 0


def run_child(
    cmd: list[str], env: dict[str, str], watch: tuple[Path, str, int] | None = None
) -> Child:
    """Run ``cmd`` to completion; its own peak RSS and CPU time come from ``wait4``.

    Args:
        cmd: The command.
        env: Its environment.
        watch: ``(folder, glob, header_lines)`` of a file that gains one line per finished
            epoch; the wall time and the process's CPU time are noted as each line appears.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=REPO)
        marks_wall: list[float] = []
        marks_cpu: list[float] = []
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            now = time.perf_counter()
            if now - t0 > CHILD_TIMEOUT_S:
                proc.kill()
            if watch is not None:
                epochs = max(0, count_lines(watch[0], watch[1]) - watch[2])
                if epochs > len(marks_wall):
                    cpu = process_cpu_s(proc.pid)
                    if cpu is not None:
                        marks_wall += [now - t0] * (epochs - len(marks_wall))
                        marks_cpu += [cpu] * (epochs - len(marks_cpu))
            time.sleep(POLL_S)
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
            epoch_end_wall=marks_wall,
            epoch_end_cpu=marks_cpu,
        )


def diffs(values: list[float]) -> list[float]:
    """Differences between consecutive values: epochs 2..E from the ends of epochs 1..E."""
    return [round(b - a, 4) for a, b in zip(values, values[1:], strict=False)]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
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
           "--set", f"data.limit={case.limit}",
           "--set", f"data.test_limit={case.test_limit}"]  # fmt: skip
    for item in case.sets:
        cmd += ["--set", item]
    if npz is None:
        cmd += ["--synthetic"]
    else:
        cmd += ["--set", f"data.path={npz}"]
    child = run_child(cmd, child_env(), watch=(runs_dir, "*/metrics.csv", 1))
    if child.rc != 0:
        raise RuntimeError(f"cnnrun exited {child.rc}: {child.stderr_tail.strip()[-800:]}")
    run_dir = Path(child.stdout.strip().splitlines()[-1])
    with open(run_dir / "metrics.csv", encoding="utf-8") as f:
        seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    counts = COUNTS.search(child.stdout)
    n_train, n_val = (
        (int(counts[1].replace(",", "")), int(counts[2].replace(",", ""))) if counts else (-1, None)
    )
    return Side(
        epoch_seconds=seconds,
        train_examples=n_train,
        val_examples=n_val,
        samples_per_s_reported=results.get("train_samples_per_s"),
        test_accuracy=results.get("test", {}).get("accuracy"),
        process_wall_s=round(child.wall_s, 3),
        max_rss_mib=round(child.max_rss_mib, 1),
        cpu_s=round(child.cpu_s, 2),
        cycle_seconds=diffs(child.epoch_end_wall),
        cycle_cpu_s=diffs(child.epoch_end_cpu),
    )


def run_plain(case: Case, npz: Path, epochs: int, out_json: Path) -> Side:
    epoch_log = out_json.with_suffix(".epochs")
    epoch_log.unlink(missing_ok=True)
    cmd = [sys.executable, str(PLAIN / f"{case.config}.py"), "--data", str(npz),
           "--limit", str(case.limit), "--test-limit", str(case.test_limit),
           "--epochs", str(epochs), "--out", str(out_json),
           "--epoch-log", str(epoch_log)]  # fmt: skip
    child = run_child(cmd, child_env(), watch=(epoch_log.parent, epoch_log.name, 0))
    if child.rc != 0:
        raise RuntimeError(f"plain script exited {child.rc}: {child.stderr_tail.strip()[-800:]}")
    res = json.loads(out_json.read_text(encoding="utf-8"))
    return Side(
        epoch_seconds=res["epoch_seconds"],
        train_examples=res["train_examples"],
        val_examples=res["val_examples"],
        samples_per_s_reported=res["samples_per_s"],
        test_accuracy=res["test"].get("accuracy"),
        process_wall_s=round(child.wall_s, 3),
        max_rss_mib=round(child.max_rss_mib, 1),
        cpu_s=round(child.cpu_s, 2),
        cycle_seconds=diffs(child.epoch_end_wall),
        cycle_cpu_s=diffs(child.epoch_end_cpu),
    )


def steady_epochs(side: Side) -> list[float]:
    """Epochs 2..E (epoch 1 includes tracing); epoch 1 only when it is the only one."""
    return side.epoch_seconds[1:] or side.epoch_seconds


def median_epoch(sides: list[Side]) -> float:
    return statistics.median(s for side in sides for s in steady_epochs(side))


def fastest(sides: list[Side]) -> float:
    """The fastest steady epoch: the least disturbed by other load on the machine."""
    return min(s for side in sides for s in steady_epochs(side))


def median_of(sides: list[Side], attr: str) -> float | None:
    values = [v for side in sides for v in getattr(side, attr)]
    return statistics.median(values) if values else None


def ratio_of(a: float | None, b: float | None) -> float | None:
    return round(a / b, 4) if a and b else None


def batch_size_of(config: str) -> int | str:
    """The config's batch size, or why it could not be read."""
    from cnnrun.checks import load_experiment

    try:
        return load_experiment(REPO / "configs" / f"{config}.yaml", []).experiment.data.batch_size
    except Exception as exc:  # a broken config is reported in its row, not fatal
        return f"config error: {str(exc).splitlines()[0]}"


def bench_case(case: Case, data: Path | None, epochs: int, reps: int, work: Path) -> Result:
    npz = None if data is None else data / f"{case.dataset}.npz"
    if npz is None:
        plain_npz = work / f"synthetic-{case.config}.npz"
        write_synthetic_npz(case, plain_npz)
        label = "synthetic"
    else:
        plain_npz, label = npz, case.dataset
    batch_size = batch_size_of(case.config)
    result = Result(asdict(case), batch_size if isinstance(batch_size, int) else 0, label)
    if isinstance(batch_size, str):
        result.errors.append(batch_size)
        print(f"  {case.config}: {batch_size}", flush=True)
        return result
    for rep in range(reps):
        order = ("cnnrun", "plain") if rep % 2 == 0 else ("plain", "cnnrun")
        for which in order:
            try:
                if which == "cnnrun":
                    side = run_cnnrun(case, npz, epochs, work / f"runs-{case.config}-{rep}")
                else:
                    side = run_plain(case, plain_npz, epochs, work / f"plain-{rep}.json")
            except Exception as exc:  # keep going: one broken config must not hide the rest
                result.errors.append(f"rep {rep + 1} {which}: {exc}")
                print(f"  {case.config} rep {rep + 1} {which}: FAILED {exc}", flush=True)
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
    same_data = all(
        s.train_examples == n_train and s.val_examples == result.plain[0].val_examples
        for s in result.cnnrun
    )
    ratio = c_epoch / p_epoch
    c_cycle, p_cycle = (
        median_of(result.cnnrun, "cycle_seconds"),
        median_of(result.plain, "cycle_seconds"),
    )
    c_cpu, p_cpu = median_of(result.cnnrun, "cycle_cpu_s"), median_of(result.plain, "cycle_cpu_s")
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
        "ratio_of_fastest_epochs": round(fastest(result.cnnrun) / fastest(result.plain), 4),
        "cycle_ratio": ratio_of(c_cycle, p_cycle),
        "cpu_ratio": ratio_of(c_cpu, p_cpu),
        "cnnrun_cycle_s": c_cycle,
        "plain_cycle_s": p_cycle,
        "cnnrun_cycle_cpu_s": c_cpu,
        "plain_cycle_cpu_s": p_cpu,
        "extra_s_per_epoch": round(c_cycle - p_cycle, 3) if c_cycle and p_cycle else None,
        "extra_cpu_s_per_epoch": round(c_cpu - p_cpu, 3) if c_cpu and p_cpu else None,
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


def _fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def verdict(s: dict[str, Any], busy: bool) -> str:
    """From the wall-clock ratio; from the CPU ratio when other load made wall times moot."""
    cpu_ok = s["cpu_ratio"] is not None and s["cpu_ratio"] <= MAX_RATIO
    if busy:
        text = "ok by CPU (busy machine)" if cpu_ok else f"**CPU over {MAX_RATIO:.2f}x**"
    elif s["ok"]:
        text = "ok"
    elif cpu_ok:
        text = f"wall over {MAX_RATIO:.2f}x, CPU ok: contention?"
    else:
        text = f"**slower than {MAX_RATIO:.2f}x**"
    return text if s["same_examples"] else text + " (example counts differ!)"


def markdown(results: list[Result], summaries: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    busiest = max(float(x) for x in f"{meta['load_before']} {meta['load_after']}".split())
    busy = busiest > meta["cpus"]
    lines = [
        "## Training overhead: cnnrun vs a plain Keras script",
        "",
        f"Same model, data, batch size and validation; {meta['epochs']} epochs per run, "
        f"{meta['reps']} run(s) of each side in ABBA order, each a fresh process.",
        "",
        "- **ratio** = cnnrun epoch time / plain epoch time, the median over epochs 2..E and "
        "runs (epoch 1 includes tracing); an epoch is `on_epoch_begin` → `on_epoch_end`, "
        "training and validation (cnnrun: `metrics.csv` `seconds`). The requirement: at most "
        f"{MAX_RATIO:.2f}. Samples/s = training examples / that time. *per run*: the ratio "
        "of each cnnrun/plain pair.",
        "- **end-to-end** = the same ratio for the wall time from one epoch's end to the "
        "next (what happens between epochs, such as checkpoints, included); **CPU** = the "
        "ratio of the process's CPU seconds over those spans, which other load on the "
        "machine barely moves.",
        "- **RSS**: peak resident memory of each process (`wait4`); **process s**: the "
        "whole command, start-up, data loading, test evaluation and (cnnrun) plots included.",
        "- The data sets are cut so that an epoch takes about two seconds here: a fixed cost "
        "per epoch (saving a checkpoint) weighs far more than on a full epoch of 60,000 "
        "examples; *extra CPU s/epoch* gives it in seconds.",
        "",
    ]
    if meta["data"] == "synthetic":
        lines += [
            "**Data: synthetic** — `$CNNRUN_SHARED_DATA` has no MNIST / Fashion-MNIST `.npz`, "
            "so cnnrun used its `synthetic` data set and the plain script the same arrays.",
            "",
        ]
    lines += [
        "| config | data | train / val | batch | cnnrun samples/s | plain samples/s | ratio "
        "| per run | end-to-end | CPU (extra CPU s/epoch) | RSS MiB cnnrun / plain "
        "| process s cnnrun / plain | test acc cnnrun / plain | verdict |",
        "|---|---|---|--:|--:|--:|--:|---|--:|--:|--:|--:|---|---|",
    ]
    for res, s in zip(results, summaries, strict=True):
        name = res.case["config"]
        if "ratio" not in s:
            errors = "; ".join(res.errors).replace("|", "/").replace("\n", " ")[:300]
            lines.append(f"| {name} | {res.data} | — | {res.batch_size or '—'} | — | — | — | — | — "
                         f"| — | — | — | — | error: {errors} |")  # fmt: skip
            continue
        per_run = " ".join(f"{r:.2f}" for r in s["ratio_per_rep"])
        extra = (
            "" if s["extra_cpu_s_per_epoch"] is None else f" ({s['extra_cpu_s_per_epoch']:+.2f})"
        )
        lines.append(
            f"| {name} | {res.data} | {s['train_examples']:,} / {s['val_examples']:,} "
            f"| {res.batch_size} | {s['cnnrun_samples_per_s']:,.0f} "
            f"| {s['plain_samples_per_s']:,.0f} | **{s['ratio']:.3f}** | {per_run} "
            f"| {_fmt_ratio(s['cycle_ratio'])} | {_fmt_ratio(s['cpu_ratio'])}{extra} "
            f"| {s['cnnrun_max_rss_mib']:,.0f} / {s['plain_max_rss_mib']:,.0f} "
            f"| {s['cnnrun_process_s']:.1f} / {s['plain_process_s']:.1f} "
            f"| {s['cnnrun_test_accuracy']:.3f} / {s['plain_test_accuracy']:.3f} "
            f"| {verdict(s, busy)} |"
        )
    if busy:
        lines += [
            "",
            f"**The machine was busy** (load average up to {busiest:.1f} on {meta['cpus']} "
            "CPUs, from other processes): wall-clock ratios are unreliable in this run; the "
            "verdict follows the CPU column, which such load moves much less (but still some).",
        ]
    lines += [
        "",
        f"Load average (1, 5, 15 min) before / after: {meta['load_before']} / "
        f"{meta['load_after']} on {meta['cpus']} CPUs; {meta['elapsed_s']:.0f} s in all.",
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

    sys.path.insert(0, str(REPO))
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
        "configs": [{**asdict(r), "summary": s} for r, s in zip(results, summaries, strict=True)],
    }
    (args.out / "overhead.json").write_text(json.dumps(payload, indent=2) + "\n")
    (args.out / "overhead.md").write_text(markdown(results, summaries, meta))
    print(f"-> {args.out / 'overhead.md'}")
    return 0 if all("ratio" in s for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
