"""The fused CPU context: numpy inputs scored by the numba kernels of :mod:`alc_data.scoring.kernels`.

Lazy: building the context only indexes the candidate pixels by superpixel (a counting pass). The
kernel runs when a result is first asked for, and computes only what has been declared with
:meth:`FusedContext.require` (or what the first request needs):

- softmin reads one probability per pixel (the label's) and never builds the pool;
- lcil needs pred(x) and u(x), not the pool's mean and cosines;
- cil, entropy, margin and the table's representative columns need rep(s);
- sim needs rep(s), u(x) and the cosines to f(rep(s)).

Acquisitions registered elsewhere that use the per-pixel primitives (``uncertainty``,
``cos_to_rep``, ...) get them from the numpy context, built on first use (same order, same rep).
"""

from __future__ import annotations

import functools
import threading
from typing import Any, cast

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import InvalidInput
from alc_data.scoring.pool import COS_EPS, ScoringContext, random_offsets
from alc_data.scoring.pool_numpy import NumpyContext

NEEDS = {
    "rep": 1,  # kernels.NEED_REP
    "u": 2,  # kernels.NEED_U
    "sim": 1 | 2 | 4,  # kernels.NEED_SIM with what it reads
}


@functools.lru_cache(maxsize=1)
def numba_available() -> bool:
    """True when numba imports (the fused CPU scorer's accelerator, a dependency of alc-data)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def segment_index(superpixels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(seg (N,) int32 dense index 0..S-1 or -1, ids (S,) int64 sorted, counts (S,) int64).

    A counting pass when the ids are dense enough (max id < 4 N + 65,536), else ``np.unique``.
    """
    from alc_data.scoring import kernels

    sp = np.ascontiguousarray(superpixels).reshape(-1)
    hi = int(sp.max()) if sp.size else -1
    if hi < 0:
        empty = np.empty(0, dtype=np.int64)
        return np.full(sp.size, -1, dtype=np.int32), empty, empty
    if hi < 4 * sp.size + (1 << 16):
        if sp.dtype != np.int32:
            sp = np.maximum(sp, -1).astype(np.int32)
        return kernels.segment_index(sp, hi + 1)
    cand = sp >= 0
    ids, inverse, counts = np.unique(sp[cand], return_inverse=True, return_counts=True)
    seg = np.full(sp.size, -1, dtype=np.int32)
    seg[cand] = inverse
    return seg, ids.astype(np.int64), counts.astype(np.int64)


class FusedContext(ScoringContext):
    """numba backend over numpy inputs, in the probabilities' own layout (no reordering)."""

    def __init__(self, probs: np.ndarray, labels: np.ndarray, superpixels: np.ndarray,
                 K: int, H: int, W: int, image_id: str, seed: int, representative: str = "pool") -> None:
        self.num_classes, self.shape, self.image_id, self.seed = K, (H, W), image_id, seed
        self.representative = representative
        self._inputs = (probs, labels, superpixels)
        P = np.ascontiguousarray(probs).reshape(K, H * W)
        if P.dtype not in (np.float32, np.float64):
            P = P.astype(np.float32)
        self._P = P
        self._lab = np.ascontiguousarray(labels).reshape(-1).astype(np.uint8, copy=False)
        self._seg, self.superpixel_ids, self.area = segment_index(superpixels)
        self.num_superpixels = len(self.superpixel_ids)
        self._need = 0
        self._done = -1  # the need mask the kernel last ran with (-1: never)
        self._out: tuple = ()
        self._numpy: NumpyContext | None = None
        self._groups: tuple | None = None

    # -- the kernel -------------------------------------------------------------------------------

    def require(self, *needs: str) -> None:
        for need in needs:
            self._need |= NEEDS[need]

    def _run(self, *needs: str) -> tuple:
        from alc_data.scoring import kernels

        self.require(*needs)
        if self._done >= 0 and self._done & self._need == self._need:
            return self._out
        if self.representative == "random":
            offsets = random_offsets(self.area, self.seed, self.image_id)
        else:
            offsets = np.empty(0, dtype=np.int64)
        if self._groups is None:
            self._groups = kernels.group_pixels(self._seg, self.num_superpixels)
        N, K = self._P.shape[1], self.num_classes
        work = (_work("pred", N, np.int32), _work("nf", N, np.float64), _work("u", N, np.float64),
                _work("votes", self.num_superpixels * K, np.int64))
        # cast: numba types a jitted function's __call__ without its arguments
        *out, bad = cast(Any, kernels.pool_scores)(self._P, self._lab, self._seg, *self._groups, offsets,
                                                   self._need, IGNORE_INDEX, COS_EPS, *work)
        _check_finite(bad)
        self._out, self._done = tuple(out), self._need
        return self._out

    # computed on first use: read-only properties over the base class's plain attributes (mypy reports
    # such an override; the base class's attributes are only assigned by NumpyContext)
    @property
    def dominant(self) -> np.ndarray:  # type: ignore[override]
        return self._run()[0]

    @property
    def rep_flat(self) -> np.ndarray:  # type: ignore[override]
        return self._run("rep")[1]

    @property
    def label_at_rep(self) -> np.ndarray:  # type: ignore[override]
        return self._lab[self.rep_flat].astype(np.int64)

    # -- per-superpixel results -------------------------------------------------------------------

    def uncertainty_at_rep(self) -> np.ndarray:
        return self._run("rep", "u")[2]

    def uncertainty_sum(self) -> np.ndarray:
        return self._run("u")[3]

    def sim_sum(self) -> np.ndarray:
        if self.class_weights is not None:
            return self._per_pixel().sim_sum()
        return self._run("sim")[4]

    def a2lc_sum(self) -> np.ndarray:
        return self._per_pixel().a2lc_sum()

    def softmin_quality(self, temperature: float) -> np.ndarray:
        from alc_data.scoring import kernels

        quality, bad = kernels.softmin_quality(self._P, self._lab, self._seg, self.num_superpixels,
                                               IGNORE_INDEX, float(temperature))
        if bad:
            self._run()  # counts every non-finite pixel, not only at the labels
            _check_finite(bad)
        return quality

    @property
    def rep_probs(self) -> np.ndarray:
        return np.take(self._P, self.rep_flat, axis=1).astype(np.float64)

    # -- per-pixel primitives (custom acquisitions): from the numpy context -----------------------

    def _per_pixel(self) -> NumpyContext:
        if self._numpy is None:
            K, (H, W) = self.num_classes, self.shape
            self._numpy = NumpyContext(*self._inputs, K, H, W, self.image_id, self.seed,
                                        self.representative)
            self._numpy.class_weights = self.class_weights
        return self._numpy

    def uncertainty(self) -> np.ndarray:
        return self._per_pixel().uncertainty()

    def cos_to_rep(self) -> np.ndarray:
        return self._per_pixel().cos_to_rep()

    def self_confidence(self) -> tuple[np.ndarray, np.ndarray]:
        return self._per_pixel().self_confidence()

    def current_class(self) -> np.ndarray:
        return self._per_pixel().current_class()

    def predicted_class(self) -> np.ndarray:
        return self._per_pixel().predicted_class()

    def cos_to_mean(self) -> np.ndarray:
        return self._per_pixel().cos_to_mean()

    def at_rep(self, values: Any) -> np.ndarray:
        return self._per_pixel().at_rep(values)

    def segment_sum(self, values: Any) -> np.ndarray:
        return self._per_pixel().segment_sum(values)

    def segment_softmin(self, values: Any, mask: Any, temperature: float) -> np.ndarray:
        return self._per_pixel().segment_softmin(values, mask, temperature)


_WORK = threading.local()


def _work(name: str, size: int, dtype: Any) -> np.ndarray:
    """A per-thread work array of at least ``size`` items, reused between images (fresh arrays of
    a few megabytes cost page faults on every image)."""
    arr = getattr(_WORK, name, None)
    if arr is None or arr.size < size:
        arr = np.empty(max(size, 1), dtype=dtype)
        setattr(_WORK, name, arr)
    return arr


def _check_finite(bad: int) -> None:
    if bad:
        raise InvalidInput(
            f"probs hold NaN or inf at {bad} candidate pixel{'s' if bad != 1 else ''}; "
            "check the model's output (softmax of finite logits)"
        )
