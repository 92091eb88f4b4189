"""ABC class weights (A2LC's class-balanced acquisition) against a loop written from the equations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alc_data.constants import IGNORE_INDEX
from alc_data.scoring.balance import abc_weights, class_pixel_counts


def weights_by_loop(counts: list[int]) -> list[float]:
    present = [c for c in counts if c > 0]
    total = sum(present)
    kp = len(present)
    d = sum((c / total) * math.log((c / total) * kp) for c in present)
    return [(min(present) / c) ** (d ** 3) if c > 0 else 0.0 for c in counts]


@pytest.mark.parametrize("counts", [[10, 10, 10], [1000, 10, 0, 1], [5, 0, 0, 0], [3, 7], [1, 1, 2, 90000]])
def test_weights_equal_the_equations(counts):
    np.testing.assert_allclose(abc_weights(np.array(counts)), weights_by_loop(counts), rtol=1e-12, atol=0)


def test_balanced_labels_weigh_one_and_rare_classes_weigh_most():
    assert abc_weights(np.array([7, 7, 7])).tolist() == [1.0, 1.0, 1.0]
    w = abc_weights(np.array([5000, 50, 500]))
    assert w[1] == 1.0 and w[0] < w[2] < 1.0
    assert abc_weights(np.zeros(3, np.int64)).tolist() == [1.0, 1.0, 1.0]


def test_counts_skip_void_uncovered_and_asked_regions():
    labels = np.array([[0, 0, 1, IGNORE_INDEX], [2, 2, 1, 1]], np.uint8)
    sp = np.array([[0, 0, 1, 1], [-1, 2, 1, 3]], np.int32)
    assert class_pixel_counts(labels, sp, 3).tolist() == [2, 3, 1]  # (1,0) uncovered, (0,3) void
    assert class_pixel_counts(labels, sp, 3, exclude=[1]).tolist() == [2, 1, 1]


# ---------------------------------------------------------------- SIM with ABC, and a2lc, exact
def scores_by_loop(probs, labels, sp, weights, by_pair=False):
    """Per region (sorted ids): SIM with the class weight, and A2LC's score, from the equations. (K, K)
    weights are read as abc-pred's max of two diagonal entries, or with ``by_pair`` at W[y, pred]."""
    K, H, W = probs.shape
    pred = probs.argmax(0)
    out_sim, out_a2lc = [], []
    for s in sorted(set(sp.ravel().tolist()) - {-1}):
        pix = [(r, c) for r in range(H) for c in range(W) if sp[r, c] == s]
        votes = np.bincount([pred[p] for p in pix], minlength=K)
        dom = int(votes.argmax())
        sprime = [p for p in pix if pred[p] == dom]
        fbar = np.mean([probs[:, r, c] for r, c in sprime], axis=0)

        def cos(a, b):
            return float(a @ b / (max(np.linalg.norm(a), 1e-12) * max(np.linalg.norm(b), 1e-12)))

        rep = max(sprime, key=lambda p: (cos(probs[:, p[0], p[1]], fbar), -p[0] * W - p[1]))
        sim = a2lc = 0.0
        for r, c in pix:
            y = int(labels[r, c]) if labels[r, c] != IGNORE_INDEX else int(pred[r, c])
            p = int(pred[r, c])
            if weights.ndim == 1:
                w = weights[y]
            else:
                w = weights[y, p] if by_pair else max(weights[y, y], weights[p, p])
            term = w * (1.0 - probs[y, r, c])
            sim += cos(probs[:, rep[0], rep[1]], probs[:, r, c]) * term
            a2lc += cos(probs[:, r, c], fbar) * term
        out_sim.append(sim)
        out_a2lc.append(a2lc)
    return np.array(out_sim), np.array(out_a2lc)


def random_image(seed: int, K: int = 4, H: int = 9, W: int = 11):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(K, H, W)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(0)
    probs[:, 0, :3] = 1.0 / K  # exact ties in pred and in the cosines
    labels = rng.integers(0, K, (H, W)).astype(np.uint8)
    labels[rng.random((H, W)) < 0.2] = IGNORE_INDEX
    sp = (np.arange(H)[:, None] // 3 * 4 + np.arange(W)[None, :] // 3).astype(np.int32)
    sp[rng.random((H, W)) < 0.1] = -1
    return probs, labels, sp


@pytest.mark.parametrize("backend", ["numba", "numpy", "torch"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weighted_sim_and_a2lc_equal_the_loop(backend, seed):
    from alc_data.scoring import score_superpixels

    probs, labels, sp = random_image(seed)
    weights = abc_weights(class_pixel_counts(labels, sp, 4))
    sim_ref, a2lc_ref = scores_by_loop(probs, labels, sp, weights)
    sim = score_superpixels(probs, labels, sp, acquisition="sim", class_weights=weights, backend=backend).score
    a2lc = score_superpixels(probs, labels, sp, acquisition="a2lc", class_weights=weights, backend=backend).score
    np.testing.assert_allclose(sim, sim_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a2lc, a2lc_ref, rtol=1e-9, atol=1e-12)
    plain = score_superpixels(probs, labels, sp, acquisition="sim", backend=backend).score
    np.testing.assert_allclose(plain, scores_by_loop(probs, labels, sp, np.ones(4))[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("backend", ["numba", "numpy", "torch"])
@pytest.mark.parametrize("seed", [0, 1])
def test_abc_pred_weighs_each_pixel_by_the_larger_of_its_label_and_prediction_weights(backend, seed):
    """The loop reads W's diagonal only (w[y] and w[pred]), so the matrix form is checked against max()."""
    from alc_data.scoring import score_superpixels
    from alc_data.scoring.balance import prediction_weights

    probs, labels, sp = random_image(seed)
    weights = prediction_weights(abc_weights(class_pixel_counts(labels, sp, 4)))
    sim_ref, a2lc_ref = scores_by_loop(probs, labels, sp, weights)
    for acquisition, ref in (("sim", sim_ref), ("a2lc", a2lc_ref)):
        got = score_superpixels(probs, labels, sp, acquisition=acquisition, class_weights=weights, backend=backend).score
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)


def test_a_missed_rare_object_labelled_background_counts_with_abc_pred_not_with_abc():
    """Plant a rare class the labels miss (labelled as the common class 0) but the model sees: ABC weighs
    it as class 0 (almost nothing), abc-pred as the rare class."""
    from alc_data.scoring import score_superpixels
    from alc_data.scoring.balance import prediction_weights

    H, W = 8, 16
    labels = np.zeros((H, W), np.uint8)
    labels[:, 12:] = 2  # a small labelled object of class 2 somewhere else
    sp = (np.arange(W)[None, :] // 4 + np.zeros((H, 1), int)).astype(np.int32)  # 4 regions of 8x4
    probs = np.full((3, H, W), 0.05)
    probs[0] = 0.9
    probs[:, :, 4:8] = np.array([0.3, 0.6, 0.1])[:, None, None]  # region 1: the model says class 1, labels say 0
    probs[:, :, 12:] = np.array([0.05, 0.05, 0.9])[:, None, None]
    weights = abc_weights(np.array([1000, 1, 30]))  # class 1 is rare in the labels, class 0 common
    plain = score_superpixels(probs, labels, sp, acquisition="sim", class_weights=weights).score
    pred = score_superpixels(probs, labels, sp, acquisition="sim", class_weights=prediction_weights(weights)).score
    assert pred[1] > 10 * plain[1]
    assert int(np.argmax(pred)) == 1 and int(np.argmax(plain)) != 1


def test_balance_is_refused_where_no_per_pixel_term_is_summed():
    from alc_data.errors import InvalidInput
    from alc_data.scoring import score_superpixels

    probs, labels, sp = random_image(0)
    for acquisition in ("lcil", "margin", "entropy", "random", "cil", "softmin"):
        with pytest.raises(InvalidInput, match="balance"):
            score_superpixels(probs, labels, sp, acquisition=acquisition, class_weights=np.ones(4))


def test_a_planted_rare_class_is_asked_earlier_with_abc():
    """Two wrong regions, the frequent class's slightly larger: plain SIM asks it first, ABC the rare one."""
    from alc_data.scoring import score_superpixels

    K, H, W = 3, 20, 20
    labels = np.zeros((H, W), np.uint8)  # class 0 everywhere: the frequent class
    sp = np.zeros((H, W), np.int32)
    sp[:5, :6] = 1  # region 1: labelled 0 (frequent), 30 px
    sp[10:15, :5] = 2  # region 2: labelled 2 (rare), 25 px
    labels[10:15, :5] = 2
    labels[18:, 18:] = 1  # class 1, so three classes are present
    probs = np.full((K, H, W), 0.005)
    probs[0] = 0.99
    probs[:, sp == 1] = np.array([0.1, 0.85, 0.05])[:, None]  # both regions look like class 1
    probs[:, sp == 2] = np.array([0.1, 0.85, 0.05])[:, None]
    weights = abc_weights(class_pixel_counts(labels, sp, K))
    assert weights[2] > weights[0]
    plain = score_superpixels(probs, labels, sp, acquisition="sim")
    balanced = score_superpixels(probs, labels, sp, acquisition="sim", class_weights=weights)
    first = lambda t: int(t.superpixel_id[np.argmax(t.score)])  # noqa: E731
    assert first(plain) == 1 and first(balanced) == 2


# ---------------------------------------------------------------- gain: the data mIoU a fix would add
@pytest.mark.parametrize("counts", [[10, 10, 10], [1000, 10, 0, 1], [5, 0, 0, 0], [3, 7]])
def test_gain_weights_equal_the_equations(counts):
    from alc_data.scoring.balance import gain_weights

    present = [c for c in counts if c > 0]
    v = [1.0 / c if c > 0 else 1.0 / min(present) for c in counts]
    ref = [[(v[y] + v[p]) / (2 * max(v)) for p in range(len(counts))] for y in range(len(counts))]
    np.testing.assert_allclose(gain_weights(np.array(counts)), ref, rtol=1e-12, atol=0)
    assert gain_weights(np.zeros(3, np.int64)).tolist() == np.ones((3, 3)).tolist()


@pytest.mark.parametrize("backend", ["numba", "numpy", "torch"])
def test_gain_weighs_each_pixel_by_its_label_and_predicted_class_pair(backend):
    from alc_data.scoring import score_superpixels
    from alc_data.scoring.balance import gain_weights

    probs, labels, sp = random_image(3)
    weights = gain_weights(class_pixel_counts(labels, sp, 4) * np.array([1, 5, 20, 1]))
    assert weights[1, 2] != max(weights[1, 1], weights[2, 2])  # not abc-pred's form
    sim_ref, a2lc_ref = scores_by_loop(probs, labels, sp, weights, by_pair=True)
    for acquisition, ref in (("sim", sim_ref), ("a2lc", a2lc_ref)):
        got = score_superpixels(probs, labels, sp, acquisition=acquisition, class_weights=weights, backend=backend).score
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)


def test_a_missed_rare_object_outranks_uncertain_background_with_gain():
    """Region 1: a rare object the labels call background (class 0, common) and the model sees as class 1;
    region 0: larger, background the model is unsure of but still calls background. Plain SIM asks the
    uncertain background first, gain the missed object."""
    from alc_data.scoring import score_superpixels
    from alc_data.scoring.balance import gain_weights

    H, W = 8, 24
    labels = np.zeros((H, W), np.uint8)
    labels[:, 20:] = 2
    sp = np.zeros((H, W), np.int32)
    sp[:, 12:16] = 1
    sp[:, 16:20] = 2
    sp[:, 20:] = 3
    probs = np.full((3, H, W), 0.05)
    probs[0] = 0.9
    probs[:, :, :12] = np.array([0.55, 0.25, 0.2])[:, None, None]  # region 0: unsure background, 96 px
    probs[:, :, 12:16] = np.array([0.3, 0.65, 0.05])[:, None, None]  # region 1: a missed class-1 object
    probs[:, :, 20:] = np.array([0.05, 0.05, 0.9])[:, None, None]
    weights = gain_weights(np.array([5000, 40, 300]))
    plain = score_superpixels(probs, labels, sp, acquisition="sim").score
    gain = score_superpixels(probs, labels, sp, acquisition="sim", class_weights=weights).score
    assert int(np.argmax(plain)) == 0 and int(np.argmax(gain)) == 1


def test_gain_is_refused_where_no_per_pixel_term_is_summed():
    from alc_data.errors import InvalidInput
    from alc_data.stages.score import check_balance

    assert check_balance("gain", "sim").value == "gain"
    with pytest.raises(InvalidInput, match="gain weighs each pixel's term of sim or a2lc; 'lcil' sums none"):
        check_balance("gain", "lcil")


def test_an_unknown_balance_lists_the_choices_as_words():
    from alc_data.errors import InvalidInput
    from alc_data.stages.score import check_balance

    with pytest.raises(InvalidInput) as e:
        check_balance("abcd", "sim")
    assert str(e.value) == "--balance 'abcd' is unknown; use one of none, abc, abc-pred, gain"
