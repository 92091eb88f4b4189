"""Where commands may write their outputs: never into or over the workspace, never over a file or
folder without ``--overwrite``, and always through a staged copy that replaces the target at once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from alc_data.errors import AlreadyExists, InvalidInput


def check_output(out: str | os.PathLike, workspace_root: str | os.PathLike, *, overwrite: bool, what: str = "--out",
                 file: bool = False) -> Path:
    """Validate an output path before anything is written; returns it resolved.

    Refuses a path inside the workspace or one that contains it (overwriting it would destroy the
    workspace), an existing file or non-empty folder unless ``overwrite``, and (``file``: the output is
    one file) any existing folder.
    """
    if file:
        refuse_folder(out, what)
    target = Path(out).resolve()
    root = refuse_workspace(out, workspace_root, what)
    if not file and target.exists() and not target.is_dir():
        raise AlreadyExists(f"{what} {out}: is a file; this writes a folder: choose a folder path")
    if target.is_dir() and overwrite and ((target / "alc.sqlite").exists() or any(target.rglob("alc.sqlite"))):
        raise InvalidInput(f"{what} {out}: holds an alc-data workspace (alc.sqlite); --overwrite would delete it, "
                           "choose another folder")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise AlreadyExists(f"{what} {out}: folder exists and is not empty; choose a new path or pass --overwrite")
    if target.exists() and not target.is_dir() and not overwrite:
        raise AlreadyExists(f"{what} {out}: file exists; choose a new path or pass --overwrite")
    writable_place(target if file else target.parent, what, folder=not file)
    return target


def refuse_workspace(out: str | os.PathLike, workspace_root: str | os.PathLike, what: str) -> Path:
    """InvalidInput when ``out`` is inside the workspace at ``workspace_root`` or contains it; returns the
    workspace's resolved root."""
    target, root = Path(out).resolve(), Path(workspace_root).resolve()
    if target == root or root in target.parents:
        raise InvalidInput(f"{what} {out}: is inside the workspace {root}; write outputs outside it")
    if target in root.parents:
        raise InvalidInput(f"{what} {out}: contains the workspace {root}; overwriting it would delete the workspace")
    return root


def writable_place(out: str | os.PathLike, what: str, *, folder: bool = False,
                   workspace_root: str | os.PathLike | None = None) -> Path:
    """Make sure ``out`` (a file, or with ``folder`` a folder) can be written before any work starts,
    leaving nothing behind: the nearest existing folder on its path must take a probe file (written
    and removed at once). InvalidInput naming ``what`` and the path when it cannot (a file where a
    folder should be, no permission, a read-only or virtual file system) or, with ``workspace_root``,
    when ``out`` is inside that workspace or contains it; AlreadyExists when a file is to be written
    where a folder is. Returns ``out``."""
    import tempfile

    out = Path(out)
    if not folder:
        refuse_folder(out, what)
    elif out.exists() and not out.is_dir():
        raise AlreadyExists(f"{what} {out}: exists and is not a folder; name a folder")
    if workspace_root is not None:
        refuse_workspace(out, workspace_root, what)
    place = (out if folder else out.parent).absolute()
    while not place.exists() and place != place.parent:
        place = place.parent
    if not place.is_dir():
        raise InvalidInput(f"{what} {out}: {place} is a file, not a folder; choose another path")
    try:
        fd, probe = tempfile.mkstemp(prefix=".alc-probe.", dir=place)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidInput(f"{what} {out}: cannot write in {place} ({reason}); choose a writable path") from None
    return out


def refuse_folder(out: str | os.PathLike, what: str = "--out") -> None:
    """AlreadyExists when ``out``, where one file is to be written, is an existing folder."""
    if Path(out).is_dir():
        raise AlreadyExists(f"{what} {out}: is a folder; name the file to write (a new path inside it will do)")


def replace_path(staged: Path, target: Path) -> None:
    """Put the staged file or folder at ``target``, replacing what is there only once it is complete."""
    if target.is_dir() and not target.is_symlink():
        old = target.with_name(f".{target.name}.old.tmp")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(staged, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, target)
