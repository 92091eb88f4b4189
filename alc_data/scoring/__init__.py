"""Scoring: the diversified pixel pool and the acquisition functions (docs/method.md).

``score_superpixels(probs, labels, superpixels, acquisition="sim")`` scores the candidate
superpixels of one image into a :class:`ScoreTable` (one small row per superpixel);
``select_top(tables, budget)`` takes the global top-B over all images; ``superpixel_scores`` gives
the scores alone. Vectorised over pixels and superpixels: fused numba kernels (or numpy) on CPU,
torch on the tensors' device.
"""

from alc_data.scoring.acquisitions import ACQUISITIONS
from alc_data.scoring.score import score_superpixels, score_superpixels_many, superpixel_scores
from alc_data.scoring.select import select_top
from alc_data.scoring.table import ScoreTable

__all__ = [
    "ACQUISITIONS",
    "ScoreTable",
    "score_superpixels",
    "score_superpixels_many",
    "select_top",
    "superpixel_scores",
]
