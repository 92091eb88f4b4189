"""The representative pixel switch: ``representative="pool"`` (the paper's) or ``"random"`` (ablation)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import InvalidInput
from alc_data.scoring import ACQUISITIONS, score_superpixels
from alc_data.scoring.pool import COS_EPS
from alc_data.scoring.score import score_superpixels_many
from tests.test_scoring import random_case

ACQS = ACQUISITIONS.names()


def _reps(table):
    return list(zip(table.rep_row.tolist(), table.rep_col.tolist()))


def _random(probs, labels, sp, seed, image_id="img", **kw):
    return score_superpixels_many(probs, labels, sp, seed=seed, image_id=image_id,
                                  representative="random", **kw)


@pytest.fixture(scope="module")
def case():
    return random_case(3, 5, H=19, W=21, n_sp=25)


def test_random_representative_is_seeded_and_deterministic(case):
    probs, labels, sp = case
    a = _random(probs, labels, sp, seed=1)
    again = _random(probs, labels, sp, seed=1)
    for name in ACQS:
        assert a[name].equals(again[name])
    assert _reps(a["sim"]) != _reps(_random(probs, labels, sp, seed=2)["sim"])
    assert _reps(a["sim"]) != _reps(_random(probs, labels, sp, seed=1, image_id="other")["sim"])
    # one representative per superpixel, shared by every acquisition
    for name in ACQS:
        assert _reps(a[name]) == _reps(a["sim"])


def test_random_representative_lies_in_its_superpixel_and_covers_it(case):
    probs, labels, sp = case
    seen: dict[int, set] = {}
    for seed in range(40):
        t = _random(probs, labels, sp, seed=seed)["cil"]
        assert (sp[t.rep_row, t.rep_col] == t.superpixel_id).all()
        assert (labels[t.rep_row, t.rep_col] == t.label_at_rep).all()
        for sid, rc in zip(t.superpixel_id.tolist(), _reps(t)):
            seen.setdefault(sid, set()).add(rc)
    # not stuck on one pixel: small superpixels are covered, big ones get many distinct pixels
    for sid, pixels in seen.items():
        area = int((sp == sid).sum())
        assert len(pixels) >= min(area, 5), (sid, area, len(pixels))


def test_every_acquisition_reads_the_random_representative(case):
    probs, labels, sp = case
    tables = _random(probs, labels, sp, seed=5)
    pool = score_superpixels_many(probs, labels, sp, seed=5, image_id="img")
    assert _reps(tables["cil"]) != _reps(pool["cil"])  # the planted switch changes something
    f = probs.astype(np.float64)
    pred = f.argmax(0)
    y = np.where(labels == IGNORE_INDEX, pred, labels)
    u = 1.0 - np.take_along_axis(f, y[None].astype(np.int64), 0)[0]
    for i, sid in enumerate(tables["cil"].superpixel_id.tolist()):
        r, c = int(tables["cil"].rep_row[i]), int(tables["cil"].rep_col[i])
        frep = f[:, r, c]
        assert tables["cil"].score[i] == pytest.approx(u[r, c], abs=1e-6)
        top = np.sort(frep)[::-1]
        assert tables["margin"].score[i] == pytest.approx(1 - (top[0] - top[1]), abs=1e-6)
        ent = -sum(p * math.log(p) for p in frep if p > 0)
        assert tables["entropy"].score[i] == pytest.approx(ent, abs=1e-6)
        mask = sp == sid
        fs = f[:, mask]
        cos = (frep @ fs) / (np.maximum(np.linalg.norm(fs, axis=0), COS_EPS)
                             * max(np.linalg.norm(frep), COS_EPS))
        assert tables["sim"].score[i] == pytest.approx(float((cos * u[mask]).sum()), abs=1e-5)
    # what does not read rep(s) is unchanged
    for name in ("lcil", "softmin", "random"):
        np.testing.assert_array_equal(tables[name].score, pool[name].score)
    np.testing.assert_array_equal(tables["sim"].dominant, pool["sim"].dominant)


def test_pool_is_the_default_and_unchanged(case):
    probs, labels, sp = case
    default = score_superpixels_many(probs, labels, sp, seed=4, image_id="img")
    explicit = score_superpixels_many(probs, labels, sp, seed=4, image_id="img", representative="pool")
    for name in ACQS:
        assert default[name].equals(explicit[name])


def test_random_representative_same_with_torch_backend(case):
    torch = pytest.importorskip("torch")
    probs, labels, sp = case
    ref = _random(probs, labels, sp, seed=9)
    tensors = [torch.from_numpy(a) for a in (probs, labels, sp)]
    got = _random(*tensors, seed=9, backend="torch")
    for name in ACQS:
        assert _reps(got[name]) == _reps(ref[name])
        np.testing.assert_allclose(got[name].score, ref[name].score, rtol=1e-6, atol=1e-6)


def test_unknown_representative_names_the_choices(case):
    probs, labels, sp = case
    with pytest.raises(InvalidInput, match=r"unknown representative 'median'; choose one of: pool, random"):
        score_superpixels(probs, labels, sp, representative="median")
