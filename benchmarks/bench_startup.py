"""Start-up time of the commands that must feel instant: --help, list, validate, compare, show.

Each command runs as a fresh ``python -m cnnrun`` process (after one untimed warm-up run);
the median of ``--repeat`` runs is reported. A separate ``python -X importtime`` run of each
says whether TensorFlow or Keras got imported, and which top-level imports cost the most.
``compare`` and ``show`` read small fake run folders made by ``tests/run_factory.py``.

Usage:
    python benchmarks/bench_startup.py --out benchmarks/results [--quick] [--repeat 5]

Writes ``OUT/startup.md`` and ``OUT/startup.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BUDGET_S = 0.5  # "well under a second"
HEAVY = ("tensorflow", "keras")
IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["COLUMNS"] = "120"
    return env


def fake_runs(root: Path) -> list[Path]:
    """Three small fake run folders, or none when ``tests/run_factory.py`` is missing."""
    if not (REPO / "tests" / "run_factory.py").is_file():
        return []
    sys.path[:0] = [str(REPO), str(REPO / "tests")]
    from run_factory import make_run

    return [
        make_run(root, "fashion_bn", stamp="20240101-120000", epochs=10),
        make_run(root, "fashion_bn_lr", stamp="20240101-130000", epochs=10, lr_decay=0.9,
                 quality=0.93),
        make_run(root, "mnist_convnet", stamp="20240101-140000", epochs=15, quality=0.99),
    ]  # fmt: skip


def commands(runs: list[Path]) -> dict[str, list[str]]:
    configs = sorted(str(p.relative_to(REPO)) for p in (REPO / "configs").glob("*.yaml"))
    cmds = {
        "cnnrun --help": ["--help"],
        "cnnrun list layers": ["list", "layers"],
        f"cnnrun validate configs/*.yaml ({len(configs)} files)": ["validate", *configs],
    }
    has_run_commands = (REPO / "src" / "cnnrun" / "cli_runs.py").is_file()
    if has_run_commands and runs:
        cmds[f"cnnrun compare ({len(runs)} runs)"] = ["compare", str(runs[0].parent)]
        cmds["cnnrun show RUN"] = ["show", str(runs[0])]
    return cmds


@dataclass
class Timed:
    """One finished command."""

    wall_s: float
    cpu_s: float  # user + system of the process: barely moved by other load on the machine
    rc: int
    stderr: str


def run_once(args: list[str], extra: list[str] | None = None) -> Timed:
    cmd = [sys.executable, *(extra or []), "-m", "cnnrun", *args]
    with tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=err, env=child_env(), cwd=REPO, text=True
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return Timed(wall, usage.ru_utime + usage.ru_stime, proc.returncode, err.read())


def imports_of(args: list[str]) -> dict[str, Any]:
    """What ``-X importtime`` says: heavy packages imported, the costliest top-level imports."""
    stderr = run_once(args, ["-X", "importtime"]).stderr
    top: list[tuple[int, str]] = []
    names = set()
    for line in stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if not match:
            continue
        name = match[4]
        names.add(name)
        if len(match[3]) <= 1:  # one space: not nested under another import
            top.append((int(match[2]), name))
    heavy = {pkg: any(n == pkg or n.startswith(pkg + ".") for n in names) for pkg in HEAVY}
    top.sort(reverse=True)
    return {
        "modules": len(names),
        "imported": heavy,
        "top_imports_ms": {name: round(us / 1000, 1) for us, name in top[:3]},
    }


def bench(label: str, args: list[str], repeat: int) -> dict[str, Any]:
    warm = run_once(args)  # warm-up: file cache, .pyc
    runs = [run_once(args) for _ in range(repeat)]
    failed = next((r for r in runs if r.rc), None)
    walls = [r.wall_s for r in runs]
    return {
        "label": label,
        "args": args,
        "exit_code": failed.rc if failed else 0,
        "stderr_tail": failed.stderr[-500:] if failed else "",
        "warmup_s": round(warm.wall_s, 4),
        "times_s": [round(t, 4) for t in walls],
        "median_s": round(statistics.median(walls), 4),
        "min_s": round(min(walls), 4),
        "max_s": round(max(walls), 4),
        "cpu_median_s": round(statistics.median(r.cpu_s for r in runs), 4),
        **imports_of(args),
    }


def python_floor(repeat: int) -> float:
    """The start-up of a bare ``python -c pass``: what no command can go below."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def markdown(rows: list[dict[str, Any]], floor: float, repeat: int, load: list[float]) -> str:
    busy = max(load) > (os.cpu_count() or 1)
    lines = [
        "## Command start-up",
        "",
        f"Fresh `python -m cnnrun` processes, median of {repeat} after one warm-up run; the "
        f"target is well under a second (flagged above {BUDGET_S:.1f} s). *CPU s*: user + "
        "system time of the process, which other load on the machine barely moves. A bare "
        f"`python -c pass` takes {floor:.3f} s here. *TF / Keras imported*: from a separate "
        "`python -X importtime` run.",
        "",
        "| command | median s | min – max s | CPU s | exit | TF imported | Keras imported "
        "| modules | costliest top-level imports (ms, cumulative) | verdict |",
        "|---|--:|---|--:|--:|---|---|--:|---|---|",
    ]
    for r in rows:
        clean = r["exit_code"] == 0 and not any(r["imported"].values())
        if clean and r["median_s"] < BUDGET_S:
            verdict = "ok"
        elif clean and busy and r["cpu_median_s"] < BUDGET_S:
            verdict = "ok by CPU time (busy machine)"
        else:
            verdict = "**check**"
        top = ", ".join(f"`{k}` {v:,.0f}" for k, v in r["top_imports_ms"].items())
        lines.append(
            f"| `{r['label']}` | **{r['median_s']:.3f}** | {r['min_s']:.3f} – {r['max_s']:.3f} "
            f"| {r['cpu_median_s']:.3f} | {r['exit_code']} "
            f"| {'**yes**' if r['imported']['tensorflow'] else 'no'} "
            f"| {'**yes**' if r['imported']['keras'] else 'no'} | {r['modules']} | {top} "
            f"| {verdict} |"
        )
    lines += [
        "",
        f"Load average (1, 5, 15 min) at the end: {' '.join(f'{x:.2f}' for x in load)} on "
        f"{os.cpu_count()} CPUs"
        + (": **the machine was busy**, wall times are inflated." if busy else "."),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for startup.md/.json")
    parser.add_argument("--quick", action="store_true", help="3 runs per command, not 5")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per command")
    args = parser.parse_args(argv)
    repeat = args.repeat or (3 if args.quick else 5)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cnnrun-startup-") as tmp:
        runs = fake_runs(Path(tmp) / "runs")
        rows = []
        for label, cmd_args in commands(runs).items():
            rows.append(bench(label, cmd_args, repeat))
            r = rows[-1]
            print(f"  {label}: median {r['median_s']:.3f} s, exit {r['exit_code']}, "
                  f"tensorflow imported: {r['imported']['tensorflow']}", flush=True)  # fmt: skip
    floor = python_floor(repeat)
    load = list(os.getloadavg())
    payload = {
        "budget_s": BUDGET_S,
        "repeat": repeat,
        "python_floor_s": round(floor, 4),
        "load_average": load,
        "commands": rows,
    }
    (args.out / "startup.json").write_text(json.dumps(payload, indent=2) + "\n")
    (args.out / "startup.md").write_text(markdown(rows, floor, repeat, load))
    print(f"-> {args.out / 'startup.md'}")
    return 0 if all(r["exit_code"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
