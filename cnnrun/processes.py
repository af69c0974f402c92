"""Whether a process is still there (for runs and sweeps that record their pid)."""

from __future__ import annotations

import os
from typing import Any


def pid_alive(pid: Any) -> bool:
    """True when a process with this pid exists on this machine.

    A pid that is not a positive int is taken as gone; a process of another user counts
    as alive (``kill(pid, 0)`` then fails with a permission error).
    """
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
