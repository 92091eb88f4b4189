"""Failed writes: a full disk (ENOSPC), a file over the size limit (EFBIG, ``ulimit -f``), a quota
(EDQUOT) or a read-only file system (EROFS) becomes one :class:`~alc_data.errors.WriteFailed` line that
says what happened, what was kept and the command that goes on, never "damaged".

SQLite reports such a failure as ``disk I/O error`` without the errno; :func:`probe_errno` finds the
likely cause from the file system (read-only, no space left) and the process's file-size limit.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import Iterator

from alc_data.errors import WriteFailed

#: errno → (what happened, what to do about it)
WRITE_ERRNOS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space left on the device", "free space"),
    errno.EFBIG: ("file too large (over the file-size limit, `ulimit -f`)", "raise the limit (`ulimit -f unlimited`)"),
    errno.EDQUOT: ("disk quota exceeded", "free space within your quota or have it raised"),
    errno.EROFS: ("read-only file system", "make the file system writable or move the workspace to one that is"),
}

#: below this many free bytes a failed SQLite write is taken for a full disk
LOW_SPACE = 1 << 20


def write_errno(exc: BaseException) -> int | None:
    """The errno of ``exc`` when it is one of :data:`WRITE_ERRNOS`, else None."""
    code = getattr(exc, "errno", None) if isinstance(exc, OSError) else None
    return code if code in WRITE_ERRNOS else None


def probe_errno(path: str | os.PathLike[str], files: tuple[Path, ...] = ()) -> int | None:
    """The likely errno of a failed write under ``path`` whose errno is unknown (SQLite's "disk I/O
    error"): EROFS on a read-only mount, ENOSPC when under :data:`LOW_SPACE` is free, EFBIG when the
    process has a file-size limit (and one of ``files``, the files being written, when named, has come
    within :data:`LOW_SPACE` of it); None when none of these holds."""
    import resource

    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        fs = os.statvfs(folder)
    except OSError:
        fs = None
    if fs is not None and fs.f_flag & os.ST_RDONLY:
        return errno.EROFS
    if fs is not None and fs.f_bavail * fs.f_frsize < LOW_SPACE:
        return errno.ENOSPC
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY and (not files or any(_size(f) + LOW_SPACE >= limit for f in files)):
        return errno.EFBIG
    return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def write_failed(code: int, filename: str | os.PathLike[str] | None, doing: str, kept: str, then: str) -> WriteFailed:
    """The :class:`WriteFailed` for errno ``code``: "<what happened> while <doing> (<file>); <kept>;
    <fix>, then <then>"."""
    what, fix = WRITE_ERRNOS[code]
    where = f" ({os.fspath(filename)})" if filename is not None else ""
    exc = WriteFailed(f"{what} while {doing}{where}; {kept}; {fix}, then {then}")
    exc.errno, exc.filename = code, (os.fspath(filename) if filename is not None else None)
    return exc


@contextlib.contextmanager
def on_write_failure(doing: str, *, kept: str, then: str) -> Iterator[None]:
    """Turn a failed write in the block (an ``OSError`` of :data:`WRITE_ERRNOS`, or a
    :class:`WriteFailed` of the database) into one line saying what was ``kept`` and ``then`` what to
    run. The innermost block names the step; an outer one leaves its message as it is."""
    try:
        yield
    except WriteFailed as exc:
        if getattr(exc, "step_named", False) or exc.errno not in WRITE_ERRNOS:
            raise
        raise _named(write_failed(exc.errno, exc.filename, doing, kept, then)) from None
    except OSError as exc:
        code = write_errno(exc)
        if code is None:
            raise
        raise _named(write_failed(code, exc.filename, doing, kept, then)) from None


def _named(exc: WriteFailed) -> WriteFailed:
    exc.step_named = True  # type: ignore[attr-defined]
    return exc
