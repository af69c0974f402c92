"""`cnnrun validate` of `init_from: FILE.yaml`: the file exists and is itself valid."""

from __future__ import annotations

from pathlib import Path

from conftest import TINY
from typer.testing import CliRunner

from cnnrun.cli.app import app

runner = CliRunner()


def validate(*paths: Path) -> tuple[int, str]:
    res = runner.invoke(app, ["validate", *map(str, paths)])
    return res.exit_code, res.output


def child(folder: Path, init_from: str, name: str = "child.yaml") -> Path:
    path = folder / name
    path.write_text(f"extends: base.yaml\nname: {path.stem}\ninit_from: {init_from}\n")
    return path


def test_a_valid_base_file_validates(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(TINY)
    code, out = validate(child(tmp_path, "base.yaml"))
    assert code == 0, out
    assert "ok" in out


def test_a_missing_file_is_located_at_init_from(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(TINY)
    path = child(tmp_path, "nope.yaml")
    code, out = validate(path)
    assert code == 2, out
    text = " ".join(out.split())
    assert f"{path}:3: init_from.config: the experiment file it names does not exist" in text
    assert str(tmp_path / "nope.yaml") in text


def test_an_invalid_base_file_is_reported_in_it_and_at_init_from(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(TINY)
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.replace("MaxPooling2D", "MaxPooling2d"))
    path = child(tmp_path, "bad.yaml")
    code, out = validate(path)
    assert code == 2, out
    text = " ".join(out.split())
    assert f"{path}:3: init_from.config: the experiment file it names is not valid" in text
    assert f"{bad}:13: model.layers[1]: unknown layer 'MaxPooling2d'" in text


def test_a_cycle_of_init_from_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(TINY)
    a = child(tmp_path, "b.yaml", "a.yaml")
    child(tmp_path, "a.yaml", "b.yaml")
    code, out = validate(a)
    assert code == 2, out
    assert "init_from makes a cycle: a.yaml -> b.yaml -> a.yaml" in " ".join(out.split())


def test_a_file_that_is_no_experiment_is_refused_without_its_content(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(TINY)
    (tmp_path / "secret.yaml").write_text("password_hash: 'hunter2'\nother: [1, 2]\n")
    code, out = validate(child(tmp_path, "{config: secret.yaml}"))
    assert code == 2, out
    text = " ".join(out.split())
    assert "init_from.config: the file it names cannot be an experiment file" in text
    assert "hunter2" not in text and "password_hash" not in text
