"""Atomic writes: a file or a folder appears whole under its final name, or not at all.

Modes: ``tempfile`` makes its files 0600 and its folders 0700. The workspace keeps those (its files are
the user's own); an output meant for other people (``export``, ``publish``, ``queries export``, ``diff
--report``, checkpoints) is written with ``shared=True`` or through :func:`staged_folder` and gets the
mode a plain ``open``/``mkdir`` would give: 0666/0777 less the umask (0644/0755 under umask 022).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from alc_data.errors import InvalidInput


def umask_mode(mode: int) -> int:
    """``mode`` less the process's umask (what a plain ``open`` or ``mkdir`` would give)."""
    mask = os.umask(0)
    os.umask(mask)
    return mode & ~mask


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, *, shared: bool = False, before_rename: str | None = None) -> Iterator[BinaryIO]:
    """A binary file object on a temp file beside ``path``, renamed to ``path`` when the block ends
    without an error (removed otherwise). ``shared``: its mode follows the umask (else 0600).
    ``before_rename``: a fault point (:mod:`alc_data.faults`) passed between the write and the rename."""
    from alc_data.faults import kill_point

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        if shared:
            os.chmod(tmp, umask_mode(0o666))
        if before_rename:
            kill_point(before_rename)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, shared: bool = False) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and ``os.replace``;
    ``shared``: the file's mode follows the umask (an output for other people), else 0600."""
    with atomic_file(path, shared=shared) as fh:
        fh.write(data)


def staged_folder(target: Path, *, suffix: str = ".tmp", what: str = "--out") -> Path:
    """An empty folder beside ``target`` (to be renamed onto it when complete) whose mode follows the
    umask (``mkdtemp`` makes it owner-only). InvalidInput naming ``what`` when it cannot be made."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent))
    except OSError as exc:
        raise InvalidInput(f"{what} {target}: cannot create the folder ({exc.strerror}); choose a writable folder") from None
    os.chmod(tmp, umask_mode(0o777))
    return tmp


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp folder beside ``final``; on success it is renamed to ``final``.

    On an exception the temp folder is removed and ``final`` is untouched. ``final`` must not exist
    (a stale one left by an earlier crash is the caller's to remove).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
