"""Options that several commands declare alike (`train` and `sweep`), declared once."""

from __future__ import annotations

from typing import Annotated

import typer

Epochs = Annotated[int | None, typer.Option(min=1, help="Override `epochs`.")]
MlflowUri = Annotated[
    str | None, typer.Option(help="MLflow tracking URI (implies --mlflow).", show_default=False)
]
Overrides = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a key (KEY=VALUE, a YAML value); repeatable."),
]
