"""The `cnnrun evaluate` and `cnnrun predict` commands (engine: :mod:`cnnrun.predict`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from cnnrun import runfiles
from cnnrun.errors import ConfigError, DataError, ExitCode, print_error
from cnnrun.predict.evaluate import Split, evaluate_with_report
from cnnrun.predict.images import predict_files


def _fail(message: str, code: int) -> typer.Exit:
    print_error(message)
    return typer.Exit(code)


RunDirArg = Annotated[
    Path, typer.Argument(help="A run folder (from `cnnrun train`).", file_okay=False)
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


def predict(
    run_dir: RunDirArg,
    inputs: Annotated[
        list[Path],
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
) -> None:
    """Predict images with a run's best model and draw each prediction as a PNG."""
    try:
        written = predict_files(run_dir, inputs, out)
    except ConfigError as exc:
        raise _fail(exc.render(), ExitCode.CONFIG) from None
    except DataError as exc:
        raise _fail(str(exc), ExitCode.FAILED) from None
    for path in written:
        print(path)
