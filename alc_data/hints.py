"""Commands printed for the user to run: every argument shell-quoted, so a copied hint runs as shown.

``command("correct", "-w", ws.root, "--round", 3)`` → ``alc-data correct -w '/data/my ws' --round 3``.
Every hint that names an ``alc-data`` command line (errors, the next step a command prints) goes
through :func:`command`; ``tests/test_hints.py`` finds any that does not.
"""

from __future__ import annotations

import os
import shlex

PROGRAM = "alc-data"


def command(*args: str | int | os.PathLike[str]) -> str:
    """``alc-data ARGS...`` with each argument quoted for a POSIX shell (:func:`shlex.quote`)."""
    return " ".join([PROGRAM, *(shlex.quote(os.fspath(a) if isinstance(a, os.PathLike) else str(a)) for a in args)])
