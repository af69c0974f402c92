"""The one rule for an experiment's name: any text, made safe where it is used.

A name is free text in the experiment file (`../x`, `😀` and `a/b` are all accepted); the
run folder and the Keras model take :func:`safe_name` of it, so `validate`, `summary`,
`validate --build` and `train` agree on every name.
"""

from __future__ import annotations

import re

MAX_NAME = 80


def safe_name(name: str) -> str:
    """A run name that is one harmless path component (no separators, dots-only or NULs)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+|\.{2,}", "_", name)
    cleaned = re.sub(r"_+", "_", cleaned).strip("._-")[:MAX_NAME]
    return cleaned or "run"
