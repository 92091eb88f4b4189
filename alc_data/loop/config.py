"""The typed recipe: one frozen dataclass per table, checked as a whole before anything is written.

A recipe (``recipes/*.toml`` after its ``extends`` chain, plus ``--set`` overrides) becomes a
:class:`Recipe` with :meth:`Recipe.from_dict`; every problem is one :class:`~alc_data.errors.InvalidInput`
naming the key (``loop.budget``, ``data.images``, ``superpixels.params.nmu``) and the fix.
:meth:`Recipe.to_dict` gives the resolved recipe saved as ``runs/<name>/recipe.json``, which reads
back into the same recipe (a run resumes only with an equal one).

Tables:

- ``[data]``: ``source`` names the dataset format, and the rest are that format's own fields
  (:data:`DATA_FORMATS`: ``folder`` takes ``images``, ``classes``, ``labels``, ...; ``voc`` takes
  ``root``, ...). Used only when the workspace does not exist yet.
- ``[pseudo_label]``: Grounded-SAM pseudo labels before the first round (``enabled = true``).
- ``[superpixels]``: the set to score (``set``), computed with ``method`` and ``params`` when the
  workspace lacks it.
- ``[train]``: :class:`alc_data.train.TrainConfig` plus ``warm_start``.
- ``[loop]``: :class:`LoopSettings`. ``[eval]``: :class:`EvalSettings`.
- ``[engine]``: :class:`EngineSettings`, where pseudo labels, scoring and superpixels run (``kind = "local"`` or
  ``"ray"``, ``address``, ``concurrency``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from alc_data.correction.expand import DEFAULT_EXPANSION
from alc_data.errors import AlcError, InvalidInput
from alc_data.workspace import Workspace

#: answer sources of the loop: the ground-truth oracle, CSV files filled by people, the browser page
ANSWER_SOURCES = ("oracle", "csv", "annotate")


# ---------------------------------------------------------------- values by declared type
def _fix(where: str, hint: str) -> str:
    return f"fix the recipe or --set {where}={hint}"


def _convert(where: str, value: Any, typ: Any) -> Any:
    """``value`` as the declared type ``typ`` (str, int, float, bool, list[str], dict, optional)."""
    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        return _convert(where, value, inner[0])
    if typ is bool:
        if not isinstance(value, bool):
            raise InvalidInput(f"{where} = {value!r}; use true or false")
        return value
    if typ in (int, float):
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"{where} = {value!r} is not a number; {_fix(where, 'N')}") from None
        if typ is int:
            if not number.is_integer():
                raise InvalidInput(f"{where} = {value!r} is not a whole number; {_fix(where, 'N')}")
            return int(number)
        return number
    if typ is str:
        if isinstance(value, Path) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            return str(value)
        if not isinstance(value, str):
            raise InvalidInput(f"{where} = {value!r} is not text; write it in quotes")
        return value
    if origin is list:
        items = [value] if isinstance(value, (str, Path)) else value
        if not isinstance(items, (list, tuple)):
            raise InvalidInput(f"{where} = {value!r} is not a list; write e.g. {where.split('.')[-1]} = [\"train\", \"val\"]")
        return [_convert(f"{where}[{i}]", v, args[0]) for i, v in enumerate(items)]
    if origin is dict:
        if not isinstance(value, dict):
            raise InvalidInput(f"{where} = {value!r} is not a table; write e.g. {where.split('.')[-1]} = {{ key = value }}")
        return {str(k): _convert(f"{where}.{k}", v, args[1]) for k, v in value.items()}
    return value  # Any


def build_table(cls: type, table: Any, where: str) -> Any:
    """``cls(**table)`` with unknown keys, missing keys and value types checked, named ``where.key``."""
    if not isinstance(table, dict):
        raise InvalidInput(f"recipe [{where}] is {table!r}, not a table; write it as [{where}] with key = value lines")
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    names = [f.name for f in fields]
    unknown = sorted(set(table) - set(names))
    if unknown:
        raise InvalidInput(f"recipe [{where}] has no key {unknown[0]!r}; valid keys: {', '.join(names)}")
    missing = [f.name for f in fields if f.name not in table
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise InvalidInput(f"recipe [{where}] needs {missing[0]} = ...; add it to the recipe or --set {where}.{missing[0]}=VALUE")
    return cls(**{k: _convert(f"{where}.{k}", v, hints[k]) for k, v in table.items()})


def table_dict(obj: Any) -> dict[str, Any]:
    """A table dataclass as a JSON-ready dict (its own fields, tuples as lists)."""
    return {f.name: (list(v) if isinstance(v := getattr(obj, f.name), tuple) else v) for f in dataclasses.fields(obj)}


def _choice(where: str, value: str, choices: typing.Iterable[str]) -> None:
    choices = tuple(choices)
    if value not in choices:
        raise InvalidInput(f"{where} = {value!r}; use one of {', '.join(choices)}")


# ---------------------------------------------------------------- [data]: one table per format
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

    def create_workspace(self, path: Path) -> Workspace:
        from alc_data.demo import build_demo_workspace

        return build_demo_workspace(path, n_train=self.n_train, n_val=self.n_val, size=(self.size, self.size), seed=self.seed)

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


# ---------------------------------------------------------------- the other tables
@dataclass(frozen=True)
class PseudoLabelSettings:
    """Grounded-SAM pseudo labels made before the first round (see :func:`run_pseudo_label`)."""

    enabled: bool = False
    detector: str | None = None
    sam: str | None = None
    version: str = "pseudo"
    box_threshold: float = 0.2
    text_threshold: float | None = None
    nms_iou: float = 0.5
    prompts: dict[str, str] = field(default_factory=dict)
    background: str = "auto"
    batch_size: int = 4
    device: str = "auto"
    amp: bool = True
    sam_type: str | None = None
    instances_set: str = "gsam"

    def check(self) -> None:
        if not self.enabled:
            return
        for key in ("detector", "sam"):
            if not getattr(self, key):
                raise InvalidInput(f"recipe [pseudo_label] needs {key} = ... (a hub id or a local path) when enabled = true")
        _choice("pseudo_label.background", self.background, ("auto", "background", "void"))
        from alc_data.workspace.workspace import check_name

        check_name("pseudo_label.version", self.version)
        check_name("pseudo_label.instances_set", self.instances_set)

    def arguments(self) -> dict[str, Any]:
        """Keyword arguments of :func:`alc_data.pseudo_label.run_pseudo_label`."""
        return {k: v for k, v in table_dict(self).items() if k != "enabled"}


@dataclass(frozen=True)
class SuperpixelSettings:
    """The superpixel set to score (``set``); computed with ``method`` and ``params`` when missing."""

    set: str | None = "sam"
    method: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.set or self.method or ""

    def check(self) -> None:
        from alc_data.workspace.workspace import check_name

        if not self.name:
            raise InvalidInput("recipe [superpixels] needs set = NAME (or method = NAME); e.g. --set superpixels.method=seeds")
        check_name("superpixels.set", self.name)
        if self.method is not None:
            from alc_data.superpixels import check_superpixel_params

            check_superpixel_params(self.method, self.params, where="superpixels.params")
        elif self.params:
            raise InvalidInput("recipe [superpixels] has params but no method; add method = NAME (seeds, slic, sam, ...)")


@dataclass(frozen=True)
class TrainSettings:
    """``[train]``: the model's :class:`~alc_data.train.TrainConfig` and ``warm_start`` (round t > 1
    starts from round t − 1's model)."""

    config: Any  # TrainConfig (imported lazily: torch stays out of recipe loading)
    warm_start: bool = False

    @classmethod
    def from_table(cls, table: Any) -> "TrainSettings":
        from alc_data.train import TrainConfig

        if not isinstance(table, dict):
            raise InvalidInput(f"recipe [train] is {table!r}, not a table")
        table = dict(table)
        warm = _convert("train.warm_start", table.pop("warm_start", False), bool)
        try:
            config = TrainConfig.from_dict(table)
        except AlcError as exc:
            raise type(exc)(f"recipe [train]: {exc}") from None
        return cls(config=config, warm_start=warm)

    def to_dict(self) -> dict[str, Any]:
        return {"warm_start": self.warm_start, **self.config.as_dict()}


@dataclass(frozen=True)
class LoopSettings:
    """``[loop]``: rounds of ``budget`` queries chosen by ``acquisition`` at ``representative`` pixels
    of the ``split``'s superpixels, answered ``answers_from`` oracle | csv | annotate, spread by ``expand``."""

    rounds: int = 3
    budget: int = 100
    acquisition: str = "sim"
    representative: str = "pool"
    split: str = "train"
    skip_asked: bool = True
    answers_from: str = "oracle"
    oracle_mode: str = "pixel"
    tau: float = 0.0
    expand: str = DEFAULT_EXPANSION
    final_train: bool = True
    init_model: str | None = None
    seed: int = 0
    batch_size: int = 8

    def check(self) -> None:
        from alc_data.answers.oracle import ORACLE_MODES
        from alc_data.correction.expand import EXPANSION_MODES
        from alc_data.scoring import ACQUISITIONS
        from alc_data.scoring.pool import REPRESENTATIVES

        for key in ("rounds", "budget", "batch_size"):
            if getattr(self, key) < 1:
                raise InvalidInput(f"loop.{key} = {getattr(self, key)}; it must be at least 1")
        _choice("loop.answers_from", self.answers_from, ANSWER_SOURCES)
        _choice("loop.expand", self.expand, EXPANSION_MODES)
        _choice("loop.representative", self.representative, REPRESENTATIVES)
        _choice("loop.oracle_mode", self.oracle_mode, ORACLE_MODES)
        if not 0.0 <= self.tau <= 1.0:
            raise InvalidInput(f"loop.tau = {self.tau} is outside 0..1; 0 spreads an answer over its whole superpixel")
        try:
            ACQUISITIONS.get(self.acquisition)
        except AlcError as exc:
            raise InvalidInput(f"loop.acquisition: {exc}") from None


@dataclass(frozen=True)
class EvalSettings:
    """``[eval]``: the split whose model mIoU is reported (skipped when the workspace lacks it)."""

    model_split: str = "val"


@dataclass(frozen=True)
class EngineSettings:
    """``[engine]``: where the per-image work of pseudo labels, scoring and superpixels runs: ``kind`` local or ray
    (Ray Data; ``address`` of the cluster, default a local instance; ``concurrency`` actors, default
    one per GPU or CPU)."""

    kind: str = "local"
    address: str | None = None
    concurrency: int | None = None

    def check(self) -> None:
        from alc_data.engine import ENGINES, check_engine

        _choice("engine.kind", self.kind, ENGINES)
        if self.concurrency is not None and self.concurrency < 1:
            raise InvalidInput(f"engine.concurrency = {self.concurrency}; it must be at least 1 actor")
        check_engine(self.kind, where="engine.kind")

    def options(self) -> dict[str, Any]:
        """Keywords for :func:`~alc_data.score_round.score_round`, ``compute_superpixel_set`` and ``run_pseudo_label``."""
        return {"engine": self.kind, "ray_address": self.address, "concurrency": self.concurrency}


TABLES = ("data", "pseudo_label", "superpixels", "train", "loop", "eval", "engine")


@dataclass(frozen=True)
class Recipe:
    """A whole recipe, checked. ``name`` is the run's default name."""

    name: str
    data: DataTable
    pseudo_label: PseudoLabelSettings
    superpixels: SuperpixelSettings
    train: TrainSettings
    loop: LoopSettings
    eval: EvalSettings
    engine: EngineSettings = EngineSettings()

    @classmethod
    def from_dict(cls, recipe: dict[str, Any]) -> "Recipe":
        """Check every table of ``recipe`` (a loaded recipe with its overrides); one InvalidInput names
        the first bad key. Missing tables and keys take their defaults; ``name`` defaults to ``run``."""
        if not isinstance(recipe, dict):
            raise InvalidInput(f"a recipe is a table of tables, got {type(recipe).__name__}")
        unknown = sorted(set(recipe) - {"name", *TABLES})
        if unknown:
            raise InvalidInput(f"recipe has no table [{unknown[0]}]; valid: {', '.join(TABLES)} (and name)")
        name = _convert("name", recipe.get("name") or "run", str)
        from alc_data.workspace.workspace import check_name

        check_name("run", name)
        pseudo = build_table(PseudoLabelSettings, recipe.get("pseudo_label", {}), "pseudo_label")
        pseudo.check()
        superpixels = build_table(SuperpixelSettings, recipe.get("superpixels", {}), "superpixels")
        superpixels.check()
        loop = build_table(LoopSettings, recipe.get("loop", {}), "loop")
        loop.check()
        engine = build_table(EngineSettings, recipe.get("engine", {}), "engine")
        engine.check()
        return cls(
            name=name,
            data=data_table(recipe.get("data", {})),
            pseudo_label=pseudo,
            superpixels=superpixels,
            train=TrainSettings.from_table(recipe.get("train", {})),
            loop=loop,
            eval=build_table(EvalSettings, recipe.get("eval", {}), "eval"),
            engine=engine,
        )

    @classmethod
    def from_saved(cls, saved: dict[str, Any]) -> "Recipe":
        """A ``recipe.json`` written by any version: also reads the untyped layout of earlier runs
        (``[data] root`` meaning the folder's images, the COCO JSON or the hub dataset; ``labels_from``
        in the demo table)."""
        saved = dict(saved)
        data = dict(saved.get("data") or {})
        source = data.get("source", "demo")
        first = {"folder": "images", "coco": "annotations", "hf": "dataset"}.get(source)
        if first and "root" in data and first not in data:
            data[first] = data.pop("root")
        if source == "demo" and data.get("labels_from") == "gt":
            data.pop("labels_from")
        saved["data"] = data
        return cls.from_dict(saved)

    def to_dict(self) -> dict[str, Any]:
        """The resolved recipe as JSON-ready tables (``recipe.json``); :meth:`from_dict` reads it back."""
        return {
            "name": self.name,
            "data": self.data.to_dict(),
            "pseudo_label": table_dict(self.pseudo_label),
            "superpixels": table_dict(self.superpixels),
            "train": self.train.to_dict(),
            "loop": table_dict(self.loop),
            "eval": table_dict(self.eval),
            "engine": table_dict(self.engine),
        }

    def replace(self, **tables: Any) -> "Recipe":
        """A copy with some tables replaced (``recipe.replace(loop=dataclasses.replace(recipe.loop, ...))``)."""
        return dataclasses.replace(self, **tables)
