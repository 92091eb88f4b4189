"""The two sides of a diff: a label version of a workspace, or a folder of ``<image_id>.png`` label maps."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alc_data.errors import AlcError, InvalidInput, NotFound
from alc_data.io.images import load_image
from alc_data.io.labels import read_label_png
from alc_data.names import check_class_names, text_lines
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
    """Class names, one per line (blank lines skipped), index = line order."""
    path = Path(path)
    try:
        names = [line.strip() for line in text_lines(path.read_text(encoding="utf-8")) if line.strip()]
    except FileNotFoundError:
        raise NotFound(f"{path}: class file not found; pass a text file with one class name per line") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read the class file ({exc}); pass a UTF-8 text file") from None
    if not names:
        raise InvalidInput(f"{path}: class file is empty; write one class name per line")

    return check_class_names(names, str(path))


def open_source(spec: str, *, workspace: "str | os.PathLike | Workspace | None", images: str | os.PathLike | None = None) -> LabelSource:
    """A folder when ``spec`` is an existing directory, else a label version of ``workspace``."""
    path = Path(spec)
    if path.is_dir():
        return LabelSource(
            kind="folder", name=str(spec), folder=path, images=Path(images) if images is not None else None
        )
    if workspace is None:
        raise InvalidInput(f"{spec!r} is not a folder, and no workspace was given to look up a label version")
    if isinstance(workspace, Workspace):
        ws = workspace
    else:
        root = Path(workspace)
        if not Workspace.exists_at(root):
            raise NotFound(
                f"{spec!r} is neither an existing label folder nor a label version (no workspace at {root}); "
                "check the path or pass -w/--workspace"
            )
        ws = Workspace.open(root)
    version = ws.labels.version(spec).name
    return LabelSource(kind="version", name=version, ws=ws, version=version)
