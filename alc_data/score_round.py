"""One round's scoring stage: model → probabilities (streamed) → superpixel scores → global top-B → queries.

Memory holds one batch of probabilities plus one small record per candidate superpixel, whatever the
number of images (docs/contracts.md, Performance).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from alc_data.errors import Conflict, InvalidInput, NotFound
from alc_data.faults import kill_point
from alc_data.results import JsonResult
from alc_data.workspace import Workspace


@dataclass(frozen=True)
class ScoreResult(JsonResult):
    """What :func:`score_round` registered: the round number, what it was scored on, how many
    candidate superpixels were scored and selected, and the round's score table (parquet)."""

    round: int
    label_version: str
    superpixel_set: str
    acquisition: str
    representative: str
    candidates: int
    selected: int
    score_table: Path


def asked_before(ws: Workspace, superpixel_set: str) -> set[tuple[str, int]]:
    """(image_id, superpixel_id) pairs already queried in earlier rounds on this superpixel set."""
    return ws.ledger.asked(superpixel_set)


def refuse_unapplied(ws: Workspace) -> None:
    """Conflict when an earlier round holds recorded answers that no label version applies yet.

    Scoring then would rank the old labels and skip the answered superpixels, so those answers would
    never reach the labels.
    """
    pending = ws.ledger.rounds_with_unapplied_answers()
    if pending:
        rnd = pending[0]
        raise Conflict(
            f"round {rnd} has recorded answers that are not applied yet; run `alc-data correct -w {ws.root} --round {rnd}` "
            "to apply them before scoring a new round"
        )


def score_round(
    ws: Workspace,
    *,
    checkpoint: str | os.PathLike | None = None,
    probabilities: Iterable[tuple[str, Any]] | None = None,
    budget: int,
    acquisition: str = "sim",
    superpixel_set: str | None = None,
    label_version: str | None = None,
    split: str = "train",
    skip_asked: bool = True,
    batch_size: int = 4,
    seed: int = 0,
    representative: str = "pool",
    device: str | None = None,
    extra_params: dict[str, Any] | None = None,
    predictions: str | os.PathLike | None = None,
    logits: bool = False,
    engine: str = "local",
    ray_address: str | None = None,
    concurrency: int | None = None,
) -> ScoreResult:
    """Score every candidate superpixel of ``split`` and register the top-``budget`` as a new round.

    Writes ``rounds/<n>/scores.parquet`` (one row per candidate superpixel) and the round's queries in
    the ledger; returns a :class:`ScoreResult` with the round number. The probabilities come from ``checkpoint``
    (an alc-data model), ``predictions`` (a folder of prediction files; ``logits`` says they hold
    logits) or ``probabilities``: (image_id, (K, H, W) probs) pairs from any model, one
    per image of ``split`` (checked; see :mod:`alc_data.predictions`). The scores are written as
    Parquet shards in a staging folder and the top-``budget`` is selected from them by streaming
    (:mod:`alc_data.scoring.shards`). ``engine="ray"`` scores the images on a Ray cluster
    (``ray_address``; ``concurrency`` actors; a checkpoint or a prediction folder, not an iterable):
    see :mod:`alc_data.engine`; the result is identical to the local engine's. Nothing is registered when
    anything fails. ``representative``: ``"pool"`` (the diversified pixel pool) or ``"random"`` (a
    seeded random pixel of each superpixel); see :func:`alc_data.scoring.score_superpixels`.
    """
    from alc_data.predictions import checked_probabilities
    from alc_data.progress import track
    from alc_data.queries import create_round
    from alc_data.scoring import ACQUISITIONS
    from alc_data.scoring.shards import merge_shards, ordered_shards, select_top_from_shards, write_shards
    from alc_data.scoring.stream import probability_stream, score_stream

    from alc_data.scoring.pool import REPRESENTATIVES

    ACQUISITIONS.get(acquisition)  # unknown name → one-line error before any work
    if representative not in REPRESENTATIVES:
        raise InvalidInput(f"--representative {representative!r} is unknown; use one of {', '.join(REPRESENTATIVES)}")
    if budget <= 0:
        raise InvalidInput(f"--budget {budget} must be a positive number of queries")
    if sum(x is not None for x in (checkpoint, probabilities, predictions)) != 1:
        raise InvalidInput("give a model checkpoint, a predictions folder or probabilities to score, one of them")
    from alc_data.engine import check_engine

    check_engine(engine)
    if engine == "ray" and probabilities is not None:
        raise InvalidInput("--engine ray scores a model checkpoint or a --predictions folder, not probabilities "
                           "from this process; write them with save_prediction and pass the folder")
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        if not checkpoint.is_file():
            raise NotFound(f"{checkpoint}: model checkpoint not found; pass the final.pt of an `alc-data train` run")
    with ws.writing("score"):
        version = ws.labels.version(label_version).name
        sp_set = ws.superpixels.superpixel_set(superpixel_set).name
        image_ids = ws.catalogue.image_ids(split)
        if not image_ids:
            raise InvalidInput(f"split {split!r} has no images")
        refuse_unapplied(ws)
        options: dict[str, Any] = {"version": version, "superpixel_set": sp_set, "acquisition": acquisition, "seed": seed,
                   "representative": representative}
        if predictions is not None:
            source: dict[str, Any] = {"predictions": str(Path(predictions).resolve()), "logits": bool(logits)}
        elif checkpoint is not None:
            source = {"checkpoint": str(Path(checkpoint).resolve())}
        else:
            source = {"probabilities": "given"}
        staging = ws.root / "rounds" / f".scores.{os.getpid()}.shards.tmp"
        staged = ws.root / "rounds" / f".scores.{os.getpid()}.parquet.tmp"
        try:
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            if engine == "ray":
                from alc_data.engine.ray_score import score_shards_ray
                from alc_data.predictions import scan_prediction_folder

                if predictions is not None:  # every header checked here: a bad file is one line before Ray starts
                    scan_prediction_folder(ws, predictions, image_ids)

                shards = score_shards_ray(ws, image_ids, staging, source=source, options=options, address=ray_address,
                                          concurrency=concurrency, batch_size=batch_size, device=device)
            else:
                if probabilities is not None:
                    stream = checked_probabilities(ws, probabilities, image_ids)
                else:
                    stream = probability_stream(ws, source, image_ids, batch_size=batch_size, device=device)
                tables = score_stream(ws, track(stream, f"score {acquisition}", total=len(image_ids)), **options)
                shards = write_shards(staging, tables)
            paths = [s.path for s in ordered_shards(shards, len(image_ids))]
            exclude = asked_before(ws, sp_set) if skip_asked else None
            selected = select_top_from_shards(paths, budget, exclude=exclude)
            candidates = merge_shards(paths, staged)
            kill_point("score:staged")

            def place_table(round_no: int) -> str:
                final = ws.rounds_dir(round_no) / "scores.parquet"
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, final)
                kill_point("score:renamed")
                return str(final.relative_to(ws.root))

            round_no = create_round(
                ws,
                selected,
                label_version=version,
                superpixel_set=sp_set,
                acquisition=acquisition,
                budget=budget,
                score_table=place_table,
                params={**source, "split": split, "seed": seed, "skip_asked": skip_asked,
                        "representative": representative, **({"engine": engine} if engine != "local" else {}),
                        **(extra_params or {})},
            )
        finally:
            staged.unlink(missing_ok=True)
            shutil.rmtree(staging, ignore_errors=True)
    return ScoreResult(
        round=round_no,
        label_version=version,
        superpixel_set=sp_set,
        acquisition=acquisition,
        representative=representative,
        candidates=candidates,
        selected=len(selected),
        score_table=ws.rounds_dir(round_no) / "scores.parquet",
    )


def score_probabilities(
    ws: Workspace, pairs: Iterable[tuple[str, Any]], *, budget: int, logits: bool = False, **kwargs: Any
) -> ScoreResult:
    """Score a round from ``(image_id, probs)`` pairs of your own model (one per image of the split,
    any order); ``logits=True`` applies softmax over K. Other keywords as
    :func:`score_round` (``acquisition``, ``superpixel_set``, ``split``, ...)."""
    from alc_data.predictions import softmax

    if logits:
        pairs = ((i, softmax(x.detach().float().cpu().numpy() if hasattr(x, "detach") else x)) for i, x in pairs)
    return score_round(ws, probabilities=pairs, budget=budget, **kwargs)


def score_prediction_folder(
    ws: Workspace, folder: str | os.PathLike, *, budget: int, logits: bool = False, split: str = "train", **kwargs: Any
) -> ScoreResult:
    """``alc-data score --predictions DIR``: check every file's header, then score a round from them."""
    return score_round(ws, predictions=folder, logits=logits, budget=budget, split=split, **kwargs)


def score_checkpoint_or_predictions(
    ws: Workspace,
    *,
    checkpoint: str | os.PathLike | None = None,
    predictions: str | os.PathLike | None = None,
    logits: bool = False,
    batch_size: int = 4,
    **options: Any,
) -> Any:
    """``alc-data score``: a round scored from an alc-data ``checkpoint`` or a ``predictions`` folder
    (exactly one of the two; ``logits`` describes the folder's files). Returns what
    :func:`score_round` returns; ``options`` as :func:`score_round` (``budget``, ``acquisition``, ...)."""
    if (checkpoint is None) == (predictions is None):
        raise InvalidInput("give --model CHECKPOINT or --predictions DIR (one of the two)")
    if predictions is not None:
        return score_prediction_folder(ws, predictions, logits=logits, **options)
    if logits:
        raise InvalidInput("--logits describes --predictions files; --model checkpoints need no flag")
    return score_round(ws, checkpoint=checkpoint, batch_size=batch_size, **options)
