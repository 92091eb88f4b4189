"""``alc-data check``: does the workspace hold what its catalogue says, and nothing left by a crash?

Checks, in order:

- the database holds every table, column and index this alc-data's schema has, and passes SQLite's
  integrity and foreign-key checks (:mod:`.check_schema`; when it does not, nothing else is checked);
- every image the catalogue names exists (not hashed: that is `publish`'s job);
- every label version's folder and files exist, open, have their images' sizes and hold only class
  indices 0..K-1 or ``IGNORE_INDEX`` (each file is read once: versions hard-link unchanged images, and a
  file already read under another version is not read again), and each file still has the SHA-256
  recorded when its version was registered; the reference ground truth is read the same way
  (:mod:`.check_files`);
- every superpixel set has one integer (H, W) map per image;
- every round's score table exists, and every label version a round or an answer names exists;
- answers recorded but never applied are listed with the command that applies them, and so are
  the resumable stagings of a stopped ``pseudo-label`` or ``superpixels`` run (notices, not
  problems: each is a consistent state waiting for its command);
- debris left by crashes is listed: ingest staging folders beside the workspace
  (``.<ws>.ingest-*``), hidden staging folders in ``labels/`` and ``superpixels/``
  (``.<name>.*.tmp``, ``.<name>.new*``, ``.<name>.old``), temp files ``.*.tmp`` anywhere, label-version,
  superpixel or round folders without a catalogue row.

``repair=True`` removes debris only (never a registered version or a file the catalogue references),
puts back a superpixel set whose overwrite was interrupted between its two renames, and records the
hashes of label files registered before hashes were recorded (schema 4).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from alc_data.errors import ChecksFailed, NotFound, WorkspaceDamaged
from alc_data.hints import command
from alc_data.progress import track
from alc_data.results import JsonResult
from alc_data.workspace.check_debris import Problem, ingest_debris, interrupted_overwrite, repair_problem, workspace_debris
from alc_data.workspace.check_files import (HASH_UNKNOWN, Facts, file_facts, gt_problems, hash_problem, hash_problems,
                                            label_file_problems, record_missing_hashes)
from alc_data.workspace.check_schema import schema_problems
from alc_data.workspace.db import DB_NAME
from alc_data.workspace.lock import active_writer, describe
from alc_data.workspace.propagations import PropagationRow
from alc_data.workspace.workspace import Workspace

#: kinds of problem that ``--repair`` fixes
REPAIRABLE_KINDS = ("debris", "unregistered", "superpixels-interrupted")

__all__ = ["CheckReport", "Problem", "check_workspace", "label_file_problems", "require_version_ok", "version_problems"]


NOTICE_KINDS = frozenset({"unapplied-answers", "unfinished-run", "writer-active", HASH_UNKNOWN})
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
            n = len(self.problems)
            raise ChecksFailed(f"{self.workspace}: {n} problem{'' if n == 1 else 's'}" if summary else "")

    def json_keys(self) -> tuple[str, ...]:
        return ("workspace", "ok", "checked", "problems", "repaired", "notices")


# ---------------------------------------------------------------------------------------------- images
def image_problems(ws: Workspace) -> list[Problem]:
    """Images the catalogue names that are gone (one stat per image; contents are not hashed)."""
    return [Problem("image-missing", str(p), f"{p}: the image of {i!r} is not found; restore it or re-ingest")
            for i, p in sorted(ws.catalogue.image_paths().items()) if not p.is_file()]


# ---------------------------------------------------------------------------------------------- labels
def version_problems(
    ws: Workspace,
    version: str,
    image_ids: Iterable[str] | None = None,
    *,
    sizes: dict[str, tuple[int, int]] | None = None,
    cache: dict[tuple, Facts] | None = None,
    hashes: bool = False,
) -> list[Problem]:
    """Problems of label version ``version`` (all its images, or ``image_ids``); with ``hashes``, also
    every file whose SHA-256 differs from the one recorded when the version was registered (``check``
    reports those apart, :func:`hash_problems`)."""
    folder = ws.labels.version_dir(version)
    if not folder.is_dir():
        return [Problem("version-folder-missing", str(folder),
                        f"{folder}: the folder of label version {version!r} is missing")]
    sizes = ws.catalogue.image_sizes() if sizes is None else sizes
    ids = sorted(sizes) if image_ids is None else list(image_ids)
    k = ws.catalogue.num_classes
    recorded = ws.labels.file_hashes() if hashes else {}
    cache = {} if cache is None and hashes else cache
    out: list[Problem] = []
    for image_id in track(ids, f"check labels {version}"):
        path = ws.labels.label_path(version, image_id)
        found = label_file_problems(path, sizes[image_id], k, cache)
        want = recorded.get((version, image_id))
        if not found and want:  # "" or None: registered before hashes were recorded (check --repair)
            facts = file_facts(path, k, cache)
            found = [p for p in [hash_problem(path, version, image_id, want, facts[3] if facts else None)] if p]
        out += found
    return out


def require_version_ok(ws: Workspace, version: str, image_ids: Iterable[str] | None = None) -> None:
    """WorkspaceDamaged (one line, naming the first bad file) unless every label file of ``version``
    (or of ``image_ids``) exists, opens, has its image's size, holds only 0..K-1 or 255 and still has
    the SHA-256 recorded when the version was registered.

    ``publish`` and ``export`` call this before they write anything.
    """
    problems = version_problems(ws, version, image_ids, hashes=True)
    if problems:
        more = f" ({len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        raise WorkspaceDamaged(
            f"{problems[0].message}{more}; nothing was written: run `{command('check', '-w', ws.root)}` and fix the labels"
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


def superpixel_set_problems(ws: Workspace, name: str, sizes: dict[str, tuple[int, int]]) -> list[Problem]:
    folder = ws.superpixels.set_dir(name)
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
        out += superpixel_file_problems(ws.superpixels.superpixel_path(name, image_id), sizes[image_id])
    return out


# ---------------------------------------------------------------------------------------------- rounds
def round_problems(ws: Workspace, versions: set[str]) -> list[Problem]:
    out: list[Problem] = []
    for r in ws.ledger.rounds():
        rnd, table, output = r.round, r.score_table, r.output_version
        # a round registered without a table (library callers may create one from their own selection)
        # has nothing to check; a recorded table must exist
        if table and not (ws.root / table).is_file():
            where = str(ws.root / table)
            out.append(Problem("score-table-missing", where, f"{where}: the score table of round {rnd} is missing"))
        if output is not None and output not in versions:
            out.append(Problem("output-version-missing", f"round {rnd}",
                               f"round {rnd}: its output label version {output!r} is not in the catalogue"))
    bad = ws.ledger.unappliable_answers()
    for rnd in sorted({a.round for a in bad}):
        mine = [a for a in bad if a.round == rnd]
        out.append(Problem("unappliable-answers", f"round {rnd}",
                           f"round {rnd}: {len(mine)} recorded answers name no class of this workspace (query "
                           f"{mine[0].query_id}: class {mine[0].answer_class}); run "
                           f"`{command('correct', '-w', ws.root, '--round', rnd, '--discard-invalid')}`"))
    for count in ws.ledger.answer_counts():
        rnd, applied, n = count.round, count.applied_version, count.answers
        if applied is None:
            out.append(Problem("unapplied-answers", f"round {rnd}",
                               f"round {rnd}: {n} answers are recorded but not applied; "
                               f"run `{command('correct', '-w', ws.root, '--round', rnd)}`"))
        elif applied not in versions:
            out.append(Problem("output-version-missing", f"round {rnd}",
                               f"round {rnd}: {n} answers were applied by label version {applied!r}, which is not in the catalogue"))
    return out


def propagation_problems(ws: Workspace, versions: set[str], sets: set[str]) -> list[Problem]:
    """Automatic relabels (source ``propagated``) whose version or superpixel set is not in the catalogue,
    or whose version was not made by propagation."""
    kinds = {v.name: v.kind for v in ws.labels.label_versions()}
    every = ws.ledger.propagations()
    out: list[Problem] = []
    for version in sorted({r.label_version for r in every}):
        rows = [r for r in every if r.label_version == version]
        if version not in versions:
            out.append(Problem("propagation-version-missing", f"version {version}",
                               f"{len(rows)} automatic relabels name label version {version!r}, which is not in the catalogue"))
        elif kinds[version] != "propagation":
            out.append(Problem("propagation-version-kind", f"version {version}",
                               f"{len(rows)} automatic relabels name label version {version!r}, a {kinds[version]} version"))
        for name in sorted({r.superpixel_set for r in rows} - sets):
            out.append(Problem("propagation-set-missing", f"superpixels {name}",
                               f"automatic relabels of version {version!r} name superpixel set {name!r}, which is not in the catalogue"))
    return out + impossible_relabels(ws, every)


def impossible_relabels(ws: Workspace, rows: Sequence[PropagationRow]) -> list[Problem]:
    """The automatic relabel ``rows`` no run could have written (edited by hand): a class outside the
    workspace's, an image it does not hold, a confidence that is no probability, or no changed pixel."""
    K, images = ws.catalogue.num_classes, set(ws.catalogue.image_ids())
    out: list[Problem] = []
    for r in rows:
        what = [f"{side} class {c} (classes are 0..{K - 1})" for side, c in (("old", r.old_class), ("new", r.new_class))
                if not 0 <= c < K]
        what += [f"image {r.image_id!r} (not in the catalogue)"] if r.image_id not in images else []
        what += [f"confidence {r.confidence} (not in [0, 1])"] if not 0.0 <= r.confidence <= 1.0 else []
        what += [f"{r.pixels} changed pixels"] if r.pixels <= 0 else []
        if what:
            out.append(Problem("propagation-row", f"relabel {r.propagation_id}",
                               f"automatic relabel {r.propagation_id}: " + "; ".join(what) + " in the ledger, which no "
                               "run writes; the ledger was edited: restore the workspace from a backup"))
    return out


def unfinished_runs(ws: Workspace) -> list[Problem]:
    """Notices for the resumable staging of a stopped ``pseudo-label`` (``pseudo/<version>/``) or
    ``superpixels`` run (``staging/superpixels/<set>/``): what is staged and the command that finishes it."""
    out = []
    n_images = len(ws.catalogue.image_ids())
    commands = (("pseudo", ("pseudo-label", "--version")), ("staging/superpixels", ("superpixels", "--name")))
    for folder, (stage, option) in commands:
        base = ws.root / folder
        for p in sorted(base.iterdir()) if base.is_dir() else ():
            if p.is_dir():
                n = sum(1 for _ in p.glob("*.npz"))
                args: list[Any] = [stage, "-w", ws.root, option, p.name]
                same = " with the same settings"
                if stage == "superpixels":  # its settings are the method and parameters: the whole command
                    args, same = [*args, *_superpixel_settings(ws, p)], ""
                out.append(Problem("unfinished-run", str(p),
                                   f"{p}: a stopped run left {n} of {n_images} images staged; "
                                   f"re-run `{command(*args)}`{same} to finish it"))
    return out


def _superpixel_settings(ws: Workspace, stage: Path) -> list[str]:
    """The options of the stopped ``superpixels`` run staged in ``stage``: ``--method``, each ``-p`` and
    ``--overwrite`` when the set it replaces is registered (none when its settings.json is unreadable)."""
    import json

    try:
        settings = json.loads((stage / "settings.json").read_text())
        method, params = str(settings["method"]), dict(settings.get("params") or {})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []
    text = lambda v: v if isinstance(v, str) else json.dumps(v)  # noqa: E731 - true, 0.5: as -p reads them
    options = ["--method", method, *[a for k, v in params.items() for a in ("-p", f"{k}={text(v)}")]]
    if stage.name in {s.name for s in ws.superpixels.superpixel_sets()}:
        options.append("--overwrite")
    return options


def _debris_unless_writing(ws: Workspace, versions: set[str], sets: set[str], rounds: set[int]) -> list[Problem]:
    """Crash debris and stopped runs; while another command holds the write lock its staging is work in
    progress, not debris: one notice says who is writing instead."""
    writer = active_writer(ws.root)
    if writer is not None:
        return [Problem("writer-active", str(ws.root),
                        f"{ws.root}: {describe(writer)} is writing; its staging folders are not listed as debris; "
                        "run `alc-data check` again when it has finished")]
    return workspace_debris(ws, versions, sets, rounds) + unfinished_runs(ws)


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
            return CheckReport(str(root_path), (missing,), tuple(repair_problem(d) for d in debris), {})
        return CheckReport(str(root_path), (missing, *debris), (), {})

    try:
        ws = Workspace.open(root_path)
    except WorkspaceDamaged as exc:  # the database does not open, or has no schema version
        return CheckReport(str(root_path), (Problem("database", str(root_path / DB_NAME), str(exc)),), (), {})
    if repair:  # repairing removes staging folders: never while a command is writing them
        with ws.writing("check --repair"):
            return _check(ws, root_path, repair=True)
    return _check(ws, root_path, repair=False)


def _check(ws: Workspace, root_path: Path, *, repair: bool) -> CheckReport:
    problems = schema_problems(ws.db_path)
    if problems:  # the other checks read the tables: with one missing they would only stop at it
        return CheckReport(str(root_path), tuple(problems), (), {"schema": 1})
    sizes = ws.catalogue.image_sizes()
    versions = [v.name for v in ws.labels.label_versions()]
    sets = [s.name for s in ws.superpixels.superpixel_sets()]
    rounds = [r.round for r in ws.ledger.rounds()]
    cache: dict[tuple, Facts] = {}
    recorded = record_missing_hashes(ws, versions) if repair else []
    problems += image_problems(ws)
    for version in versions:
        problems += version_problems(ws, version, sizes=sizes, cache=cache)
    problems += hash_problems(ws, versions, cache, {p.path_or_name for p in problems})
    problems += gt_problems(ws, sizes)
    for name in sets:
        problems += superpixel_set_problems(ws, name, sizes)
    problems += round_problems(ws, set(versions))
    problems += propagation_problems(ws, set(versions), set(sets))
    problems += _debris_unless_writing(ws, set(versions), set(sets), set(rounds))
    checked = {"images": len(sizes), "label_versions": len(versions), "label_files_read": len(cache),
               "superpixel_sets": len(sets), "rounds": len(rounds)}
    notices = tuple(p for p in problems if p.kind in NOTICE_KINDS)
    problems = [p for p in problems if p.kind not in NOTICE_KINDS]
    repaired = [p for p in problems if p.repairable] if repair else []
    if not repaired:
        return CheckReport(str(root_path), tuple(problems), tuple(recorded), checked, notices)
    done = [repair_problem(p, root_path) for p in repaired]
    after = _check(ws, root_path, repair=False)  # what is left, with a restored set checked file by file
    return CheckReport(str(root_path), after.problems, tuple(recorded + done), after.checked, after.notices)
