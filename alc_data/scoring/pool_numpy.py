"""The numpy backend of the diversified pixel pool (:mod:`alc_data.scoring.pool` says what it computes).

Candidate pixels are grouped by superpixel with one stable argsort of the superpixel ids, the
probabilities gathered once in that order, and the per-pixel work runs over batches of whole
superpixels (per-superpixel reductions with ``np.add.reduceat`` / ``np.maximum.reduceat``).
"""

from __future__ import annotations

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import InvalidInput
from alc_data.scoring.pool import COS_EPS, ScoringContext, random_offsets

def _group_pixels(sp_flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Group candidate pixels by superpixel id.

    Returns ``order`` (n,) int64 flat pixel indices sorted by (superpixel id, row-major position),
    ``ids`` (S,) int64 sorted superpixel ids, ``starts`` (S,) int64 first position of each group in
    ``order``, ``counts`` (S,) int64 group sizes.
    """
    if sp_flat.size == 0 or int(sp_flat.max()) < 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty, empty
    lo, hi = int(sp_flat.min()), int(sp_flat.max())
    # numpy's stable sort is a radix sort for 16-bit keys: use one when the ids allow it.
    if lo >= -(2**15) and hi < 2**15:
        key = sp_flat.astype(np.int16, copy=False)
    elif hi < 2**16 - 1:
        key = np.where(sp_flat < 0, 0, sp_flat + 1).astype(np.uint16)
    else:
        key = sp_flat
    order = np.argsort(key, kind="stable")
    n_void = int(np.count_nonzero(sp_flat < 0)) if lo < 0 else 0
    order = order[n_void:]
    sorted_ids = sp_flat[order]
    new = np.empty(order.size, dtype=bool)
    new[0] = True
    np.not_equal(sorted_ids[1:], sorted_ids[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    ids = sorted_ids[starts].astype(np.int64)
    counts = np.diff(np.append(starts, order.size))
    return order.astype(np.int64, copy=False), ids, starts.astype(np.int64), counts


def _argmax_rows(F: np.ndarray) -> np.ndarray:
    """argmax over axis 0 of (K, n) with ties to the smallest k, as (n,) int64.

    Same result as ``F.argmax(0)``, but ``argmax`` over a non-last axis copies the array
    transposed; a pass per class on contiguous rows is several times faster.
    """
    mx = F.max(axis=0)
    pred = np.zeros(F.shape[1], dtype=np.uint8)
    eq = np.empty(F.shape[1], dtype=bool)
    for k in range(F.shape[0] - 1, -1, -1):  # descending, so the smallest tied k is written last
        np.equal(F[k], mx, out=eq)
        np.copyto(pred, k, where=eq)
    return pred.astype(np.int64)


def _norms(F: np.ndarray) -> np.ndarray:
    """Column norms of (K, n) in F's dtype."""
    return np.sqrt(np.einsum("kn,kn->n", F, F))


_CHUNK_BYTES = 3 << 19
"""Bytes of probabilities per batch of superpixels (1.5 MB): the batch's temporaries stay in cache."""


def _batches(starts: np.ndarray, n: int, batch_pixels: int) -> list[tuple[int, int, int, int]]:
    """Split the grouped pixels into batches of whole superpixels: (a, b, p0, p1) tuples.

    Superpixels a..b-1 occupy grouped positions p0..p1-1; a batch holds about ``batch_pixels``
    pixels (more when one superpixel is larger).
    """
    S = len(starts)
    firsts = np.unique(np.searchsorted(starts, np.arange(0, n, batch_pixels)))
    bounds = np.append(firsts[firsts < S], S)
    ends = np.append(starts, n)
    return [(int(a), int(b), int(ends[a]), int(ends[b])) for a, b in zip(bounds[:-1], bounds[1:])]


class NumpyContext(ScoringContext):
    """numpy backend; candidate pixels sorted by (superpixel id, row-major position).

    The probabilities are gathered once into that order, (K, n); the per-pixel work then runs over
    batches of whole superpixels of about ``_CHUNK_BYTES`` each (a loop over a dozen batches, each
    fully vectorised), which keeps the temporaries in cache and bounds their memory.
    """

    def __init__(self, probs: np.ndarray, labels: np.ndarray, superpixels: np.ndarray,
                 K: int, H: int, W: int, image_id: str, seed: int, representative: str = "pool") -> None:
        self.num_classes, self.shape, self.image_id, self.seed = K, (H, W), image_id, seed
        self.representative = representative
        work = np.float64 if probs.dtype == np.float64 else np.float32
        order, ids, starts, counts = _group_pixels(np.ascontiguousarray(superpixels).reshape(-1))
        S, n = len(ids), len(order)
        self.num_superpixels, self._n = S, n
        self.superpixel_ids, self.area = ids, counts
        self._starts, self._counts = starts, counts
        batch_pixels = max(1024, _CHUNK_BYTES // (K * np.dtype(work).itemsize))
        self._batches = _batches(starts, n, batch_pixels) if S else []

        # f(x) of the candidate pixels in grouped order, (K, n); np.take keeps rows contiguous
        # (``a[:, order]`` would give a column-major array).
        F = np.take(np.ascontiguousarray(probs).reshape(K, H * W), order, axis=1)
        if F.dtype != work:
            F = F.astype(work)
        self._F = F
        self._labels = np.ascontiguousarray(labels).reshape(-1)[order].astype(np.int64)

        self._order = order
        self._pooled = False  # the pool is built on first use: softmin and random never need it

    def _pool(self) -> NumpyContext:
        """Build pred, |f|, dom(s) and rep(s) once; returns self."""
        if self._pooled:
            return self
        n, S = self._n, self.num_superpixels
        self._pred = np.empty(n, dtype=np.int64)
        self._nf = np.empty(n, dtype=self._F.dtype)  # max(|f(x)|, COS_EPS)
        self._dominant = np.empty(S, dtype=np.int64)
        self._rep_pos = np.empty(S, dtype=np.int64)
        self._mean = np.empty((self.num_classes, S), dtype=np.float64)  # m(s)
        self._mean_norm = np.empty(S, dtype=np.float64)  # max(|m(s)|, COS_EPS)
        for a, b, p0, p1 in self._batches:
            self._pool_batch(a, b, p0, p1)
        if self.representative == "random":
            self._rep_pos = self._starts + random_offsets(self._counts, self.seed, self.image_id)
        self._rep_flat = self._order[self._rep_pos]
        self._label_at_rep = self._labels[self._rep_pos]
        self._pooled = True
        return self

    @property
    def dominant(self) -> np.ndarray:  # type: ignore[override]
        return self._pool()._dominant

    @property
    def rep_flat(self) -> np.ndarray:  # type: ignore[override]
        return self._pool()._rep_flat

    @property
    def label_at_rep(self) -> np.ndarray:  # type: ignore[override]
        return self._pool()._label_at_rep

    def _pool_batch(self, a: int, b: int, p0: int, p1: int) -> None:
        """pred, dom, s', m, rep for superpixels a..b-1 (pixels p0..p1-1)."""
        K = self.num_classes
        F = self._F[:, p0:p1]
        counts = self._counts[a:b]
        starts = self._starts[a:b] - p0
        S = b - a

        pred = _argmax_rows(F)
        self._pred[p0:p1] = pred
        seg = np.repeat(np.arange(S, dtype=np.int64), counts)
        votes = np.bincount(seg * K + pred, minlength=S * K).reshape(S, K)
        dom = votes.argmax(axis=1)  # ties: smallest class
        n_dom = votes[np.arange(S), dom]
        in_sp = pred == np.repeat(dom, counts)
        self._dominant[a:b] = dom

        nf = _norms(F)
        if not np.isfinite(nf).all():  # NaN or inf somewhere in the probabilities
            bad = int(np.count_nonzero(~np.isfinite(_norms(self._F))))
            raise InvalidInput(
                f"probs hold NaN or inf at {bad} candidate pixel{'s' if bad != 1 else ''}; "
                "check the model's output (softmax of finite logits)"
            )
        nf = np.maximum(nf, COS_EPS)
        self._nf[p0:p1] = nf
        # m(s): float64 sums over s'.
        m = np.add.reduceat(F * in_sp, starts, axis=1, dtype=np.float64) / n_dom
        nm = np.maximum(np.sqrt(np.einsum("ks,ks->s", m, m)), COS_EPS)
        self._mean[:, a:b], self._mean_norm[a:b] = m, nm
        if self.representative == "random":
            return

        # cos(f(x), m(s)) over s' in the work dtype; rep(s) then decided in float64.
        cos = np.einsum("kn,kn->n", F, np.repeat(m.astype(F.dtype), counts, axis=1))
        cos /= nf * np.repeat(nm.astype(F.dtype), counts)
        cos[~in_sp] = -np.inf
        self._rep_pos[a:b] = p0 + _first_argmax(cos, F, m, nm, seg, starts, counts, K)

    # -- primitives -------------------------------------------------------------------------------

    def uncertainty(self) -> np.ndarray:
        """u(x) = 1 - f(x)[y(x)], (n,) float64; y = label, IGNORE_INDEX replaced by pred."""
        if not hasattr(self, "_u"):
            y = np.where(self._labels == IGNORE_INDEX, self._pool()._pred, self._labels)
            fy = self._F.reshape(-1)[y * self._n + np.arange(self._n)]
            self._u = 1.0 - fy.astype(np.float64)
        return self._u

    def cos_to_rep(self) -> np.ndarray:
        """cos(f(rep(s)), f(x)) for every pixel x of s, (n,) in the work dtype."""
        out = np.empty(self._n, dtype=self._F.dtype)
        self._pool()
        for a, b, p0, p1 in self._batches:
            F, counts, rep = self._F[:, p0:p1], self._counts[a:b], self._rep_pos[a:b]
            frep = np.take(self._F, rep, axis=1)
            dot = np.einsum("kn,kn->n", F, np.repeat(frep, counts, axis=1))
            out[p0:p1] = dot / (self._nf[p0:p1] * np.repeat(self._nf[rep], counts))
        return out

    def predicted_class(self) -> np.ndarray:
        """pred(x), (n,) int64."""
        return self._pool()._pred

    def current_class(self) -> np.ndarray:
        """y(x): the label, pred(x) where it is void, (n,) int64."""
        return np.where(self._labels == IGNORE_INDEX, self._pool()._pred, self._labels)

    def cos_to_mean(self) -> np.ndarray:
        """cos(f(x), m(s)) for every pixel x of s, (n,) float64."""
        out = np.empty(self._n, dtype=np.float64)
        self._pool()
        for a, b, p0, p1 in self._batches:
            counts = self._counts[a:b]
            dot = np.einsum("kn,kn->n", self._F[:, p0:p1].astype(np.float64), np.repeat(self._mean[:, a:b], counts, axis=1))
            out[p0:p1] = dot / (self._nf[p0:p1].astype(np.float64) * np.repeat(self._mean_norm[a:b], counts))
        return out

    def self_confidence(self) -> tuple[np.ndarray, np.ndarray]:
        """(c, mask): c(x) = f(x)[label(x)] (n,) float64, mask (n,) bool = label not void."""
        mask = self._labels != IGNORE_INDEX
        y = np.where(mask, self._labels, 0)
        c = self._F.reshape(-1)[y * self._n + np.arange(self._n)].astype(np.float64)
        return c, mask

    def segment_sum(self, values: np.ndarray) -> np.ndarray:
        if self.num_superpixels == 0:
            return np.zeros(0)
        return np.add.reduceat(np.asarray(values, dtype=np.float64), self._starts)

    def segment_softmin(self, values: np.ndarray, mask: np.ndarray, temperature: float) -> np.ndarray:
        """sum(v * e^(-v/T)) / sum(e^(-v/T)) over the masked pixels of s; NaN where none is."""
        if self.num_superpixels == 0:
            return np.zeros(0)
        v = np.asarray(values, dtype=np.float64)
        vmin = np.minimum.reduceat(np.where(mask, v, np.inf), self._starts)
        shift = np.repeat(np.where(np.isfinite(vmin), vmin, 0.0), self._counts)
        w = np.exp(np.where(mask, -(v - shift) / temperature, -np.inf))
        den = self.segment_sum(w)
        num = self.segment_sum(w * np.where(mask, v, 0.0))
        out = np.full(self.num_superpixels, np.nan)
        np.divide(num, den, out=out, where=den > 0)
        return out

    def at_rep(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)[self._pool()._rep_pos]

    @property
    def rep_probs(self) -> np.ndarray:
        return np.take(self._F, self._pool()._rep_pos, axis=1).astype(np.float64)


def _first_argmax(cos: np.ndarray, F: np.ndarray, m: np.ndarray, nm: np.ndarray, seg: np.ndarray,
                  starts: np.ndarray, counts: np.ndarray, K: int) -> np.ndarray:
    """Position of the first maximum of ``cos`` in each group, decided in float64.

    ``cos`` (n,) in F's dtype, -inf outside s'; ``F`` (K, n); groups given by ``seg`` (n,),
    ``starts`` and ``counts`` (S,). In float32, the pixels within a rounding bound of their group's
    maximum are re-scored in float64 (from the float64 mean ``m`` (K, S) and its norm ``nm`` (S,))
    and the first float64 maximum wins. Groups are contiguous and in row-major order inside, so
    "first" is the first pixel in row-major order.
    """
    S = len(starts)
    segmax = np.maximum.reduceat(cos, starts)
    if F.dtype == np.float64:
        hits = np.flatnonzero(cos == np.repeat(segmax, counts))
        return hits[np.searchsorted(hits, starts)]
    # float32 cosines: |error| <= about (K + 3) unit roundoffs; keep a 4x margin.
    tol = 4.0 * (K + 4) * float(np.finfo(F.dtype).eps)
    cand = np.flatnonzero(cos >= np.repeat(segmax - tol, counts))
    Fc = np.take(F, cand, axis=1).astype(np.float64)
    seg_c = seg[cand]
    nf_c = np.maximum(_norms(Fc), COS_EPS)
    cos64 = np.einsum("kn,kn->n", Fc, m[:, seg_c]) / (nf_c * nm[seg_c])
    cstarts = np.searchsorted(seg_c, np.arange(S))  # every group keeps its own maximum
    segmax64 = np.maximum.reduceat(cos64, cstarts)
    hits = np.flatnonzero(cos64 == segmax64[seg_c])
    return cand[hits[np.searchsorted(hits, cstarts)]]
