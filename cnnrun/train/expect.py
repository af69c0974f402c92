"""``expect:``: the results an experiment should reach, checked after training."""

from __future__ import annotations

import operator
import re
from typing import Any

from cnnrun.config.schema import EXPECT_PATTERN

OPERATORS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, ">": operator.gt,
             "<": operator.lt}  # fmt: skip


def lookup(results: dict[str, Any], key: str) -> Any:
    """The value at dotted ``key`` of ``results`` (``test.accuracy``), or None."""
    node: Any = results
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def check(expect: dict[str, str], results: dict[str, Any], smoke: bool) -> dict[str, Any]:
    """Evaluate each expectation against ``results``.

    Returns:
        ``{key: {"condition", "value", "met"}}``; for a smoke run every entry says it was
        skipped (``met`` is None), since a few batches cannot reach a real figure.
    """
    out: dict[str, Any] = {}
    for key, condition in expect.items():
        m = re.match(EXPECT_PATTERN, condition)
        assert m, condition  # the schema already checked the pattern
        op, bound = m.group(1), float(m.group(2))
        value = lookup(results, key)
        entry: dict[str, Any] = {"condition": condition.strip(), "value": value}
        if smoke:
            entry.update(met=None, note="skipped: smoke run")
        elif not isinstance(value, int | float):
            entry.update(met=False, note=f"no figure '{key}' in results.json")
        else:
            entry["met"] = bool(OPERATORS[op](value, bound))
        out[key] = entry
    return out


def unmet(checked: dict[str, Any]) -> list[str]:
    """Human lines for the expectations that were not met (skipped ones are not listed)."""
    return [
        f"{key}: {e.get('value')} is not {e['condition']}"
        + (f" ({e['note']})" if "note" in e else "")
        for key, e in checked.items()
        if e.get("met") is False
    ]
