"""The `cnnrun smoke` command (registered in `cnnrun.cli.app`): every config, a few batches.

What one smoke check does, the table and the JUnit report are :mod:`cnnrun.sweep.smoke`.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cnnrun.errors import ConfigError, ExitCode, print_error
from cnnrun.sweep.smoke import SmokeResult, config_files, junit_xml, render_table, smoke_one

console = Console()
err_console = Console(stderr=True)


def smoke(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Experiment files, or folders of them (configs/).", exists=True),
    ],
    junit: Annotated[
        Path | None,
        typer.Option(help="Also write a JUnit XML report (a testcase per config).", dir_okay=False),
    ] = None,
    runs_dir: Annotated[
        Path | None,
        typer.Option(help="Keep the smoke runs here (default: a temporary folder, removed)."),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(help="Leave out files whose name matches this glob (e.g. 'base*.yaml')."),
    ] = None,
    verbose: Annotated[bool, typer.Option(help="Show each training's own output.")] = False,
) -> None:
    """Validate, build and train every config for a few batches on synthetic data.

    ImageNet backbones get `weights: null`. Prints a pass/fail table; exits 1 when a
    config fails (each named, with the reason), 2 when there is nothing to check.
    """
    try:
        files = config_files(list(paths), exclude)
    except ConfigError as exc:
        print_error(exc.render())
        raise typer.Exit(ExitCode.CONFIG) from None
    keep = runs_dir is not None
    folder = Path(runs_dir) if keep else Path(tempfile.mkdtemp(prefix="cnnrun-smoke-"))
    out = console if verbose else Console(file=io.StringIO())
    results: list[SmokeResult] = []
    try:
        for path in files:
            if not verbose:
                err_console.print(f"smoke {path} ...", highlight=False, soft_wrap=True)
            results.append(smoke_one(path, folder, out))
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    finally:
        if not keep:
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)
    shown = console if console.is_terminal else Console(width=160)  # files, pipes, CI logs
    shown.print(render_table(results))
    if junit is not None:
        junit.parent.mkdir(parents=True, exist_ok=True)
        junit_xml(results).write(junit, encoding="utf-8", xml_declaration=True)
        err_console.print(f"junit: {junit}", highlight=False, soft_wrap=True)
    failed = [r for r in results if not r.passed]
    for r in failed:
        print_error(f"smoke {r.config} failed: {r.detail or r.reason}")
    if failed:
        raise typer.Exit(ExitCode.FAILED)
