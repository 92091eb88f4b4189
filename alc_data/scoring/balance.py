"""ABC, the class-balanced acquisition weight of A2LC (AAAI 2026), from the current labels.

Counted over the covered pixels (superpixel id >= 0) of the regions not asked in earlier rounds,
``n_c`` is the number of pixels whose current label is class c (void pixels are not counted). With
the classes present (n_c > 0), K' of them:

- rarity ŵ_c = min_k n_k / n_c;
- imbalance D = Σ_c P(c) ln(P(c) K'), P(c) = n_c / Σ_k n_k (the KL divergence from uniform);
- weight w_c = ŵ_c ** (D³); a class absent from the labels weighs 0.

Balanced labels (D → 0) give w → 1, plain SIM. The weight multiplies each pixel's term of a sum over
the region, ``w[y(x)]`` with y(x) the current label, or the prediction where the label is void.

``abc-pred`` (alc-data's variant, not in the paper): the weight of a pixel is ``max(w[y(x)],
w[pred(x)])``, so a rare object the labels missed (labelled as the common background, as Grounded-SAM
pseudo labels do) weighs as its predicted class rather than as background. It is passed to the scorer
as a (K, K) matrix W[y, p] (:func:`prediction_weights`); plain ABC is W[y, p] = w[y].

``gain`` (alc-data's, not in the paper): each pixel weighs the data-mIoU it would add if its label y
were wrong and its predicted class p right. Moving one pixel from y to p raises IoU_p by 1 / U_p and
IoU_y by about IoU_y / U_y (U_c the union of class c's labelled and true pixels); with U_c estimated by
n_c and IoU_y by 1, the gain is 1/n_y + 1/n_p. So W[y, p] = (v_y + v_p) / (2 max v), v_c = 1 / n_c (a
class absent from the counts counts as the rarest present one): a missed rare object labelled as the
common background weighs about half as much as a rare class confused with another, a background pixel
predicted as background almost nothing, and no exponent or knob is involved.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from alc_data.choices import TextChoice
from alc_data.constants import IGNORE_INDEX
from alc_data.progress import track
from alc_data.workspace import Workspace


class Balance(TextChoice):
    """``--balance``: ``none`` (plain scores) or ``abc`` (A2LC's class weight on each pixel's term)."""

    NONE = "none"
    ABC = "abc"
    ABC_PRED = "abc-pred"
    GAIN = "gain"


def class_pixel_counts(
    labels: np.ndarray, superpixels: np.ndarray, num_classes: int, *, exclude: Iterable[int] = ()
) -> np.ndarray:
    """(K,) int64 pixel counts per current label over the covered pixels of one image.

    ``labels`` (H, W) uint8 (``IGNORE_INDEX`` = void, not counted); ``superpixels`` (H, W) int
    (ids < 0: not covered); ``exclude``: superpixel ids asked in earlier rounds, not counted.
    """
    sp = np.asarray(superpixels)
    lab = np.asarray(labels)
    keep = sp >= 0
    excluded = np.fromiter(exclude, dtype=np.int64)
    if excluded.size:
        keep &= ~np.isin(sp, excluded)
    values = lab[keep & (lab != IGNORE_INDEX)].astype(np.int64)
    return np.bincount(values, minlength=num_classes)[:num_classes].astype(np.int64)


def abc_weights(counts: np.ndarray) -> np.ndarray:
    """(K,) float64 class weights w_c = (min_k n_k / n_c) ** (D³) from (K,) pixel counts.

    Classes with no pixel weigh 0; when no class has a pixel every weight is 1 (nothing to balance).
    """
    n = np.asarray(counts, dtype=np.float64)
    present = n > 0
    if not present.any():
        return np.ones_like(n)
    p = n[present] / n[present].sum()
    imbalance = float(np.sum(p * np.log(p * present.sum())))
    weights = np.zeros_like(n)
    weights[present] = (n[present].min() / n[present]) ** (imbalance ** 3)
    return weights


def prediction_weights(weights: np.ndarray) -> np.ndarray:
    """(K, K) W[y, p] = max(w[y], w[p]): ``abc-pred``'s weight of a pixel labelled y and predicted p."""
    w = np.asarray(weights, dtype=np.float64)
    return np.maximum(w[:, None], w[None, :])


def gain_weights(counts: np.ndarray) -> np.ndarray:
    """(K, K) float64 ``gain`` weights W[y, p] = (v_y + v_p) / (2 max v), v_c = 1 / n_c from (K,) pixel
    counts; a class with no pixel takes the largest v of the present classes (every weight is 1 when no
    class has a pixel)."""
    n = np.asarray(counts, dtype=np.float64)
    present = n > 0
    if not present.any():
        return np.ones((n.size, n.size))
    v = np.full(n.size, 1.0 / n[present].min())
    v[present] = 1.0 / n[present]
    return (v[:, None] + v[None, :]) / (2.0 * v.max())


def balance_weights(counts: np.ndarray, balance: Balance) -> np.ndarray:
    """The scorer's class weights for ``balance`` from the round's (K,) pixel counts: ABC's (K,) weights
    (also what ``a2lc`` builds in when no balance is given), or (K, K) by current and predicted class
    for ``abc-pred`` and ``gain``."""
    if balance is Balance.GAIN:
        return gain_weights(counts)
    weights = abc_weights(counts)
    return prediction_weights(weights) if balance is Balance.ABC_PRED else weights


def workspace_class_weights(ws: Workspace, *, version: str, superpixel_set: str, image_ids: Sequence[str],
                            skip_asked: bool = True, balance: Balance = Balance.ABC) -> np.ndarray:
    """The round's class weights for ``balance`` (:func:`balance_weights`) from the pixel counts per
    current label (version ``version``) over the covered pixels of ``image_ids`` whose region on
    ``superpixel_set`` is a candidate: not asked in an earlier round (every region with ``skip_asked``
    False, when asked regions are candidates again).

    One pass over the label and superpixel files, before any image is scored (so the Ray engine's
    shards all use the same global weights)."""
    asked: dict[str, list[int]] = {}
    for image_id, sp_id in (ws.ledger.asked(superpixel_set) if skip_asked else ()):
        asked.setdefault(image_id, []).append(sp_id)
    counts = np.zeros(ws.catalogue.num_classes, np.int64)
    for image_id in track(image_ids, "class counts (ABC)"):
        counts += class_pixel_counts(ws.labels.read_label(version, image_id), ws.superpixels.read_superpixels(superpixel_set, image_id),
                                     ws.catalogue.num_classes, exclude=asked.get(image_id, ()))
    return balance_weights(counts, balance)
