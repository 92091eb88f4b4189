"""One writer at a time: an exclusive OS file lock on the workspace (``WORKSPACE/.alc.lock``).

Every command that writes files, versions or ledger rows in bulk takes the lock for its whole run
(``with ws.writing("score"): ...``); readers never take it. A second writer waits, printing who holds
the lock (pid, command, since when), or fails at once with :class:`WorkspaceBusy` when waiting is off
(``alc-data --no-wait ...`` or ``ALC_NO_WAIT=1``). The lock is re-entrant within one process, so a
recipe run can call the stages that take it themselves.

The lock is ``flock(2)`` on a file inside the workspace: it is released by the kernel when the process
dies (``kill -9`` included), so a crash never leaves a stale lock. On NFS, Linux emulates ``flock`` with
byte-range locks, which NFSv4 servers honour across clients; on file systems without lock support
(some FUSE or SMB mounts) the lock cannot exclude writers on other machines: run one writer at a time
there. Answers from several annotators are row-level transactions and do not take this lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Iterator

from alc_data.io.failures import on_write_failure
from alc_data.errors import WorkspaceBusy, WorkspaceDamaged
from alc_data.workspace.clock import now_iso

LOCK_NAME = ".alc.lock"
_held: dict[Path, int] = {}  # workspace root -> depth of re-entrant holds in this process
_wait_default = True


def set_wait(wait: bool) -> None:
    """Whether a second writer waits for the lock (default) or fails at once."""
    global _wait_default
    _wait_default = bool(wait)


def _should_wait() -> bool:
    return _wait_default and os.environ.get("ALC_NO_WAIT", "") in ("", "0")


def holder(root: Path) -> dict | None:
    """Who holds the lock, as the holder wrote it (pid, command, since), or None."""
    try:
        text = (Path(root) / LOCK_NAME).read_text(encoding="utf-8")
        return json.loads(text) if text.strip() else None
    except (OSError, ValueError):
        return None


def active_writer(root: str | os.PathLike) -> dict | None:
    """Who holds the write lock now when another process does (what it wrote, or ``{}``), else None.
    Tries a shared lock without waiting; creates no file (readers such as ``check`` write nothing)."""
    import fcntl

    root = Path(root).resolve()
    if root in _held:
        return None
    try:
        fd = os.open(root / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return holder(root) or {}
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def describe(info: dict | None) -> str:
    if not info:
        return "another process"
    return f"pid {info.get('pid')} (`{info.get('command')}`, since {info.get('since')})"


@contextlib.contextmanager
def write_lock(root: str | os.PathLike, command: str, *, wait: bool | None = None) -> Iterator[None]:
    """Hold the workspace's exclusive write lock for the duration of the block."""
    import fcntl

    root = Path(root).resolve()
    if root in _held:
        _held[root] += 1
        try:
            yield
        finally:
            _held[root] -= 1
        return
    try:
        fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WorkspaceDamaged(f"{root / LOCK_NAME}: cannot open the workspace lock ({exc.strerror}); check the folder's permissions") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = describe(holder(root))
            if not (_should_wait() if wait is None else wait):
                raise WorkspaceBusy(
                    f"{root}: the workspace is being written by {who}; wait for it to finish, or run without --no-wait to queue"
                ) from None
            print(f"waiting for the workspace lock held by {who} ...", file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        info = {"pid": os.getpid(), "command": command, "since": now_iso(), "started": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        _held[root] = 1
        try:
            with on_write_failure(f"running `{command}`", kept="what it had committed before is kept, the rest was not written",
                                  then="re-run it"):
                yield
        finally:
            del _held[root]
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
