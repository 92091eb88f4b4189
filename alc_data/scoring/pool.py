"""The diversified pixel pool of one image: dominant class and representative pixel per superpixel.

Vocabulary (one image): K classes, H x W pixels, S candidate superpixels, n candidate pixels (pixels
whose superpixel id is >= 0).

- f(x): (K,) softmax probabilities at pixel x; pred(x) = argmax_k f(x)[k] (ties: smallest k).
- dom(s): most frequent pred in s (ties: smallest class index).
- s' = {x in s : pred(x) = dom(s)}; m(s) = mean of f over s'.
- rep(s) = argmax over x in s' of cos(f(x), m(s)) (ties: first pixel in row-major order).
- y(x): the current label, IGNORE_INDEX replaced by pred(x); u(x) = 1 - f(x)[y(x)].

Cosines are ``a . b / (max(|a|, COS_EPS) * max(|b|, COS_EPS))`` (the convention of
``torch.nn.functional.cosine_similarity``).

Everything is computed with array operations over all pixels at once: no Python loop over pixels or
superpixels. The numpy path groups the candidate pixels by superpixel with one stable argsort of the
superpixel ids, gathers the probabilities once in that order, and does per-superpixel reductions
with ``np.add.reduceat`` / ``np.maximum.reduceat`` over the contiguous groups; the per-pixel work
runs over a dozen batches of whole superpixels (about 1.5 MB of probabilities each, so the
temporaries stay in cache; 1.6x faster than whole-image arrays on a PASCAL-size image). The torch
path runs on the tensors' device (GPU when they live there) with ``index_add_`` /
``scatter_add_`` / ``scatter_reduce_`` over superpixel indices, from probabilities or from logits
(softmax on the device). A third path, the fused numba kernels of :mod:`alc_data.scoring.fused`,
is the default for numpy arrays and CPU tensors when numba is installed (2-3x faster than the numpy
path); with ``backend="auto"`` CPU tensors never take the torch path (zero-copy; torch's CPU kernels
were several times slower here). All paths give the same table (the tests compare them).

Precision (numpy path; the fused path computes means and cosines in float64 directly). float64
probabilities are processed in float64. float32 (and float16) probabilities are kept in float32 for
the per-pixel dot products, which halves memory traffic, while every sum over pixels accumulates in
float64 and the representative is decided in float64: the pixels whose float32 cosine is within a
rounding bound of their superpixel's maximum are re-scored in float64 from the float64 mean, so
rep(s) is the float64 argmax (exact ties still go to the first pixel in row-major order). Per-pixel
cosines used by acquisitions (SIM) carry float32 rounding, about 1e-7 relative. The torch path
computes in float64 throughout.

:class:`ScoringContext` is what acquisition functions receive; it computes the pool once (the
numpy and fused contexts lazily, on first use) and exposes the few primitives the acquisitions need
(per-pixel arrays stay on the backend; every per-superpixel result is a numpy float64 array).
"""

from __future__ import annotations

import sys
import zlib
from typing import Any

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import InvalidInput

COS_EPS = 1e-8
"""Lower bound on vector norms in cosines (as ``torch.nn.functional.cosine_similarity``)."""

_INT32_MAX = np.iinfo(np.int32).max


# -------------------------------------------------------------------------------------------------
# input checks
# -------------------------------------------------------------------------------------------------


def _is_tensor(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in x.shape)


def _dtype_kind(x: Any) -> str:
    """'f' floating, 'i' integer (signed or unsigned), 'b' bool, '?' anything else."""
    if _is_tensor(x):
        if x.dtype.is_floating_point:
            return "f"
        if x.dtype.is_complex:
            return "?"
        if str(x.dtype) == "torch.bool":
            return "b"
        return "i"
    kind = x.dtype.kind
    return {"f": "f", "i": "i", "u": "i", "b": "b"}.get(kind, "?")


def validate_inputs(probs: Any, labels: Any, superpixels: Any) -> tuple[int, int, int]:
    """Check shapes, dtypes and label values; return (K, H, W). Raises :class:`AlcError`.

    ``probs`` (K, H, W) floating, ``labels`` (H, W) integer with values in 0..K-1 or
    ``IGNORE_INDEX``, ``superpixels`` (H, W) integer with ids < 2**31 (ids < 0 = no candidate).
    """
    if len(probs.shape) != 3:
        raise InvalidInput(
            f"probs must be 3-D (K, H, W) softmax probabilities of one image, got shape "
            f"{_shape(probs)}; pass one image at a time"
        )
    K, H, W = _shape(probs)
    if _dtype_kind(probs) != "f":
        raise InvalidInput(
            f"probs must be floating point softmax probabilities, got dtype {probs.dtype}; "
            "apply softmax to the model's logits"
        )
    if K < 1 or K > IGNORE_INDEX:
        raise InvalidInput(
            f"probs has K={K} classes; 1 to {IGNORE_INDEX} are supported (labels are uint8 with "
            f"{IGNORE_INDEX} = ignore)"
        )
    for name, arr, what in (
        ("labels", labels, "label map"),
        ("superpixels", superpixels, "superpixel map"),
    ):
        if _shape(arr) != (H, W):
            raise InvalidInput(
                f"probs has shape {_shape(probs)} but {name} has {_shape(arr)}; pass the (H, W) "
                f"{what} of the same image, at the probabilities' full resolution"
            )
        if _dtype_kind(arr) != "i":
            raise InvalidInput(f"{name} must hold integers, got dtype {arr.dtype}; pass a {what}")
    if H * W == 0:
        return K, H, W
    _check_label_values(labels, K)
    if int(superpixels.max()) > _INT32_MAX:
        raise InvalidInput(
            f"superpixel ids go up to {int(superpixels.max())}, beyond int32; renumber the "
            "superpixel map (ids 0..S-1)"
        )
    return K, H, W


def _check_label_values(labels: Any, K: int) -> None:
    if _is_tensor(labels):
        bad = (labels >= K) & (labels != IGNORE_INDEX)
        if labels.dtype.is_signed:
            bad |= labels < 0
        if not bool(bad.any()):
            return
        values, counts = np.unique(labels[bad].cpu().numpy(), return_counts=True)
    else:
        lab = labels
        if int(lab.max()) < K and (lab.dtype.kind == "u" or int(lab.min()) >= 0):
            return
        bad = (lab >= K) & (lab != IGNORE_INDEX)
        if lab.dtype.kind == "i":
            bad |= lab < 0
        if not bad.any():
            return
        values, counts = np.unique(lab[bad], return_counts=True)
    first = f"value {int(values[0])} on {int(counts[0])} pixel{'s' if counts[0] != 1 else ''}"
    more = f" (and {len(values) - 1} other out-of-range values)" if len(values) > 1 else ""
    raise InvalidInput(
        f"labels hold {first}{more} but probs has K={K} classes (valid: 0..{K - 1} and "
        f"{IGNORE_INDEX} = ignore); check the class list or the label files"
    )


# -------------------------------------------------------------------------------------------------
# the context acquisitions receive
# -------------------------------------------------------------------------------------------------


class ScoringContext:
    """The pool of one image, computed once and shared by every acquisition.

    Per-superpixel attributes (numpy, length S, sorted by superpixel id):

    - ``superpixel_ids`` int64, ``area`` int64 (pixels in s), ``dominant`` int64 (dom(s)),
      ``rep_flat`` int64 (row-major index of rep(s)), ``rep_row`` / ``rep_col`` int64,
      ``label_at_rep`` int64 (current label at rep(s), may be ``IGNORE_INDEX``).

    Also ``num_classes`` (K), ``num_superpixels`` (S), ``shape`` ((H, W)), ``image_id`` (str),
    ``seed`` (int).

    Primitives for acquisitions (per-pixel arrays are backend arrays, numpy or torch, of length n;
    use only ``+ - * /`` on them and the methods here):

    - :meth:`uncertainty`: u(x) per pixel, float64.
    - :meth:`cos_to_rep`: cos(f(rep(s)), f(x)) per pixel.
    - :meth:`self_confidence`: f(x)[label(x)] per pixel and the mask of non-void pixels.
    - :meth:`segment_sum`: (S,) float64 sums over each superpixel.
    - :meth:`segment_softmin`: (S,) temperature soft-minimum over masked pixels.
    - :meth:`at_rep`: (S,) float64 value of a per-pixel array at rep(s).
    - :attr:`rep_probs`: (K, S) float64 f(rep(s)).

    Per-superpixel results (what the built-in acquisitions read; a lazy context computes only
    those declared with :meth:`require`): :meth:`uncertainty_at_rep`, :meth:`uncertainty_sum`,
    :meth:`sim_sum`, :meth:`softmin_quality`.
    """

    num_classes: int
    num_superpixels: int
    shape: tuple[int, int]
    image_id: str
    seed: int
    superpixel_ids: np.ndarray
    area: np.ndarray
    dominant: np.ndarray
    rep_flat: np.ndarray
    label_at_rep: np.ndarray

    @property
    def rep_row(self) -> np.ndarray:
        return self.rep_flat // self.shape[1]

    @property
    def rep_col(self) -> np.ndarray:
        return self.rep_flat % self.shape[1]

    # Backend primitives, defined by the subclasses.
    def uncertainty(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def cos_to_rep(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def self_confidence(self) -> tuple[Any, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def segment_sum(self, values: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def segment_softmin(
        self, values: Any, mask: Any, temperature: float
    ) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def at_rep(self, values: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def rep_probs(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # Per-superpixel results the acquisitions read; derived from the primitives here, computed in
    # one fused pass by the fused context.
    def require(self, *needs: str) -> None:
        """Declare what will be read (``"rep"``, ``"u"``, ``"sim"``) so a lazy context computes it
        in one pass; the eager contexts ignore it."""

    def uncertainty_at_rep(self) -> np.ndarray:
        """u(rep(s)), (S,) float64."""
        return self.at_rep(self.uncertainty())

    def uncertainty_sum(self) -> np.ndarray:
        """Sum over x in s of u(x), (S,) float64."""
        return self.segment_sum(self.uncertainty())

    def sim_sum(self) -> np.ndarray:
        """Sum over x in s of cos(f(rep(s)), f(x)) u(x), (S,) float64."""
        return self.segment_sum(self.cos_to_rep() * self.uncertainty())

    def softmin_quality(self, temperature: float) -> np.ndarray:
        """Softmin over the non-void pixels of s of c(x) = f(x)[label(x)]; NaN where all are void."""
        c, mask = self.self_confidence()
        return self.segment_softmin(c, mask, temperature)


# -------------------------------------------------------------------------------------------------
# numpy backend
# -------------------------------------------------------------------------------------------------


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


class _NumpyContext(ScoringContext):
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

    def _pool(self) -> _NumpyContext:
        """Build pred, |f|, dom(s) and rep(s) once; returns self."""
        if self._pooled:
            return self
        n, S = self._n, self.num_superpixels
        self._pred = np.empty(n, dtype=np.int64)
        self._nf = np.empty(n, dtype=self._F.dtype)  # max(|f(x)|, COS_EPS)
        self._dominant = np.empty(S, dtype=np.int64)
        self._rep_pos = np.empty(S, dtype=np.int64)
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
        if self.representative == "random":
            return

        # m(s): float64 sums over s'.
        m = np.add.reduceat(F * in_sp, starts, axis=1, dtype=np.float64) / n_dom
        nm = np.maximum(np.sqrt(np.einsum("ks,ks->s", m, m)), COS_EPS)

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


# -------------------------------------------------------------------------------------------------
# torch backend
# -------------------------------------------------------------------------------------------------


class _TorchContext(ScoringContext):
    """torch backend on the inputs' device, float64; candidate pixels in row-major order."""

    def __init__(self, probs: Any, labels: Any, superpixels: Any, K: int, H: int, W: int,
                 image_id: str, seed: int, representative: str = "pool", from_logits: bool = False) -> None:
        import torch

        self.num_classes, self.shape, self.image_id, self.seed = K, (H, W), image_id, seed
        self.representative = representative
        device = probs.device
        self._torch = torch

        sp_flat = superpixels.reshape(-1)
        pix = torch.nonzero(sp_flat >= 0).reshape(-1)  # candidate pixels, row-major
        ids, seg = torch.unique(sp_flat[pix], sorted=True, return_inverse=True)
        S, n = int(ids.numel()), int(pix.numel())
        self.num_superpixels, self._n, self._seg = S, n, seg
        counts = torch.zeros(S, dtype=torch.int64, device=device).scatter_add_(
            0, seg, torch.ones_like(seg)
        )
        self.superpixel_ids = ids.cpu().numpy().astype(np.int64)
        self.area = counts.cpu().numpy().astype(np.int64)

        F = probs.reshape(K, H * W).index_select(1, pix).to(torch.float64)
        if from_logits:  # softmax on the device, candidate pixels only; nothing goes to the host
            F = torch.softmax(F, dim=0)
        self._F = F
        self._labels = labels.reshape(-1).index_select(0, pix).to(torch.int64)
        if S == 0:
            self.dominant = self.rep_flat = self.label_at_rep = np.empty(0, dtype=np.int64)
            self._pred = self._labels
            self._nf = F.new_zeros(0)
            self._rep_pos = pix
            return

        pred = F.argmax(dim=0)  # ties: first maximal index
        self._pred = pred
        votes = torch.zeros(S * K, dtype=torch.int64, device=device)
        votes = votes.scatter_add_(0, seg * K + pred, torch.ones_like(pred)).reshape(S, K)
        dom = votes.argmax(dim=1)
        n_dom = votes.gather(1, dom[:, None])[:, 0]
        in_sp = pred == dom[seg]

        m = F.new_zeros((K, S)).index_add_(1, seg, F * in_sp) / n_dom
        nm = m.pow(2).sum(0).sqrt().clamp_min(COS_EPS)
        nf = F.pow(2).sum(0).sqrt()
        if not bool(torch.isfinite(nf).all()):
            bad = int((~torch.isfinite(nf)).sum())
            raise InvalidInput(
                f"probs hold NaN or inf at {bad} candidate pixel{'s' if bad != 1 else ''}; "
                "check the model's output (softmax of finite logits)"
            )
        nf = nf.clamp_min(COS_EPS)
        self._nf = nf
        cos = (F * m[:, seg]).sum(0) / (nf * nm[seg])
        cos = torch.where(in_sp, cos, torch.full_like(cos, -torch.inf))
        segmax = torch.full((S,), -torch.inf, dtype=cos.dtype, device=device)
        segmax.scatter_reduce_(0, seg, cos, reduce="amax")
        hit = cos == segmax[seg]
        pos = torch.arange(n, device=device)
        first = torch.full((S,), n, dtype=torch.int64, device=device)
        first.scatter_reduce_(0, seg[hit], pos[hit], reduce="amin")
        if representative == "random":  # the k-th candidate pixel of s in row-major order
            offsets = torch.from_numpy(random_offsets(self.area, seed, image_id)).to(device)
            starts = torch.cumsum(counts, 0) - counts
            first = torch.sort(seg, stable=True).indices[starts + offsets]
        self._rep_pos = first

        self.dominant = dom.cpu().numpy().astype(np.int64)
        self.rep_flat = pix[first].cpu().numpy().astype(np.int64)
        self.label_at_rep = self._labels[first].cpu().numpy().astype(np.int64)

    def uncertainty(self) -> Any:
        if not hasattr(self, "_u"):
            torch = self._torch
            y = torch.where(self._labels == IGNORE_INDEX, self._pred, self._labels)
            self._u = 1.0 - self._F.gather(0, y[None, :])[0]
        return self._u

    def cos_to_rep(self) -> Any:
        frep = self._F[:, self._rep_pos]
        dot = (self._F * frep[:, self._seg]).sum(0)
        return dot / (self._nf * self._nf[self._rep_pos][self._seg])

    def self_confidence(self) -> tuple[Any, Any]:
        torch = self._torch
        mask = self._labels != IGNORE_INDEX
        y = torch.where(mask, self._labels, torch.zeros_like(self._labels))
        return self._F.gather(0, y[None, :])[0], mask

    def _segment_sum_t(self, values: Any) -> Any:
        torch = self._torch
        v = torch.as_tensor(values, device=self._F.device).to(torch.float64)
        return v.new_zeros(self.num_superpixels).scatter_add_(0, self._seg, v)

    def segment_sum(self, values: Any) -> np.ndarray:
        return self._segment_sum_t(values).cpu().numpy()

    def segment_softmin(self, values: Any, mask: Any, temperature: float) -> np.ndarray:
        torch = self._torch
        v = torch.as_tensor(values, device=self._F.device).to(torch.float64)
        inf = torch.full_like(v, torch.inf)
        vmin = torch.full((self.num_superpixels,), torch.inf, dtype=v.dtype, device=v.device)
        vmin.scatter_reduce_(0, self._seg, torch.where(mask, v, inf), reduce="amin")
        shift = torch.where(torch.isfinite(vmin), vmin, torch.zeros_like(vmin))[self._seg]
        w = torch.exp(torch.where(mask, -(v - shift) / temperature, -inf))
        den = self._segment_sum_t(w)
        num = self._segment_sum_t(w * torch.where(mask, v, torch.zeros_like(v)))
        out = torch.where(den > 0, num / den.clamp_min(1e-300), torch.full_like(den, torch.nan))
        return out.cpu().numpy()

    def at_rep(self, values: Any) -> np.ndarray:
        torch = self._torch
        v = torch.as_tensor(values, device=self._F.device)
        return v[self._rep_pos].to(torch.float64).cpu().numpy()

    @property
    def rep_probs(self) -> np.ndarray:
        return self._F[:, self._rep_pos].cpu().numpy()


# -------------------------------------------------------------------------------------------------
# entry point
# -------------------------------------------------------------------------------------------------


REPRESENTATIVES = ("pool", "random")
"""How rep(s) is chosen: ``pool`` the diversified pool (the paper's), ``random`` any candidate pixel."""


def random_offsets(counts: np.ndarray, seed: int, image_id: str) -> np.ndarray:
    """(S,) int64 offsets in 0..counts-1: the random representative's rank inside each superpixel.

    Drawn from a generator seeded by (seed, crc32(image_id)) and a constant that keeps this stream
    apart from the ``random`` acquisition's, so the same seed, image id and superpixel sizes give the
    same pixels in any process and with either backend.
    """
    key = zlib.crc32(image_id.encode("utf-8"))
    rng = np.random.default_rng([int(seed), key, _REP_STREAM])
    counts = np.asarray(counts, dtype=np.int64)
    if counts.size == 0:
        return np.empty(0, dtype=np.int64)
    return rng.integers(0, counts, dtype=np.int64)


_REP_STREAM = 0x52455052  # "REPR"


def softmax_classes(logits: np.ndarray) -> np.ndarray:
    """Softmax over axis 0 of (K, H, W) logits, float32 (float64 for float64 input)."""
    work = np.float64 if logits.dtype == np.float64 else np.float32
    z = logits.astype(work, copy=True)
    np.subtract(z, z.max(axis=0, keepdims=True), out=z)
    np.exp(z, out=z)
    np.divide(z, z.sum(axis=0, keepdims=True), out=z)
    return z
