"""Files a workspace registers (label maps, reference ground truth): hashed and made read-only.

A registered file is never written again in place: a new label version writes new files and links the
unchanged ones, so one file may belong to several versions. Its SHA-256 is recorded in the catalogue
when it is registered (``alc-data check`` compares it with the file), and its mode is set to 0444 as a
guard against editing it by hand (root ignores the mode; the hash is what catches an edit).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

#: the mode of a registered file
READ_ONLY = 0o444


def sha256_bytes(data: bytes) -> str:
    """The hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """The hex SHA-256 of the file at ``path``, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_registered(path: Path, data: bytes) -> str:
    """Write ``data`` as a new read-only file at ``path`` (inside a staging folder); its SHA-256. A file
    already there is replaced by a new one, never written into (it may be read-only)."""
    path.unlink(missing_ok=True)
    path.write_bytes(data)
    os.chmod(path, READ_ONLY)
    return sha256_bytes(data)


def make_read_only(path: Path) -> None:
    """Set a registered file's mode to 0444 (a no-op when it already is)."""
    if path.stat().st_mode & 0o777 != READ_ONLY:
        os.chmod(path, READ_ONLY)
