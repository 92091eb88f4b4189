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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alc_data.answers.oracle import ORACLE_MODES, OracleMode
from alc_data.choices import TextChoice
from alc_data.correction.expand import DEFAULT_EXPANSION, Expansion, check_expansion
from alc_data.engine import ENGINES, check_engine, check_ray_options
from alc_data.errors import AlcError, InvalidInput
from alc_data.loop.data_tables import DATA_FORMATS, DataTable, data_table
from alc_data.loop.per_round import canonical_per_round, check_per_round, per_round, pick
from alc_data.loop.tables import build_table, check_choice, convert_value, table_dict
from alc_data.scoring.acquisitions import check_acquisition
from alc_data.scoring.pool import REPRESENTATIVES, Representative
from alc_data.stages.common import set_field
from alc_data.stages.correct import CorrectOptions
from alc_data.stages.score import ScoreOptions, check_balance
from alc_data.scoring.balance import Balance
from alc_data.correction.lcm import RegionFeatures
from alc_data.correction.propagate import (DEFAULT_THRESHOLD, check_agreement, check_features, check_propagation,
                                           set_without_propagate)

__all__ = ["DATA_FORMATS", "DataTable", "Recipe"]


class AnswerSource(TextChoice):
    """Where the loop's answers come from: the ground-truth oracle, CSV files filled by people, the browser page."""

    ORACLE = "oracle"
    CSV = "csv"
    ANNOTATE = "annotate"


ANSWER_SOURCES = AnswerSource.values()


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
        check_choice("pseudo_label.background", self.background, ("auto", "background", "void"))
        from alc_data.workspace import check_name

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
        from alc_data.workspace import check_name

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
        warm = convert_value("train.warm_start", table.pop("warm_start", False), bool)
        both = ("iterations", "epochs")  # e.g. --set train.epochs=N over a recipe's iterations
        if all(table.get(k) is not None and str(table[k]).strip().lower() != "none" for k in both):
            raise InvalidInput(f"recipe [train] has train.iterations = {table['iterations']} and train.epochs = "
                               f"{table['epochs']}; keep one: --set train.iterations=none (or drop train.epochs)")
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
    of the ``split``'s superpixels, answered ``answers_from`` oracle | csv | annotate, spread by ``expand``.

    The keys are the fields of :class:`~alc_data.stages.score.ScoreOptions` and
    :class:`~alc_data.stages.correct.CorrectOptions` of the same name (``seed`` + the round number is
    each round's seed); :meth:`check` converts each mode to its enum and the acquisition to a checked
    name, once, so the options built from them check nothing again."""

    rounds: int = 3
    budget: int | list[int] = 100
    acquisition: str = "sim"
    representative: Representative | str = Representative.POOL
    split: str = "train"
    skip_asked: bool = True
    answers_from: AnswerSource | str = AnswerSource.ORACLE
    oracle_mode: OracleMode | str = OracleMode.PIXEL
    tau: float = 0.0
    expand: Expansion | str = DEFAULT_EXPANSION
    final_train: bool = True
    init_model: str | None = None
    seed: int = 0
    batch_size: int = 8
    balance: Balance | str = Balance.NONE
    propagate: bool = False
    propagate_threshold: Any = None  # None: not given (A2LC's 0.99 when propagating)
    propagate_agreement: float | None = None  # None: not given (0, off)
    propagate_features: RegionFeatures | str | None = None  # None: not given (mean)

    def check(self) -> None:
        for key in ("rounds", "batch_size"):
            if getattr(self, key) < 1:
                raise InvalidInput(f"loop.{key} = {getattr(self, key)}; it must be at least 1")
        if self.seed < 0:
            raise InvalidInput(f"loop.seed = {self.seed} is negative; a seed is a whole number ≥ 0")
        check_per_round("loop.budget", self.budget, self.rounds)
        for t, budget in enumerate(per_round(self.budget), 1):
            if budget < 1:
                raise InvalidInput(f"loop.budget = {self.budget!r}: round {t}'s budget {budget} must be at least 1")
        set_field(self, "budget", canonical_per_round(self.budget))
        check_choice("loop.answers_from", self.answers_from, ANSWER_SOURCES)
        set_field(self, "answers_from", AnswerSource(self.answers_from))
        set_field(self, "expand", check_expansion(self.expand, where="loop.expand"))
        check_choice("loop.representative", self.representative, REPRESENTATIVES)
        set_field(self, "representative", Representative(self.representative))
        check_choice("loop.oracle_mode", self.oracle_mode, ORACLE_MODES)
        set_field(self, "oracle_mode", OracleMode(self.oracle_mode))
        if not 0.0 <= self.tau <= 1.0:
            raise InvalidInput(f"loop.tau = {self.tau} is outside 0..1; 0 spreads an answer over its whole superpixel")
        set_field(self, "acquisition", check_acquisition(self.acquisition, where="loop.acquisition"))
        set_field(self, "balance", check_balance(self.balance or Balance.NONE, self.acquisition, where="loop.balance ="))
        check_per_round("loop.propagate_threshold", self.propagate_threshold, self.rounds)
        checked = (check_thresholds(self.propagate_threshold, Expansion(self.expand) if self.propagate else Expansion.LABEL),
                   check_agreement(self.propagate_agreement, where="loop.propagate_agreement ="),
                   check_features(self.propagate_features, where="loop.propagate_features ="))
        unused = [] if self.propagate else set_without_propagate(self.propagate_threshold, self.propagate_agreement,
                                                                 self.propagate_features)
        if unused:  # given, even at its default value, it would be ignored
            raise InvalidInput(f"loop.propagate_{unused[0]} only acts with loop.propagate = true; set it or drop "
                               f"loop.propagate_{unused[0]}")
        if self.propagate:  # without propagation they stay None (not given)
            for name, value in zip(("propagate_threshold", "propagate_agreement", "propagate_features"), checked):
                set_field(self, name, canonical_per_round(value))

    def score_options(self, round_no: int, *, checkpoint: Path, label_version: str, superpixel_set: str,
                      engine: "EngineSettings", run: str) -> ScoreOptions:
        """The score stage's options for loop round ``round_no`` of run ``run``."""
        return ScoreOptions(
            budget=self.budget_of(round_no), balance=self.balance, acquisition=self.acquisition, representative=self.representative, split=self.split,
            skip_asked=self.skip_asked, batch_size=self.batch_size, seed=self.seed + round_no, checkpoint=checkpoint,
            superpixel_set=superpixel_set, label_version=label_version, engine=engine.kind,
            ray_address=engine.address, concurrency=engine.concurrency,
            extra_params={"run": run, "loop_round": round_no},
        )

    def correct_options(self, round_no: int, *, checkpoint: str | None, answers_file: Path | None = None,
                        annotator: str = "oracle", loop_round: int = 1) -> CorrectOptions:
        """The correct stage's options for ledger round ``round_no`` (``answers_file`` for csv answers)."""
        return CorrectOptions(
            round=round_no, answers_file=answers_file, oracle="gt" if self.answers_from is AnswerSource.ORACLE else None,
            oracle_mode=self.oracle_mode, tau=self.tau, expand=self.expand,
            checkpoint=None if checkpoint is None else Path(checkpoint), annotator=annotator,
            propagate=self.propagate, propagate_threshold=self.threshold_of(loop_round),
            propagate_agreement=self.propagate_agreement, propagate_features=self.propagate_features, seed=self.seed,
        )

    def budget_of(self, loop_round: int) -> int:
        """Loop round ``loop_round``'s budget (a list gives one per round; its last value repeats)."""
        return pick(per_round(self.budget), loop_round)

    def threshold_of(self, loop_round: int) -> float | str:
        """Loop round ``loop_round``'s propagation threshold (a list, as A2LC's Cityscapes schedule)."""
        return pick(per_round(self.propagate_threshold), loop_round)


def check_thresholds(value: Any, expand: Expansion) -> Any:
    """``loop.propagate_threshold``: a number in (0, 1], ``"auto"``, or a list of those, one per round
    (``expand``: the loop's, refused when it is ``pixel``)."""
    values = per_round(value)
    listed = isinstance(value, (list, tuple))
    checked = [check_propagation(v, expand, where=(f"loop.propagate_threshold{f'[{i}]' if listed else ''} =", "loop.expand ="))
               for i, v in enumerate(values)]
    return checked if listed else checked[0]


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
        check_choice("engine.kind", self.kind, ENGINES)
        if self.concurrency is not None and self.concurrency < 1:
            raise InvalidInput(f"engine.concurrency = {self.concurrency}; it must be at least 1 actor")
        check_engine(self.kind, where="engine.kind")
        check_ray_options(self.kind, self.address, self.concurrency,
                          where=("engine.kind =", "engine.address =", "engine.concurrency ="))

    def options(self) -> dict[str, Any]:
        """Keywords for ``compute_superpixel_set`` and ``run_pseudo_label`` (scoring takes them as
        :class:`~alc_data.stages.score.ScoreOptions` fields, :meth:`LoopSettings.score_options`)."""
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
        name = convert_value("name", recipe.get("name") or "run", str)
        from alc_data.workspace import check_name

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
        """A ``recipe.json`` written by any version (:func:`saved_recipe_dict`)."""
        return cls.from_dict(saved_recipe_dict(saved))

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


def saved_recipe_dict(saved: dict[str, Any]) -> dict[str, Any]:
    """A ``recipe.json`` written by any version as recipe tables: also reads the untyped layout of earlier
    runs (``[data] root`` meaning the folder's images, the COCO JSON or the hub dataset; ``labels_from``
    in the demo table) and the unused propagation defaults they saved."""
    saved = dict(saved)
    data = dict(saved.get("data") or {})
    source = data.get("source", "demo")
    first = {"folder": "images", "coco": "annotations", "hf": "dataset"}.get(source)
    if first and "root" in data and first not in data:
        data[first] = data.pop("root")
    if source == "demo" and data.get("labels_from") == "gt":
        data.pop("labels_from")
    saved["data"] = data
    loop = dict(saved.get("loop") or {})
    if not loop.get("propagate"):  # runs before 2026-12-07 (session 7) saved the unused defaults
        for key, default in (("propagate_threshold", DEFAULT_THRESHOLD), ("propagate_agreement", 0.0),
                             ("propagate_features", str(RegionFeatures.MEAN))):
            if key in loop and loop[key] == default:
                loop.pop(key)
        saved["loop"] = loop
    return saved
