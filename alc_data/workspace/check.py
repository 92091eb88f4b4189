"""``alc-data check``: does the workspace hold what its catalogue says, and nothing left by a crash?

Checks, in order:

- every image the catalogue names exists (not hashed: that is `publish`'s job);
- every label version's folder and files exist, open, have their images' sizes and hold only class
  indices 0..K-1 or ``IGNORE_INDEX`` (each file is read once: versions hard-link unchanged images, and a
  file already read under another version is not read again);
- every superpixel set has one integer (H, W) map per image;
- every round's score table exists, and every label version a round or an answer names exists;
- answers recorded but never applied are listed with the command that applies them, and so are
  the resumable stagings of a stopped ``pseudo-label`` or ``superpixels`` run (notices, not
  problems: each is a consistent state waiting for its command);
- debris left by crashes is listed: ingest staging folders beside the workspace
  (``.<ws>.ingest-*``), hidden staging folders in ``labels/`` and ``superpixels/``
  (``.<name>.*.tmp``, ``.<name>.new*``, ``.<name>.old``), temp files ``.*.tmp`` anywhere, label-version,
  superpixel or round folders without a catalogue row.

``repair=True`` removes debris only (never a registered version or a file the catalogue references)
and puts back a superpixel set whose overwrite was interrupted between its two renames.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlcError, ChecksFailed, NotFound, WorkspaceDamaged
from alc_data.names import parse_ascii_int
from alc_data.results import JsonResult
from alc_data.workspace.workspace import DB_NAME, SET_STAMP, Workspace

#: kinds of problem that ``--repair`` fixes
REPAIRABLE_KINDS = ("debris", "superpixels-interrupted")


@dataclass(frozen=True)
class Problem(JsonResult):
    """One thing wrong: what kind, where (a path or a name), a one-line message, and whether
    ``alc-data check --repair`` fixes it."""

    kind: str
    path_or_name: str
    message: str
    repairable: bool = False


NOTICE_KINDS = frozenset({"unapplied-answers", "unfinished-run"})
"""Kinds that are listed with the command that resolves them but do not fail the check."""


@dataclass(frozen=True)
class CheckReport(JsonResult):
    """The result of :func:`check_workspace`: ``problems`` found (after repair: those left),
    ``repaired`` (what ``repair=True`` removed or put back) and ``notices``: consistent states that wait
    for a command (answers recorded, e.g. by ``annotate`` or a killed ``correct``, not yet applied),
    listed with that command but not failing the check."""

    workspace: str
    problems: tuple[Problem, ...] = ()
    repaired: tuple[Problem, ...] = ()
    checked: dict[str, int] = field(default_factory=dict)
    notices: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_unless_ok(self, *, summary: bool = True) -> None:
        """:class:`ChecksFailed` (exit code 1) when problems were found; its message is the last line
        ``<workspace>: N problems`` (``summary=False``: none, as ``--json`` prints the report only)."""
        if not self.ok:
            raise ChecksFailed(f"{self.workspace}: {len(self.problems)} problems" if summary else "")

    def json_keys(self) -> tuple[str, ...]:
        return ("workspace", "ok", "checked", "problems", "repaired", "notices")


# ---------------------------------------------------------------------------------------------- queries
def image_sizes(ws: Workspace) -> dict[str, tuple[int, int]]:
    """image_id → (height, width) of every image, in one query."""
    return {i: (int(h), int(w)) for i, h, w in ws.query("SELECT image_id, height, width FROM images")}


def image_paths(ws: Workspace) -> dict[str, Path]:
    """image_id → the image file (stored paths are absolute, or relative to the workspace)."""
    return {i: (Path(p) if Path(p).is_absolute() else ws.root / p) for i, p in ws.query("SELECT image_id, path FROM images")}


def round_rows(ws: Workspace) -> list[tuple[int, str | None, str | None]]:
    """(round, score_table, output_version) of every round, in order."""
    return [(int(r), s, o) for r, s, o in ws.query("SELECT round, score_table, output_version FROM rounds ORDER BY round")]


def answer_counts(ws: Workspace) -> list[tuple[int, str | None, int]]:
    """(round, applied_version or None, answers) for every round with answers."""
    rows = ws.query("SELECT round, applied_version, COUNT(*) FROM answers WHERE retracted_at IS NULL"
                   " GROUP BY round, applied_version ORDER BY round")
    return [(int(r), v, int(n)) for r, v, n in rows]


# ---------------------------------------------------------------------------------------------- images
def image_problems(ws: Workspace) -> list[Problem]:
    """Images the catalogue names that are gone (one stat per image; contents are not hashed)."""
    return [Problem("image-missing", str(p), f"{p}: the image of {i!r} is not found; restore it or re-ingest")
            for i, p in sorted(image_paths(ws).items()) if not p.is_file()]


# ---------------------------------------------------------------------------------------------- labels
def _read_label_facts(path: Path, k: int) -> tuple[tuple[int, int] | None, list[tuple[int, int]], str | None]:
    """((H, W), [(bad value, pixels)], error) of one label PNG, read once."""
    from alc_data.io.labels import read_label_png

    try:
        arr = read_label_png(path)
    except AlcError as exc:
        return None, [], str(exc)
    bad: list[tuple[int, int]] = []
    if arr.size and int(arr.max()) >= k:
        counts = np.bincount(arr.ravel(), minlength=256)
        counts[IGNORE_INDEX] = 0
        bad = [(int(v), int(counts[v])) for v in np.flatnonzero(counts[k:]) + k]
    return arr.shape, bad, None


def label_file_problems(
    path: Path, size: tuple[int, int], k: int, cache: dict[tuple, tuple] | None = None
) -> list[Problem]:
    """Problems of one label file against its image's (H, W) and K classes.

    ``cache`` (optional) remembers what was read per file identity (device, inode, size, mtime), so a
    file hard-linked into several versions is read once.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        return [Problem("label-missing", str(path), f"{path}: label file not found")]
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    facts = cache.get(key) if cache is not None else None
    if facts is None:
        facts = _read_label_facts(path, k)
        if cache is not None:
            cache[key] = facts
    shape, bad, error = facts
    if error is not None:
        return [Problem("label-unreadable", str(path), error)]
    out = []
    if shape != size:
        out.append(Problem("label-size", str(path),
                           f"{path}: label is {shape[1]}×{shape[0]} (W×H), its image is {size[1]}×{size[0]}"))
    if bad:
        value, pixels = bad[0]
        more = f" (and {len(bad) - 1} other bad values)" if len(bad) > 1 else ""
        out.append(Problem("label-values", str(path),
                           f"{path}: label value {value} ({pixels} pixels) is not a class (K={k}) nor {IGNORE_INDEX}{more}"))
    return out


def version_problems(
    ws: Workspace,
    version: str,
    image_ids: Iterable[str] | None = None,
    *,
    sizes: dict[str, tuple[int, int]] | None = None,
    cache: dict[tuple, tuple] | None = None,
) -> list[Problem]:
    """Problems of label version ``version`` (all its images, or ``image_ids``)."""
    from alc_data.progress import track

    folder = ws.version_dir(version)
    if not folder.is_dir():
        return [Problem("version-folder-missing", str(folder),
                        f"{folder}: the folder of label version {version!r} is missing")]
    sizes = image_sizes(ws) if sizes is None else sizes
    ids = sorted(sizes) if image_ids is None else list(image_ids)
    k = ws.num_classes
    out: list[Problem] = []
    for image_id in track(ids, f"check labels {version}"):
        out += label_file_problems(ws.label_path(version, image_id), sizes[image_id], k, cache)
    return out


def require_version_ok(ws: Workspace, version: str, image_ids: Iterable[str] | None = None) -> None:
    """WorkspaceDamaged (one line, naming the first bad file) unless every label file of ``version``
    (or of ``image_ids``) exists, opens, has its image's size and holds only 0..K-1 or 255.

    ``publish`` and ``export`` call this before they write anything.
    """
    problems = version_problems(ws, version, image_ids)
    if problems:
        more = f" ({len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise WorkspaceDamaged(
            f"{problems[0].message}{more}; nothing was written: run `alc-data check -w {ws.root}` and fix the labels"
        )


# ---------------------------------------------------------------------------------------------- superpixels
def superpixel_file_problems(path: Path, size: tuple[int, int]) -> list[Problem]:
    """Problems of one superpixel map: missing, unreadable, not an integer (H, W) map of its image's size."""
    if not path.is_file():
        return [Problem("superpixels-missing", str(path), f"{path}: superpixel map not found")]
    try:
        with np.load(path) as z:
            sp = z["superpixels"]
    except (OSError, ValueError, KeyError, EOFError) as exc:
        return [Problem("superpixels-unreadable", str(path), f"{path}: corrupt superpixel map ({type(exc).__name__})")]
    if not np.issubdtype(sp.dtype, np.integer):
        return [Problem("superpixels-dtype", str(path), f"{path}: superpixel ids are {sp.dtype}, not integers")]
    if sp.shape != size:
        return [Problem("superpixels-size", str(path),
                        f"{path}: superpixel map has shape {sp.shape}, its image is {size}")]
    return []


def _stamp(folder: Path) -> str | None:
    try:
        return (folder / SET_STAMP).read_text().strip()
    except OSError:
        return None


def interrupted_overwrite(ws: Workspace, name: str) -> bool:
    """Whether ``.<name>.old`` holds the registered set while ``<name>`` holds an uncommitted new one
    (a crash after the new folder was renamed into place, before the catalogue commit)."""
    registered = ws.superpixel_set(name).stamp
    folder = ws.root / "superpixels" / name
    old = folder.parent / f".{name}.old"
    return bool(registered) and old.is_dir() and _stamp(old) == registered and _stamp(folder) != registered


def superpixel_set_problems(ws: Workspace, name: str, sizes: dict[str, tuple[int, int]]) -> list[Problem]:
    from alc_data.progress import track

    folder = ws.root / "superpixels" / name
    old = folder.parent / f".{name}.old"
    if interrupted_overwrite(ws, name):
        return [Problem("superpixels-interrupted", str(old),
                        f"{folder}: an overwrite was interrupted before its commit; the registered set is at {old} "
                        "(`alc-data check --repair` puts it back)", repairable=True)]
    if not folder.is_dir():
        if old.is_dir():
            return [Problem("superpixels-interrupted", str(old),
                            f"{folder}: missing; an interrupted overwrite left the set at {old} "
                            "(`alc-data check --repair` puts it back)", repairable=True)]
        return [Problem("superpixels-folder-missing", str(folder), f"{folder}: the folder of superpixel set {name!r} is missing")]
    out: list[Problem] = []
    for image_id in track(sorted(sizes), f"check superpixels {name}"):
        out += superpixel_file_problems(ws.superpixel_path(name, image_id), sizes[image_id])
    return out


# ---------------------------------------------------------------------------------------------- rounds
def round_problems(ws: Workspace, versions: set[str]) -> list[Problem]:
    out: list[Problem] = []
    for rnd, table, output in round_rows(ws):
        # a round registered without a table (library callers may create one from their own selection)
        # has nothing to check; a recorded table must exist
        if table and not (ws.root / table).is_file():
            where = str(ws.root / table)
            out.append(Problem("score-table-missing", where, f"{where}: the score table of round {rnd} is missing"))
        if output is not None and output not in versions:
            out.append(Problem("output-version-missing", f"round {rnd}",
                               f"round {rnd}: its output label version {output!r} is not in the catalogue"))
    for rnd, applied, n in answer_counts(ws):
        if applied is None:
            out.append(Problem("unapplied-answers", f"round {rnd}",
                               f"round {rnd}: {n} answers are recorded but not applied; "
                               f"run `alc-data correct -w {ws.root} --round {rnd}`"))
        elif applied not in versions:
            out.append(Problem("output-version-missing", f"round {rnd}",
                               f"round {rnd}: {n} answers were applied by label version {applied!r}, which is not in the catalogue"))
    return out


# ---------------------------------------------------------------------------------------------- debris
def _debris(path: Path, why: str) -> Problem:
    return Problem("debris", str(path), f"{path}: {why}", repairable=True)


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
                out.append(_debris(p, "label version folder with no catalogue row (a crash before registration)"))
    if sp_root.is_dir():
        for p in sorted(sp_root.iterdir()):
            if p.name.startswith("."):
                set_name = p.name[1:-4]
                restorable = p.name.endswith(".old") and set_name in sets and (
                    not (sp_root / set_name).exists() or interrupted_overwrite(ws, set_name))
                if not restorable:
                    out.append(_debris(p, "staging left by an interrupted superpixel set"))
            elif p.is_dir() and p.name not in sets:
                out.append(_debris(p, "superpixel folder with no catalogue row (a crash before registration)"))
    if rounds_root.is_dir():
        for p in sorted(rounds_root.iterdir()):
            if p.is_dir() and parse_ascii_int(p.name) not in (None, *rounds):
                names = {c.name for c in p.iterdir()}
                if all(n == "scores.parquet" or _is_temp_file(n) for n in names):
                    out.append(_debris(p, "round folder with no catalogue row (a crash while scoring)"))
    reported = {Path(d.path_or_name) for d in out}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in reported]
        for d in list(dirnames):
            if d.startswith(".") and (d.endswith(".tmp") or d.endswith(".build")):
                out.append(_debris(here / d, "temp folder left by an interrupted write"))
                dirnames.remove(d)
        for f in filenames:
            if _is_temp_file(f):
                out.append(_debris(here / f, "temp file left by an interrupted write"))
    return out


def unfinished_runs(ws: Workspace) -> list[Problem]:
    """Notices for the resumable staging of a stopped ``pseudo-label`` (``pseudo/<version>/``) or
    ``superpixels`` run (``staging/superpixels/<set>/``): what is staged and the command that finishes it."""
    out = []
    n_images = len(ws.image_ids())
    commands = (("pseudo", "pseudo-label --version {name}"), ("staging/superpixels", "superpixels --name {name}"))
    for folder, command in commands:
        base = ws.root / folder
        for p in sorted(base.iterdir()) if base.is_dir() else ():
            if p.is_dir():
                n = sum(1 for _ in p.glob("*.npz"))
                out.append(Problem("unfinished-run", str(p),
                                   f"{p}: a stopped run left {n} of {n_images} images staged; "
                                   f"re-run `alc-data {command.format(name=p.name)}` with the same settings to finish it"))
    return out


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _repair(problem: Problem) -> None:
    path = Path(problem.path_or_name)
    if problem.kind == "superpixels-interrupted":
        target = path.parent / path.name[1:-4]
        if target.exists():  # the uncommitted new set
            _remove(target)
        os.replace(path, target)
    elif problem.kind == "debris":
        _remove(path)


# ---------------------------------------------------------------------------------------------- driver
def check_workspace(root: str | os.PathLike, *, repair: bool = False) -> CheckReport:
    """Check the workspace at ``root`` (see the module docstring); with ``repair`` remove the debris
    and put back an interrupted superpixel overwrite, then report what is left.

    A folder that holds no workspace but the staging folder of an interrupted ingest is reported
    (the staging is debris); with nothing at all there, NotFound.
    """
    root_path = Path(root).resolve()
    if not (root_path / DB_NAME).is_file():
        debris = ingest_debris(root_path)
        if not debris:
            raise NotFound(
                f"{root_path}: not an alc-data workspace (no {DB_NAME}); pass -w/--workspace"
            )
        missing = Problem("no-workspace", str(root_path),
                          f"{root_path}: no workspace here, only the staging of an interrupted ingest; re-run the ingest")
        if repair:
            for d in debris:
                _repair(d)
            return CheckReport(str(root_path), (missing,), tuple(debris), {})
        return CheckReport(str(root_path), (missing, *debris), (), {})

    ws = Workspace.open(root_path)
    if repair:  # repairing removes staging folders: never while a command is writing them
        with ws.writing("check --repair"):
            return _check(ws, root_path, repair=True)
    return _check(ws, root_path, repair=False)


def _check(ws: Workspace, root_path: Path, *, repair: bool) -> CheckReport:
    problems: list[Problem] = []
    sizes = image_sizes(ws)
    versions = [v.name for v in ws.label_versions()]
    sets = [s.name for s in ws.superpixel_sets()]
    rounds = round_rows(ws)
    cache: dict[tuple, tuple] = {}
    problems += image_problems(ws)
    for version in versions:
        problems += version_problems(ws, version, sizes=sizes, cache=cache)
    for name in sets:
        problems += superpixel_set_problems(ws, name, sizes)
    problems += round_problems(ws, set(versions))
    problems += workspace_debris(ws, set(versions), set(sets), {r for r, _, _ in rounds})
    problems += unfinished_runs(ws)
    checked = {"images": len(sizes), "label_versions": len(versions), "label_files_read": len(cache),
               "superpixel_sets": len(sets), "rounds": len(rounds)}
    notices = tuple(p for p in problems if p.kind in NOTICE_KINDS)
    problems = [p for p in problems if p.kind not in NOTICE_KINDS]
    repaired = [p for p in problems if p.repairable] if repair else []
    if not repaired:
        return CheckReport(str(root_path), tuple(problems), (), checked, notices)
    for p in repaired:
        _repair(p)
    after = _check(ws, root_path, repair=False)  # what is left, with a restored set checked file by file
    return CheckReport(str(root_path), after.problems, tuple(repaired), after.checked, after.notices)
