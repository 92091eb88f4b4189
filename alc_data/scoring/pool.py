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
The backends: :mod:`alc_data.scoring.pool_numpy`, :mod:`alc_data.scoring.pool_torch` and
:mod:`alc_data.scoring.fused`; :mod:`alc_data.scoring.backends` picks one.
"""

from __future__ import annotations

import sys
import zlib
from typing import Any

import numpy as np

from alc_data.choices import TextChoice
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
    class_weights: np.ndarray | None = None
    """(K,) float64 weight per class multiplying each pixel's term of the summed acquisitions (sim,
    a2lc): A2LC's class-balanced weight (:mod:`alc_data.scoring.balance`); or (K, K) by current and
    predicted class (``abc-pred``); None = 1."""

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

    def current_class(self) -> Any:  # pragma: no cover - abstract
        """y(x) per pixel: the label, or pred(x) where the label is void (int64)."""
        raise NotImplementedError

    def predicted_class(self) -> Any:  # pragma: no cover - abstract
        """pred(x) per pixel (int64)."""
        raise NotImplementedError

    def cos_to_mean(self) -> Any:  # pragma: no cover - abstract
        """cos(f(x), m(s)) per pixel, m(s) the mean of f over s' (float64)."""
        raise NotImplementedError

    def pixel_weights(self) -> Any:
        """w[y(x)] per pixel from :attr:`class_weights`, or W[y(x), pred(x)] when they are (K, K)
        (float64, same backend as the pixels)."""
        y = self.current_class()
        w: Any = np.asarray(self.class_weights, dtype=np.float64)
        if _is_tensor(y):
            import torch

            w = torch.as_tensor(w, dtype=torch.float64, device=y.device)
        return w[y, self.predicted_class()] if w.ndim == 2 else w[y]

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
        """Sum over x in s of cos(f(rep(s)), f(x)) u(x), times w[y(x)] with :attr:`class_weights`;
        (S,) float64."""
        terms = self.cos_to_rep() * self.uncertainty()
        if self.class_weights is not None:
            terms = terms * self.pixel_weights()
        return self.segment_sum(terms)

    def a2lc_sum(self) -> np.ndarray:
        """A2LC's score: sum over x in s of cos(f(x), m(s)) w[y(x)] u(x) (w = 1 without
        :attr:`class_weights`), (S,) float64."""
        terms = self.cos_to_mean() * self.uncertainty()
        if self.class_weights is not None:
            terms = terms * self.pixel_weights()
        return self.segment_sum(terms)

    def softmin_quality(self, temperature: float) -> np.ndarray:
        """Softmin over the non-void pixels of s of c(x) = f(x)[label(x)]; NaN where all are void."""
        c, mask = self.self_confidence()
        return self.segment_softmin(c, mask, temperature)


# -------------------------------------------------------------------------------------------------
# entry point
# -------------------------------------------------------------------------------------------------


class Representative(TextChoice):
    """How rep(s) is chosen: ``pool`` the diversified pool (the paper's), ``random`` any candidate pixel."""

    POOL = "pool"
    RANDOM = "random"


REPRESENTATIVES = Representative.values()


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
