"""What every export shares: the choice of images and versions, the staged folder renamed into place,
images copied or hard-linked, files that follow the umask.

A writer (registered with ``FORMATS.register_export(name)``) is called as ``writer(ws, job)`` with an
:class:`ExportJob`: it writes into ``job.folder`` (a staged folder beside the target) and returns
nothing; :func:`run_export` checks everything it can before, and renames the folder into place after.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from alc_data.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    import numpy as np

    from alc_data.workspace import Workspace

@dataclass(frozen=True)
class ExportChoice:
    """What the user asked for, checked (``alc-data export``'s options past ``--out``).

    ``splits``: only these splits (empty: every image);
    ``changed_only``: only the images whose labels differ from v0; ``with_original``: v0's labels
    beside the chosen version's; ``images``: copy the images too where the format makes it optional;
    ``category_ids``: a COCO JSON naming the category ids (coco); ``errors``: a parquet of per-image
    error scores (fiftyone)."""

    splits: tuple[str, ...] = ()
    changed_only: bool = False
    with_original: bool = False
    images: bool = False
    category_ids: Path | None = None
    errors: Path | None = None


@dataclass(frozen=True)
class ExportJob:
    """One export as a writer sees it: the staged ``folder`` to fill, the resolved ``version``, the
    ``image_ids`` chosen (sorted), each image's splits among the chosen ones, and ``original`` (v0's name
    when its labels go beside the version's, else None)."""

    folder: Path
    version: str
    image_ids: tuple[str, ...]
    splits: dict[str, tuple[str, ...]]
    original: str | None
    choice: ExportChoice = field(default_factory=ExportChoice)

    def label_sets(self) -> Iterator[tuple[str, str]]:
        """(version, suffix) for each set of labels to write: the version's with suffix ``""``, then v0's
        with suffix ``"_original"`` when asked."""
        yield self.version, ""
        if self.original is not None:
            yield self.original, "_original"


def refuse_inside_workspace(target: Path) -> None:
    """InvalidInput when ``target`` lies inside any workspace folder (one holding ``alc.sqlite``)."""
    from alc_data.workspace import Workspace

    for folder in [target, *target.parents]:
        if Workspace.exists_at(folder):
            raise InvalidInput(f"--out {target}: is inside the workspace {folder}; write exports outside any workspace")


def place_image(ws: Workspace, image_id: str, dest: Path) -> None:
    """Put the image file of ``image_id`` at ``dest`` byte for byte: hard-linked when it lies outside the
    workspace (the source dataset), copied otherwise (or when the link fails); never re-encoded."""
    src = ws.catalogue.image_path(image_id)
    if not src.is_file():
        raise NotFound(f"{src}: image of {image_id!r} not found; restore it or re-ingest (nothing was written)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    root = ws.root.resolve()
    if root not in src.resolve().parents:
        try:
            os.link(src, dest)
            return
        except OSError:
            pass  # another file system, or links not allowed: copy
    shutil.copyfile(src, dest)


def image_suffix(ws: Workspace, image_id: str) -> str:
    """The suffix of the stored image file (``.jpg``, ``.png``, ...)."""
    return ws.catalogue.image_path(image_id).suffix


def first_version(ws: Workspace) -> str:
    """The name of the ingested version (v0)."""
    return ws.labels.label_versions()[0].name


def split_membership(ws: Workspace, image_ids: list[str], wanted: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """image id → its splits (only those in ``wanted`` when given), in split-name order."""
    names = [s for s in ws.catalogue.splits() if not wanted or s in wanted]
    members = {s: set(ws.catalogue.image_ids(s)) for s in names}
    return {i: tuple(s for s in names if i in members[s]) for i in image_ids}


def changed_images(ws: Workspace, version: str, original: str, image_ids: list[str]) -> list[str]:
    """The images of ``image_ids`` whose labels in ``version`` differ from ``original`` by any pixel."""
    import filecmp

    import numpy as np

    from alc_data.progress import track

    def differs(image_id: str) -> bool:
        a, b = ws.labels.label_path(version, image_id), ws.labels.label_path(original, image_id)
        if filecmp.cmp(a, b, shallow=False):  # the same file (versions hard-link what they keep) or bytes
            return False
        return not np.array_equal(ws.labels.read_label(version, image_id), ws.labels.read_label(original, image_id))

    return [i for i in track(image_ids, f"compare {version} with {original}") if differs(i)]


def grey_png(array: np.ndarray) -> bytes:
    """A (H, W) uint8 array as an 8-bit greyscale PNG (values kept as they are, 255 included)."""
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8), mode="L").save(buf, format="PNG")
    return buf.getvalue()


def write_file(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` (inside a staged folder), making its folder; the mode follows the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)


def check_target(out: Path, ws: Workspace, overwrite: bool) -> Path:
    """The resolved target after the output checks (inside no workspace, not over files unless
    ``overwrite``, a folder)."""
    from alc_data.io.outputs import check_output

    target = check_output(out, ws.root, overwrite=overwrite)
    refuse_inside_workspace(target)
    return target
