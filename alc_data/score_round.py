"""The scoring stage as keyword functions for Python callers (the README's API).

:func:`score_probabilities` scores a round from ``(image_id, probs)`` pairs of your own model,
:func:`score_prediction_folder` from a folder of prediction files, :func:`score_round` from any source.
Each builds one :class:`~alc_data.stages.score.ScoreOptions` (where every value is checked, once) and
runs :func:`alc_data.stages.score.score`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

from alc_data.predictions import probabilities_from_logits
from alc_data.stages.score import ScoreOptions, ScoreResult, asked_before, refuse_unapplied, score
from alc_data.workspace import Workspace

__all__ = ["ScoreResult", "asked_before", "refuse_unapplied", "score_prediction_folder", "score_probabilities",
           "score_round"]


def score_round(
    ws: Workspace,
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    probabilities: Iterable[tuple[str, Any]] | None = None,
    predictions: str | os.PathLike[str] | None = None,
    **options: Any,
) -> ScoreResult:
    """Score every candidate superpixel of ``split`` and register the top-``budget`` as a new round.

    The probabilities come from ``checkpoint`` (an alc-data model), ``predictions`` (a folder of
    prediction files; ``logits`` says they hold logits) or ``probabilities``: (image_id, (K, H, W)
    probs) pairs from any model, one per image of ``split``. The other keywords are the fields of
    :class:`~alc_data.stages.score.ScoreOptions` (``budget``, ``acquisition``, ``representative``,
    ``superpixel_set``, ``engine``, ...). Returns a :class:`ScoreResult` with the round number.
    """
    return score(ws, ScoreOptions(
        checkpoint=None if checkpoint is None else Path(checkpoint),
        predictions=None if predictions is None else Path(predictions),
        probabilities=probabilities, **options,
    ))


def score_probabilities(
    ws: Workspace, pairs: Iterable[tuple[str, Any]], *, budget: int, logits: bool = False, **kwargs: Any
) -> ScoreResult:
    """Score a round from ``(image_id, probs)`` pairs of your own model (one per image of the split,
    any order); ``logits=True`` applies softmax over K. Other keywords as
    :func:`score_round` (``acquisition``, ``superpixel_set``, ``split``, ...)."""
    if logits:
        pairs = ((i, probabilities_from_logits(x, f"logits for {str(i)!r}", flag="logits=True")) for i, x in pairs)
    return score_round(ws, probabilities=pairs, budget=budget, **kwargs)


def score_prediction_folder(
    ws: Workspace, folder: str | os.PathLike[str], *, budget: int, logits: bool = False, split: str = "train",
    **kwargs: Any,
) -> ScoreResult:
    """``alc-data score --predictions DIR`` in Python: check every file's header, then score a round from them."""
    return score_round(ws, predictions=folder, logits=logits, budget=budget, split=split, **kwargs)
