"""The `cnnrun evaluate` and `cnnrun predict` commands (engine: :mod:`cnnrun.predict`)."""

from __future__ import annotations

import csv
import enum
import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from cnnrun import runfiles
from cnnrun.cli.complete import run_folders
from cnnrun.errors import ConfigError, DataError, ExitCode, print_error
from cnnrun.predict.evaluate import Split, evaluate_with_report
from cnnrun.predict.images import predict_files


def _fail(message: str, code: int) -> typer.Exit:
    print_error(message)
    return typer.Exit(code)


RunDirArg = Annotated[
    Path,
    typer.Argument(
        help="A run folder (from `cnnrun train`).", file_okay=False, autocompletion=run_folders
    ),
]


def evaluate(
    run_dir: RunDirArg,
    split: Annotated[Split, typer.Option("--split", help="Which examples to score.")] = Split.test,
) -> None:
    """Recompute a run's test (or val / train) metrics from its saved best model."""
    try:
        values, report = evaluate_with_report(run_dir, split.value)
    except ConfigError as exc:
        raise _fail(exc.render(), ExitCode.CONFIG) from None
    except DataError as exc:
        raise _fail(str(exc), ExitCode.FAILED) from None
    console = Console()
    saved: dict[str, Any] = {}
    results = Path(run_dir) / runfiles.RESULTS
    if split == Split.test and results.is_file():
        try:
            saved = runfiles.read_json(results).get("test") or {}
        except (OSError, ValueError):
            saved = {}
    for name, value in values.items():
        line = f"{split.value} {name} {value:.4f}"
        if isinstance(saved.get(name), int | float):
            line += f"   (results.json: {saved[name]:.4f})"
        console.print(line, highlight=False)
    if report is not None:
        from cnnrun.runs.class_table import class_table

        console.print(class_table(report, title=f"per class ({split.value})"))


class PredictFormat(enum.StrEnum):
    """How `cnnrun predict` prints its predictions."""

    text = "text"
    json = "json"
    csv = "csv"


URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def predict(
    run_dir: RunDirArg,
    inputs: Annotated[
        list[str],
        typer.Argument(help="Image files, or folders of images.", show_default=False),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder for the PNGs (default: RUN_DIR/predictions).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,  # fmt: skip
    output_format: Annotated[
        PredictFormat,
        typer.Option("--format", help="text, or json / csv alone on stdout."),
    ] = PredictFormat.text,
) -> None:
    """Predict images with a run's best model: the top class per image, and a PNG each.

    Prints one line per image (image, top class, its probability, the picture) or, with
    --format json|csv, the top 3 classes of each image. An image that cannot be read is
    reported and skipped; the exit code is then 1.
    """
    urls = [i for i in inputs if URL.match(i)]
    if urls:
        raise _fail(
            f"{urls[0]}: URLs are not read; download the file first (e.g. curl -O URL)",
            ExitCode.CONFIG,
        )
    records: list[dict[str, Any]] = []
    bad: list[Path] = []

    def skip(path: Path, exc: DataError) -> None:
        bad.append(path)
        print_error(str(exc))

    try:
        written = predict_files(run_dir, [Path(i) for i in inputs], out, records, on_bad_file=skip)
    except ConfigError as exc:
        raise _fail(exc.render(), ExitCode.CONFIG) from None
    except DataError as exc:
        raise _fail(str(exc), ExitCode.FAILED) from None
    _print_predictions(records, output_format)
    if bad:
        Console(stderr=True).print(
            f"skipped {len(bad)} unreadable file(s); wrote {len(written)}", highlight=False
        )
        raise typer.Exit(ExitCode.FAILED)


def _print_predictions(records: list[dict[str, Any]], output_format: PredictFormat) -> None:
    if output_format == PredictFormat.json:
        print(json.dumps(records, indent=2))
        return
    if output_format == PredictFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["image", "class", "probability", "picture"])
        for r in records:
            top = r["top"][0] if r["top"] else {"class": "", "probability": ""}
            writer.writerow([r["image"], top["class"], top["probability"], r["picture"]])
        return
    for r in records:
        top = r["top"][0] if r["top"] else None
        shown = f"  {top['class']}  {top['probability']:.2f}" if top else ""
        print(f"{r['image']}{shown}  -> {r['picture']}", flush=True)
