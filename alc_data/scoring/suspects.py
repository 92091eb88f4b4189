"""Label-error suspects of one image: per region its current class, the model's proposal and error scores.

Vocabulary as in :mod:`alc_data.scoring.pool` (K classes, S candidate regions, f(x) the softmax at
pixel x, dom(s) the region's most frequent prediction). For one image and its regions:

- cur(s): the region's current class, the most frequent non-void label of s (ties: the smallest
  class); ``IGNORE_INDEX`` when every pixel of s is void.
- proposed(s) = dom(s), the most frequent prediction over the non-void pixels of s (void pixels carry
  no label to judge, so they do not vote); s is a *suspect* when proposed(s) != cur(s) (and cur(s) is
  not void).
- the query point of a suspect: the pool's representative when its label is cur(s), else the pixel
  labelled cur(s) where f[proposed(s)] is highest (the first in row-major order): "is this pixel
  cur(s)?" is then asked where the label is, and an answer spread with ``--expand label`` fixes it.
- c(x) = f(x)[label(x)] at the non-void pixels (the label's self-confidence, cleanlab's pixel score).
- confidence(s): the mean of f(x)[proposed(s)] over s.

The candidate region error scores (higher = more likely wrong; :data:`ERROR_SCORES`):

- ``mass``: for a suspect, the sum over its non-void pixels of 1 - c(x): the expected number of
  wrongly labelled pixels the region holds; 0 for a region the model agrees with.
- ``prob``: for a suspect, 1 - the mean of c(x) over its non-void pixels (size-free); 0 otherwise.
- ``sim``: the scorer's SIM (sum of cos(f(rep), f(x)) u(x)), not gated.
- ``lcil``: the mean of u(x) over s, not gated.
- ``softmin``: 1 - cleanlab's soft-minimum of c(x) over s (T = 0.1), not gated.

- ``issues`` (the default, :data:`DEFAULT_ERROR_SCORE`): for a suspect, the number of its *issue*
  pixels (below) plus half its ``prob`` (below 1: it only orders suspects with as many issue pixels);
  0 otherwise.

Issue pixels follow confident learning (Northcutt et al., the rule of cleanlab's ``find_label_issues``):
with t_k the class threshold, the mean of f(x)[k] over the pixels labelled k (over the dataset, or a
calibration sample of it: :func:`class_thresholds`), a non-void pixel x is an issue when
c(x) < t_label(x) and the most probable class among those j with f(x)[j] >= t_j (the *found* class)
exists and is not label(x). A region's ``issues`` counts those inside it when it is a suspect.

Per image (:data:`IMAGE_SCORES`), each over all its non-void pixels, in a region or not:
``image_margin`` (the default, :data:`DEFAULT_IMAGE_SCORE`): the sum over its issue pixels of the margin
f(x)[found] - c(x) of the class the rule found over the label (0 where the label is still the more
probable), an issue pixel inside a suspect counted twice (its whole region disagrees with its label too),
over its non-void pixels; ``image_issues``
(the issue pixels of its suspects over its non-void pixels), ``image_max`` (its highest region score),
``image_share`` (the sum of ``mass`` over its non-void pixels: the estimated share of wrong pixels) and
``image_softmin`` (1 - cleanlab's image label-quality score, computed exactly over the non-void pixels).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.scoring.acquisitions import SOFTMIN_TEMPERATURE
from alc_data.scoring.backends import build_context
from alc_data.scoring.suspect_truth import ImageTruth, image_truth

ERROR_SCORES = ("mass", "prob", "issues", "sim", "lcil", "softmin")
"""The candidate region error scores, measured in benchmarks/bench_detection.py (docs/detection.md)."""

DEFAULT_ERROR_SCORE = "issues"
IMAGE_SCORES = ("image_margin", "image_issues", "image_max", "image_share", "image_softmin")
DEFAULT_IMAGE_SCORE = "image_margin"


@dataclass(frozen=True, eq=False)
class ImageErrors:
    """The regions of one image with their classes and error scores (all arrays (S,), by region id),
    the image's scores, and, when reference ground truth was given, its :class:`ImageTruth`."""

    image_id: str
    region: np.ndarray  #: int64 region ids
    current: np.ndarray  #: int64 cur(s) (IGNORE_INDEX: all void)
    proposed: np.ndarray  #: int64 dom(s)
    confidence: np.ndarray  #: float64 mean f[proposed] over s
    area: np.ndarray  #: int64 pixels of s
    rep_row: np.ndarray  #: int64 the representative pixel (the query's point)
    rep_col: np.ndarray
    label_at_rep: np.ndarray  #: int64 current label at the representative
    scores: dict[str, np.ndarray]  #: float64 per name in ERROR_SCORES
    image_scores: dict[str, float]  #: per name in IMAGE_SCORES
    truth: ImageTruth | None = field(default=None)

    @property
    def suspect(self) -> np.ndarray:
        """(S,) bool: the model proposes another class than the current one."""
        return (self.proposed != self.current) & (self.current != IGNORE_INDEX)


def _numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _segment_stats(probs: np.ndarray, labels: np.ndarray, seg: np.ndarray, S: int, dom: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(cur, nonvoid count, sum of 1 - c(x) over non-void pixels, sum of f[dom(s)] over s, c(x) at
    candidate non-void pixels) for one image; ``seg`` (N,) int32 dense region index or -1."""
    K = probs.shape[0]
    P = probs.reshape(K, -1)
    lab = labels.reshape(-1)
    cand = np.flatnonzero(seg >= 0)
    s_c, lab_c = seg[cand].astype(np.int64), lab[cand].astype(np.int64)
    nv = lab_c != IGNORE_INDEX
    counts = np.bincount(s_c[nv] * K + lab_c[nv], minlength=S * K).reshape(S, K)
    nonvoid = counts.sum(axis=1)
    cur = np.where(nonvoid > 0, counts.argmax(axis=1), IGNORE_INDEX)
    conf_self = P[lab_c[nv], cand[nv]].astype(np.float64)
    wrong = np.bincount(s_c[nv], weights=1.0 - conf_self, minlength=S)
    prop = np.bincount(s_c, weights=P[dom[s_c], cand].astype(np.float64), minlength=S)
    return cur, nonvoid, wrong, prop, conf_self


def softmin_of(values: np.ndarray, temperature: float = SOFTMIN_TEMPERATURE) -> float:
    """cleanlab's soft-minimum of ``values`` (sum v e^(-v/T) / sum e^(-v/T), shifted by the minimum for
    stability); NaN for no values."""
    if values.size == 0:
        return float("nan")
    w = np.exp(-(values - values.min()) / temperature)
    return float(np.dot(w, values) / w.sum())


def class_thresholds(pairs: Iterable[tuple[Any, Any]], num_classes: int) -> np.ndarray:
    """(K,) float64 t_k: the mean of f(x)[k] over the non-void pixels labelled k, over (probs, labels)
    pairs ((K, H, W), (H, W)); 1.0 for a class no pixel is labelled with (it is never proposed)."""
    total = np.zeros(num_classes)
    count = np.zeros(num_classes)
    for probs, labels in pairs:
        probs, lab = _numpy(probs), _numpy(labels).reshape(-1)
        nv = np.flatnonzero(lab != IGNORE_INDEX)
        cls = lab[nv].astype(np.int64)
        total += np.bincount(cls, weights=probs.reshape(num_classes, -1)[cls, nv], minlength=num_classes)
        count += np.bincount(cls, minlength=num_classes)
    return np.divide(total, count, out=np.ones(num_classes), where=count > 0)


def _issue_pixels(P: np.ndarray, lab: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(issue (N,) bool, margin (N,) float64): the confident-learning issue pixels of the image (module
    docstring), over every non-void pixel, and at each issue pixel max(0, f(x)[found] - c(x)), the margin of
    the class the rule found over the label (0 elsewhere). The rule also fires where the label is still the
    more probable class (below its own high threshold, while a rare class clears a low one): such a pixel
    is no evidence against its label, so its margin is 0, not negative."""
    N = P.shape[1]
    idx = np.flatnonzero(lab != IGNORE_INDEX)
    issue, margin = np.zeros(N, bool), np.zeros(N)
    if idx.size == 0:
        return issue, margin
    rows, at = (P, idx) if 2 * idx.size > N else (P[:, idx], np.arange(idx.size))
    cls = lab[idx].astype(np.int64)
    found = _first_argmax(rows, t)[at]
    c = rows[cls, at].astype(np.float64)
    hit = (c < t[cls]) & (found >= 0) & (found != cls)
    issue[idx[hit]] = True
    margin[idx[hit]] = np.maximum(rows[found[hit], at[hit]] - c[hit], 0.0)
    return issue, margin


def _first_argmax(rows: np.ndarray, floor: np.ndarray | None = None) -> np.ndarray:
    """(n,) int64 the first maximal class of each column of ``rows`` (K, n) (with ``floor`` (K,): among the
    classes k at or above floor[k] only; -1 where there is none), one contiguous row at a time (an argmax
    over the class axis of a strided array would copy it transposed)."""
    best = np.full(rows.shape[1], -1.0, dtype=rows.dtype)
    cls = np.full(rows.shape[1], -1, dtype=np.int64)
    higher = np.empty(rows.shape[1], dtype=bool)
    above = np.empty(rows.shape[1], dtype=bool)
    for k, row in enumerate(rows):
        np.greater(row, best, out=higher)
        if floor is not None:
            np.greater_equal(row, floor[k], out=above)
            higher &= above
        np.copyto(best, row, where=higher)
        cls[higher] = k
    return cls


def _labelled_dominant(P: np.ndarray, lab: np.ndarray, seg: np.ndarray, dom: np.ndarray) -> np.ndarray:
    """dom(s) over the non-void pixels of s (``dom``: over all its pixels, kept where s holds no void
    pixel or only void ones)."""
    S, K = len(dom), P.shape[0]
    cand = seg >= 0
    mixed = np.zeros(S, bool)
    mixed[seg[cand & (lab == IGNORE_INDEX)]] = True
    idx = np.flatnonzero(cand & (lab != IGNORE_INDEX))
    idx = idx[mixed[seg[idx]]]
    if idx.size == 0:
        return dom
    pred = _first_argmax(P)[idx] if 8 * idx.size > P.shape[1] else _first_argmax(P[:, idx])  # a small gather only
    votes = np.bincount(seg[idx].astype(np.int64) * K + pred, minlength=S * K).reshape(S, K)
    return np.where(mixed & (votes.sum(axis=1) > 0), votes.argmax(axis=1), dom)


def _query_points(P: np.ndarray, lab: np.ndarray, seg: np.ndarray, cur: np.ndarray, proposed: np.ndarray,
                  suspect: np.ndarray, rep: np.ndarray) -> np.ndarray:
    """(S,) flat pixel index of each region's query point: ``rep`` (the pool's representative), moved
    for a suspect whose representative is not labelled cur(s) to its pixel labelled cur(s) with the
    highest f[proposed(s)] (the first in row-major order)."""
    point = rep.copy()
    move = suspect & (lab[rep] != cur)
    if not move.any():
        return point
    idx = np.flatnonzero(seg >= 0)
    idx = idx[move[seg[idx]]]
    idx = idx[lab[idx] == cur[seg[idx]]]
    s = seg[idx]
    order = np.lexsort((idx, -P[proposed[s], idx], s))  # by region, highest f[proposed], row-major
    first = order[np.r_[True, s[order][1:] != s[order][:-1]]]
    point[s[first]] = idx[first]
    return point


def find_suspects(probs: Any, labels: Any, superpixels: Any, *, image_id: str = "", gt: Any = None,
                  thresholds: Any = None) -> ImageErrors:
    """The :class:`ImageErrors` of one image.

    ``probs`` (K, H, W) float softmax probabilities (numpy or a torch tensor, read on the CPU);
    ``labels`` (H, W) uint8 current labels (``IGNORE_INDEX`` = void); ``superpixels`` (H, W) int
    region ids (< 0: no candidate); ``gt`` (H, W) uint8 reference labels or None; ``thresholds``
    (K,) the class thresholds of the dataset (:func:`class_thresholds`), or None: this image's own.
    """
    probs, labels, superpixels = _numpy(probs), _numpy(labels), _numpy(superpixels)
    ctx = build_context(probs, labels, superpixels, image_id=image_id, backend="auto")
    ctx.require("rep", "u", "sim")
    from alc_data.scoring.fused import segment_index

    seg, ids, area = segment_index(superpixels)
    S = len(ids)
    K = probs.shape[0]
    P, lab = probs.reshape(K, -1), labels.reshape(-1)
    dom = _labelled_dominant(P, lab, seg, np.asarray(ctx.dominant, dtype=np.int64))
    cur, nonvoid, wrong, prop, conf_self = _segment_stats(probs, labels, seg, S, dom)
    gate = (dom != cur) & (cur != IGNORE_INDEX)
    mean_wrong = np.divide(wrong, nonvoid, out=np.zeros(S), where=nonvoid > 0)
    soft = ctx.softmin_quality(SOFTMIN_TEMPERATURE)
    t = (class_thresholds([(probs, labels)], probs.shape[0]) if thresholds is None
         else np.asarray(thresholds, dtype=np.float64))
    issue, margin = _issue_pixels(P, lab, t)
    in_suspect = np.zeros(lab.size, bool)
    covered = np.flatnonzero(seg >= 0)
    in_suspect[covered] = gate[seg[covered]]
    inside = issue & in_suspect
    issues = np.bincount(seg[inside], minlength=S).astype(np.float64)
    scores = {
        "mass": np.where(gate, wrong, 0.0),
        "prob": np.where(gate, mean_wrong, 0.0),
        "issues": np.where(gate, issues + 0.5 * mean_wrong, 0.0),
        "sim": np.asarray(ctx.sim_sum(), dtype=np.float64),
        "lcil": np.asarray(ctx.uncertainty_sum(), dtype=np.float64) / np.maximum(area, 1),
        "softmin": np.where(np.isnan(soft), 0.0, 1.0 - soft),
    }
    total_nv = int(np.count_nonzero(lab != IGNORE_INDEX))  # the whole image's, in a region or not
    image_scores = {
        "image_margin": float((margin.sum() + margin[inside].sum()) / total_nv) if total_nv else 0.0,
        "image_issues": float(issues.sum() / total_nv) if total_nv else 0.0,
        "image_max": float(scores[DEFAULT_ERROR_SCORE].max()) if S else 0.0,
        "image_share": float(scores["mass"].sum() / total_nv) if total_nv else 0.0,
        "image_softmin": _image_softmin(probs, labels),
    }
    truth = None if gt is None else image_truth(labels, _numpy(gt), seg.reshape(labels.shape), S, scores)
    W = labels.shape[1]
    point = _query_points(P, lab, seg, cur, dom, gate, np.asarray(ctx.rep_row, np.int64) * W + np.asarray(ctx.rep_col, np.int64))
    return ImageErrors(
        image_id=image_id, region=ids.astype(np.int64), current=cur.astype(np.int64), proposed=dom,
        confidence=np.divide(prop, area, out=np.zeros(S), where=area > 0), area=area.astype(np.int64),
        rep_row=point // W, rep_col=point % W, label_at_rep=lab[point].astype(np.int64), scores=scores,
        image_scores=image_scores,
        truth=truth,
    )


def _image_softmin(probs: np.ndarray, labels: np.ndarray) -> float:
    """1 - cleanlab's image label-quality score (softmin of c(x) over every non-void pixel); 0 when
    every pixel is void."""
    K = probs.shape[0]
    lab = labels.reshape(-1)
    nv = np.flatnonzero(lab != IGNORE_INDEX)
    c = probs.reshape(K, -1)[lab[nv].astype(np.int64), nv].astype(np.float64)
    q = softmin_of(c)
    return 0.0 if np.isnan(q) else 1.0 - q
