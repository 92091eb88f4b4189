"""Choosing a scoring backend for one image: the torch, fused numba or numpy context of
:mod:`alc_data.scoring.pool_torch`, :mod:`alc_data.scoring.fused` or
:mod:`alc_data.scoring.pool_numpy`."""

from __future__ import annotations

from typing import Any

import numpy as np

from alc_data.errors import InvalidInput, MissingDependency
from alc_data.scoring.fused import FusedContext, numba_available
from alc_data.scoring.pool import REPRESENTATIVES, ScoringContext, _is_tensor, softmax_classes, validate_inputs
from alc_data.scoring.pool_numpy import NumpyContext
from alc_data.scoring.pool_torch import TorchContext

BACKENDS = ("auto", "numba", "numpy", "torch")


def build_context(probs: Any, labels: Any, superpixels: Any, *, image_id: str | None = None,
                  seed: int = 0, backend: str = "auto", representative: str = "pool",
                  from_logits: bool = False, class_weights: Any = None) -> ScoringContext:
    """Validate the inputs of one image and compute its pool.

    Args:
        probs: (K, H, W) float softmax probabilities (numpy array or torch tensor).
        labels: (H, W) integer current labels, ``IGNORE_INDEX`` = ignore.
        superpixels: (H, W) integer superpixel ids; ids < 0 mark pixels that are no candidate.
        image_id: stored in the table ("" when None) and used to seed ``random``.
        seed: seed for the ``random`` acquisition (>= 0).
        backend: ``"auto"`` (default): the torch path when a tensor lives on an accelerator
            (on that device), else the fused numba path when numba is installed, else the numpy
            path (CPU tensors are viewed as numpy arrays without a copy: on one CPU core it is
            several times faster than torch's kernels here). ``"numba"``, ``"numpy"`` or
            ``"torch"`` force a path (``"torch"`` runs on the device of the first
            tensor, or the CPU).
        representative: ``"pool"`` (default): rep(s) from the diversified pool; ``"random"``: a
            candidate pixel of s drawn uniformly, seeded by (seed, image_id) (the ablation of
            the pool, Table 3 of the paper). Every acquisition that reads rep(s) uses it.
        from_logits: ``probs`` holds the model's (K, H, W) logits; the softmax over classes is
            taken here (on the tensors' device with the torch path, for the candidate pixels only,
            so no probability map is copied to the host).
        class_weights: None, or (K,) non-negative finite weights per class that multiply each pixel's
            term of the summed acquisitions (``sim``, ``a2lc``): ABC; or (K, K) weights W[y, p] by the
            pixel's current class y and predicted class p (``abc-pred``).
    """
    if representative not in REPRESENTATIVES:
        raise InvalidInput(
            f"unknown representative {representative!r}; choose one of: {', '.join(REPRESENTATIVES)}"
        )
    if backend not in BACKENDS:
        raise InvalidInput(f"unknown scoring backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidInput(f"seed must be a non-negative integer, got {seed!r}")
    image_id = "" if image_id is None else str(image_id)
    tensors = [x for x in (probs, labels, superpixels) if _is_tensor(x)]
    if backend == "auto":
        if any(t.device.type != "cpu" for t in tensors):
            backend = "torch"
        else:

            backend = "numba" if numba_available() else "numpy"
    if backend == "numba":

        if not numba_available():
            raise MissingDependency(
                "scoring backend 'numba' needs numba (a dependency of alc-data: pip install numba) or use backend='numpy'"
            )
    if backend == "torch":
        import torch

        device = tensors[0].device if tensors else torch.device("cpu")
        probs, labels, superpixels = (
            torch.as_tensor(x, device=device).detach() for x in (probs, labels, superpixels)
        )
    else:
        probs, labels, superpixels = (
            x.detach().cpu().numpy() if _is_tensor(x) else np.asarray(x)
            for x in (probs, labels, superpixels)
        )
    K, H, W = validate_inputs(probs, labels, superpixels)
    weights = None if class_weights is None else check_class_weights(class_weights, K)
    if backend == "torch":
        ctx: ScoringContext = TorchContext(probs, labels, superpixels, K, H, W, image_id, int(seed), representative,
                                           from_logits=from_logits)
        ctx.class_weights = weights
        return ctx
    if from_logits:
        probs = softmax_classes(probs)
    cls = NumpyContext if backend == "numpy" else FusedContext
    ctx = cls(probs, labels, superpixels, K, H, W, image_id, int(seed), representative)
    ctx.class_weights = weights
    return ctx


def check_class_weights(class_weights: Any, num_classes: int) -> np.ndarray:
    """``class_weights`` as a (K,) or (K, K) float64 array; a one-line error unless its values are finite
    and >= 0."""
    w = np.asarray(class_weights, dtype=np.float64)
    if w.shape not in ((num_classes,), (num_classes, num_classes)) or not np.isfinite(w).all() or (w < 0).any():
        raise InvalidInput(f"class_weights must be {num_classes} finite non-negative numbers (one per class), or "
                           f"{num_classes}×{num_classes} (by current and predicted class); got shape {w.shape}")
    return w
