"""Issue 15, items 9 and 11: the seed's range, and config messages.

- 9: a seed beyond NumPy's range (0 .. 2**32 - 1) is a config error, located.
- 11: an `extends:` file that is not a YAML mapping is never echoed; `--set extends=...`
  gets a sensible message (not "did you mean 'extends'").

All fail before TensorFlow loads: about a second each.
"""

from __future__ import annotations

from hostile_support import TINY, assert_clean_error, cnnrun, run_folders

# --- 9: the seed -------------------------------------------------------------------------


def test_a_seed_beyond_numpys_range_is_a_located_config_error(tmp_path):
    (tmp_path / "seed.yaml").write_text(TINY.replace("seed: 7", "seed: 99999999999999999999"))
    res = cnnrun("validate", "seed.yaml", cwd=tmp_path, timeout=60)
    line = assert_clean_error(res, 2, "seed")
    assert "seed.yaml:2" in line, res


def test_train_with_a_huge_seed_option_exits_2_before_the_run_folder(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    res = cnnrun("train", "tiny.yaml", "--runs-dir", "runs", "--seed", "99999999999999999999",
                 cwd=tmp_path, timeout=240)  # fmt: skip
    assert_clean_error(res, 2, "seed")
    assert not run_folders(tmp_path / "runs")


# --- 11: messages ------------------------------------------------------------------------


def test_extends_a_file_that_is_not_a_config_does_not_echo_it(tmp_path):
    secret = "root:$6$saltsalt$HOSTILE15SECRETHASH:20228:0:99999:7:::"
    (tmp_path / "shadow").write_text(secret + "\ndaemon:*:20228:0:99999:7:::\n")
    (tmp_path / "exp.yaml").write_text("extends: shadow\nname: x\n")
    res = cnnrun("validate", "exp.yaml", cwd=tmp_path, timeout=60)
    assert_clean_error(res, 2, "shadow")
    assert "HOSTILE15SECRETHASH" not in res.output and "saltsalt" not in res.output, res
    assert "root:" not in res.output and "daemon" not in res.output, res


def test_set_extends_does_not_suggest_itself(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    (tmp_path / "base.yaml").write_text(TINY)
    res = cnnrun("summary", "tiny.yaml", "--set", "extends=base.yaml", cwd=tmp_path, timeout=120)
    assert "Did you mean 'extends'" not in res.stderr, res
    if res.returncode != 0:  # refusing it is fine, with a message that says why
        assert_clean_error(res, 2, "extends")
        assert "--set" in res.stderr, res
