"""Smoke checks of experiment files, for CI (the `cnnrun smoke` command: cnnrun.cli.smoke).

Each config is validated, its model built, and trained for a few batches on synthetic
data of its shape — what ``cnnrun train CONFIG --smoke --synthetic`` does — with ImageNet
backbones switched to ``weights: null`` (a CI machine has no weight files, and random
weights exercise the same code). The result is a pass/fail table (config, status,
seconds, expectations, reason), optionally a JUnit XML report, and exit code 1 when a
config failed. ``expect:`` cannot be judged on a few batches: it is reported as skipped.
"""

from __future__ import annotations

import fnmatch
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cnnrun.config.overrides import SYNTHETIC_DATA
from cnnrun.errors import ConfigError, DataError

SYNTHETIC = list(SYNTHETIC_DATA)
CONFIG_SUFFIXES = (".yaml", ".yml")
PASS = "pass"
FAIL = "FAIL"


@dataclass
class SmokeResult:
    """How one config fared.

    Attributes:
        config: The experiment file.
        passed: Whether it validated, built and trained.
        seconds: Wall time for this config.
        reason: Why it failed, on one line (None when it passed).
        detail: The full error message (several lines for a config error).
        expect: The expectations' summary (``skipped`` for a smoke run), or ``—``.
        overrides: The ``--set`` used (synthetic data, ImageNet weights off).
        run_dir: The smoke run's folder, when one was created.
    """

    config: Path
    passed: bool
    seconds: float
    reason: str | None = None
    detail: str | None = None
    expect: str = "—"
    overrides: list[str] = field(default_factory=list)
    run_dir: Path | None = None


def config_files(paths: list[Path], exclude: list[str] | None = None) -> list[Path]:
    """Expand folders into their ``*.yaml``/``*.yml`` files (sorted, not recursive).

    Args:
        paths: Files and folders as typed.
        exclude: Glob patterns of file names to leave out (e.g. ``base*.yaml``).

    Raises:
        ConfigError: When a path does not exist, or nothing is left to check.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in CONFIG_SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError("no such file or folder", received=str(path), file="cnnrun smoke")
    files = [f for f in files if not any(fnmatch.fnmatch(f.name, p) for p in exclude or [])]
    if not files:
        raise ConfigError(
            "no experiment file to check",
            expected="YAML files, or folders holding *.yaml files",
            received=", ".join(map(str, paths)),
            file="cnnrun smoke",
        )
    return list(dict.fromkeys(files))


def imagenet_overrides(config: dict[str, Any]) -> list[str]:
    """``--set`` items that turn every ImageNet-weighted backbone to ``weights: null``.

    A backbone layer is a mapping ``{ResNet50V2: {...}}`` (or a bare ``ResNet50V2`` in a
    layer list or a graph node's ``layer``) whose ``weights`` is ``imagenet`` or absent
    (Keras's default). Any other ``weights: imagenet`` key is switched off too.

    Example:
        >>> imagenet_overrides({"model": {"layers": [{"VGG19": {"weights": "imagenet"}}]}})
        ['model.layers[0].VGG19.weights=null']
    """
    from cnnrun.model.backbones import applications

    networks = applications()
    found: list[str] = []

    def default_weights(network: str) -> Any:
        return networks[network].get("defaults", {}).get("weights", "imagenet")

    def walk(node: Any, path: str, parent_key: str | None) -> None:
        if isinstance(node, dict):
            if len(node) == 1:
                ((key, args),) = node.items()
                if key in networks and (args is None or isinstance(args, dict)):
                    weights = (args or {}).get("weights", default_weights(key))
                    if weights == "imagenet":
                        found.append(f"{path}.{key}.weights=null")
                    return
            for key, value in node.items():
                child = f"{path}.{key}" if path else str(key)
                if key == "weights" and value == "imagenet":
                    found.append(f"{child}=null")
                else:
                    walk(value, child, str(key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]", None)
        elif isinstance(node, str) and node in networks and path:
            in_list = path.endswith("]")
            if (in_list or parent_key == "layer") and default_weights(node) == "imagenet":
                found.append(f"{path}.{node}.weights=null")

    walk(config, "", None)
    return list(dict.fromkeys(found))


def smoke_one(path: Path, runs_dir: Path, out: Console) -> SmokeResult:
    """Validate, build and smoke-train one config on synthetic data (never raises for it)."""
    from cnnrun.checks import load_experiment
    from cnnrun.runs.compare import expect_summary

    start = time.monotonic()
    overrides = list(SYNTHETIC)
    try:
        loaded = load_experiment(path, overrides)
        extra = imagenet_overrides(loaded.experiment.to_dict())
        if extra:
            overrides += extra
            loaded = load_experiment(path, overrides)
        from cnnrun.tf_env import import_keras
        from cnnrun.train.trainer import TrainOptions, train

        import_keras().backend.clear_session()
        # init_from: FILE.yaml smoke-trains its base on synthetic data too (as --synthetic)
        options = TrainOptions(runs_dir=runs_dir, smoke=True, passed_down=list(SYNTHETIC))
        result = train(loaded, options, out)
    except ConfigError as exc:
        return _failed(path, start, overrides, exc.render())
    except DataError as exc:
        return _failed(path, start, overrides, str(exc))
    except Exception as exc:  # whatever else breaks: that is what a smoke test is for
        return _failed(path, start, overrides, f"{type(exc).__name__}: {exc}")
    return SmokeResult(
        path,
        True,
        time.monotonic() - start,
        expect=expect_summary(result.results.get("expect")),
        overrides=overrides,
        run_dir=result.run_dir,
    )


def _failed(path: Path, start: float, overrides: list[str], message: str) -> SmokeResult:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    reason = "; ".join(lines) or "failed"
    return SmokeResult(
        path, False, time.monotonic() - start, reason, message.strip(), overrides=overrides
    )


def render_table(results: list[SmokeResult]) -> Table:
    """The pass/fail table: config, status, seconds, expect, reason."""
    passed = sum(r.passed for r in results)
    table = Table(
        title=f"smoke: {passed}/{len(results)} configs pass",
        header_style="bold",
        caption="synthetic data, a few batches; expect: not judged",
    )
    table.add_column("config", overflow="fold")
    table.add_column("status")
    table.add_column("seconds", justify="right")
    table.add_column("expect")
    table.add_column("reason", overflow="fold")
    for r in results:
        status = Text(PASS, style="green") if r.passed else Text(FAIL, style="bold red")
        table.add_row(str(r.config), status, f"{r.seconds:.1f}", r.expect, r.reason or "")
    return table


def junit_xml(results: list[SmokeResult]) -> ET.ElementTree:
    """A JUnit XML report: one testcase per config, the failure's message its reason."""
    failures = sum(not r.passed for r in results)
    total = f"{sum(r.seconds for r in results):.3f}"
    suites = ET.Element(
        "testsuites", name="cnnrun smoke", tests=str(len(results)), failures=str(failures),
        errors="0", time=total,
    )  # fmt: skip
    suite = ET.SubElement(
        suites, "testsuite", name="cnnrun smoke", tests=str(len(results)),
        failures=str(failures), errors="0", skipped="0", time=total,
    )  # fmt: skip
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="cnnrun.sweep.smoke",
            name=str(r.config),
            time=f"{r.seconds:.3f}",
        )
        if not r.passed:
            failure = ET.SubElement(case, "failure", message=r.reason or "", type="smoke")
            failure.text = r.detail or r.reason or ""
        notes = [f"--set {o}" for o in r.overrides]
        if r.expect not in ("—", ""):
            notes.append(f"expect: {r.expect} (smoke run)")
        if notes:
            ET.SubElement(case, "system-out").text = "\n".join(notes)
    ET.indent(suites)
    return ET.ElementTree(suites)
