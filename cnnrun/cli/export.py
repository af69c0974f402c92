"""The `cnnrun export` command (engine: :mod:`cnnrun.export`)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cnnrun.errors import DataError, ExitCode, print_error


class Format(enum.StrEnum):
    """The formats `cnnrun export` writes."""

    savedmodel = "savedmodel"
    tflite = "tflite"
    onnx = "onnx"


def export(
    run_dir: Annotated[
        Path, typer.Argument(help="A run folder (from `cnnrun train`).", file_okay=False)
    ],
    format_: Annotated[
        Format, typer.Option("--format", help="savedmodel, tflite or onnx (onnx: cnnrun[export]).")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Where to write (default: RUN_DIR/exports/...).", show_default=False
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(help="Run 16 images through the export and the Keras model; print max |Δ|."),
    ] = True,
) -> None:
    """Export a run's best model; the last line printed is the exported path."""
    from cnnrun.export.formats import EXTRA_HINT, export_run, load_checkpoint

    try:
        done = export_run(run_dir, format_.value, out)
    except DataError as exc:
        print_error(str(exc))
        raise typer.Exit(ExitCode.FAILED) from None
    console = Console(stderr=True)
    shape = ", ".join("N" if d is None else str(d) for d in done.input_shape)
    console.print(
        f"exported {done.checkpoint.name} as {done.format}: input float32 ({shape}), "
        "pixels / 255 as in training",
        highlight=False,
    )
    if check:
        from cnnrun.export.parity import PARITY_IMAGES, max_difference, sample_inputs

        try:
            model = load_checkpoint(done.checkpoint)
            x = sample_inputs(done.input_shape)
            delta = max_difference(model, done.path, done.format, x)
            console.print(
                f"max |Δ| against Keras on {PARITY_IMAGES} images: {delta:.2g}", highlight=False
            )
        except ImportError as exc:
            console.print(f"not checked: {exc.name} is not installed ({EXTRA_HINT})")
    print(done.path)
