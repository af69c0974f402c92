"""Issue 15, "Also": mutated shipped configs get a located answer from `cnnrun validate`.

Hypothesis mutates the configs of configs/ (deleted keys, wrong types, huge / negative /
NaN / infinite numbers, unicode, deep nesting). Each example writes a batch of mutated
files next to the shipped ones (so `extends:` and `model.file` still resolve) and runs
ONE `cnnrun validate f1 f2 ...`, which answers per file: `ok FILE`, or `error: FILE[:LINE]:
...`. The process must exit 0 or 2 with one answer per file, no traceback, in bounded time
and memory.
"""

from __future__ import annotations

import copy
import math
import re
import shutil

import pytest
import yaml
from hostile_support import REPO, GiB, cnnrun

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SHIPPED = sorted((REPO / "configs").glob("*.yaml"))
BATCH = 12
DEEP = "__DEEP_{}__"

NUMBERS = st.one_of(
    st.sampled_from([0, -1, -(10**9), 10**20, 2**63, 2**32, 1e308, -1e-308]),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
)
WRONG = st.one_of(
    NUMBERS,
    st.booleans(),
    st.none(),
    st.text(max_size=40),
    st.sampled_from(["😀", "\u202e", "ℵ", "Ａｄａｍ", "../../x", "/dev/zero", "\x00x"]),
    st.lists(st.integers(-5, 5), max_size=4),
    st.dictionaries(st.text(max_size=8), st.integers(-3, 3), max_size=3),
)


def _paths(node, prefix=()):
    """Every (path) to a value in the config, as tuples of keys and indices."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((*prefix, k))
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((*prefix, i))
            out += _paths(v, (*prefix, i))
    return out


def _parent(doc, path):
    node = doc
    for step in path[:-1]:
        node = node[step]
    return node


@st.composite
def mutated(draw):
    """(shipped config name, mutated YAML text)."""
    source = draw(st.sampled_from(SHIPPED))
    doc = yaml.safe_load(source.read_text())
    doc = copy.deepcopy(doc)
    deep: dict[str, str] = {}
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(doc, path)
        kind = draw(st.sampled_from(["delete", "wrong", "wrong", "deep", "rename"]))
        if kind == "delete":
            del parent[path[-1]]
        elif kind == "wrong":
            parent[path[-1]] = draw(WRONG)
        elif kind == "deep":
            depth = draw(st.sampled_from([30, 120, 500, 2000]))
            token = DEEP.format(len(deep))
            brackets = draw(st.sampled_from(["[]", "{}"]))
            if brackets == "[]":
                deep[token] = "[" * depth + "1" + "]" * depth
            else:
                deep[token] = "{a: " * depth + "1" + "}" * depth
            parent[path[-1]] = token
        elif isinstance(parent, dict):
            value = parent.pop(path[-1])
            parent[draw(st.text(min_size=1, max_size=12))] = value
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=draw(st.booleans()))
    for token, nested in deep.items():
        text = text.replace(token, nested)
    return source.name, text


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A copy of configs/ (the mutated files go next to the shipped ones)."""
    dest = tmp_path_factory.mktemp("fuzz") / "configs"
    shutil.copytree(REPO / "configs", dest)
    return dest


@settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: each step is a subprocess
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
)  # fmt: skip
@given(batch=st.lists(mutated(), min_size=BATCH, max_size=BATCH))
def test_validate_answers_every_mutated_config(folder, batch):
    names = []
    for i, (source, text) in enumerate(batch):
        name = f"fuzz_{i:02d}_{source}"
        (folder / name).write_text(text, encoding="utf-8", errors="surrogateescape")
        names.append(name)
    res = cnnrun("validate", *names, cwd=folder, timeout=60, mem=1 * GiB)
    assert res.returncode in (0, 2), res
    for bad in ("Traceback", "MemoryError", "RecursionError", "During handling"):
        assert bad not in res.output, res
    answered: set[str] = set()  # files validate said something about
    other = 0  # errors located in a file the mutated ones extend (the shipped base)
    for line in res.stdout.splitlines():
        match = re.match(r"ok (\S+)( \(schema only; shapes not checked: --build\))?$", line.strip())
        if match:
            assert match[1] in names, line
            answered.add(match[1])
    for line in res.stderr.splitlines():
        if line.startswith("error:"):
            # the file (a mutated one, or the shipped file it extends) and, when known, the line
            match = re.match(r"error: (\S+?\.(?:yaml|py))(:\d+)?: ", line)
            assert match, f"an unlocated error: {line!r}\n{res}"
            if match[1] in names:
                answered.add(match[1])
            else:
                other += 1
        elif re.match(r"\S+\.yaml: \d+ problems$", line.strip()):
            answered.add(line.split(":")[0])
    answers = len(answered) + other
    assert answers >= len(names), f"{answers} answers for {len(names)} files\n{res}"
    assert res.seconds < 30, res
