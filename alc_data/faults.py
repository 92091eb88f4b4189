"""Deterministic kill points for fault-injection tests: ``ALC_KILL_AT=<point>`` makes the process
send itself SIGKILL when it reaches the named point (e.g. ``ingest:staged``)."""

from __future__ import annotations

import os
import signal


def kill_point(name: str) -> None:
    """SIGKILL this process when the environment variable ``ALC_KILL_AT`` equals ``name``."""
    if os.environ.get("ALC_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
