"""One round's scoring stage: model → probabilities (streamed) → superpixel scores → global top-B → queries.

Memory holds one batch of probabilities plus one small record per candidate superpixel, whatever the
number of images (DESIGN.md §4).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alc_data.errors import AlcError, InvalidInput
from alc_data.workspace import Workspace


def asked_before(ws: Workspace, superpixel_set: str) -> set[tuple[str, int]]:
    """(image_id, superpixel_id) pairs already queried in earlier rounds on this superpixel set."""
    rows = ws.query("SELECT image_id, superpixel_id FROM queries WHERE superpixel_set=?", (superpixel_set,))
    return {(i, int(s)) for i, s in rows}


def score_round(
    ws: Workspace,
    *,
    checkpoint: str | os.PathLike,
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
) -> dict[str, Any]:
    """Score every candidate superpixel of ``split`` and register the top-``budget`` as a new round.

    Writes ``rounds/<n>/scores.parquet`` (one row per candidate superpixel) and the round's queries in
    the ledger; returns a summary with the round number. ``representative``: ``"pool"`` (the
    diversified pixel pool) or ``"random"`` (a seeded random pixel of each superpixel); see
    :func:`alc_data.scoring.score_superpixels`.
    """
    from alc_data.predict import iter_probabilities
    from alc_data.progress import track
    from alc_data.queries import create_round
    from alc_data.scoring import ACQUISITIONS, ScoreTable, score_superpixels, select_top

    from alc_data.scoring.pool import REPRESENTATIVES

    ACQUISITIONS.get(acquisition)  # unknown name → one-line error before any work
    if representative not in REPRESENTATIVES:
        raise InvalidInput(f"--representative {representative!r} is unknown; use one of {', '.join(REPRESENTATIVES)}")
    if budget <= 0:
        raise AlcError(f"--budget {budget} must be a positive number of queries")
    version = ws.version(label_version).name
    sp_set = ws.superpixel_set(superpixel_set)["name"]
    image_ids = ws.image_ids(split)
    if not image_ids:
        raise AlcError(f"split {split!r} has no images")
    checkpoint = Path(checkpoint)
    tables = []
    stream = iter_probabilities(ws, checkpoint, image_ids, batch_size=batch_size, device=device)
    for image_id, probs in track(stream, f"score {acquisition}", total=len(image_ids)):
        labels = ws.read_label(version, image_id)
        sp = ws.read_superpixels(sp_set, image_id)
        tables.append(score_superpixels(probs, labels, sp, acquisition=acquisition, seed=seed, image_id=image_id,
                                        representative=representative))
    scores = ScoreTable.concat(tables)
    del tables
    exclude = asked_before(ws, sp_set) if skip_asked else None
    selected = select_top(scores, budget, exclude=exclude)
    next_round = int(ws.query("SELECT COALESCE(MAX(round), 0) FROM rounds")[0][0]) + 1
    table_path = ws.rounds_dir(next_round) / "scores.parquet"
    scores.to_parquet(table_path)
    round_no = create_round(
        ws,
        selected,
        label_version=version,
        superpixel_set=sp_set,
        acquisition=acquisition,
        budget=budget,
        score_table=str(table_path.relative_to(ws.root)),
        params={"checkpoint": str(checkpoint.resolve()), "split": split, "seed": seed, "skip_asked": skip_asked,
                "representative": representative,
                **(extra_params or {})},
    )
    return {
        "round": round_no,
        "label_version": version,
        "superpixel_set": sp_set,
        "acquisition": acquisition,
        "representative": representative,
        "candidates": len(scores),
        "selected": len(selected),
        "score_table": str(table_path),
    }
