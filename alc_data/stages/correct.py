"""The correct stage: a round's answers → the ledger → a new label version.

:class:`CorrectOptions` checks every value once (the answer source, the oracle mode, ``tau``, the
expansion); :func:`correct` and the cores it calls (:mod:`alc_data.correction`) trust them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alc_data.io.failures import on_write_failure
from alc_data.answers import oracle_answers
from alc_data.answers.files import read_answers_file
from alc_data.answers.oracle import OracleMode, check_oracle_mode
from alc_data.answers.record import Answer
from alc_data.correction.apply import AppliedVersion, apply_answers
from alc_data.correction.expand import DEFAULT_EXPANSION, Expansion, check_expansion
from alc_data.correction.lcm import LcmSettings, RegionFeatures
from alc_data.correction.propagate import (DEFAULT_THRESHOLD, PropagationResult, check_agreement, check_features,
                                           check_propagation, check_threshold, propagate_round, propagated_already,
                                           set_without_propagate)
from alc_data.correction.review import REVIEW_ACQUISITION
from alc_data.errors import InvalidInput, NotFound
from alc_data.faults import kill_point
from alc_data.hints import command
from alc_data.progress import track
from alc_data.results import JsonResult
from alc_data.scoring.stream import probability_stream
from alc_data.stages.common import set_field
from alc_data.workspace import Workspace


def check_tau(tau: float) -> None:
    """InvalidInput unless 0 ≤ tau ≤ 1 (checked before anything is recorded or written)."""
    if not 0.0 <= tau <= 1.0:
        raise InvalidInput(f"--tau {tau} is outside 0..1; 0 spreads an answer over its whole superpixel")


@dataclass(frozen=True)
class CorrectOptions:
    """Which round (None: the latest), where its answers come from (``answers_file``: a CSV, or a Label
    Studio JSON export when it ends in ``.json``; or ``oracle`` ``"gt"`` with ``oracle_mode``; with
    neither, the answers already in the ledger), and how they spread: ``expand`` and ``tau`` (with
    ``checkpoint``, default the round's model, for ``tau`` > 0)."""

    round: int | None = None
    answers_file: Path | None = None
    oracle: str | None = None
    oracle_mode: OracleMode | str = OracleMode.PIXEL
    tau: float = 0.0
    expand: Expansion | str = DEFAULT_EXPANSION
    checkpoint: Path | None = None
    annotator: str = "oracle"
    propagate: bool = False
    propagate_threshold: float | str | None = None  # None: not given (DEFAULT_THRESHOLD)
    propagate_agreement: float | None = None  # None: not given (0, off)
    propagate_features: RegionFeatures | str | None = None  # None: not given (mean)
    predictions: Path | None = None
    seed: int = 0
    discard_invalid: bool = False

    def __post_init__(self) -> None:
        if self.answers_file is not None and self.oracle is not None:
            raise InvalidInput("give at most one of --answers FILE and --oracle gt")
        if self.oracle is not None and self.oracle != "gt":
            raise InvalidInput(f"unknown oracle {self.oracle!r}; the only oracle is 'gt' (reference ground truth)")
        if not isinstance(self.oracle_mode, OracleMode):
            set_field(self, "oracle_mode", check_oracle_mode(self.oracle_mode))
        check_tau(self.tau)
        if self.seed < 0:
            raise InvalidInput(f"--seed {self.seed} is negative; a seed is a whole number ≥ 0")
        if not isinstance(self.expand, Expansion):
            set_field(self, "expand", check_expansion(self.expand))
        for name in ("answers_file", "checkpoint", "predictions"):
            if getattr(self, name) is not None:
                set_field(self, name, Path(getattr(self, name)))
        unused = [] if self.propagate else [f"--propagate-{name}" for name in set_without_propagate(
            self.propagate_threshold, self.propagate_agreement, self.propagate_features)]
        set_field(self, "propagate_threshold", check_propagation(self.propagate_threshold, Expansion(self.expand))
                  if self.propagate else check_threshold(self.propagate_threshold))
        set_field(self, "propagate_agreement", check_agreement(self.propagate_agreement))
        set_field(self, "propagate_features", check_features(self.propagate_features))
        if self.checkpoint is not None and self.predictions is not None:
            raise InvalidInput("give at most one of --model and --predictions (the round's probabilities)")
        unused += ["--predictions"] if not self.propagate and self.predictions is not None else []
        if unused:
            raise InvalidInput(f"{unused[0]} only acts with --propagate; add --propagate or drop {unused[0]}")


@dataclass(frozen=True)
class CorrectResult(JsonResult):
    """What :func:`correct` did: the round, where its answers came from (``csv:NAME``,
    ``label-studio:NAME``, ``oracle:gt:MODE`` or ``ledger``), how many were recorded now or were
    already in the ledger, and the version written (None when nothing new was pending)."""

    round: int
    source: str
    recorded: int
    already_recorded: int
    applied: AppliedVersion | None
    propagated: PropagationResult | None = None
    discarded: tuple[int, ...] = ()
    propagated_before: str | None = None


def _checkpoint(options: CorrectOptions, round_params: dict[str, Any]) -> Path | None:
    """The model whose probabilities ``tau`` > 0 compares (NotFound when it is missing)."""
    if options.tau <= 0:
        return options.checkpoint
    checkpoint = options.checkpoint or round_params.get("checkpoint")
    if checkpoint is None or not Path(checkpoint).is_file():
        raise NotFound(
            f"--tau {options.tau} needs the model's probabilities but the checkpoint {checkpoint} is missing; "
            "pass --model CHECKPOINT (or use --tau 0)"
        )
    return Path(checkpoint)


def _answers(ws: Workspace, options: CorrectOptions, round_no: int, label_version: str) -> tuple[list[Answer], str]:
    """The answers the options name, validated as a whole, and their source's name."""
    if options.answers_file is not None:
        return read_answers_file(ws, options.answers_file, round_no=round_no)
    if options.oracle == "gt":
        mode = OracleMode(options.oracle_mode)
        return oracle_answers(ws, ws.ledger.queries(round_no), label_version=label_version, mode=mode), f"oracle:gt:{mode}"
    return [], "ledger"


def correct(ws: Workspace, options: CorrectOptions) -> CorrectResult:
    """Record a round's answers and apply them as a new label version.

    The whole answer file is validated before anything is recorded; every answer is in the ledger
    before any label changes; re-running with the same answers records nothing and writes no version.
    """
    with ws.writing("correct"):
        rnd = ws.ledger.round(options.round)
        checkpoint = _checkpoint(options, rnd.params)
        done_before = propagated_already(ws, rnd.round) if options.propagate else None
        source_of_features = None
        if options.propagate and done_before is None:
            refuse_review_round(rnd)
            source_of_features = _feature_source(ws, options, rnd.params, rnd.round)
        discarded = _unappliable(ws, rnd.round, discard=options.discard_invalid)
        answers, source = _answers(ws, options, rnd.round, rnd.label_version)
        with on_write_failure(f"recording the answers of round {rnd.round}", kept="no answer was recorded",
                              then="re-run the same command"):
            inserted, present = ws.ledger.record_answers(rnd.round, answers, source=source, annotator=options.annotator)
        kill_point("correct:recorded")
        applied = apply_answers(ws, rnd.round, tau=options.tau, expand=Expansion(options.expand), checkpoint=checkpoint)
        propagated = None
        if source_of_features is not None:
            propagated = _propagate(ws, options, rnd.round, rnd.params.get("split", "train"), source_of_features)
    return CorrectResult(round=rnd.round, source=source, recorded=inserted, already_recorded=present, applied=applied,
                         propagated=propagated, discarded=discarded, propagated_before=done_before)


def refuse_review_round(rnd: Any) -> None:
    """InvalidInput for ``--propagate`` on a round that reviews automatic relabels: its few answers are
    verdicts on the module's own guesses, not a sample to train it on."""
    if rnd.acquisition == REVIEW_ACQUISITION:
        raise InvalidInput(f"round {rnd.round} reviews automatic relabels; --propagate trains on a round of correction "
                           "queries: drop --propagate")


def _unappliable(ws: Workspace, round_no: int, *, discard: bool) -> tuple[int, ...]:
    """The query ids of the round's recorded answers that name no class, retracted when ``discard``;
    without it, InvalidInput naming them and the option (nothing is applied)."""
    bad = ws.ledger.unappliable_answers(round_no)
    if bad and not discard:
        first = bad[0]
        raise InvalidInput(
            f"round {round_no}: {len(bad)} recorded answer(s) name no class of this workspace (query {first.query_id}: "
            f"{first.status.value} class {first.answer_class}); nothing applied; run "
            f"`{command('correct', '-w', ws.root, '--round', round_no, '--discard-invalid')}` to discard them"
        )
    if bad:
        ws.ledger.discard_answers([a.answer_id for a in bad], by="correct --discard-invalid")
    return tuple(a.query_id for a in bad)


def _feature_source(ws: Workspace, options: CorrectOptions, round_params: dict[str, Any], round_no: int) -> dict[str, Any]:
    """Where the round's probabilities come from for ``--propagate``: the options' model or folder, else
    the round's own checkpoint or prediction folder, checked before anything is recorded (a prediction
    folder: every image's file header); a one-line error when there is none."""
    from alc_data.predictions import scan_prediction_folder

    if options.checkpoint is not None:
        if not options.checkpoint.is_file():
            raise InvalidInput(f"--model {options.checkpoint}: no such checkpoint file; pass the final.pt of an "
                               "`alc-data train` run")
        return {"checkpoint": str(options.checkpoint)}
    if options.predictions is not None or round_params.get("predictions"):
        folder = options.predictions or Path(round_params["predictions"])
        if not folder.is_dir():
            raise InvalidInput(f"--predictions {folder}: no such folder; pass the folder of the round's <image_id>.npy / "
                               ".npz prediction files")
        scan_prediction_folder(ws, folder, ws.catalogue.image_ids(round_params.get("split", "train")))
        logits = False if options.predictions is not None else bool(round_params.get("logits"))
        return {"predictions": str(folder), "logits": logits}
    checkpoint = round_params.get("checkpoint")
    if checkpoint and Path(checkpoint).is_file():
        return {"checkpoint": checkpoint}
    raise NotFound(f"--propagate needs round {round_no}'s probabilities, but the round has no checkpoint or prediction "
                   f"folder ({checkpoint or 'scored from probabilities in memory'}); pass --model CHECKPOINT or "
                   "--predictions DIR")


def _propagate(ws: Workspace, options: CorrectOptions, round_no: int, split: str,
               source: dict[str, Any]) -> PropagationResult:
    """The label-correction module over the round's never-asked regions (:mod:`alc_data.correction.propagate`)."""
    image_ids = ws.catalogue.image_ids(split)
    stream = track(probability_stream(ws, source, image_ids), f"propagate round {round_no}", total=len(image_ids))
    model = source.get("checkpoint") or source["predictions"]
    return propagate_round(ws, round_no, stream, model=str(model), threshold=options.propagate_threshold,
                           expand=Expansion(options.expand),
                           settings=LcmSettings(seed=options.seed, features=RegionFeatures(options.propagate_features)),
                           agreement=options.propagate_agreement)


def correct_round(ws: Workspace, *, round_no: int | None = None, **options: Any) -> CorrectResult:
    """:func:`correct` with keywords: ``round_no`` and the fields of :class:`CorrectOptions`
    (``answers_file``, ``oracle``, ``oracle_mode``, ``tau``, ``expand``, ``checkpoint``, ``annotator``)."""
    return correct(ws, CorrectOptions(round=round_no, **options))
