"""Issue 13, "Packaging": a wheel a user can install, configs by name, sane dependencies.

- A wheel built from the repository (``pip wheel --no-deps -w DIR .``) lacks
  cnnrun/keras_catalog.json: validate, list layers, summary and train then end with a
  FileNotFoundError traceback.
- ``license = "MIT"`` needs setuptools >= 77; build-system asks for >= 69.
- A pip user gets no configs: ship them inside the package, `cnnrun train demo` /
  `cnnrun train fashion_bn` by name, and `cnnrun init [NAME] [DIR]` to copy one out.
- Dependencies: ranges in pyproject, exact versions in a constraints file (constraints.txt)
  that make and CI use; requires-python as wide as TensorFlow allows; not tensorflow-cpu
  alone (or the choice documented); opencv-python-headless, not opencv-python.
- The wheel, installed into a fresh venv, runs --version, validate, summary and a
  --smoke --synthetic train of a packaged config. Two tests do that: one borrows this
  venv's installed dependencies (about 40 s, in `make test`), one installs the locked
  dependencies (about 3 min here with a warm pip cache, marked slow: `make test-full`).

The wheel is built from a copy of the repository (so nothing is written into the
checkout), from its root, which works whether the package lives in src/ or at the top.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from cli_helpers import REPO, REPO_CONFIGS, cli, cli_env
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

PYPROJECT = REPO / "pyproject.toml"
CONSTRAINTS = REPO / "constraints.txt"
SKIP_AT_TOP = {".venv", ".git", "runs", "build", "dist", ".pytest_cache", ".ruff_cache"}
SHIPPED_NAMES = sorted(p.name for p in REPO_CONFIGS.glob("*.yaml"))


def _ignore(folder: str, names: list[str]) -> set[str]:
    skip = {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}
    if Path(folder).resolve() == REPO.resolve():
        skip |= SKIP_AT_TOP & set(names)
    return skip


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip wheel --no-deps -w DIR .` builds from (a copy of) the repository."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=_ignore)
    out = tmp / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (found,) = out.glob("cnnrun-*.whl")
    return found


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as z:
        return set(z.namelist())


# ---------------------------------------------------------------------------------------
# What the wheel holds


def test_the_wheel_holds_the_catalog_and_the_package_data(wheel):
    names = _names(wheel)
    for needed in (
        "cnnrun/keras_catalog.json",
        "cnnrun/py.typed",
        "cnnrun/data/embedded/fashion_mnist_sample.npz",
    ):
        assert needed in names, f"{needed} is not in {wheel.name}"


def test_the_wheel_holds_every_shipped_config(wheel):
    shipped = {
        Path(n).name for n in _names(wheel) if n.startswith("cnnrun/") and n.endswith(".yaml")
    }
    missing = [n for n in SHIPPED_NAMES if n not in shipped]
    assert not missing, f"configs missing from {wheel.name}: {missing}"


def test_the_wheel_holds_only_the_cnnrun_package(wheel):
    """Guard: no tests/ or benchmarks/ package leaks into the wheel (flat layout)."""
    tops = {n.split("/", 1)[0] for n in _names(wheel)}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"cnnrun"}, tops


# ---------------------------------------------------------------------------------------
# The installed wheel, in a fresh venv


def _cnnrun(
    venv: Path, *args: object, cwd: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the ``cnnrun`` console script of ``venv``, stdout piped."""
    return subprocess.run(
        [str(venv / "bin" / "cnnrun"), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=cli_env(120),
        timeout=timeout,
    )


def _first_day(venv: Path, work: Path) -> None:
    """What a user does first: version, validate, list, summary, a smoke train by name."""
    work.mkdir(exist_ok=True)
    spec = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import importlib.util as u; print(u.find_spec('cnnrun').origin)"],
        capture_output=True, text=True, cwd=work,
    )  # fmt: skip
    assert spec.stdout.strip().startswith(str(venv)), f"cnnrun is not the wheel's: {spec}"
    steps = [
        ("--version",),
        ("validate", REPO_CONFIGS / "demo.yaml"),
        ("list", "layers"),
        ("summary", REPO_CONFIGS / "demo.yaml"),
        ("train", "demo", "--smoke", "--synthetic", "--runs-dir", work / "runs"),
    ]
    for step in steps:
        result = _cnnrun(venv, *step, cwd=work)
        shown = " ".join(map(str, step))
        assert "Traceback" not in result.stderr, f"cnnrun {shown}:\n{result.stderr[-3000:]}"
        assert result.returncode == 0, f"cnnrun {shown}: exit {result.returncode}\n" + (
            result.stdout[-2000:] + result.stderr[-3000:]
        )
    last = result.stdout.strip().splitlines()[-1]
    assert Path(last).is_dir() and (Path(last) / "results.json").is_file(), result.stdout


def test_the_installed_wheel_works_with_this_venvs_dependencies(wheel, tmp_path):
    """The wheel in a fresh venv that borrows the dependencies installed here (fast)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    fresh = subprocess.run(
        [str(venv / "bin" / "python"), "-c", purelib], capture_output=True, text=True, check=True
    ).stdout.strip()
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    # A path line of a .pth is added to sys.path, but the .pth files there (this checkout's
    # editable install) are not read: `import cnnrun` finds the wheel's copy.
    (Path(fresh) / "_borrowed_dependencies.pth").write_text("\n".join(sorted(here)) + "\n")
    _first_day(venv, tmp_path / "work")


@pytest.mark.slow
def test_the_wheel_installs_with_the_locked_dependencies(wheel, tmp_path):
    """A fresh venv, `pip install -c constraints.txt WHEEL` (from pip's cache), first day."""
    assert CONSTRAINTS.is_file(), "no constraints.txt (the locked versions)"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "-c", str(CONSTRAINTS), str(wheel)],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    check = subprocess.run([str(venv / "bin" / "pip"), "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    builds = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import importlib.metadata as m; "
         "print([d.metadata['Name'] for d in m.distributions() if 'opencv' in d.metadata['Name']"
         " or d.metadata['Name'].startswith('tensorflow')])"],
        capture_output=True, text=True,
    )  # fmt: skip
    found = eval(builds.stdout)  # noqa: S307 - our own list literal
    assert len([n for n in found if "opencv" in n]) == 1, f"not one OpenCV build: {found}"
    assert "tensorflow-cpu" not in found and "tensorflow_cpu" not in found, found
    imgaug = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "from cnnrun.data.augment import import_imgaug; import_imgaug()"],
        capture_output=True, text=True, env=cli_env(120), cwd=tmp_path,
    )  # fmt: skip
    assert imgaug.returncode == 0, imgaug.stderr[-3000:]
    _first_day(venv, tmp_path / "work")


# ---------------------------------------------------------------------------------------
# Configs by name, and `cnnrun init`


def test_train_a_packaged_config_by_name(tmp_path):
    """From a folder without configs/: `cnnrun train demo` finds the packaged one."""
    result = cli("train", "demo", "--smoke", "--synthetic", "--epochs", "1",
                 "--runs-dir", tmp_path / "runs", cwd=tmp_path, columns=120)  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    run = Path(result.stdout.strip().splitlines()[-1])
    assert run.is_dir() and run.name.endswith("demo"), result.stdout


def test_init_copies_a_packaged_config_out(tmp_path):
    result = cli("init", "fashion_bn", "mine", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    copy = tmp_path / "mine" / "fashion_bn.yaml"
    assert copy.is_file(), (
        list((tmp_path / "mine").glob("*")) if (tmp_path / "mine").exists() else []
    )
    assert copy.read_text() == (REPO_CONFIGS / "fashion_bn.yaml").read_text()
    assert str(copy.relative_to(tmp_path)) in result.stdout or str(copy) in result.stdout


def test_init_without_a_name_gives_a_config_that_validates(tmp_path):
    result = cli("init", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    written = sorted(tmp_path.glob("*.yaml"))
    assert written, result.stdout
    check = cli("validate", *written, cwd=tmp_path)
    assert check.returncode == 0, check.stderr


def test_init_of_a_config_that_extends_another_still_validates(tmp_path):
    """padding_same.yaml extends mnist_basic.yaml: the copy must not point at nothing."""
    result = cli("init", "padding_same", "mine", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    check = cli("validate", tmp_path / "mine" / "padding_same.yaml", cwd=tmp_path)
    assert check.returncode == 0, check.stderr


def test_init_of_an_unknown_name_suggests_one(tmp_path):
    result = cli("init", "fashion_nb", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "fashion_bn" in result.stderr, result.stderr
    assert not list(tmp_path.glob("*.yaml"))


def test_init_does_not_overwrite(tmp_path):
    (tmp_path / "mine").mkdir()
    mine = tmp_path / "mine" / "demo.yaml"
    mine.write_text("# my own edits\n")
    result = cli("init", "demo", "mine", cwd=tmp_path)
    assert result.returncode != 0, result.stdout
    assert mine.read_text() == "# my own edits\n"
    assert "exists" in result.stderr, result.stderr


# ---------------------------------------------------------------------------------------
# pyproject.toml, constraints.txt, Makefile, README


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads(PYPROJECT.read_text())


def _requirements(project: dict, extras: tuple[str, ...] = ()) -> list[Requirement]:
    reqs = [Requirement(r) for r in project["project"]["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in project["project"]["optional-dependencies"][extra]]
    return reqs


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_a_spdx_license_string_asks_for_setuptools_77(project):
    license_ = project["project"].get("license")
    if not isinstance(license_, str):
        return  # the table form works with older setuptools
    (setuptools,) = [
        Requirement(r)
        for r in project["build-system"]["requires"]
        if _norm(Requirement(r).name) == "setuptools"
    ]
    too_old = [v for v in ("69.0", "75.0", "76.1") if setuptools.specifier.contains(v)]
    assert not too_old, (
        f'license = "{license_}" needs setuptools>=77; {setuptools} allows {too_old}'
    )


def test_dependencies_are_ranges_not_exact_versions(project):
    extras = tuple(e for e in project["project"].get("optional-dependencies", {}) if e != "dev")
    pinned = [
        str(r)
        for r in _requirements(project, extras)
        if any(s.operator in ("==", "===") for s in r.specifier)
    ]
    assert not pinned, f"exact versions in pyproject (they belong in constraints.txt): {pinned}"


def test_a_constraints_file_pins_every_dependency(project):
    assert CONSTRAINTS.is_file(), "no constraints.txt at the repository's root"
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            assert [s.operator for s in req.specifier] == ["=="], f"not an exact pin: {line}"
            pins[_norm(req.name)] = req
    wanted = [r for r in _requirements(project, ("dev",)) if not r.marker or r.marker.evaluate()]
    missing = [r.name for r in wanted if _norm(r.name) not in pins]
    assert not missing, f"constraints.txt does not pin {missing}"
    for r in wanted:
        (pin,) = pins[_norm(r.name)].specifier
        assert r.specifier.contains(pin.version, prereleases=True), f"{pin} is outside {r}"


def test_make_and_ci_install_with_the_constraints():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"-c\s+\S*constraints\.txt", makefile), (
        "the Makefile does not use constraints.txt"
    )
    readme = (REPO / "README.md").read_text()
    ci = readme[readme.index("jobs:") :] if "jobs:" in readme else ""
    assert re.search(r"-c\s+\S*constraints\.txt", ci), (
        "the README's CI workflow does not use constraints.txt"
    )


@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13"])
def test_requires_python_admits_what_tensorflow_supports(project, version):
    spec = SpecifierSet(project["project"]["requires-python"])
    assert spec.contains(version), (
        f"requires-python {spec} refuses Python {version} (TensorFlow 2.21 has wheels for it)"
    )


@pytest.mark.xfail(
    strict=True,
    reason="left out of issue 13: cnnrun uses Python 3.11 (enum.StrEnum, datetime.UTC) and is "
    "tested on 3.11 only; 3.10 needs shims, numpy 2.2 / scipy 1.15 ranges and a 3.10 CI run",
)
def test_requires_python_admits_3_10_like_tensorflow(project):
    """TensorFlow 2.21 supports 3.10 too (cnnrun uses StrEnum and datetime.UTC: 3.11)."""
    spec = SpecifierSet(project["project"]["requires-python"])
    assert spec.contains("3.10"), f"requires-python {spec} refuses Python 3.10"


def _readme_install_section() -> str:
    readme = (REPO / "README.md").read_text()
    sections = re.split(r"(?m)^(?=#{1,4} )", readme)
    return "\n".join(s for s in sections if re.match(r"#{1,4} .*install", s, re.IGNORECASE))


def test_tensorflow_is_not_cpu_only_or_the_choice_is_documented(project):
    names = {_norm(r.name) for r in _requirements(project)}
    if "tensorflow" in names:
        return
    assert "tensorflow-cpu" in names, names
    install = _readme_install_section()
    assert "tensorflow-cpu" in install and "GPU" in install, (
        "cnnrun depends on tensorflow-cpu (no GPU, no macOS wheel) and the README's install "
        "section does not say so"
    )


def test_one_opencv_build_and_it_is_the_one_imgaug_needs(project):
    """imgaug 0.4.0 requires opencv-python (libGL); naming the headless build as well would
    install two distributions into one `cv2` folder. (Issue 13 asked for the headless
    build; imgaug's own requirement decides: see the README's install section.)"""
    names = {_norm(r.name) for r in _requirements(project)}
    assert not {"opencv-python", "opencv-python-headless"} <= names, names
    if "imgaug" in names:
        assert "opencv-python" in names, names
        assert "libGL" in _readme_install_section(), "the README does not say opencv needs libGL"


def test_the_readme_install_section_covers_a_wheel():
    install = _readme_install_section()
    assert install, "the README has no install section"
    assert "pip install" in install and (".whl" in install or "pip wheel" in install), install
