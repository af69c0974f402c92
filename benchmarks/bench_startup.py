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
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BUDGET_S = 0.5  # "well under a second"
HEAVY = ("tensorflow", "keras")
IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO / "src"), env.get("PYTHONPATH", "")) if p
    )
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["COLUMNS"] = "120"
    return env


def fake_runs(root: Path) -> list[Path]:
    """Three small fake run folders, or none when ``tests/run_factory.py`` is missing."""
    if not (REPO / "tests" / "run_factory.py").is_file():
        return []
    sys.path[:0] = [str(REPO / "src"), str(REPO / "tests")]
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


def run_once(args: list[str], extra: list[str] | None = None) -> tuple[float, int, str, str]:
    cmd = [sys.executable, *(extra or []), "-m", "cnnrun", *args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), cwd=REPO)
    return time.perf_counter() - t0, proc.returncode, proc.stdout, proc.stderr


def imports_of(args: list[str]) -> dict[str, Any]:
    """What ``-X importtime`` says: heavy packages imported, the costliest top-level imports."""
    _, _, _, stderr = run_once(args, ["-X", "importtime"])
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
    warm, rc, _, stderr = run_once(args)  # warm-up: file cache, .pyc
    times = []
    for _ in range(repeat):
        seconds, rc, _, stderr = run_once(args)
        times.append(seconds)
    return {
        "label": label,
        "args": args,
        "exit_code": rc,
        "stderr_tail": stderr[-500:] if rc else "",
        "warmup_s": round(warm, 4),
        "times_s": [round(t, 4) for t in times],
        "median_s": round(statistics.median(times), 4),
        "min_s": round(min(times), 4),
        "max_s": round(max(times), 4),
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


def markdown(rows: list[dict[str, Any]], floor: float, repeat: int) -> str:
    lines = [
        "## Command start-up",
        "",
        f"Fresh `python -m cnnrun` processes, median of {repeat} after one warm-up run; the "
        f"target is well under a second (flagged above {BUDGET_S:.1f} s). A bare "
        f"`python -c pass` takes {floor:.3f} s here. *TF / Keras imported*: from a separate "
        "`python -X importtime` run.",
        "",
        "| command | median s | min – max s | exit | TF imported | Keras imported "
        "| modules | costliest top-level imports (ms, cumulative) | verdict |",
        "|---|--:|---|--:|---|---|--:|---|---|",
    ]
    for r in rows:
        ok = r["median_s"] < BUDGET_S and r["exit_code"] == 0 and not any(r["imported"].values())
        top = ", ".join(f"`{k}` {v:,.0f}" for k, v in r["top_imports_ms"].items())
        lines.append(
            f"| `{r['label']}` | **{r['median_s']:.3f}** | {r['min_s']:.3f} – {r['max_s']:.3f} "
            f"| {r['exit_code']} | {'**yes**' if r['imported']['tensorflow'] else 'no'} "
            f"| {'**yes**' if r['imported']['keras'] else 'no'} | {r['modules']} | {top} "
            f"| {'ok' if ok else '**check**'} |"
        )
    lines.append("")
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
    payload = {
        "budget_s": BUDGET_S,
        "repeat": repeat,
        "python_floor_s": round(floor, 4),
        "commands": rows,
    }
    (args.out / "startup.json").write_text(json.dumps(payload, indent=2) + "\n")
    (args.out / "startup.md").write_text(markdown(rows, floor, repeat))
    print(f"-> {args.out / 'startup.md'}")
    return 0 if all(r["exit_code"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
