"""The two sides of a diff: a label version of a workspace, or a folder of ``<image_id>.png`` label maps."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alc_data.errors import AlcError, InvalidInput, NotFound
from alc_data.io.images import load_image
from alc_data.io.labels import read_label_png
from alc_data.workspace import Workspace

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG", ".webp", ".bmp")


@dataclass
class LabelSource:
    """Labels to compare. ``kind`` is ``"version"`` (``ws`` + ``version``) or ``"folder"`` (``folder``).

    ``images``: where ``folder`` sources find their images (``<image_id>.<jpg|png|...>``), or None.
    """

    kind: str
    name: str
    ws: "Workspace | None" = None
    version: str | None = None
    folder: Path | None = None
    images: Path | None = None

    def workspace_version(self) -> "tuple[Workspace, str] | None":
        """(workspace, version) of a version side; None for a folder side."""
        if self.kind == "version" and self.ws is not None and self.version is not None:
            return self.ws, self.version
        return None

    def _folder(self) -> Path:
        if self.folder is None:
            raise InvalidInput(f"label source {self.name!r} has neither a label version nor a folder")
        return self.folder

    def ids(self) -> list[str]:
        """Sorted image ids this side has labels for."""
        side = self.workspace_version()
        if side is not None:
            return side[0].catalogue.image_ids()
        return sorted(p.stem for p in self._folder().glob("*.png") if not p.name.startswith("."))

    def path(self, image_id: str) -> Path:
        side = self.workspace_version()
        if side is not None:
            return side[0].labels.label_path(side[1], image_id)
        return self._folder() / f"{image_id}.png"

    def read(self, image_id: str) -> np.ndarray:
        """(H, W) uint8 labels of one image."""
        side = self.workspace_version()
        if side is not None:
            return side[0].labels.read_label(side[1], image_id)
        return read_label_png(self.path(image_id))

    def image(self, image_id: str) -> np.ndarray | None:
        """(H, W, 3) uint8 RGB image, or None when this side knows no image for the id."""
        side = self.workspace_version()
        if side is not None:
            try:
                return side[0].catalogue.load_image(image_id)
            except AlcError:
                return None
        if self.images is None:
            return None
        for suffix in IMAGE_SUFFIXES:
            path = self.images / f"{image_id}{suffix}"
            if path.is_file():
                try:
                    return load_image(path)
                except AlcError:
                    return None
        return None


def read_class_file(path: str | os.PathLike) -> list[str]:
    """Class names of a class list in ``ingest folder``'s format (one class per line, index = line order,
    an optional colour after the name: what ``export --format folder`` writes)."""
    from alc_data.ingest.folder import read_classes_file

    return [c.name for c in read_classes_file(Path(path))]


def _is_path(spec: str) -> bool:
    """Whether a side can only be a path (a version name has no separator and no leading ``.`` or ``~``)."""
    return "/" in spec or os.sep in spec or spec.startswith((".", "~"))


def _open_workspace(workspace: "str | os.PathLike | Workspace | None") -> "Workspace | None":
    """The workspace to look versions up in; None when there is none at ``workspace``."""
    if workspace is None or isinstance(workspace, Workspace):
        return workspace
    return Workspace.open(Path(workspace)) if Workspace.exists_at(Path(workspace)) else None


def _version_too(spec: str, workspace: "str | os.PathLike | Workspace | None") -> "Workspace | None":
    """The workspace when the bare name ``spec`` of an existing folder also names one of its label versions."""
    if _is_path(spec):
        return None
    try:
        ws = _open_workspace(workspace)
        if ws is not None:
            ws.labels.version(spec)
        return ws
    except AlcError:  # no readable workspace, or no such version: the folder is meant
        return None


def open_source(spec: str, *, workspace: "str | os.PathLike | Workspace | None", images: str | os.PathLike | None = None) -> LabelSource:
    """A folder when ``spec`` is an existing directory, else a label version of ``workspace``. A bare name
    that is both a folder here and a label version is refused (``./NAME`` is the folder)."""
    if not spec.strip():
        raise InvalidInput("a side of the diff is empty; pass a label version (v0, latest, ...) or a folder of "
                           "<image_id>.png label maps")
    path = Path(spec)
    if path.is_dir():
        both = _version_too(spec, workspace)
        if both is not None:
            raise InvalidInput(f"{spec!r} is both a folder here and a label version of {both.root}; write ./{spec} "
                               "for the folder, or run from another folder for the version")
        return LabelSource(
            kind="folder", name=str(spec), folder=path, images=Path(images) if images is not None else None
        )
    if _is_path(spec):
        raise NotFound(f"{spec}: no such folder; pass a folder of <image_id>.png label maps or a label version")
    if workspace is None:
        raise InvalidInput(f"{spec!r} is not a folder, and no workspace was given to look up a label version")
    ws = _open_workspace(workspace)
    if ws is None:
        raise NotFound(
            f"{spec!r} is neither an existing label folder nor a label version (no workspace at {workspace}); "
            "check the path or pass -w/--workspace"
        )
    version = ws.labels.version(spec).name
    return LabelSource(kind="version", name=version, ws=ws, version=version)


def check_images_folder(images: str | os.PathLike | None, a: LabelSource, b: LabelSource) -> None:
    """``--images`` names an existing folder, and is given only where a side is a folder (a version draws
    its workspace's images)."""
    if images is None:
        return
    if a.kind == "version" and b.kind == "version":
        raise InvalidInput("--images is only for label folders; two label versions draw their workspace's images "
                           "(drop --images, or compare two label folders)")
    if not Path(images).is_dir():
        raise NotFound(f"--images {images}: folder not found; pass the folder of <image_id>.jpg/.png images")
