"""Acquisition functions: one score per candidate superpixel, higher = ask first.

Each function takes the image's :class:`~alc_data.scoring.pool.ScoringContext` (the pool, computed
once) and returns an (S,) float64 numpy array in the context's superpixel order. Notation as in
docs/method.md and :mod:`alc_data.scoring.pool`: u(x) = 1 - f(x)[y(x)], y = current label with
``IGNORE_INDEX`` replaced by pred(x).

Register a new acquisition with ``@ACQUISITIONS.register("name")``; the contract tests run over
every entry.
"""

from __future__ import annotations

import zlib
from typing import Callable

import numpy as np

from alc_data.errors import InvalidInput
from alc_data.registry import Registry
from alc_data.scoring.pool import ScoringContext

Acquisition = Callable[[ScoringContext], np.ndarray]

ACQUISITIONS: Registry[Acquisition] = Registry("acquisition")
"""Acquisition name -> function(ctx) -> (S,) float64 scores (higher = ask first)."""

NEEDS: dict[str, tuple[str, ...]] = {
    "cil": ("rep", "u"),
    "lcil": ("u",),
    "sim": ("sim",),
    "random": (),
    "entropy": ("rep",),
    "margin": ("rep",),
    "softmin": (),
}
"""What each acquisition reads from the context (``"rep"``: rep(s); ``"u"``: u(x); ``"sim"``: the
cosines to f(rep(s)) with u). A lazy context computes only these; an acquisition missing here is
assumed to read everything."""

ALL_NEEDS = ("sim",)


class AcquisitionName(str):
    """An acquisition name already checked against :data:`ACQUISITIONS`; only :func:`check_acquisition`
    makes one, so code that receives it never checks the name again."""


def check_acquisition(name: str, *, where: str | None = None) -> AcquisitionName:
    """``name`` as an :class:`AcquisitionName` when it is registered; otherwise a one-line InvalidInput
    listing the registered names (``where``: the recipe key, e.g. ``loop.acquisition``)."""
    if name not in ACQUISITIONS:
        message = f"unknown acquisition {name!r}; choose one of: {', '.join(ACQUISITIONS.names())}"
        raise InvalidInput(f"{where}: {message}" if where else message)
    return AcquisitionName(name)


def acquisition_name(name: str) -> AcquisitionName:
    """``name`` unchanged when it was checked already, else checked once by :func:`check_acquisition`."""
    return name if isinstance(name, AcquisitionName) else check_acquisition(name)

SOFTMIN_TEMPERATURE = 0.1
"""Temperature of the ``softmin`` baseline (cleanlab's default for segmentation scores)."""

ALL_VOID_SCORE = -1.0
"""``softmin`` score of a superpixel whose pixels are all void: below every real score (0..1)."""


@ACQUISITIONS.register("cil")
def cil(ctx: ScoringContext) -> np.ndarray:
    """CIL(s) = u(rep(s)): the uncertainty of the current label at the representative."""
    return ctx.uncertainty_at_rep()


@ACQUISITIONS.register("lcil")
def lcil(ctx: ScoringContext) -> np.ndarray:
    """LCIL(s) = mean over x in s of u(x)."""
    return ctx.uncertainty_sum() / ctx.area


@ACQUISITIONS.register("sim")
def sim(ctx: ScoringContext) -> np.ndarray:
    """SIM(s) = sum over x in s of cos(f(rep(s)), f(x)) * u(x) (unnormalised: big regions count).

    The paper's choice (Kim et al., ICML 2024).
    """
    return ctx.sim_sum()


@ACQUISITIONS.register("random")
def random(ctx: ScoringContext) -> np.ndarray:
    """Uniform [0, 1) scores from a generator seeded by (seed, crc32(image_id)).

    The same seed, image id and candidate superpixels give the same scores in any process.
    """
    key = zlib.crc32(ctx.image_id.encode("utf-8"))
    rng = np.random.default_rng([int(ctx.seed), key])
    return rng.random(ctx.num_superpixels)


@ACQUISITIONS.register("entropy")
def entropy(ctx: ScoringContext) -> np.ndarray:
    """Entropy of f(rep(s)) in nats: -sum_k p_k log p_k (0 log 0 = 0)."""
    p = ctx.rep_probs
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return -plogp.sum(axis=0)


@ACQUISITIONS.register("margin")
def margin(ctx: ScoringContext) -> np.ndarray:
    """1 - (p1 - p2) at rep(s), with p1 >= p2 the two largest probabilities (p2 = 0 when K = 1)."""
    p = ctx.rep_probs
    if p.shape[0] == 1:
        return 1.0 - p[0]
    top2 = np.partition(p, p.shape[0] - 2, axis=0)[-2:]
    return 1.0 - (top2[1] - top2[0])


@ACQUISITIONS.register("softmin")
def softmin(ctx: ScoringContext) -> np.ndarray:
    """1 - softmin over the non-void pixels of s of the self-confidence c(x) = f(x)[label(x)].

    softmin = sum c e^(-c/T) / sum e^(-c/T) with T = ``SOFTMIN_TEMPERATURE`` (cleanlab's
    segmentation label-quality score, per superpixel instead of per image). Void pixels are masked,
    not replaced by pred; a superpixel whose pixels are all void has no label to judge and gets
    ``ALL_VOID_SCORE`` (-1), below every other superpixel.
    """
    quality = ctx.softmin_quality(SOFTMIN_TEMPERATURE)
    return np.where(np.isnan(quality), ALL_VOID_SCORE, 1.0 - quality)
