"""Peak memory of a cnnrun training run against the plain Keras script, on the full data.

``bench_overhead`` trains small slices (a few thousand images) so that its timings fit in
minutes; at that size the data hardly weighs anything and the table says little about
memory. Here each config trains one epoch on the whole training set (60,000 images, the
experiment as the chapter runs it), as ``cnnrun train`` and as its plain script
(``benchmarks/plain/``), each in a fresh process; peak memory is the child's max RSS
(``wait4``). The plain script holds the images as float32 (as the chapter's notebooks do),
cnnrun as uint8, scaled per batch.

Usage:
    python benchmarks/bench_memory.py --out DIR [--quick] [--configs mnist_convnet,...]

Writes ``DIR/memory.md`` and ``DIR/memory.json``; skipped without the real data.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_overhead import Case, data_dir, run_cnnrun, run_plain  # noqa: E402

FULL = {
    "mnist_basic": Case("mnist_basic", "mnist", 60000, 10000),
    "fashion_basic": Case("fashion_basic", "fashion_mnist", 60000, 10000),
    "mnist_convnet": Case("mnist_convnet", "mnist", 60000, 10000),
    "fashion_bn": Case("fashion_bn", "fashion_mnist", 60000, 10000),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--quick", action="store_true", help="mnist_basic only")
    ap.add_argument("--configs", default=None, help="comma-separated, of: " + ", ".join(FULL))
    ap.add_argument("--data", type=Path, default=None)
    args = ap.parse_args()
    names = args.configs.split(",") if args.configs else (
        ["mnist_basic"] if args.quick else list(FULL)
    )  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    data = data_dir(args.data)
    head = "## Peak memory on the full data (one epoch, 60,000 training images)\n\n"
    if data is None or not all((data / f"{FULL[n].dataset}.npz").exists() for n in names):
        (args.out / "memory.md").write_text(head + "skipped: no real data\n")
        print("skipped: no real data")
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            case = FULL[name]
            npz = data / f"{case.dataset}.npz"
            cn = run_cnnrun(case, npz, 1, Path(tmp) / name)
            pl = run_plain(case, npz, 1, Path(tmp) / f"{name}.json")
            rows.append({
                "config": name,
                "cnnrun_max_rss_mib": cn.max_rss_mib,
                "plain_max_rss_mib": pl.max_rss_mib,
                "difference_mib": round(cn.max_rss_mib - pl.max_rss_mib, 1),
                "cnnrun_test_accuracy": cn.test_accuracy,
                "plain_test_accuracy": pl.test_accuracy,
            })  # fmt: skip
            print(f"{name}: cnnrun {cn.max_rss_mib:.0f} MiB, plain {pl.max_rss_mib:.0f} MiB")
    lines = [
        head.rstrip("\n"),
        "",
        "| config | cnnrun peak RSS | plain peak RSS | cnnrun − plain | within target |",
        "|---|--:|--:|--:|:-:|",
    ]
    for r in rows:
        ok = "yes" if r["difference_mib"] <= 0 else "**no**"
        lines.append(
            f"| {r['config']} | {r['cnnrun_max_rss_mib']:,.0f} MiB | "
            f"{r['plain_max_rss_mib']:,.0f} MiB | {r['difference_mib']:+,.0f} MiB | {ok} |"
        )
    lines += ["", "Target: cnnrun's peak no higher than the plain script's."]
    text = "\n".join(lines) + "\n"
    (args.out / "memory.md").write_text(text)
    (args.out / "memory.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
