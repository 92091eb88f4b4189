"""The files ``check`` reads: label maps and reference ground truth (for :mod:`.check`).

- A label or ground-truth file must exist, open, have its image's size and hold only class indices
  0..K-1 or ``IGNORE_INDEX``. Versions hard-link the files of unchanged images, so what one file holds is
  read once (``cache``, by file identity) and each version's problem names that version's own path.
- A label file must still hold what was registered: its SHA-256 is compared with the one the catalogue
  recorded for that version and image (``label-changed`` names both). A file with no hash row
  (``label-hash-missing``) is a problem: every command that registers a version records them. Files
  registered before schema 4 have an empty hash: ``check`` notes them (``label-hash-unknown``, not a
  failure) and ``check --repair`` records their present content, as it does for missing ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import AbstractSet, Iterable

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlcError
from alc_data.io.labels import read_label_png
from alc_data.io.registered import make_read_only, sha256_file
from alc_data.progress import track
from alc_data.workspace.check_debris import Problem
from alc_data.workspace.workspace import Workspace

#: what ``cache`` keeps of one file: (H, W) or None, [(bad value, pixels)], why it does not open (no path), SHA-256
Facts = tuple[tuple[int, int] | None, list[tuple[int, int]], str | None, str | None]

HASH_MISSING = "label-hash-missing"
#: notice: label files registered before schema 4, whose hash is not known
HASH_UNKNOWN = "label-hash-unknown"


def _read_facts(path: Path, k: int) -> Facts:
    """The facts of one label PNG, read once."""
    try:
        digest: str | None = sha256_file(path)
        arr = read_label_png(path)
    except OSError as exc:
        return None, [], f"cannot read the file ({exc.strerror})", None
    except AlcError as exc:
        return None, [], str(exc).removeprefix(f"{path}: "), digest
    bad: list[tuple[int, int]] = []
    if arr.size and int(arr.max()) >= k:
        counts = np.bincount(arr.ravel(), minlength=256)
        counts[IGNORE_INDEX] = 0
        bad = [(int(v), int(counts[v])) for v in np.flatnonzero(counts[k:]) + k]
    return arr.shape, bad, None, digest


def file_facts(path: Path, k: int, cache: dict[tuple, Facts] | None) -> Facts | None:
    """The facts of ``path`` (None when it does not exist), from ``cache`` when the same file was read."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    facts = cache.get(key) if cache is not None else None
    if facts is None:
        facts = _read_facts(path, k)
        if cache is not None:
            cache[key] = facts
    return facts


def label_file_problems(
    path: Path, size: tuple[int, int], k: int, cache: dict[tuple, Facts] | None = None, *, what: str = "label"
) -> list[Problem]:
    """Problems of one label (``what="gt"``: ground-truth) file against its image's (H, W) and K classes.

    ``cache`` (optional) remembers what was read per file identity (device, inode, size, mtime), so a
    file hard-linked into several versions is read once.
    """
    facts = file_facts(path, k, cache)
    noun = "label" if what == "label" else "ground-truth"
    if facts is None:
        return [Problem(f"{what}-missing", str(path), f"{path}: {noun} file not found")]
    shape, bad, error, _ = facts
    if error is not None or shape is None:
        return [Problem(f"{what}-unreadable", str(path), f"{path}: {error}")]
    out = []
    if shape != size:
        out.append(Problem(f"{what}-size", str(path),
                           f"{path}: {noun} is {shape[1]}×{shape[0]} (W×H), its image is {size[1]}×{size[0]}"))
    if bad:
        value, pixels = bad[0]
        more = f" (and {len(bad) - 1} other bad values)" if len(bad) > 1 else ""
        out.append(Problem(f"{what}-values", str(path),
                           f"{path}: {noun} value {value} ({pixels} pixels) is not a class (K={k}) nor {IGNORE_INDEX}{more}"))
    return out


def gt_problems(ws: Workspace, sizes: dict[str, tuple[int, int]]) -> list[Problem]:
    """The reference ground truth (``gt/<id>.png`` of every image the catalogue says has one), read as a
    label version is: exists, opens, its image's size, values 0..K-1 or 255."""
    k = ws.catalogue.num_classes
    ids = sorted(i for i, rec in ws.catalogue.image_records().items() if rec.has_gt)
    out: list[Problem] = []
    for image_id in track(ids, "check ground truth"):
        out += label_file_problems(ws.catalogue.gt_path(image_id), sizes[image_id], k, what="gt")
    return out


def hash_problem(path: Path, version: str, image_id: str, want: str | None, got: str | None) -> Problem | None:
    if want is None:
        return Problem(HASH_MISSING, str(path),
                       f"{path}: no hash was recorded for image {image_id!r} when version {version!r} was registered; "
                       "`alc-data check --repair` records its present content", repairable=True)
    if got is not None and got != want:
        return Problem("label-changed", str(path),
                       f"{path}: the label file of image {image_id!r} in version {version!r} was changed after it was "
                       "registered (its SHA-256 differs from the catalogue's); restore it from a backup, and change "
                       "labels only through `alc-data correct`")
    return None


def hash_problems(ws: Workspace, versions: Iterable[str], cache: dict[tuple, Facts],
                  reported: AbstractSet[str] = frozenset()) -> list[Problem]:
    """Label files whose content is not what was registered (``label-changed``; not for the files in
    ``reported``, whose problem already names them) or that have no recorded hash
    (``label-hash-missing``), and one notice per version whose files were registered before hashes were
    recorded (``label-hash-unknown``: their hash is empty)."""
    recorded, ids = ws.labels.file_hashes(), ws.catalogue.image_ids()
    k = ws.catalogue.num_classes
    out: list[Problem] = []
    for version in versions:
        unknown = 0
        for image_id in ids:
            path = ws.labels.label_path(version, image_id)
            want = recorded.get((version, image_id))
            facts = file_facts(path, k, cache) if want != "" and str(path) not in reported else None
            unknown += want == ""
            problem = hash_problem(path, version, image_id, want, facts[3] if facts is not None else None)
            out += [problem] if problem is not None else []
        if unknown:
            out.append(Problem(HASH_UNKNOWN, f"version {version}",
                               f"label version {version!r}: {unknown} files were registered before alc-data recorded "
                               "hashes; `alc-data check --repair` records their present content", repairable=True))
    return out


def record_missing_hashes(ws: Workspace, versions: Iterable[str]) -> list[Problem]:
    """Record the present SHA-256 of every existing label file whose hash is missing or unknown
    (``check --repair``); one entry per version recorded."""
    recorded, ids = ws.labels.file_hashes(), ws.catalogue.image_ids()
    done: list[Problem] = []
    for version in versions:
        hashes = {}
        for image_id in ids:
            path = ws.labels.label_path(version, image_id)
            if not recorded.get((version, image_id)) and path.is_file():
                hashes[image_id] = sha256_file(path)
                make_read_only(path)
        if hashes:
            ws.labels.record_file_hashes(version, hashes)
            done.append(Problem(HASH_UNKNOWN, f"version {version}",
                                f"label version {version!r}: recorded the hashes of {len(hashes)} files", repairable=True))
    return done
