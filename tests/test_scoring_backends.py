"""The scoring backends agree: fused numba kernels, numpy, torch; scoring from logits; laziness."""

from __future__ import annotations

import numpy as np
import pytest

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlcError, MissingDependency
from alc_data.scoring import ACQUISITIONS, score_superpixels, superpixel_scores
from alc_data.scoring.fused import numba_available
from alc_data.scoring.backends import build_context
from alc_data.scoring.pool import softmax_classes
from alc_data.scoring.score import score_superpixels_many
from tests.test_scoring import random_case, tie_case

ACQS = ACQUISITIONS.names()
needs_numba = pytest.mark.skipif(not numba_available(), reason="numba not installed (extra [fast])")


def assert_same_tables(got: dict, ref: dict, tol: float = 1e-6) -> None:
    for name in ref:
        for col in ref[name].columns:
            if col == "score":
                np.testing.assert_allclose(got[name].score, ref[name].score, rtol=tol, atol=tol,
                                           err_msg=name)
            else:
                np.testing.assert_array_equal(got[name][col], ref[name][col], err_msg=f"{name} {col}")


CASES = {
    "random-k3": lambda: random_case(0, 3),
    "random-k21": lambda: random_case(1, 21, H=23, W=29, n_sp=12),
    "random-k21-f64": lambda: random_case(2, 21, dtype=np.float64),
    "ties": lambda: tie_case(2),
    "one-region": lambda: (lambda p, l, s: (p, l, np.zeros_like(s)))(*random_case(3, 5)),
}


@pytest.mark.parametrize("representative", ["pool", "random"])
@pytest.mark.parametrize("case", sorted(CASES))
@needs_numba
def test_fused_matches_numpy_backend(case, representative):
    probs, labels, sp = CASES[case]()
    kw = dict(image_id="im", seed=4, representative=representative)
    fused = score_superpixels_many(probs, labels, sp, backend="numba", **kw)
    ref = score_superpixels_many(probs, labels, sp, backend="numpy", **kw)
    assert_same_tables(fused, ref)


@needs_numba
def test_fused_wide_and_sparse_ids():
    probs, labels, sp = random_case(4, 3)
    base = score_superpixels(probs, labels, sp, backend="numba")
    for big in (40_000, 3_000_000, 2**31 - 100):  # counting pass, and the np.unique fallback
        remapped = np.where(sp >= 0, sp.astype(np.int64) + big, sp)
        t = score_superpixels(probs, labels, remapped, backend="numba")
        np.testing.assert_array_equal(t.superpixel_id, base.superpixel_id + big)
        np.testing.assert_array_equal(t.score, base.score)


@needs_numba
def test_scores_alone_equal_the_table_and_skip_the_pool(monkeypatch):
    from alc_data.scoring import kernels

    probs, labels, sp = random_case(5, 6)
    tables = score_superpixels_many(probs, labels, sp, image_id="a", seed=2)
    for name in ACQS:
        ids, scores = superpixel_scores(probs, labels, sp, acquisition=name, image_id="a", seed=2)
        np.testing.assert_array_equal(ids, tables[name].superpixel_id)
        np.testing.assert_allclose(scores, tables[name].score, rtol=1e-12, atol=1e-12)

    needs = []
    real = kernels.pool_scores

    def spy(*args):
        needs.append(args[7])  # the need mask
        return real(*args)

    monkeypatch.setattr(kernels, "pool_scores", spy)
    superpixel_scores(probs, labels, sp, acquisition="softmin")
    superpixel_scores(probs, labels, sp, acquisition="random")
    assert needs == []  # neither reads the pool
    superpixel_scores(probs, labels, sp, acquisition="lcil")
    assert needs == [kernels.NEED_U]  # u(x), no representative
    score_superpixels(probs, labels, sp, acquisition="sim")
    assert needs[-1] == kernels.NEED_REP | kernels.NEED_U | kernels.NEED_SIM  # one pass for all
    needs.clear()
    score_superpixels_many(probs, labels, sp)
    assert len(needs) == 1  # every acquisition from one kernel run


@needs_numba
def test_fused_per_pixel_primitives_for_custom_acquisitions():
    probs, labels, sp = random_case(6, 4)
    ctx = build_context(probs, labels, sp, backend="numba")
    by_hand = ctx.segment_sum(ctx.cos_to_rep() * ctx.uncertainty())
    np.testing.assert_allclose(by_hand, ctx.sim_sum(), rtol=1e-6)
    np.testing.assert_allclose(ctx.at_rep(ctx.uncertainty()), ctx.uncertainty_at_rep(), rtol=1e-12)
    c, mask = ctx.self_confidence()
    np.testing.assert_allclose(ctx.segment_softmin(c, mask, 0.1), ctx.softmin_quality(0.1), rtol=1e-9)


@needs_numba
@pytest.mark.parametrize("name", ["cil", "lcil", "sim", "entropy"])
def test_fused_finds_nan_anywhere(name):
    probs, labels, sp = random_case(0, 4, H=10, W=12)
    bad = probs.copy()
    bad[2, 3, 4] = np.nan  # one class of one pixel: never its pred, maybe not its label
    bad[1, 7, 7] = np.inf
    with pytest.raises(AlcError, match="NaN or inf at 2 candidate pixels"):
        score_superpixels(bad, labels, np.zeros_like(sp), acquisition=name, backend="numba")


def test_numpy_backend_builds_the_pool_only_when_read():
    probs, labels, sp = random_case(5, 6)
    ctx = build_context(probs, labels, sp, backend="numpy")
    ctx.softmin_quality(0.1)
    assert not ctx._pooled  # softmin reads the labels' probabilities only
    ids, scores = superpixel_scores(probs, labels, sp, acquisition="softmin", backend="numpy")
    table = score_superpixels(probs, labels, sp, acquisition="softmin", backend="numpy")
    np.testing.assert_array_equal(scores, table.score)
    ctx.rep_flat
    assert ctx._pooled


def test_numba_backend_named_when_missing(monkeypatch):
    from alc_data.scoring import backends

    monkeypatch.setattr(backends, "numba_available", lambda: False)
    probs, labels, sp = random_case(0, 3)
    with pytest.raises(MissingDependency, match=r"pip install numba"):
        score_superpixels(probs, labels, sp, backend="numba")
    auto = score_superpixels(probs, labels, sp)  # falls back to numpy
    assert auto.equals(score_superpixels(probs, labels, sp, backend="numpy"))


# -------------------------------------------------------------------------------------------------
# from logits
# -------------------------------------------------------------------------------------------------


def _logits_case(seed: int = 7, K: int = 5):
    rng = np.random.default_rng(seed)
    _, labels, sp = random_case(seed, K)
    logits = (rng.normal(size=(K,) + labels.shape) * 3.0).astype(np.float32)
    return logits, labels, sp


def test_softmax_classes():
    logits, _, _ = _logits_case()
    p = softmax_classes(logits)
    assert p.dtype == np.float32
    np.testing.assert_allclose(p.sum(0), 1.0, rtol=1e-6)
    e = np.exp(logits.astype(np.float64))
    np.testing.assert_allclose(p, e / e.sum(0), rtol=1e-5)
    shifted = softmax_classes(logits + 1000.0)  # no overflow (float32 rounds the shifted logits)
    np.testing.assert_allclose(shifted, p, atol=1e-4)


@pytest.mark.parametrize("backend", [pytest.param("numba", marks=needs_numba), "numpy"])
def test_from_logits_equals_from_probabilities(backend):
    logits, labels, sp = _logits_case()
    probs = softmax_classes(logits)
    a = score_superpixels_many(logits, labels, sp, from_logits=True, backend=backend, image_id="x")
    b = score_superpixels_many(probs, labels, sp, backend=backend, image_id="x")
    for name in ACQS:
        assert a[name].equals(b[name])


@pytest.mark.parametrize("name", ACQS)
def test_torch_from_logits_matches_numpy(name):
    torch = pytest.importorskip("torch")
    logits, labels, sp = _logits_case(K=6)
    probs = (np.exp(logits.astype(np.float64)) / np.exp(logits.astype(np.float64)).sum(0))
    ref = score_superpixels(probs, labels, sp, acquisition=name, image_id="t", backend="numpy")
    tensors = [torch.from_numpy(a) for a in (logits, labels, sp)]
    got = score_superpixels(*tensors, acquisition=name, image_id="t", backend="torch", from_logits=True)
    for col in ref.columns:
        if col == "score":
            np.testing.assert_allclose(got.score, ref.score, rtol=1e-6, atol=1e-6)
        else:
            np.testing.assert_array_equal(got[col], ref[col])


def test_from_logits_rejects_non_finite_logits():
    logits, labels, sp = _logits_case()
    logits[:, 2, 2] = np.nan
    labels[2, 2] = IGNORE_INDEX
    with pytest.raises(AlcError, match="NaN or inf at 1 candidate pixel"):
        score_superpixels(logits, labels, np.zeros_like(sp), from_logits=True)
