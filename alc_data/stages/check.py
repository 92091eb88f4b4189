"""The check stage: compare a workspace's files with its catalogue, list crash debris, repair it.

Beyond :func:`~alc_data.workspace.check.check_workspace`, a damaged label file (missing, unreadable, of
the wrong size or values, or edited) of a version made by ``correct`` (its parent plus the ledger) is
rebuilt by ``--repair`` with :func:`~alc_data.correction.rebuild_version`, but only when the rebuilt
file has the SHA-256 recorded when its version was registered: it is then that file, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from alc_data.correction import rebuild_version
from alc_data.errors import AlcError
from alc_data.hints import command
from alc_data.io.atomic import atomic_write_bytes
from alc_data.io.labels import encode_label_png
from alc_data.io.registered import make_read_only, sha256_bytes
from alc_data.workspace import Workspace
from alc_data.workspace.check import CheckReport, Problem, check_workspace

#: problems of one label file of a version, which a rebuild from the ledger may fix
LABEL_FILE_KINDS = ("label-missing", "label-unreadable", "label-size", "label-values", "label-changed")


@dataclass(frozen=True)
class CheckOptions:
    """``repair``: remove debris left by crashes (never a registered version or a file the catalogue
    uses), put back an interrupted superpixel overwrite and rebuild damaged label files of corrected
    versions from the ledger, then report what is left."""

    repair: bool = False


def check(workspace: Path, options: CheckOptions) -> CheckReport:
    """Check the workspace at ``workspace`` (which need not open: an interrupted ingest is reported)."""
    report = check_workspace(workspace, repair=options.repair)
    if not any(p.kind in LABEL_FILE_KINDS for p in report.problems):
        return report
    ws = Workspace.open(Path(workspace))
    if options.repair:
        with ws.writing("check --repair"):
            rebuilt = rebuild_label_files(ws, report.problems, write=True)
        if rebuilt:
            after = check_workspace(workspace)
            report = replace(after, repaired=report.repaired + tuple(rebuilt))
    rebuildable = {p.path_or_name for p in rebuild_label_files(ws, report.problems, write=False)}
    return replace(report, problems=tuple(_with_fix(ws, p, p.path_or_name in rebuildable) for p in report.problems))


def _with_fix(ws: Workspace, problem: Problem, rebuildable: bool) -> Problem:
    """A label file's problem with its fix: the rebuild ``--repair`` makes, else a backup."""
    if problem.kind not in LABEL_FILE_KINDS:
        return problem
    if rebuildable:  # the file's folder is its version's
        parent = ws.labels.version(Path(problem.path_or_name).parent.name).parent
        return replace(problem, repairable=True, message=f"{problem.message}; `{command('check', '-w', ws.root, '--repair')}` "
                                                         f"rebuilds it from label version {parent!r} and the ledger")
    if "restore it" in problem.message:
        return problem
    return replace(problem, message=f"{problem.message}; restore it from a backup (the ledger cannot rebuild it)")


def rebuild_label_files(ws: Workspace, problems: tuple[Problem, ...], *, write: bool) -> list[Problem]:
    """Rebuild the label files named by ``problems`` whose version was made by corrections or propagation,
    oldest version first (a repaired parent serves its children); one ``rebuilt`` entry per file whose
    rebuilt bytes have the recorded SHA-256 (written in place of the damaged file when ``write``)."""
    labels_dir = ws.root / "labels"
    wanted: dict[str, list[str]] = {}
    for p in problems:
        path = Path(p.path_or_name)
        if p.kind in LABEL_FILE_KINDS and path.parent.parent == labels_dir:
            wanted.setdefault(path.parent.name, []).append(path.name.removesuffix(".png"))
    recorded = ws.labels.file_hashes()
    done: list[Problem] = []
    rebuilt: dict[tuple[str, str], bytes] = {}  # (version, image) -> its rebuilt file, for its children
    for version in ws.labels.label_versions():
        if version.name not in wanted or version.kind not in ("correction", "propagation") or version.parent is None:
            continue
        for image_id in wanted[version.name]:
            want = recorded.get((version.name, image_id))
            parent_data = rebuilt.get((version.parent, image_id))
            if parent_data is not None and sha256_bytes(parent_data) == want:
                data = parent_data  # unchanged from its parent, whose file (often the same, hard-linked) was damaged
            else:
                try:
                    [(_, labels)] = list(rebuild_version(ws, version.name, image_ids=[image_id]))
                except AlcError:  # its parent is damaged too, or the version needs a model's probabilities
                    continue
                data = encode_label_png(labels, ws.catalogue.palette)
                if sha256_bytes(data) != want:
                    continue
            rebuilt[(version.name, image_id)] = data
            path = ws.labels.label_path(version.name, image_id)
            if write:
                atomic_write_bytes(path, data)
                make_read_only(path)
            done.append(Problem("rebuilt", str(path), f"{path}: rebuilt from label version {version.parent!r} and the ledger",
                                repairable=True))
    return done
