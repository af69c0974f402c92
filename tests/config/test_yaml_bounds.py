"""Issue 15, item 1: reading a config is bounded in size, alias expansion, depth and time.

Every hostile file is refused by `cnnrun validate` with exit 2 and one located message
(the file, and the line where it is known), quickly, without a traceback, inside a
1 GiB address-space limit (a normal `validate` peaks near 50 MB).
"""

from __future__ import annotations

import os
import re

import pytest
from hostile_support import TINY, GiB, MiB, assert_clean_error, cnnrun

MEM = 1 * GiB
FAST = 5.0  # seconds: the issue asks for < 1 s; the margin is for a loaded 2-core machine


def _validate(tmp_path, *files, timeout=30, env=None):
    return cnnrun("validate", *files, cwd=tmp_path, timeout=timeout, mem=MEM, env=env)


def _billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    lines.append(f"name: *a{levels}")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_quickly_with_its_location(tmp_path):
    (tmp_path / "lol.yaml").write_text(_billion_laughs())
    res = _validate(tmp_path, "lol.yaml")
    line = assert_clean_error(res, 2, "lol.yaml")
    assert re.search(r"lol\.yaml:\d+", line), res  # the line of the alias that goes too far
    assert "alias" in res.stderr.lower(), res
    assert res.seconds < FAST, res


def test_a_few_aliases_and_merge_keys_are_still_fine(tmp_path):
    text = TINY.replace(
        "    - Conv2D: {filters: 4, kernel_size: 3, activation: relu}",
        "    - Conv2D: &conv {filters: 4, kernel_size: 3, activation: relu, padding: same}\n"
        "    - Conv2D: *conv\n"
        "    - Conv2D: {<<: *conv, filters: 8}",
    )
    (tmp_path / "anchors.yaml").write_text(text)
    res = _validate(tmp_path, "anchors.yaml")
    assert res.returncode == 0, res


@pytest.mark.parametrize("kind", ["list", "mapping"])
def test_500_levels_of_nesting_are_refused_with_the_line(tmp_path, kind):
    deep = "[" * 500 + "]" * 500 if kind == "list" else "{a: " * 500 + "1" + "}" * 500
    (tmp_path / "deep.yaml").write_text(f"name: deep\nseed: 1\nepochs: {deep}\n")
    res = _validate(tmp_path, "deep.yaml")
    line = assert_clean_error(res, 2, "deep.yaml")
    assert "deep.yaml:3" in line, res  # the nesting starts on line 3
    assert "deep" in res.stderr.lower() or "nest" in res.stderr.lower(), res
    assert res.seconds < FAST, res


def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed(tmp_path):
    # A valid config followed by a 4 MiB flow list: far above any sensible config.
    big = TINY + "expect: {test.accuracy: '>= 0.1'}\n# " + "0, " * (4 * MiB // 3) + "\n"
    (tmp_path / "big.yaml").write_text(big)
    res = _validate(tmp_path, "big.yaml")
    assert_clean_error(res, 2, "big.yaml")
    assert re.search(r"MiB|MB|bytes|too (big|large)", res.stderr), res
    assert res.seconds < FAST, res


def test_a_large_yaml_list_is_refused_quickly(tmp_path):
    # Today a 50 MB list takes > 120 s and 2.3 GB; this 2 MiB one more than 30 s.
    items = ",".join(["0"] * (2 * MiB // 2))
    (tmp_path / "list.yaml").write_text(f"name: big\nepochs: [{items}]\n")
    res = _validate(tmp_path, "list.yaml", timeout=30)
    assert_clean_error(res, 2, "list.yaml")
    assert res.seconds < FAST, res


@pytest.mark.parametrize("how", ["argument", "extends"])
def test_dev_zero_is_refused_as_not_a_regular_file(tmp_path, how):
    if how == "argument":
        res = _validate(tmp_path, "/dev/zero")
        assert_clean_error(res, 2, "/dev/zero")
    else:
        (tmp_path / "z.yaml").write_text("extends: /dev/zero\nname: z\n")
        res = _validate(tmp_path, "z.yaml")
        line = assert_clean_error(res, 2, "/dev/zero")
        assert "z.yaml:1" in line, res  # the `extends` line that names it
    assert res.seconds < FAST, res


def test_a_fifo_is_refused_instead_of_waiting_forever(tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")
    res = _validate(tmp_path, "pipe.yaml", timeout=20)
    assert_clean_error(res, 2, "pipe.yaml")
    assert res.seconds < FAST, res


def test_a_nul_byte_is_a_located_config_error(tmp_path):
    (tmp_path / "nul.yaml").write_bytes(b"name: tiny\nseed: 7\nepochs: 2\x00\n")
    res = _validate(tmp_path, "nul.yaml")
    line = assert_clean_error(res, 2, "nul.yaml")
    assert "nul.yaml:3" in line, res
    assert "ReaderError" not in res.output, res


def test_extends_proc_self_environ_is_refused_without_echoing_it(tmp_path):
    (tmp_path / "env.yaml").write_text("extends: /proc/self/environ\nname: e\n")
    env_secret = "HOSTILE15_SECRET_VALUE_c0ffee"
    from hostile_support import cli_env

    res = _validate(tmp_path, "env.yaml", env=cli_env(HOSTILE15_TOKEN=env_secret))
    line = assert_clean_error(res, 2, "env.yaml")
    assert "env.yaml:1" in line, res
    assert env_secret not in res.output, res
    assert "ReaderError" not in res.output, res


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path):
    # `&a [*a]` is a list that contains itself: today a RecursionError (not in the issue).
    (tmp_path / "rec.yaml").write_text("name: x\nepochs: &a [*a]\n")
    res = _validate(tmp_path, "rec.yaml")
    line = assert_clean_error(res, 2, "rec.yaml")
    assert "rec.yaml:2" in line, res
    assert res.seconds < FAST, res
