"""Run every ``benchmarks/bench_*.py`` one after the other and gather their tables.

Each script takes ``--out DIR`` (and ``--quick`` when it supports it) and writes its own
``.md`` and ``.json`` there; this one then writes ``DIR/README.md``: the date, the machine,
the command to reproduce, and every script's markdown in turn.

Usage:
    python benchmarks/run_all.py --out benchmarks/results [--quick]   (or: make bench)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"
FIRST = ("bench_overhead", "bench_startup")  # the requirements' tables first, then the rest


def scripts() -> list[Path]:
    found = {p.stem: p for p in BENCHMARKS.glob("bench_*.py")}
    order = [s for s in FIRST if s in found] + sorted(s for s in found if s not in FIRST)
    return [found[s] for s in order]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kib = int(f.readline().split()[1])
        return f"{kib / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        return "?"


def version(*dists: str) -> str:
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def cnnrun_version() -> str:
    """The installed version, else ``__version__`` of the source tree."""
    installed = version("cnnrun")
    if installed != "not installed":
        return installed
    text = (REPO / "src" / "cnnrun" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r"__version__\s*=\s*[\"']([^\"']+)", text)
    return f"{found[1]} (source tree)" if found else "?"


def git_commit() -> str:
    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown"
    return commit + (" with uncommitted changes" if git("status", "--porcelain") else "")


def machine() -> list[str]:
    return [
        f"- CPU: {cpu_model()}, {os.cpu_count()} logical cores; memory {memory_gib()}; "
        f"load average at the start {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- {platform.system()} {platform.release()}; Python {platform.python_version()}; "
        f"TensorFlow {version('tensorflow-cpu', 'tensorflow')}; Keras {version('keras')}; "
        f"cnnrun {cnnrun_version()}, commit {git_commit()}",
    ]


def supports_quick(script: Path) -> bool:
    return "--quick" in script.read_text(encoding="utf-8")


def outputs(out: Path) -> dict[Path, float]:
    return {p: p.stat().st_mtime for p in out.glob("*") if p.suffix in (".md", ".json")}


def run_script(script: Path, out: Path, quick: bool) -> dict[str, object]:
    cmd = [sys.executable, str(script), "--out", str(out)]
    if quick and supports_quick(script):
        cmd.append("--quick")
    print(f"== {script.name}", flush=True)
    before = outputs(out)
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, cwd=REPO, check=False).returncode
    seconds = time.perf_counter() - t0
    written = sorted(p for p, mtime in outputs(out).items() if before.get(p) != mtime)
    print(f"== {script.name}: exit {rc} in {seconds:.0f} s", flush=True)
    return {
        "script": script,
        "rc": rc,
        "seconds": seconds,
        "md": [p for p in written if p.suffix == ".md" and p.name != "README.md"],
        "json": [p.name for p in written if p.suffix == ".json"],
    }


def readme(done: list[dict], args: argparse.Namespace, total_s: float) -> str:
    out = args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out
    command = f"python benchmarks/run_all.py --out {out}" + (" --quick" if args.quick else "")
    lines = [
        "# cnnrun benchmarks",
        "",
        f"Run on {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
        + (" (quick: one run of each side, fewer repetitions)" if args.quick else "")
        + f"; {total_s / 60:.1f} minutes in all.",
        "",
        *machine(),
        "",
        f"This run: `{command}`. Reproduce with `make bench` (the full run, into "
        "`benchmarks/results`); real MNIST / Fashion-MNIST come from `$CNNRUN_SHARED_DATA`, "
        "which `make` sets to `../shared/data`.",
        "",
        "| script | exit | seconds | wrote |",
        "|---|--:|--:|---|",
    ]
    for d in done:
        wrote = ", ".join([*(p.name for p in d["md"]), *d["json"]]) or "—"
        lines.append(f"| `{d['script'].name}` | {d['rc']} | {d['seconds']:.0f} | {wrote} |")
    lines.append("")
    for d in done:
        for md in d["md"]:
            lines += [md.read_text(encoding="utf-8").rstrip(), ""]
        if not d["md"]:
            lines += [
                f"## {d['script'].stem}",
                "",
                f"No markdown table; see {', '.join(d['json']) or 'its output'}"
                + (f" (exit {d['rc']})." if d["rc"] else "."),
                "",
            ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the results")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()  # the scripts run in the repository root
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    done = [run_script(script, args.out, args.quick) for script in scripts()]
    total = time.perf_counter() - t0
    (args.out / "README.md").write_text(readme(done, args, total))
    print(f"{args.out / 'README.md'} ({total / 60:.1f} min)")
    failed = [d["script"].name for d in done if d["rc"]]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
