"""Deterministic fault injection for the crash tests: named kill points in the write paths.

A write path calls ``kill_point("correct:staged")`` at each moment a crash would matter (after a
staging folder is written, before a rename, after the rename and before the ledger commit, ...).
When the environment variable ``ALC_KILL_AT`` names that point, the process sends itself SIGKILL
there (nothing is flushed or cleaned up, exactly like ``kill -9``). Before dying it writes the point's
name to the file named by ``ALC_KILL_LOG`` (when set), so a test can prove where the kill happened.
Unset, a kill point costs one dictionary lookup. Shared writers (``ws.labels.write_version``,
``ws.superpixels.write_superpixel_set``) take a ``stage=`` name and call ``<stage>:staged`` / ``<stage>:renamed``.

The same points inject write failures that ``ulimit -f`` cannot produce: with ``ALC_FAIL_AT=<point>=<ERRNO>``
(``correct:staged=ENOSPC``; ``EFBIG``, ``EDQUOT``, ``EROFS``, any name of :mod:`errno`) the point raises
``OSError(<ERRNO>)`` as a failed write there would, naming the point as the file.
"""

from __future__ import annotations

import errno
import os
import signal

#: every kill point in the code, by command; the crash tests run each command killed at each point
KILL_POINTS: dict[str, tuple[str, ...]] = {
    # the workspace complete in its staging folder, before the rename / right after the rename
    "ingest": ("ingest:staged", "ingest:renamed"),
    # the first map staged / every map staged, before the rename / renamed, before the catalogue commit /
    # the set registered
    "superpixels": ("superpixels:partial", "superpixels:staged", "superpixels:renamed", "superpixels:registered"),
    # the score table staged / renamed into rounds/NNN, before the round's commit
    "score": ("score:staged", "score:renamed"),
    # answers recorded, not applied / the version staged / renamed, before its commit
    "correct": ("correct:recorded", "correct:staged", "correct:renamed"),
    # correct --propagate: the propagation version staged / renamed, before its commit (with its ledger rows)
    "propagate": ("propagate:staged", "propagate:renamed"),
    # a checkpoint written to its temp file, before the rename / right after the rename
    "train": ("train:staged", "train:renamed"),
    # the dataset folder complete in its staging folder, before the rename / right after the rename
    "publish": ("publish:staged", "publish:renamed"),
}


def kill_point(name: str) -> None:
    """SIGKILL this process here when ``ALC_KILL_AT`` equals ``name``; raise ``OSError`` when
    ``ALC_FAIL_AT`` is ``name=ERRNO``."""
    fail = os.environ.get("ALC_FAIL_AT")
    if fail and fail.partition("=")[0] == name:
        code = getattr(errno, fail.partition("=")[2] or "EIO", errno.EIO)
        raise OSError(code, os.strerror(code), f"<fault point {name}>")
    if os.environ.get("ALC_KILL_AT") != name:
        return
    log = os.environ.get("ALC_KILL_LOG")
    if log:
        with open(log, "w", encoding="utf-8") as fh:
            fh.write(name)
            fh.flush()
            os.fsync(fh.fileno())
    os.kill(os.getpid(), signal.SIGKILL)
