"""The command line (Typer): one module per command group, no work of its own."""

from cnnrun.cli.app import main

__all__ = ["main"]
