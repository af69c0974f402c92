"""The ``cnnrun`` command line. Commands are thin: they parse, call, and report.

TensorFlow is imported only inside the commands that build or train a model.
"""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from cnnrun import __version__
from cnnrun.errors import ConfigError, DataError

app = typer.Typer(
    help="Run, inspect and compare CNN experiments described in YAML files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
data_app = typer.Typer(help="Offline data management: where data is looked for, and placing it.")
app.add_typer(data_app, name="data")

console = Console()
err_console = Console(stderr=True)

EXIT_CONFIG = 2
EXIT_EXPECT = 3


def _error(message: str) -> None:
    """Print ``error: message`` to stderr, unwrapped and without markup in the message."""
    err_console.print(Text("error: ", style="bold red") + Text(message), soft_wrap=True)


def _fail_config(exc: ConfigError) -> typer.Exit:
    _error(exc.render())
    return typer.Exit(EXIT_CONFIG)


def _version(value: bool) -> None:
    if value:
        console.print(f"cnnrun {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    builders: Annotated[
        list[Path] | None,
        typer.Option(
            "--builders",
            help="A Python file registering model builders (@register_builder); repeatable.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Run, inspect and compare CNN experiments described in YAML files."""
    if builders:
        from cnnrun.model.builders import load_builder_file

        try:
            for path in builders:
                load_builder_file(path)
        except ConfigError as exc:
            raise _fail_config(exc) from None


ConfigArg = Annotated[
    Path, typer.Argument(help="Experiment file (YAML).", exists=True, dir_okay=False)
]


def _load(config: Path, overrides: list):  # noqa: ANN202 - LoadedConfig, lazily imported
    from cnnrun.checks import load_experiment

    return load_experiment(config, overrides)


@app.command()
def train(
    config: Annotated[
        Path | None,
        typer.Argument(
            help="Experiment file (YAML), or a stopped run's folder to resume.", exists=True
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a key: --set optimizer.learning_rate=3e-4"),
    ] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="Override `epochs`.")] = None,
    name: Annotated[str | None, typer.Option(help="Override `name` (run-name prefix).")] = None,
    runs_dir: Annotated[Path, typer.Option(help="Where run folders are created.")] = Path("runs"),
    seed: Annotated[int | None, typer.Option(min=0, help="Override `seed`.")] = None,
    smoke: Annotated[
        bool, typer.Option(help="A few batches and at most 2 epochs; every artifact written.")
    ] = False,
    synthetic: Annotated[
        bool, typer.Option(help="Use generated data of the model's shape (data.dataset=synthetic).")
    ] = False,
    check: Annotated[
        bool, typer.Option(help="Exit 3 when a result misses the config's `expect:`.")
    ] = False,
    resume: Annotated[
        Path | None,
        typer.Option(
            help="Continue a stopped run in its own folder (--epochs may extend it).",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    mlflow: Annotated[
        bool, typer.Option(help="Log the run to MLflow (cnnrun\\[mlflow]; RUNS_DIR/mlflow.db).")
    ] = False,
    mlflow_uri: Annotated[
        str | None, typer.Option(help="MLflow tracking URI (implies --mlflow).", show_default=False)
    ] = None,
) -> None:
    """Train an experiment; the last line printed is the run folder."""
    if config is not None and config.is_dir():
        resume, config = resume or config, None
    from cnnrun.config.overrides import SYNTHETIC_DATA, Override

    overrides: list[Override | str] = list(set_ or [])
    if synthetic:
        overrides += list(SYNTHETIC_DATA)
    options = (("epochs", epochs), ("name", name), ("seed", seed))
    overrides += [Override.option(key, value) for key, value in options if value is not None]
    from cnnrun.train.trainer import Terminated

    try:
        if resume is not None:
            if config is not None or any(
                not (isinstance(o, Override) and o.key == "epochs") for o in overrides
            ):
                _error("--resume continues a run as it was: only --epochs may change it")
                raise typer.Exit(EXIT_CONFIG)
            from cnnrun.train.run_folder import resumable_config

            config = resumable_config(resume, epochs)
        elif config is None:
            _error("give an experiment file, or --resume RUN_DIR")
            raise typer.Exit(EXIT_CONFIG)
        loaded = _load(config, overrides)
        from cnnrun.train.trainer import TrainOptions
        from cnnrun.train.trainer import train as run_training

        options = TrainOptions(runs_dir=runs_dir, smoke=smoke, resume_dir=resume,
                               mlflow=mlflow_uri or ("local" if mlflow else None))  # fmt: skip
        result = run_training(loaded, options, console)
    except ConfigError as exc:
        raise _fail_config(exc) from None
    except DataError as exc:
        _error(str(exc))
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console.print(
            "interrupted: the run keeps its completed epochs; resume with "
            "`cnnrun train --resume RUN_DIR`"
        )
        raise typer.Exit(130) from None
    except Terminated:
        err_console.print("stopped by SIGTERM: resume with `cnnrun train --resume RUN_DIR`")
        raise typer.Exit(143) from None
    test = "  ".join(f"{k} {v:.4f}" for k, v in result.results["test"].items())
    console.print(f"[bold green]done[/]: test {test}", highlight=False)
    missed = _report_expectations(result.results.get("expect", {}))
    if result.chief:
        print(result.run_dir)
    else:
        console.print("a worker of a multi-worker run: the chief writes the run folder")
    if check and missed:
        raise typer.Exit(EXIT_EXPECT)


def _report_expectations(checked: dict) -> bool:
    """Print each expectation's outcome; return whether one was missed."""
    from cnnrun.train.expect import unmet

    for key, e in checked.items():
        mark = {True: "[green]met[/]", False: "[red]NOT met[/]", None: "[yellow]skipped[/]"}
        value = e.get("value")
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        console.print(f"expect {key} {e['condition']}: {shown} {mark[e.get('met')]}")
    missed = unmet(checked)
    for line in missed:
        _error(f"expectation not met: {line}")
    return bool(missed)


@app.command()
def summary(
    target: Annotated[Path, typer.Argument(help="Experiment file, or a run folder.", exists=True)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a key.")] = None,
    expand: Annotated[
        bool, typer.Option("--expand", help="Also list the layers inside each backbone.")
    ] = False,
) -> None:
    """Show the model's layers and parameter counts, without loading data or training."""
    from cnnrun import runfiles

    config = target / runfiles.CONFIG if target.is_dir() else target
    if not config.is_file():
        _error(f"{target} is not a run folder (no {runfiles.CONFIG})")
        raise typer.Exit(EXIT_CONFIG)
    try:
        loaded = _load(config, list(set_ or []))
        from cnnrun.model.build import build_model
        from cnnrun.model.describe import describe, table

        info = describe(build_model(loaded.experiment, loaded), expand=expand)
    except ConfigError as exc:
        raise _fail_config(exc) from None
    info["training"] = _training_plan(loaded.experiment)
    if as_json:
        print(json.dumps(info, indent=2))
    else:
        console.print(table(info))
        t = info["training"]
        console.print(
            f"batch {t['batch_size']} ({t['distribute']}: {t['replicas']} replica(s), "
            f"{t['per_replica_batch']} examples each); precision {t['precision']}",
            highlight=False,
        )


def _training_plan(exp) -> dict:  # noqa: ANN001 - Experiment, lazily imported
    """Batch per replica and precision, as training would use them (GPUs counted, CPU split)."""
    from cnnrun.tf_env import import_tensorflow

    tf = import_tensorflow()
    d = exp.distribute
    replicas = 1
    if d.strategy == "mirrored":
        replicas = len(tf.config.list_physical_devices("GPU")) or d.cpu_devices or 1
    return {
        "batch_size": exp.data.batch_size,
        "distribute": d.strategy,
        "replicas": replicas,
        "per_replica_batch": exp.data.batch_size // replicas,
        "precision": exp.precision,
    }


@app.command()
def validate(
    configs: Annotated[
        list[Path], typer.Argument(help="Experiment files.", exists=True, dir_okay=False)
    ],
    build: Annotated[
        bool,
        typer.Option(help="Also build each model and augmenter (imports TensorFlow and imgaug)."),
    ] = False,
) -> None:
    """Check experiment files; exit 2 when one is invalid."""
    bad = 0
    for path in configs:
        try:
            loaded = _load(path, [])
            if build:
                from cnnrun.checks.names import check_augment
                from cnnrun.model.build import build_model

                build_model(loaded.experiment, loaded)
                check_augment(loaded)
        except ConfigError as exc:
            bad += 1
            _error(exc.render())
            continue
        console.print(Text.assemble(("ok", "green"), f" {path}"), soft_wrap=True)
    if bad:
        raise typer.Exit(EXIT_CONFIG)


class Listing(enum.StrEnum):
    """What `cnnrun list` can show."""

    layers = "layers"
    datasets = "datasets"
    optimizers = "optimizers"
    schedules = "schedules"
    callbacks = "callbacks"
    losses = "losses"
    metrics = "metrics"
    backbones = "backbones"
    builders = "builders"


@app.command("list")
def list_(
    what: Annotated[Listing, typer.Argument(help="Which names to list.")] = Listing.layers,
) -> None:
    """Show the names the experiment file accepts."""
    from rich.table import Table

    from cnnrun.cli.listing import rows

    table = Table(title=f"{what.value}", show_lines=False)
    table.add_column("name", style="bold")
    table.add_column("details")
    for name, details in rows(what.value):
        table.add_row(name, details)
    console.print(table)


@app.command()
def schema() -> None:
    """Print the experiment file's JSON Schema (for editors; see the README)."""
    from cnnrun.config.schema import json_schema

    print(json.dumps(json_schema(), indent=2))


def _register_commands() -> None:
    """Commands defined in their own modules (none of them imports TensorFlow at load)."""
    from cnnrun.cli.export import export
    from cnnrun.cli.predict import evaluate, predict
    from cnnrun.cli.runs import compare, show
    from cnnrun.sweep.command import sweep
    from cnnrun.sweep.smoke import smoke

    for command in (compare, show, evaluate, predict, export, sweep, smoke):
        app.command()(command)


_register_commands()

from cnnrun.cli.data import register as _register_data  # noqa: E402

_register_data(data_app, console, err_console)


def main() -> None:
    """Entry point of the ``cnnrun`` console script."""
    app(prog_name="cnnrun")


if __name__ == "__main__":
    sys.exit(main())
