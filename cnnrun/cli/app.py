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
from cnnrun.cli import complete, options
from cnnrun.cli.help_format import hide_flag_types
from cnnrun.errors import ConfigError, DataError

hide_flag_types()

app = typer.Typer(
    help="Run, inspect and compare CNN experiments described in YAML files.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
data_app = typer.Typer(help="Offline data management: where data is looked for, and placing it.")
app.add_typer(data_app, name="data")

console = Console()
if not console.is_terminal:  # a pipe or a file: whole lines (paths are never wrapped)
    console = Console(soft_wrap=True, width=100_000)
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


def _load(config: Path, overrides: list):  # noqa: ANN202 - LoadedConfig, lazily imported
    from cnnrun.checks import load_experiment

    return load_experiment(config, overrides)


def _config_path(arg: str) -> Path:
    """The experiment file ``arg`` names: a path, else a packaged config (``demo``)."""
    from cnnrun.config.packaged import resolve

    return resolve(arg)


@app.command()
def train(
    config: Annotated[
        str | None,
        typer.Argument(
            help="Experiment file (YAML), a packaged config's name (demo, fashion_bn, ...: "
            "`cnnrun list configs`), or a stopped run's folder to resume.",
            autocompletion=complete.config_or_run,
            show_default=False,
        ),
    ] = None,
    set_: options.Overrides = None,
    epochs: options.Epochs = None,
    name: Annotated[str | None, typer.Option(help="Override `name` (run-name prefix).")] = None,
    runs_dir: Annotated[Path, typer.Option(help="Where run folders are created.")] = Path("runs"),
    seed: Annotated[
        int | None,
        typer.Option(help="Override `seed` (0 to 2**32 - 1); passed down to init_from's file."),
    ] = None,
    smoke: Annotated[
        bool,
        typer.Option(
            "--smoke",
            help="A few batches and at most 2 epochs; every file written (init_from's file too).",
        ),
    ] = False,
    synthetic: Annotated[
        bool,
        typer.Option(
            "--synthetic", help="Generated data of the model's shape (init_from's file too)."
        ),
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 3 when a result misses the config's `expect:`.")
    ] = False,
    resume: Annotated[
        Path | None,
        typer.Option(
            help="Continue a stopped run in its own folder (--epochs may extend it).",
            exists=True,
            file_okay=False,
            autocompletion=complete.run_folders,
            show_default=False,
        ),
    ] = None,
    mlflow: Annotated[
        bool, typer.Option(help="Log the run to MLflow (cnnrun\\[mlflow]; RUNS_DIR/mlflow.db).")
    ] = False,
    mlflow_uri: options.MlflowUri = None,
) -> None:
    """Train an experiment; the last line printed is the run folder.

    Examples: `cnnrun train demo`, `cnnrun train my.yaml --set
    optimizer.learning_rate=3e-4 --epochs 10`, `cnnrun train my.yaml --smoke --synthetic`
    (a check on generated data: data.dataset=synthetic).

    With `init_from: FILE.yaml` that experiment is trained first as its own run in the
    same runs folder (a completed run of it there is reused); --seed, --synthetic and
    --smoke apply to it too, --set, --epochs and --name do not.
    """
    config_file: Path | None = None
    if config is not None and Path(config).is_dir():
        resume = resume or Path(config)
    elif config is not None:
        try:
            config_file = _config_path(config)
        except ConfigError as exc:
            raise _fail_config(exc) from None
    from cnnrun.config.overrides import SYNTHETIC_DATA, Override

    overrides: list[Override | str] = list(set_ or [])
    passed_down: list[Override | str] = []  # to init_from's experiment file
    if synthetic:
        overrides += list(SYNTHETIC_DATA)
        passed_down += list(SYNTHETIC_DATA)
    if seed is not None:
        passed_down.append(Override.option("seed", seed))
    options = (("epochs", epochs), ("name", name), ("seed", seed))
    overrides += [Override.option(key, value) for key, value in options if value is not None]
    from cnnrun.signals import Terminated  # not the trainer: it loads TensorFlow

    try:
        if resume is not None:
            if config_file is not None or any(
                not (isinstance(o, Override) and o.key == "epochs") for o in overrides
            ):
                _error("--resume continues a run as it was: only --epochs may change it")
                raise typer.Exit(EXIT_CONFIG)
            from cnnrun.train.run_folder import resumable_config

            config_file = resumable_config(resume, epochs)
        elif config_file is None:
            _error("give an experiment file, or --resume RUN_DIR")
            raise typer.Exit(EXIT_CONFIG)
        loaded = _load(config_file, overrides)
        from cnnrun.train.trainer import TrainOptions
        from cnnrun.train.trainer import train as run_training

        options = TrainOptions(runs_dir=runs_dir, smoke=smoke, resume_dir=resume,
                               mlflow=mlflow_uri or ("local" if mlflow else None),
                               passed_down=passed_down)  # fmt: skip
        result = run_training(loaded, options, console)
    except ConfigError as exc:
        failed = _fail_config(exc)
        _base_note(exc, config_file)
        raise failed from None
    except DataError as exc:
        _error(str(exc))
        _base_note(exc, config_file)
        raise typer.Exit(1) from None
    except KeyboardInterrupt as exc:
        _stopped(exc, "interrupted: the run keeps its completed epochs", resume)
        _base_note(exc, config_file)
        raise typer.Exit(130) from None
    except Terminated as exc:
        _stopped(exc, "stopped by SIGTERM", resume)
        _base_note(exc, config_file)
        raise typer.Exit(143) from None
    except Exception as exc:  # anything else that ended the training: one line, no traceback
        from cnnrun.errors import one_line

        log = getattr(exc, "cnnrun_error_log", None)
        _error(one_line(exc) + (f" (the traceback is in {log})" if log else ""))
        _base_note(exc, config_file)
        raise typer.Exit(1) from None
    if result.results["test"] is None:
        console.print("[bold green]done[/]: no test set (data.test_split: 0)", highlight=False)
    else:
        test = "  ".join(f"{k} {v:.4f}" for k, v in result.results["test"].items())
        console.print(f"[bold green]done[/]: test {test}", highlight=False)
    missed = _report_expectations(result.results.get("expect", {}), check)
    if result.chief:
        print(result.run_dir)
    else:
        console.print("a worker of a multi-worker run: the chief writes the run folder")
    if check and missed:
        raise typer.Exit(EXIT_EXPECT)


def _base_note(exc: BaseException, config_file: Path | None) -> None:
    """When it was init_from's base experiment that stopped: say so (stderr)."""
    base = getattr(exc, "init_from_base", None)
    if base is None:
        return
    run_dir = getattr(exc, "run_dir", None)
    text = f"note: this stopped init_from's base experiment {base}, trained first; "
    if run_dir:
        text += (
            f"its run is {run_dir}: once it is completed (`cnnrun train --resume` it), "
            f"train {config_file} again to start from it. "
        )
    err_console.print(Text(text + f"The run of {config_file} was not created."), soft_wrap=True)


def _stopped(exc: BaseException, what: str, resume: Path | None) -> None:
    """After Ctrl-C or SIGTERM: print the resume command with the real run folder.

    The folder is then stdout's last line, as after a completed run.
    """
    import shlex

    run_dir = getattr(exc, "run_dir", None) or resume
    if run_dir is None:
        err_console.print(f"{what.split(':')[0]}: no run folder was created", highlight=False)
        return
    err_console.print(
        Text(f"{what}; resume with: cnnrun train --resume {shlex.quote(str(run_dir))}"),
        soft_wrap=True,
    )
    print(run_dir, flush=True)


def _report_expectations(checked: dict, check: bool) -> bool:
    """Print each expectation's outcome; return whether one was missed.

    A miss is an error only with ``--check`` (which then exits 3); otherwise a warning.
    """
    from cnnrun.train.expect import unmet

    for key, e in checked.items():
        mark = {True: "[green]met[/]", False: "[red]NOT met[/]", None: "[yellow]skipped[/]"}
        value = e.get("value")
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        console.print(f"expect {key} {e['condition']}: {shown} {mark[e.get('met')]}")
    missed = unmet(checked)
    for line in missed:
        if check:
            _error(f"expectation not met: {line}")
        else:
            err_console.print(
                Text(f"warning: expectation not met: {line} (with --check this exits 3)", "yellow"),
                soft_wrap=True,
            )
    return bool(missed)


@app.command()
def summary(
    target: Annotated[
        str,
        typer.Argument(
            help="Experiment file, a packaged config's name, or a run folder.",
            autocompletion=complete.config_or_run,
            show_default=False,
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a key.")] = None,
    expand: Annotated[
        bool, typer.Option("--expand", help="Also list the layers inside each backbone.")
    ] = False,
) -> None:
    """Show the model's layers and parameter counts, without loading data or training.

    For a run folder, the model it saved (its config's Python files are not run).
    """
    from cnnrun import runfiles

    try:
        config = Path(target) / runfiles.CONFIG if Path(target).is_dir() else _config_path(target)
    except ConfigError as exc:
        raise _fail_config(exc) from None
    if not config.is_file():
        _error(f"{target} is not a run folder (no {runfiles.CONFIG})")
        raise typer.Exit(EXIT_CONFIG)
    try:
        from cnnrun.model.backbones import NOT_LOADED_NOTE, random_weights_if_missing
        from cnnrun.model.describe import describe, table

        not_loaded: list = []
        if Path(target).is_dir():  # the model the run saved: its config's Python is not run
            from cnnrun.config.load import read_experiment
            from cnnrun.predict.saved import saved_model

            loaded = read_experiment(config, list(set_ or []))
            info = describe(saved_model(Path(target)), expand=expand)
        else:
            loaded = _load(config, list(set_ or []))
            from cnnrun.model.build import build_model

            with random_weights_if_missing() as not_loaded:
                info = describe(build_model(loaded.experiment, loaded), expand=expand)
    except ConfigError as exc:
        raise _fail_config(exc) from None
    except DataError as exc:
        _error(str(exc))
        raise typer.Exit(1) from None
    info["training"] = _training_plan(loaded.experiment)
    if not_loaded:
        info["weights_not_loaded"] = [{"network": n, "file": f} for n, f in not_loaded]
    if as_json:
        print(json.dumps(info, indent=2))
    else:
        console.print(table(info))
        for network, file_name in not_loaded:
            console.print(f"{network}: {NOT_LOADED_NOTE}: {file_name}", highlight=False)
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
        list[str],
        typer.Argument(
            help="Experiment files, or packaged configs' names.",
            autocompletion=complete.config_files,
            show_default=False,
        ),
    ],
    build: Annotated[
        bool,
        typer.Option(
            "--build", help="Also build each model and augmenter (imports TensorFlow, imgaug)."
        ),
    ] = False,
) -> None:
    """Check experiment files: every problem of each file, located; exit 2 when one is invalid.

    Without --build this is instant (no TensorFlow) and checks keys, values and names, not
    the shapes of the layers: its `ok` says `schema only`. With --build, `ok` means the
    model was built.
    """
    bad = 0
    for arg in configs:
        try:
            path = _config_path(arg)
            loaded = _load(path, [])
            if build:
                from cnnrun.checks.names import check_augment
                from cnnrun.model.backbones import random_weights_if_missing
                from cnnrun.model.build import build_model
                from cnnrun.train.init_from import check_models_match

                with random_weights_if_missing() as not_loaded:
                    model = build_model(loaded.experiment, loaded)
                check_augment(loaded)
                check_models_match(model, loaded)  # init_from: the weights fit
        except ConfigError as exc:
            bad += 1
            _error(exc.render())
            continue
        note = "" if build else " (schema only; shapes not checked: --build)"
        if build and not_loaded:
            from cnnrun.model.backbones import NOT_LOADED_NOTE

            note = f" {NOT_LOADED_NOTE}"
        console.print(Text.assemble(("ok", "green"), f" {path}{note}"), soft_wrap=True)
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
    configs = "configs"


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
def init(
    name: Annotated[
        str,
        typer.Argument(
            help="A packaged config (`cnnrun list configs`).",
            autocompletion=complete.packaged_names,
        ),
    ] = "demo",
    folder: Annotated[Path, typer.Argument(help="Where to write it.", file_okay=False)] = Path("."),
) -> None:
    """Copy a packaged experiment file (and any it extends) into a folder, to edit and train.

    Never overwrites a file. Example: `cnnrun init fashion_bn mine` writes
    mine/fashion_bn.yaml; then `cnnrun train mine/fashion_bn.yaml`.
    """
    from cnnrun.config.packaged import copy_out

    try:
        written = copy_out(name, folder)
    except ConfigError as exc:
        raise _fail_config(exc) from None
    except DataError as exc:
        _error(str(exc))
        raise typer.Exit(1) from None
    for path in written:
        print(path)


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
    from cnnrun.cli.smoke import smoke
    from cnnrun.cli.sweep import sweep

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
