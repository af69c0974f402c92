"""`cnnrun data`: where data is looked for, what is found, and placing files (no TensorFlow)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def register(data_app: typer.Typer, console: Console, err_console: Console) -> None:
    """Add the `data` sub-commands to ``data_app``."""

    @data_app.command("list")
    def list_() -> None:
        """Show each data set and whether its files are found here."""
        from cnnrun.data import locate
        from cnnrun.data.loaders import DATASETS, EMBEDDED_FILE

        table = Table(title="data sets")
        for col in ("name", "found", "description"):
            table.add_column(col)
        for name in DATASETS.names():
            if name in locate.FILES:
                hit = locate.find(locate.FILES[name], None)
                found = str(hit) if hit else "[yellow]not found[/] (Keras would download it)"
            elif name == "fashion_mnist_sample":
                found = str(EMBEDDED_FILE)
            else:
                found = "-"
            table.add_row(name, found, DATASETS.help(name))
        console.print(table)

    @data_app.command()
    def where() -> None:
        """Show the folders searched for data files, in order."""
        from cnnrun.data import locate

        for i, folder in enumerate(locate.search_dirs(None), 1):
            state = "exists" if folder.is_dir() else "missing"
            console.print(f"{i}. {folder}  ({state})", highlight=False)
        console.print("A config's data.path is searched before these.")

    @data_app.command("import")
    def import_(
        source: Annotated[
            Path, typer.Argument(help="A data file or folder, e.g. mnist.npz.", exists=True)
        ],
        dest: Annotated[
            Path | None, typer.Option(help="Target folder (default: Keras's data set cache).")
        ] = None,
    ) -> None:
        """Copy a data file (or folder) where cnnrun and Keras look for it.

        Your own images (a folder of class folders, or a CSV of path,label) are checked
        and copied as a class-per-subfolder folder for `data: {dataset: folder}`.
        """
        from cnnrun.data import locate

        target_dir = dest or locate.keras_cache_dir()
        target_dir.mkdir(parents=True, exist_ok=True)
        from cnnrun.data.image_import import import_images, is_image_source

        if is_image_source(source):
            from cnnrun.errors import DataError

            try:
                report = import_images(source, target_dir)
            except DataError as exc:
                err_console.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
                raise typer.Exit(1) from None
            _print_import(report)
            return
        target = target_dir / source.name
        if target.exists():
            err_console.print(f"error: {target} already exists; not overwritten")
            raise typer.Exit(1)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
        console.print(f"copied {source} -> {target}", highlight=False)

    def _print_import(report) -> None:  # noqa: ANN001 - ImportReport, lazily imported
        counts = ", ".join(f"{n:,} {split}" for split, n in report.counts.items())
        console.print(
            f"copied {counts} images of {len(report.class_names)} classes -> {report.target}",
            highlight=False,
            soft_wrap=True,
        )
        for name, why in report.bad:
            err_console.print(
                f"left out {name}: {why}", highlight=False, soft_wrap=True, markup=False
            )
        if report.bad:
            err_console.print(
                f"{len(report.bad)} unreadable file(s) left out", highlight=False, soft_wrap=True
            )
        console.print(
            f"use it with: data: {{dataset: folder, path: {report.target}}}",
            highlight=False,
            soft_wrap=True,
        )

    @data_app.command()
    def show(
        dataset: Annotated[str, typer.Argument(help="A data set name (`cnnrun list datasets`).")],
        out: Annotated[
            Path | None, typer.Option(help="The PNG to write (default: DATASET_samples.png).")
        ] = None,
        n: Annotated[int, typer.Option("--n", min=1, max=400, help="How many images.")] = 25,
        split: Annotated[str, typer.Option(help="train or test.")] = "train",
        path: Annotated[
            Path | None, typer.Option(help="Where to look for its files first (data.path).")
        ] = None,
        seed: Annotated[
            int, typer.Option(help="Seed of the random sample; -1 shows the first N.")
        ] = 0,
    ) -> None:
        """Save a grid of sample images with their class names as a PNG (the chapter's §6.2)."""
        from cnnrun.errors import ConfigError, DataError
        from cnnrun.plots.samples import show_dataset

        if split not in ("train", "test"):
            err_console.print(f"error: --split is train or test, not {split!r}")
            raise typer.Exit(2)
        target = out or Path(f"{dataset}_samples.png")
        try:
            written = show_dataset(
                dataset, target, n, split, str(path) if path else None, None if seed < 0 else seed
            )
        except ConfigError as exc:
            err_console.print(
                f"error: {exc.render()}", highlight=False, markup=False, soft_wrap=True
            )
            raise typer.Exit(2) from None
        except DataError as exc:
            err_console.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
            raise typer.Exit(1) from None
        console.print(f"wrote {written}", highlight=False)
