"""The score stage: model → probabilities (streamed) → superpixel scores → global top-B → queries.

Memory holds one batch of probabilities plus one small record per candidate superpixel, whatever the
number of images (docs/contracts.md, Performance). :class:`ScoreOptions` checks every value once;
:func:`score` and the cores it calls trust them.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from alc_data.hints import command
from alc_data.io.failures import on_write_failure
from alc_data.engine import Engine, check_engine, check_ray_options
from alc_data.engine.ray_score import score_shards_ray
from alc_data.errors import Conflict, InvalidInput
from alc_data.faults import kill_point
from alc_data.predictions import checked_probabilities, scan_prediction_folder
from alc_data.progress import track
from alc_data.queries import create_round
from alc_data.results import JsonResult
from alc_data.scoring.acquisitions import WEIGHTED, acquisition_name
from alc_data.scoring.balance import Balance, workspace_class_weights
from alc_data.scoring.pool import REPRESENTATIVES, Representative
from alc_data.scoring.shards import Shard, merge_shards, ordered_shards, select_counted_from_shards, write_shards
from alc_data.scoring.stream import ImageScoring, probability_stream, score_stream
from alc_data.stages.common import check_source_paths, probability_source, set_field
from alc_data.workspace import Workspace

Pairs = Iterable[tuple[str, Any]]


@dataclass(frozen=True)
class ScoreOptions:
    """One round's scoring. The probabilities come from exactly one of ``checkpoint`` (an alc-data
    model), ``predictions`` (a folder of prediction files; ``logits``: they hold logits) or
    ``probabilities`` ((image_id, (K, H, W) probs) pairs of ``split``, any model). ``engine`` ray
    scores a checkpoint or a folder on a Ray cluster (``ray_address``, ``concurrency`` actors).
    ``extra_params`` are stored with the round (the loop's run name and round)."""

    budget: int
    acquisition: str = "sim"
    representative: Representative | str = Representative.POOL
    split: str = "train"
    skip_asked: bool = True
    batch_size: int = 4
    seed: int = 0
    device: str | None = None
    checkpoint: Path | None = None
    predictions: Path | None = None
    logits: bool = False
    probabilities: Pairs | None = field(default=None, compare=False, repr=False)
    superpixel_set: str | None = None
    label_version: str | None = None
    engine: Engine | str = Engine.LOCAL
    ray_address: str | None = None
    concurrency: int | None = None
    extra_params: Mapping[str, Any] = field(default_factory=dict)
    balance: Balance | str = Balance.NONE

    def __post_init__(self) -> None:
        set_field(self, "acquisition", acquisition_name(self.acquisition))
        set_field(self, "balance", check_balance(self.balance, self.acquisition))
        if self.representative not in REPRESENTATIVES:
            raise InvalidInput(f"--representative {self.representative!r} is unknown; "
                               f"use one of {', '.join(REPRESENTATIVES)}")
        set_field(self, "representative", Representative(self.representative))
        if self.budget <= 0:
            raise InvalidInput(f"--budget {self.budget} must be a positive number of queries")
        if self.batch_size < 1:
            raise InvalidInput(f"--batch-size {self.batch_size} must be at least 1 image per forward pass")
        if self.seed < 0:
            raise InvalidInput(f"--seed {self.seed} must be a non-negative integer")
        if sum(x is not None for x in (self.checkpoint, self.probabilities, self.predictions)) != 1:
            raise InvalidInput("give a model checkpoint, a predictions folder or probabilities to score, one of them")
        check_engine(self.engine)
        set_field(self, "engine", Engine(self.engine))
        check_ray_options(self.engine, self.ray_address)
        if self.engine is Engine.RAY and self.probabilities is not None:
            raise InvalidInput("--engine ray scores a model checkpoint or a --predictions folder, not probabilities "
                               "from this process; write them with save_prediction and pass the folder")
        check_source_paths(self)

    def source(self) -> dict[str, Any]:
        """Where the probabilities come from, as stored in the round's params (and given to Ray actors)."""
        return probability_source(self.checkpoint, self.predictions, self.logits)

    def round_params(self) -> dict[str, Any]:
        """The params stored with the round in the ledger."""
        engine = {"engine": Engine(self.engine).value} if self.engine is not Engine.LOCAL else {}
        balance = {"balance": Balance(self.balance).value} if self.balance is not Balance.NONE else {}
        return {**self.source(), "split": self.split, "seed": self.seed, "skip_asked": self.skip_asked,
                "representative": Representative(self.representative).value, **engine, **balance, **self.extra_params}

    def weighted(self) -> bool:
        """Whether the round's scores take ABC's class weight (``--balance abc`` or ``abc-pred``, or ``a2lc``)."""
        return self.balance is not Balance.NONE or self.acquisition == "a2lc"


def weights_for_scoring(weights: Any) -> tuple[Any, ...]:
    """The round's class weights as the scorer takes them (hashable): a tuple, or for (K, K) weights
    (``abc-pred``, ``gain``) a tuple of tuples by current and predicted class."""
    return tuple(map(tuple, weights.tolist())) if weights.ndim == 2 else tuple(weights.tolist())


def check_balance(balance: Balance | str, acquisition: str, *, where: str = "--balance") -> Balance:
    """``balance`` as the enum; a one-line error for an unknown value and for ``abc`` with an acquisition
    that sums no per-pixel term (or ``a2lc``, which has the weight built in; ``abc-pred`` and ``gain`` are
    allowed with it and replace its weight by theirs)."""
    value = Balance.parse(str(balance), where + " {value!r} is unknown; use one of {choices}")
    if value in (Balance.ABC_PRED, Balance.GAIN) and acquisition not in WEIGHTED:
        raise InvalidInput(f"{where} {value.value} weighs each pixel's term of sim or a2lc; {acquisition!r} sums none: "
                           "drop the balance or use the acquisition sim")
    if value is Balance.ABC and (acquisition not in WEIGHTED or acquisition == "a2lc"):
        why = ("has the class weight built in: drop the balance" if acquisition == "a2lc"
               else "sums no per-pixel term: drop the balance or use the acquisition sim")
        raise InvalidInput(f"{where} abc weighs each pixel's term of sim; {acquisition!r} {why}")
    return value


def checkpoint_or_predictions(checkpoint: Path | None, predictions: Path | None, logits: bool) -> None:
    """``alc-data score``'s source: exactly one of ``--model`` and ``--predictions``; ``--logits`` only
    with ``--predictions``."""
    if (checkpoint is None) == (predictions is None):
        raise InvalidInput("give --model CHECKPOINT or --predictions DIR (one of the two)")
    if logits and predictions is None:
        raise InvalidInput("--logits describes --predictions files; --model checkpoints need no flag")


@dataclass(frozen=True)
class ScoreResult(JsonResult):
    """What :func:`score` registered: the round number, what it was scored on, how many candidate
    superpixels were scored (``candidates``: every row of the score table), how many of them were left to
    ask (``left``: never asked before, with ``skip_asked``) and selected, the round's score table (parquet)
    and the class balance on the acquisition (``none``, ``abc`` or ``abc-pred``)."""

    round: int
    label_version: str
    superpixel_set: str
    acquisition: str
    representative: str
    candidates: int
    selected: int
    score_table: Path
    balance: str = Balance.NONE.value
    left: int = 0


def asked_before(ws: Workspace, superpixel_set: str) -> set[tuple[str, int]]:
    """(image_id, superpixel_id) pairs already queried in earlier rounds on this superpixel set."""
    return ws.ledger.asked(superpixel_set)


def refuse_stale(ws: Workspace, version: str) -> None:
    """InvalidInput when a round would be registered on label version ``version`` while a later one exists:
    its answers are applied to the latest labels, where the asked pixels may carry another class than the
    one shown (and a "correction" may change nothing)."""
    latest = ws.labels.version().name
    if version != latest:
        raise InvalidInput(f"--version {version} is not the latest label version ({latest}); a round of queries asks "
                           f"about the latest labels, so drop --version or pass --version {latest}")


def refuse_unapplied(ws: Workspace) -> None:
    """Conflict when an earlier round holds recorded answers that no label version applies yet.

    Scoring then would rank the old labels and skip the answered superpixels, so those answers would
    never reach the labels.
    """
    pending = ws.ledger.rounds_with_unapplied_answers()
    if pending:
        rnd = pending[0]
        raise Conflict(
            f"round {rnd} has recorded answers that are not applied yet; run `{command('correct', '-w', ws.root, '--round', rnd)}` "
            "to apply them before scoring a new round"
        )


def _local_shards(ws: Workspace, options: ScoreOptions, scoring: ImageScoring, image_ids: list[str],
                  staging: Path) -> list[Shard]:
    stream: Iterator[tuple[str, Any]]
    if options.probabilities is not None:
        stream = checked_probabilities(ws, options.probabilities, image_ids)
    else:
        stream = probability_stream(ws, options.source(), image_ids, batch_size=options.batch_size,
                                    device=options.device)
    tables = score_stream(ws, track(stream, f"score {scoring.acquisition}", total=len(image_ids)), scoring)
    return write_shards(staging, tables)


def _ray_shards(ws: Workspace, options: ScoreOptions, scoring: ImageScoring, image_ids: list[str],
                staging: Path) -> list[Shard]:
    if options.predictions is not None:  # every header checked here: a bad file is one line before Ray starts
        scan_prediction_folder(ws, options.predictions, image_ids)
    return score_shards_ray(ws, image_ids, staging, source=options.source(), scoring=scoring,
                            address=options.ray_address, concurrency=options.concurrency,
                            batch_size=options.batch_size, device=options.device)


def budget_too_large(scored: int, superpixel_set: str, split: str) -> Callable[[int, int], str]:
    """The one-line error for a budget over the ``left`` candidates not asked yet of the ``scored`` ones:
    a set without candidates, every candidate asked already, or how many are left."""
    def message(budget: int, left: int) -> str:
        if scored == 0:
            return (f"superpixel set {superpixel_set!r} has no candidate region in split {split!r} (every pixel has "
                    "a region id < 0); compute regions that cover the images with `alc-data superpixels` "
                    "(e.g. --method imported --param policy=fill --name NEW) and pass --superpixels NEW")
        if left == 0:
            return (f"every one of the {scored} candidate superpixels of set {superpixel_set!r} was asked in an "
                    "earlier round; compute another set with `alc-data superpixels --name NEW` and pass "
                    "--superpixels NEW, or pass --no-skip-asked to ask them again")
        asked = f"; {scored - left} of the {scored} on set {superpixel_set!r} were asked in earlier rounds" \
            if left < scored else f" on set {superpixel_set!r}"
        return f"--budget {budget} is more than the {left} candidate superpixels left to ask{asked}; pass --budget {left} or less"
    return message


def _select_and_register(ws: Workspace, options: ScoreOptions, scoring: ImageScoring, shards: list[Shard],
                         n_images: int, staged: Path) -> tuple[int, int, int, int]:
    """Select the top-B from the shards, place the score table, register the round: (round, candidates
    scored, candidates left to ask, selected)."""
    ordered = ordered_shards(shards, n_images)
    paths = [s.path for s in ordered]
    exclude = asked_before(ws, scoring.superpixel_set) if options.skip_asked else None
    too_few = budget_too_large(sum(s.rows for s in ordered), scoring.superpixel_set, options.split)
    selected, left = select_counted_from_shards(paths, options.budget, exclude=exclude, too_few=too_few)
    candidates = merge_shards(paths, staged)
    kill_point("score:staged")

    def place_table(round_no: int) -> str:
        final = ws.rounds_dir(round_no) / "scores.parquet"
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, final)
        kill_point("score:renamed")
        return str(final.relative_to(ws.root))

    round_no = create_round(
        ws, selected, label_version=scoring.version, superpixel_set=scoring.superpixel_set,
        acquisition=str(scoring.acquisition), budget=options.budget, score_table=place_table,
        params=options.round_params(),
    )
    return round_no, candidates, left, len(selected)


def _clear_stale_staging(rounds: Path) -> None:
    """Remove the staging of scores killed before they could (``rounds/.scores.<pid>.*``): called under the
    workspace's write lock, when no other score runs."""
    for path in rounds.glob(".scores.*.tmp"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def score(ws: Workspace, options: ScoreOptions) -> ScoreResult:
    """Score every candidate superpixel of ``options.split`` and register the top-``budget`` as a new round.

    Writes ``rounds/<n>/scores.parquet`` (one row per candidate superpixel) and the round's queries in
    the ledger. The scores are written as Parquet shards in a staging folder and the top-``budget`` is
    selected from them by streaming (:mod:`alc_data.scoring.shards`); with the ray engine the images are
    scored on a Ray cluster (:mod:`alc_data.engine`), with a result identical to the local engine's.
    Nothing is registered when anything fails.
    """
    with ws.writing("score"):
        version = ws.labels.version(options.label_version).name
        sp_set = ws.superpixels.superpixel_set(options.superpixel_set).name
        image_ids = ws.catalogue.image_ids(options.split)
        if not image_ids:
            raise InvalidInput(f"split {options.split!r} has no images")
        refuse_stale(ws, version)
        refuse_unapplied(ws)
        weights = (weights_for_scoring(workspace_class_weights(ws, version=version, superpixel_set=sp_set,
                                                               image_ids=image_ids, skip_asked=options.skip_asked,
                                                               balance=Balance(options.balance)))
                   if options.weighted() else None)
        scoring = ImageScoring(version=version, superpixel_set=sp_set, acquisition=acquisition_name(options.acquisition),
                               seed=options.seed, representative=Representative(options.representative),
                               class_weights=weights)
        _clear_stale_staging(ws.root / "rounds")
        staging = ws.root / "rounds" / f".scores.{os.getpid()}.shards.tmp"
        staged = ws.root / "rounds" / f".scores.{os.getpid()}.parquet.tmp"
        try:
            staging.mkdir(parents=True)
            make_shards = _ray_shards if options.engine is Engine.RAY else _local_shards
            with on_write_failure("scoring a new round", kept="no round was registered", then="re-run the same command"):
                shards = make_shards(ws, options, scoring, image_ids, staging)
                round_no, candidates, left, selected = _select_and_register(ws, options, scoring, shards,
                                                                            len(image_ids), staged)
        finally:
            staged.unlink(missing_ok=True)
            shutil.rmtree(staging, ignore_errors=True)
    return ScoreResult(
        round=round_no, label_version=version, superpixel_set=sp_set, acquisition=str(scoring.acquisition),
        representative=scoring.representative.value, candidates=candidates, left=left, selected=selected,
        score_table=ws.rounds_dir(round_no) / "scores.parquet", balance=Balance(options.balance).value,
    )
