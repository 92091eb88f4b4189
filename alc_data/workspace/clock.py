"""Timestamps as the workspace stores them."""

from __future__ import annotations

import datetime as _dt


def now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
