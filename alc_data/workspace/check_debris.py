"""Debris left by crashes, and putting an interrupted superpixel overwrite back (for :mod:`.check`).

Debris: ingest staging folders beside the workspace (``.<ws>.ingest-*``), hidden staging folders in
``labels/`` and ``superpixels/`` (``.<name>.*.tmp``, ``.<name>.new*``, ``.<name>.old``), temp files
``.*.tmp`` anywhere: names only alc-data stages, which ``--repair`` deletes. Label-version, superpixel
or round folders without a catalogue row (``unregistered``) may be a crash's or a person's: ``--repair``
moves them to ``WORKSPACE/lost+found/`` (never deletes them) and says where.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from alc_data.names import parse_ascii_int
from alc_data.results import JsonResult
from alc_data.workspace.superpixels import SET_STAMP
from alc_data.workspace.workspace import Workspace


@dataclass(frozen=True)
class Problem(JsonResult):
    """One thing wrong: what kind, where (a path or a name), a one-line message, and whether
    ``alc-data check --repair`` fixes it."""

    kind: str
    path_or_name: str
    message: str
    repairable: bool = False


def _stamp(folder: Path) -> str | None:
    try:
        return (folder / SET_STAMP).read_text().strip()
    except OSError:
        return None


def interrupted_overwrite(ws: Workspace, name: str) -> bool:
    """Whether ``.<name>.old`` holds the registered set while ``<name>`` holds an uncommitted new one
    (a crash after the new folder was renamed into place, before the catalogue commit)."""
    registered = ws.superpixels.superpixel_set(name).stamp
    folder = ws.superpixels.set_dir(name)
    old = folder.parent / f".{name}.old"
    return bool(registered) and old.is_dir() and _stamp(old) == registered and _stamp(folder) != registered


LOST_AND_FOUND = "lost+found"
"""Where ``check --repair`` moves folders that alc-data did not stage but the catalogue does not know."""


def _debris(path: Path, why: str) -> Problem:
    return Problem("debris", str(path), f"{path}: {why}", repairable=True)


def _unregistered(path: Path, why: str) -> Problem:
    return Problem("unregistered", str(path), f"{path}: {why}; `check --repair` moves it to {LOST_AND_FOUND}/",
                   repairable=True)


def ingest_debris(root: Path) -> list[Problem]:
    """Staging folders of interrupted ingests into ``root`` (they sit beside it)."""
    parent = root.parent
    if not parent.is_dir():
        return []
    return [_debris(p, "left by an interrupted ingest") for p in sorted(parent.glob(f".{root.name}.ingest-*"))]


def _is_temp_file(name: str) -> bool:
    """Temp files of atomic writes (``.<name>.<random>.tmp``), parquet parts, temp plots."""
    return (name.startswith(".") and name.endswith((".tmp", ".part"))) or name.endswith(".tmp.png")


def workspace_debris(ws: Workspace, versions: set[str], sets: set[str], rounds: set[int]) -> list[Problem]:
    """Everything in the workspace left by a crash (see the module docstring)."""
    root = ws.root
    out = ingest_debris(root)
    labels, sp_root, rounds_root = root / "labels", root / "superpixels", root / "rounds"
    if labels.is_dir():
        for p in sorted(labels.iterdir()):
            if p.name.startswith("."):
                out.append(_debris(p, "staging left by an interrupted label version"))
            elif p.is_dir() and p.name not in versions:
                out.append(_unregistered(p, "label version folder with no catalogue row (a crash before registration, "
                                            "or placed by hand)"))
    if sp_root.is_dir():
        for p in sorted(sp_root.iterdir()):
            if p.name.startswith("."):
                set_name = p.name[1:-4]
                restorable = p.name.endswith(".old") and set_name in sets and (
                    not (sp_root / set_name).exists() or interrupted_overwrite(ws, set_name))
                if not restorable:
                    out.append(_debris(p, "staging left by an interrupted superpixel set"))
            elif p.is_dir() and p.name not in sets:
                out.append(_unregistered(p, "superpixel folder with no catalogue row (a crash before registration, "
                                            "or placed by hand)"))
    if rounds_root.is_dir():
        for p in sorted(rounds_root.iterdir()):
            if p.is_dir() and parse_ascii_int(p.name) not in (None, *rounds):
                names = {c.name for c in p.iterdir()}
                if all(n == "scores.parquet" or _is_temp_file(n) for n in names):
                    out.append(_unregistered(p, "round folder with no catalogue row (a crash while scoring)"))
    reported = {Path(d.path_or_name) for d in out}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in reported and here / d != root / LOST_AND_FOUND]
        for d in list(dirnames):
            if d.startswith(".") and (d.endswith(".tmp") or d.endswith(".build")):
                out.append(_debris(here / d, "temp folder left by an interrupted write"))
                dirnames.remove(d)
        for f in filenames:
            if _is_temp_file(f):
                out.append(_debris(here / f, "temp file left by an interrupted write"))
    return out


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _to_lost_and_found(root: Path, path: Path) -> Path:
    """Move ``path`` (inside ``root``) to ``root/lost+found/<its relative path>`` (a number appended when
    that exists); the new path."""
    target = root / LOST_AND_FOUND / path.relative_to(root)
    n = 1
    while target.exists():
        n += 1
        target = target.with_name(f"{path.name}.{n}")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    return target


def repair_problem(problem: Problem, root: Path | None = None) -> Problem:
    """Fix one repairable problem; the problem with a message saying what was done."""
    path = Path(problem.path_or_name)
    if problem.kind == "superpixels-interrupted":
        target = path.parent / path.name[1:-4]
        if target.exists():  # the uncommitted new set
            remove(target)
        os.replace(path, target)
        return replace(problem, message=f"{problem.message} (put back)")
    if problem.kind == "unregistered" and root is not None:
        moved = _to_lost_and_found(root, path)
        return replace(problem, message=f"{path}: not in the catalogue; moved to {moved}")
    remove(path)
    return replace(problem, message=f"{problem.message} (removed)")
