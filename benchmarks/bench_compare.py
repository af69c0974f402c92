"""Time `cnnrun compare` over 200 fake run folders, in process and as a fresh process.

Usage:
    python benchmarks/bench_compare.py --out benchmarks/results [--runs 200] [--repeat 7]

Writes ``OUT/compare.json`` and prints a one-line summary. The runs are written by
``tests/run_factory.py`` (30 epochs each, varied optimizers, learning rates and dropout,
a few running, failed and stale ones, and one with a different layer list).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from rich.console import Console  # noqa: E402
from run_factory import make_run  # noqa: E402

from cnnrun.runs.compare import build_comparison, render_json, render_tables, table_width  # noqa: E402
from cnnrun.runs.record import load_runs  # noqa: E402

OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw")
RATES = (1e-2, 3e-3, 1e-3, 3e-4)
DROPOUTS = (0.1, 0.25, 0.4, 0.5)


def write_runs(root: Path, count: int) -> None:
    """Write ``count`` fake run folders under ``root``."""
    for i in range(count):
        status, extra = "completed", {}
        if i % 50 == 7:
            status = "running"
        elif i % 50 == 13:
            status, extra = "failed", {"reason": "OOM", "results": False}
        elif i % 50 == 21:
            status, extra = "running", {"heartbeat_age_s": 3600, "host": "elsewhere"}
        overrides = {
            "optimizer.name": OPTIMIZERS[i % 4],
            "optimizer.learning_rate": RATES[(i // 4) % 4],
            "model.layers[2].Dropout": DROPOUTS[(i // 16) % 4],
            "seed": i,
        }
        if i == 99:
            overrides["model.layers"] = ["Flatten", {"Dense": {"units": 10}}]
        make_run(
            root,
            f"exp{i:03d}",
            stamp=f"20240101-{i // 60:02d}{i % 60:02d}00",
            status=status,
            epochs=30 if status == "completed" else 5,
            quality=0.8 + 0.15 * ((i * 37) % 100) / 100,
            lr_decay=0.9 if i % 3 == 0 else 1.0,
            overrides=overrides,
            **extra,
        )


def compare_in_process(root: Path) -> dict[str, float]:
    """Run compare's whole path once (load, diff, sort, render table and JSON); time stages."""
    stages: dict[str, float] = {}
    start = time.perf_counter()
    records = [r for r in load_runs([root]) if r.is_run]
    stages["load"] = time.perf_counter() - start
    mark = time.perf_counter()
    comparison = build_comparison(records)
    stages["diff_and_sort"] = time.perf_counter() - mark
    mark = time.perf_counter()
    console = Console(file=io.StringIO(), width=table_width(comparison))
    for table in render_tables(comparison, console.width):
        console.print(table)
    stages["render_table"] = time.perf_counter() - mark
    mark = time.perf_counter()
    render_json(comparison)
    stages["render_json"] = time.perf_counter() - mark
    stages["total"] = time.perf_counter() - start
    return stages


def cli_command(root: Path) -> tuple[str, list[str]]:
    """The fastest honest CLI entry point: ``python -m cnnrun`` once cli.py exists."""
    probe = subprocess.run(
        [sys.executable, "-c", "import cnnrun.cli"],
        env=_env(),
        capture_output=True,
        timeout=120,
    )
    if probe.returncode == 0:
        return "python -m cnnrun compare", [sys.executable, "-m", "cnnrun", "compare", str(root)]
    app = (
        "import sys, typer; from cnnrun.cli.runs import compare; "
        "app = typer.Typer(); app.command()(compare); app.command()(lambda: None); "
        "app(['compare', *sys.argv[1:]])"
    )
    return "typer app of cnnrun.cli.runs (cli.py missing)", [sys.executable, "-c", app, str(root)]


def time_subprocess(command: list[str], repeat: int, output_format: str) -> list[float]:
    """Wall time of ``command --format FORMAT`` run ``repeat`` times (output discarded)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(
            [*command, "--format", output_format], env=_env(), capture_output=True, timeout=120
        )
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(done.stderr.decode()[-2000:])
    return times


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


def _summary(samples: list[float]) -> dict[str, object]:
    return {
        "median": round(statistics.median(samples), 4),
        "min": round(min(samples), 4),
        "max": round(max(samples), 4),
        "all": [round(s, 4) for s in samples],
    }


def _median_stages(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in runs), 4) for k in runs[0]}


def measure(count: int, repeat: int, timer: Callable[[Path], dict[str, float]]) -> dict:
    """Write the runs in a temp dir, then time compare in process and as a subprocess."""
    with tempfile.TemporaryDirectory(prefix="cnnrun-bench-") as tmp:
        root = Path(tmp) / "runs"
        start = time.perf_counter()
        write_runs(root, count)
        written = time.perf_counter() - start
        timer(root)  # warm the file cache and the imports
        in_process = [timer(root) for _ in range(repeat)]
        entry, command = cli_command(root)
        json_times = time_subprocess(command, max(3, repeat // 2), "json")
        table_times = time_subprocess(command, max(3, repeat // 2), "table")
        loaded = len([r for r in load_runs([root]) if r.is_run])
    return {
        "benchmark": "compare",
        "runs": count,
        "runs_loaded": loaded,
        "repeat": repeat,
        "write_runs_s": round(written, 3),
        "in_process_s": _summary([r["total"] for r in in_process]),
        "in_process_stages_median_s": _median_stages(in_process),
        "subprocess_entry": entry,
        "subprocess_json_s": _summary(json_times),
        "subprocess_table_s": _summary(table_times),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for compare.json")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    result = measure(args.runs, args.repeat, compare_in_process)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "compare.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"compare, {result['runs']} runs: in process {result['in_process_s']['median']:.3f} s "
        f"(median of {args.repeat}); fresh `{result['subprocess_entry']}`: "
        f"--format json {result['subprocess_json_s']['median']:.3f} s, "
        f"table {result['subprocess_table_s']['median']:.3f} s -> {args.out / 'compare.json'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
