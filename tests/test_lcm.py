"""The label-correction module: region features, A2LC's rules, and a planted look-alike it fixes."""

from __future__ import annotations

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.correction.lcm import (LabelCorrectionModule, LcmSettings, RegionFeatures, auto_threshold, class_weights,
                                     rare_classes, region_features, relabel_mask)


def test_region_features_are_means_and_majorities():
    probs = np.zeros((2, 2, 3))
    probs[0] = [[1.0, 0.5, 0.0], [0.2, 0.2, 0.2]]
    probs[1] = 1.0 - probs[0]
    labels = np.array([[1, 1, 0], [IGNORE_INDEX, IGNORE_INDEX, 0]], np.uint8)
    sp = np.array([[4, 4, 7], [9, 9, -1]])
    ids, feats, major, area = region_features(probs, labels, sp)
    assert ids.tolist() == [4, 7, 9] and area.tolist() == [2, 1, 2]
    np.testing.assert_allclose(feats[:, 0], [0.75, 0.0, 0.2])
    assert major.tolist() == [1, 0, IGNORE_INDEX]


def test_the_extra_features_are_prediction_shares_and_standard_deviations():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(3, 5, 6))
    probs = np.exp(logits) / np.exp(logits).sum(axis=0)
    labels = rng.integers(0, 3, (5, 6)).astype(np.uint8)
    sp = rng.integers(-1, 4, (5, 6))
    ids, mean, major, area = region_features(probs, labels, sp)
    for kind in (RegionFeatures.MEAN_SHARE, RegionFeatures.MEAN_STD):
        ids2, feats, major2, area2 = region_features(probs, labels, sp, kind)
        assert feats.shape == (len(ids), 6) and ids2.tolist() == ids.tolist() and major2.tolist() == major.tolist()
        np.testing.assert_array_equal(feats[:, :3], mean)  # the first K columns stay A2LC's feature
        for i, region in enumerate(ids.tolist()):  # the extra K, from the pixels of the region one by one
            pixels = probs[:, sp == region]  # (K, n)
            extra = (np.bincount(pixels.argmax(axis=0), minlength=3) / pixels.shape[1]
                     if kind == RegionFeatures.MEAN_SHARE else pixels.std(axis=1))
            np.testing.assert_allclose(feats[i, 3:], extra, atol=1e-12)


def test_the_module_reads_features_wider_than_the_classes():
    rng = np.random.default_rng(2)
    feats, cls = planted(rng, 60)
    wide = np.hstack([feats, np.eye(4)[cls]])  # K = 4 classes, 8 feature columns
    module = LabelCorrectionModule.train(wide, cls, 4, LcmSettings(epochs=20, batch_size=16, lr=3e-3))
    conf, prop = module.predict(wide)
    assert conf.shape == (60,) and (prop == cls).mean() > 0.9


def test_weights_and_rare_classes_follow_the_answered_counts():
    targets = np.array([0, 0, 0, 0, 1, 1, 3])
    np.testing.assert_allclose(class_weights(targets, 4), np.array([7 / 4, 7 / 2, 0, 7]) / (7 / 4 + 7 / 2 + 7), rtol=1e-6)
    rare, rarest = rare_classes(targets, 4)
    assert rare.tolist() == [2, 3] and rarest == 2


def planted(rng: np.random.Generator, n: int, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Features that name their class: a sharp softmax around the class, with noise."""
    cls = rng.integers(0, k, n)
    feats = np.full((n, k), 0.02) + rng.random((n, k)) * 0.02
    feats[np.arange(n), cls] = 0.9
    return feats / feats.sum(1, keepdims=True), cls


def test_a_planted_look_alike_is_relabelled_and_the_rarest_class_is_left_alone():
    rng = np.random.default_rng(0)
    feats, cls = planted(rng, 240)
    cls[cls == 3] = 2  # class 3 is never answered: the rarest class
    feats[cls == 2] = np.eye(4)[2] * 0.9 + 0.025
    module = LabelCorrectionModule.train(feats, cls, 4, LcmSettings(epochs=60, batch_size=16, lr=3e-3))
    rare, rarest = rare_classes(cls, 4)
    assert rarest == 3
    # candidates: a region labelled 0 that looks like class 1 (the look-alike), one labelled 3 (rarest)
    cand = np.stack([np.eye(4)[1] * 0.9 + 0.025, np.eye(4)[1] * 0.9 + 0.025])
    conf, prop = module.predict(cand)
    assert prop.tolist() == [1, 1] and (conf > 0.9).all()
    mask = relabel_mask(conf, prop, np.array([0, 3]), threshold=0.9, rare=rare, rarest=rarest)
    assert mask.tolist() == [True, False]
    assert not relabel_mask(conf, prop, np.array([1, 0]), threshold=0.9, rare=rare, rarest=rarest)[0]


def test_training_is_deterministic_for_a_seed():
    rng = np.random.default_rng(1)
    feats, cls = planted(rng, 40)
    a = LabelCorrectionModule.train(feats, cls, 4, LcmSettings(epochs=3, seed=5)).predict(feats)[0]
    b = LabelCorrectionModule.train(feats, cls, 4, LcmSettings(epochs=3, seed=5)).predict(feats)[0]
    assert np.array_equal(a, b)


def test_auto_threshold_reaches_the_precision_on_held_out_folds():
    rng = np.random.default_rng(2)
    feats, cls = planted(rng, 90, k=3)
    before = (cls + 1) % 3  # every answered region was wrong before its answer
    t, table = auto_threshold(feats, cls, before, 3, LcmSettings(epochs=40, batch_size=16, lr=3e-3))
    assert t is not None
    done, right = table[t]
    assert done >= 3 and right >= 0.9 * done
    noisy = rng.integers(0, 3, 90)  # answers unrelated to the features: nothing is precise enough
    t2, _ = auto_threshold(feats, noisy, (noisy + 1) % 3, 3, LcmSettings(epochs=5, batch_size=16, lr=3e-3))
    assert t2 is None or t2 >= 0.9


def test_the_agreement_rule_needs_the_models_own_argmax_and_share():
    conf = np.full(4, 0.999)
    proposed = np.array([1, 1, 2, 1])
    majority = np.zeros(4, np.int64)
    features = np.array([[0.2, 0.7, 0.1],    # the model agrees, 0.7 of the region
                         [0.5, 0.4, 0.1],    # the model's argmax is the label: kept out
                         [0.35, 0.3, 0.35],  # tied with the label at 0.35 < 0.5: kept out
                         [0.45, 0.5, 0.05]])  # argmax, exactly the share asked
    off = relabel_mask(conf, proposed, majority, threshold=0.99, rare=np.array([], np.int64), rarest=9)
    on = relabel_mask(conf, proposed, majority, threshold=0.99, rare=np.array([], np.int64), rarest=9,
                      features=features, agreement=0.5)
    assert off.tolist() == [True, True, True, True]
    assert on.tolist() == [True, False, False, True]
