"""Score the candidate superpixels of one image."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from alc_data.scoring.acquisitions import ACQUISITIONS, ALL_NEEDS, NEEDS, AcquisitionName, acquisition_name
from alc_data.scoring.backends import build_context
from alc_data.scoring.pool import ScoringContext
from alc_data.scoring.table import ScoreTable


def _table(ctx: ScoringContext, scores: np.ndarray) -> ScoreTable:
    return ScoreTable(
        image_id=np.full(len(ctx.superpixel_ids), ctx.image_id, dtype=object),
        superpixel_id=ctx.superpixel_ids.astype(np.int32),
        rep_row=ctx.rep_row.astype(np.int32),
        rep_col=ctx.rep_col.astype(np.int32),
        label_at_rep=ctx.label_at_rep.astype(np.uint8),
        dominant=ctx.dominant.astype(np.uint8),
        area=ctx.area,
        score=np.asarray(scores, dtype=np.float64),
    )


def score_superpixels(
    probs: Any,
    labels: Any,
    superpixels: Any,
    *,
    acquisition: str = "sim",
    seed: int = 0,
    image_id: str | None = None,
    backend: str = "auto",
    representative: str = "pool",
    from_logits: bool = False,
) -> ScoreTable:
    """Score every candidate superpixel of one image; higher score = ask first.

    Args:
        probs: (K, H, W) float32/float64 softmax probabilities f, numpy array or torch tensor
            (torch tensors are scored on their device).
        labels: (H, W) integer (uint8) current labels; ``IGNORE_INDEX`` = ignore.
        superpixels: (H, W) integer superpixel ids; ids < 0 mark pixels that are no candidate.
        acquisition: a name in ``ACQUISITIONS``: ``sim`` (default), ``cil``, ``lcil``,
            ``random``, ``entropy``, ``margin``, ``softmin``.
        seed: seed of the ``random`` acquisition and of the ``random`` representative (with
            ``image_id``).
        image_id: stored in every row ("" when None).
        backend: ``"auto"`` (default; torch on the tensors' accelerator, else the fused numba
            kernels when numba is installed, else numpy; CPU tensors included), ``"numba"``,
            ``"numpy"`` or ``"torch"``.
        representative: how rep(s) is chosen: ``"pool"`` (default; the diversified pool) or
            ``"random"`` (a candidate pixel of s drawn uniformly, deterministic for (seed,
            image_id)). The table's rep_row/rep_col/label_at_rep and every acquisition that reads
            rep(s) (cil, sim, entropy, margin) use it.
        from_logits: ``probs`` holds the model's (K, H, W) logits instead of probabilities; the
            softmax is fused into scoring (with CUDA tensors: on the GPU, only the per-superpixel
            rows come back to the host).

    Returns:
        A :class:`ScoreTable` with one row per candidate superpixel (id >= 0, area > 0), sorted by
        superpixel id. Columns are numpy whatever the input backend.

    Raises:
        AlcError: unknown acquisition or representative, wrong shapes or dtypes, label values
            >= K other than ``IGNORE_INDEX``, NaN/inf probabilities.
    """
    name = acquisition_name(acquisition)
    ctx = build_context(probs, labels, superpixels, image_id=image_id, seed=seed, backend=backend,
                        representative=representative, from_logits=from_logits)
    return _scored(ctx, name)


def _scored(ctx: ScoringContext, acquisition: AcquisitionName) -> ScoreTable:
    ctx.require("rep", *NEEDS.get(acquisition, ALL_NEEDS))
    return _table(ctx, ACQUISITIONS.get(acquisition)(ctx))


def score_table(probs: Any, labels: Any, superpixels: Any, *, acquisition: AcquisitionName, seed: int, image_id: str,
                representative: str) -> ScoreTable:
    """:func:`score_superpixels` (automatic backend) for an acquisition name checked already: the score
    stage calls it for every image, having checked the name once in
    :class:`alc_data.stages.score.ScoreOptions`."""
    ctx = build_context(probs, labels, superpixels, image_id=image_id, seed=seed, representative=representative)
    return _scored(ctx, acquisition)


def superpixel_scores(
    probs: Any,
    labels: Any,
    superpixels: Any,
    *,
    acquisition: str = "sim",
    seed: int = 0,
    image_id: str | None = None,
    backend: str = "auto",
    representative: str = "pool",
    from_logits: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The scores alone: ``(superpixel_ids (S,) int64, scores (S,) float64)``, no table.

    Same arguments and scores as :func:`score_superpixels`, but only what the acquisition reads is
    computed: with the fused CPU backend, ``softmin`` reads one probability per pixel and ``lcil``
    never builds the pool. (With ``softmin`` this way, NaN in classes other than the labels' goes
    unnoticed: nothing else is read.)
    """
    fn = ACQUISITIONS.get(acquisition_name(acquisition))
    ctx = build_context(probs, labels, superpixels, image_id=image_id, seed=seed, backend=backend,
                        representative=representative, from_logits=from_logits)
    ctx.require(*NEEDS.get(acquisition, ALL_NEEDS))
    return ctx.superpixel_ids, np.asarray(fn(ctx), dtype=np.float64)


def score_superpixels_many(
    probs: Any,
    labels: Any,
    superpixels: Any,
    *,
    acquisitions: Iterable[str] | None = None,
    seed: int = 0,
    image_id: str | None = None,
    backend: str = "auto",
    representative: str = "pool",
    from_logits: bool = False,
) -> dict[str, ScoreTable]:
    """Like :func:`score_superpixels` for several acquisitions, computing the pool once.

    ``acquisitions`` defaults to every registered name. Returns ``{name: ScoreTable}``.
    """
    names = list(ACQUISITIONS.names() if acquisitions is None else acquisitions)
    fns = {name: ACQUISITIONS.get(acquisition_name(name)) for name in names}
    ctx = build_context(probs, labels, superpixels, image_id=image_id, seed=seed, backend=backend,
                        representative=representative, from_logits=from_logits)
    ctx.require("rep", *(need for name in names for need in NEEDS.get(name, ALL_NEEDS)))
    return {name: _table(ctx, fn(ctx)) for name, fn in fns.items()}
