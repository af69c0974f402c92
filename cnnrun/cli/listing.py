"""The names `cnnrun list` shows, with one line of details each (no TensorFlow)."""

from __future__ import annotations

from cnnrun import catalog


def rows(what: str) -> list[tuple[str, str]]:
    """``(name, details)`` rows for one of the listings."""
    cat = catalog.load()
    if what == "layers":
        return [
            (name, ", ".join(spec["required"]) and "needs " + ", ".join(spec["required"]))
            for name, spec in cat["layers"].items()
        ]
    if what == "optimizers":
        return [
            (n, "args: " + ", ".join(s["params"][:6]) + ", ...")
            for n, s in cat["optimizers"].items()
        ]
    if what in ("losses", "metrics"):
        own = catalog.TASK_LOSSES if what == "losses" else catalog.TASK_METRICS
        return [(n, "") for n in cat[what]] + [
            (n, f"{help} ({task})") for n, (task, help) in own.items()
        ]
    if what == "callbacks":
        return [(n, "args: " + ", ".join(s["params"])) for n, s in cat["callbacks"].items()]
    if what == "schedules":
        from cnnrun.config.schema import Experiment

        union = Experiment.model_fields["schedule"].annotation
        from cnnrun.config.load import models_in

        rows = []
        for m in models_in(union):
            doc = (m.__doc__ or "").strip().splitlines()[0].replace("``", "`")
            args = [f for f in m.model_fields if f != "name"]
            rows.append(
                (
                    str(m.model_fields["name"].annotation.__args__[0]),
                    doc + ("  args: " + ", ".join(args) if args else ""),
                )
            )
        return rows
    if what == "configs":
        from cnnrun.config.packaged import description, names

        return [(n, description(n)) for n in names()]
    if what == "backbones":
        from cnnrun.model.backbones import EXTRA_PARAMS

        return [
            (
                n,
                "args: "
                + ", ".join(p for p in s["params"] if p != "name")
                + ", "
                + ", ".join(EXTRA_PARAMS)
                + f"; ImageNet files: {s['weights']['top']}, {s['weights']['notop']}",
            )
            for n, s in cat["applications"].items()
        ]
    if what == "builders":
        from cnnrun.model.builders import BUILDERS, describe_params, source_file

        return [
            (
                n,
                f"({describe_params(n)})  {BUILDERS.help(n)}"
                + (f"  (from {source_file(n)})" if source_file(n) else ""),
            )
            for n in BUILDERS.names()
        ]
    if what == "datasets":
        from cnnrun.data.loaders import DATASETS

        return [(n, DATASETS.help(n)) for n in DATASETS.names()]
    raise ValueError(f"nothing to list called {what!r}")
