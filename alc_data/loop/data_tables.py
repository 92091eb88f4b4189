"""The recipe's ``[data]`` table: ``source`` names the dataset format, and the rest are that format's
own fields (:data:`DATA_FORMATS`). Used only when the workspace does not exist yet."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from alc_data.errors import InvalidInput
from alc_data.loop.tables import build_table, table_dict
from alc_data.workspace import Workspace


@dataclass(frozen=True)
class Expected:
    """What a workspace ingested from a ``[data]`` table will hold, as far as the table tells (None:
    known only after ingest): its ``splits``, its ``superpixel_sets``, and ``no_gt``, why it will have
    no reference ground truth (None when it will, or when that is unknown)."""

    splits: frozenset[str] | None = None
    superpixel_sets: frozenset[str] | None = None
    no_gt: str | None = None


@dataclass(frozen=True)
class DataTable:
    """Base of the ``[data]`` tables: a format's reader arguments and the labels to start from."""

    FORMAT: ClassVar[str] = ""
    #: ``labels_from`` = "gt" (the dataset's own annotation becomes v0) or a folder of <image_id>.png labels
    labels_from: str | None = "gt"

    def check(self) -> None:
        """Checks that need no files (files are checked by the reader, before anything is written)."""

    def reader_arguments(self) -> dict[str, Any]:
        return {k: v for k, v in table_dict(self).items() if k != "labels_from"}

    def expected(self) -> Expected:
        """What the workspace will hold: no superpixels (the readers of the dataset formats bring none);
        its splits are known after ingest."""
        return Expected(superpixel_sets=frozenset())

    def start_labels(self) -> str:
        return self.labels_from or "gt"

    def create_workspace(self, path: Path) -> Workspace:
        """Build the workspace at ``path`` from this dataset (nothing is left behind on failure)."""
        from alc_data.ingest import FORMATS, ingest, load_formats

        load_formats()
        return ingest(path, FORMATS.get(self.FORMAT)(**self.reader_arguments()), labels_from=self.start_labels())

    def to_dict(self) -> dict[str, Any]:
        fields = table_dict(self)
        return {"source": self.FORMAT, **fields, "labels_from": fields.pop("labels_from")}


@dataclass(frozen=True)
class DemoData(DataTable):
    """The synthetic demo scenes (``alc-data ingest demo``): v0 = their noisy labels."""

    FORMAT: ClassVar[str] = "demo"
    labels_from: None = field(default=None, init=False, repr=False)
    n_train: int = 80
    n_val: int = 20
    size: int = 64
    seed: int = 0

    def check(self) -> None:
        for key in ("n_train", "n_val", "size", "seed"):
            if getattr(self, key) < 0:
                raise InvalidInput(f"data.{key} = {getattr(self, key)} is negative; fix the recipe or --set data.{key}=N")

    def create_workspace(self, path: Path) -> Workspace:
        from alc_data.demo import build_demo_workspace

        return build_demo_workspace(path, n_train=self.n_train, n_val=self.n_val, size=(self.size, self.size), seed=self.seed)

    def expected(self) -> Expected:
        return Expected(splits=frozenset({"train", *(("val",) if self.n_val else ())}),
                        superpixel_sets=frozenset({"sam", "gsam"}))

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.FORMAT, "n_train": self.n_train, "n_val": self.n_val, "size": self.size, "seed": self.seed}


@dataclass(frozen=True)
class FolderData(DataTable):
    """Plain folders (:func:`alc_data.ingest.folder.read_folder`): ``images``, ``classes`` (a class
    list file), ``labels`` (labels to correct), ``gt`` (reference ground truth), ``superpixels``,
    ``splits`` (split name → list file), ``name``. Give ``labels``, or ``labels_from`` (``gt`` with ``gt``)."""

    FORMAT: ClassVar[str] = "folder"
    images: str = ""
    classes: str = ""
    labels: str | None = None
    gt: str | None = None
    superpixels: str | None = None
    splits: dict[str, str] = field(default_factory=dict)
    name: str = "folder"
    labels_from: str | None = None

    def check(self) -> None:
        from alc_data.ingest.folder import folder_labels_from

        for key in ("images", "classes"):
            if not getattr(self, key):
                raise InvalidInput(f"recipe [data] source = 'folder' needs {key} = PATH; add it or --set data.{key}=PATH")
        folder_labels_from(labels=self.labels, labels_from=self.labels_from, gt=self.gt)

    def reader_arguments(self) -> dict[str, Any]:
        return {**super().reader_arguments(), "splits": self.splits or None}

    def expected(self) -> Expected:
        """Split lists name the splits (without them every image is in ``train``); ``superpixels`` is
        ingested as the set ``imported``; without ``gt`` there is no reference ground truth."""
        return Expected(splits=frozenset(self.splits or ("train",)),
                        superpixel_sets=frozenset({"imported"} if self.superpixels else ()),
                        no_gt=None if self.gt else "[data] source = 'folder' has no gt (reference ground truth)")

    def start_labels(self) -> str:
        from alc_data.ingest.folder import folder_labels_from

        return folder_labels_from(labels=self.labels, labels_from=self.labels_from, gt=self.gt)


@dataclass(frozen=True)
class VocData(DataTable):
    """PASCAL VOC 2012: ``root`` (a VOCdevkit folder or its VOC2012 folder), ``aug`` (SBD-augmented
    labels), ``splits`` (default: every list)."""

    FORMAT: ClassVar[str] = "voc"
    root: str = ""
    aug: bool = False
    splits: list[str] | None = None

    def check(self) -> None:
        if not self.root:
            raise InvalidInput("recipe [data] source = 'voc' needs root = PATH (a VOCdevkit folder); --set data.root=PATH")


@dataclass(frozen=True)
class CityscapesData(DataTable):
    """Cityscapes: ``root`` (holding leftImg8bit/ and gtFine/), ``train_ids`` (read the dataset's own
    labelTrainIds files), ``splits`` (default: every split folder)."""

    FORMAT: ClassVar[str] = "cityscapes"
    root: str = ""
    train_ids: bool = False
    splits: list[str] | None = None

    def check(self) -> None:
        if not self.root:
            raise InvalidInput("recipe [data] source = 'cityscapes' needs root = PATH (holding leftImg8bit/ and gtFine/)")


@dataclass(frozen=True)
class CocoData(DataTable):
    """COCO instances or panoptic: ``annotations`` (the JSON), ``images`` (their folder),
    ``panoptic_dir``, ``split`` (the split of every image)."""

    FORMAT: ClassVar[str] = "coco"
    annotations: str = ""
    images: str = ""
    panoptic_dir: str | None = None
    split: str = "train"

    def expected(self) -> Expected:
        return Expected(splits=frozenset({self.split}), superpixel_sets=frozenset())

    def check(self) -> None:
        for key in ("annotations", "images"):
            if not getattr(self, key):
                raise InvalidInput(f"recipe [data] source = 'coco' needs {key} = PATH; add it or --set data.{key}=PATH")


@dataclass(frozen=True)
class HfData(DataTable):
    """A Hugging Face dataset: ``dataset`` (a save_to_disk or parquet/imagefolder folder, or a hub
    name), ``image_column``, ``label_column``, ``splits``, ``classes`` (a class list file), ``name``,
    ``cache_dir``."""

    FORMAT: ClassVar[str] = "hf"
    dataset: str = ""
    image_column: str = "image"
    label_column: str = "label"
    splits: list[str] | None = None
    classes: str | None = None
    name: str | None = None
    cache_dir: str | None = None

    def check(self) -> None:
        if not self.dataset:
            raise InvalidInput("recipe [data] source = 'hf' needs dataset = FOLDER or hub name; --set data.dataset=NAME")

    def reader_arguments(self) -> dict[str, Any]:
        args = super().reader_arguments()
        args["source"] = args.pop("dataset")
        return args


#: the ``[data]`` table of each format, by its ``source`` name
DATA_FORMATS: dict[str, type[DataTable]] = {
    cls.FORMAT: cls for cls in (DemoData, FolderData, VocData, CityscapesData, CocoData, HfData)
}


def data_table(table: Any) -> DataTable:
    """The ``[data]`` table of its format, checked."""
    if not isinstance(table, dict):
        raise InvalidInput(f"recipe [data] is {table!r}, not a table")
    table = dict(table)
    source = table.pop("source", "demo")
    if source not in DATA_FORMATS:
        raise InvalidInput(f"data.source = {source!r}; use one of {', '.join(DATA_FORMATS)}")
    data = build_table(DATA_FORMATS[source], table, "data")
    data.check()
    return data
