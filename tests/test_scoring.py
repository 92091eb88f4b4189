"""Tests for alc_data.scoring: the pool, the acquisitions, the score table and select_top.

The vectorised scorer is checked against a slow reference written straight from docs/method.md (plain
Python loops over superpixels and pixels), on random inputs and on inputs built to have ties.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlcError
from alc_data.scoring import ACQUISITIONS, ScoreTable, score_superpixels, select_top
from alc_data.scoring import select as select_module
from alc_data.scoring.acquisitions import ALL_VOID_SCORE, SOFTMIN_TEMPERATURE
from alc_data.scoring.pool import COS_EPS
from alc_data.scoring.score import score_superpixels_many

# -------------------------------------------------------------------------------------------------
# slow reference, one superpixel and one pixel at a time
# -------------------------------------------------------------------------------------------------


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    dot = sum(float(a[k]) * float(b[k]) for k in range(len(a)))
    na = math.sqrt(sum(float(v) * float(v) for v in a))
    nb = math.sqrt(sum(float(v) * float(v) for v in b))
    return dot / (max(na, COS_EPS) * max(nb, COS_EPS))


def reference_scores(probs: np.ndarray, labels: np.ndarray, superpixels: np.ndarray) -> dict:
    """{superpixel id: row} computed from the equations, in float64."""
    f = np.asarray(probs, dtype=np.float64)
    K, H, W = f.shape
    rows = {}
    for sid in sorted({int(v) for v in superpixels.ravel()}):
        if sid < 0:
            continue
        pixels = [(r, c) for r in range(H) for c in range(W) if superpixels[r, c] == sid]
        # pred(x) = argmax_k f(x)[k], ties to the smallest k
        pred = {p: max(range(K), key=lambda k, p=p: (f[k, p[0], p[1]], -k)) for p in pixels}
        # dom(s) = most frequent pred, ties to the smallest class
        votes = [sum(1 for p in pixels if pred[p] == k) for k in range(K)]
        dom = max(range(K), key=lambda k: (votes[k], -k))
        s_prime = [p for p in pixels if pred[p] == dom]
        m = sum(f[:, r, c] for r, c in s_prime) / len(s_prime)
        # rep(s) = argmax over s' of cos(f(x), m), ties to the first pixel in row-major order
        rep, best = None, -math.inf
        for r, c in s_prime:
            v = _cos(f[:, r, c], m)
            if v > best:
                rep, best = (r, c), v

        def u(p, pred=pred):
            y = int(labels[p])
            y = pred[p] if y == IGNORE_INDEX else y
            return 1.0 - f[y, p[0], p[1]]

        frep = f[:, rep[0], rep[1]]
        # baselines
        p_rep = sorted(frep.tolist(), reverse=True) + [0.0]
        entropy = -sum(p * math.log(p) for p in frep if p > 0)
        conf = [f[int(labels[p]), p[0], p[1]] for p in pixels if labels[p] != IGNORE_INDEX]
        if conf:
            w = [math.exp(-c / SOFTMIN_TEMPERATURE) for c in conf]
            softmin = 1.0 - sum(c * wi for c, wi in zip(conf, w)) / sum(w)
        else:
            softmin = ALL_VOID_SCORE
        rows[sid] = {
            "rep": rep,
            "dominant": dom,
            "area": len(pixels),
            "label_at_rep": int(labels[rep]),
            "cil": u(rep),
            "lcil": sum(u(p) for p in pixels) / len(pixels),
            "sim": sum(_cos(frep, f[:, r, c]) * u((r, c)) for r, c in pixels),
            "entropy": entropy,
            "margin": 1.0 - (p_rep[0] - p_rep[1]),
            "softmin": softmin,
        }
    return rows


# -------------------------------------------------------------------------------------------------
# inputs
# -------------------------------------------------------------------------------------------------


def random_case(seed: int, K: int, H: int = 17, W: int = 23, n_sp: int = 20, dtype=np.float32):
    """Random probs (K, H, W), labels (H, W) uint8 with ~15 % void, superpixels (H, W) int32.

    Superpixels: blocky with scattered pixels, non-contiguous ids, ~10 % negative ids.
    """
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(K, H, W)) * 2.0
    probs = np.exp(logits - logits.max(0))
    probs = (probs / probs.sum(0)).astype(dtype)
    labels = rng.integers(0, K, size=(H, W)).astype(np.uint8)
    labels[rng.random((H, W)) < 0.15] = IGNORE_INDEX
    side = max(1, int(round(math.sqrt(H * W / n_sp))))
    rows, cols = np.mgrid[0:H, 0:W]
    blocks = (rows // side) * (W // side + 1) + cols // side
    scattered = rng.random((H, W)) < 0.2
    blocks[scattered] = rng.integers(0, blocks.max() + 1, size=int(scattered.sum()))
    sp = (blocks * 3 + 5).astype(np.int32)
    sp[rng.random((H, W)) < 0.06] = -1
    sp[rng.random((H, W)) < 0.04] = -7
    return probs, labels, sp


def tie_case(seed: int, K: int = 4, H: int = 12, W: int = 16):
    """Inputs whose probabilities come from a few dyadic prototypes: many exact ties.

    Duplicated vectors tie on cos(f(x), m) (first pixel in row-major order must win); prototypes
    with two equal top classes test pred's tie rule; 2x4 superpixels with a 4/4 split of preds test
    dom's tie rule.
    """
    rng = np.random.default_rng(seed)
    protos = np.array(
        [
            [0.5, 0.25, 0.125, 0.125],
            [0.125, 0.5, 0.25, 0.125],
            [0.375, 0.375, 0.125, 0.125],  # pred tie: 0
            [0.125, 0.375, 0.375, 0.125],  # pred tie: 1
            [0.0625, 0.0625, 0.125, 0.75],
            [0.25, 0.25, 0.25, 0.25],  # all tie: 0
        ]
    )[:, :K]
    protos = protos / protos.sum(1, keepdims=True)
    rows, cols = np.mgrid[0:H, 0:W]
    sp = ((rows // 2) * (W // 4) + cols // 4).astype(np.int32)  # 2x4 blocks of 8 pixels
    choice = rng.integers(0, len(protos), size=(H, W))
    # every third block: a 4/4 split between prototypes 1 (pred 1) and 0 (pred 0) -> dom 0, or
    # between 4 (pred 3) and 1 (pred 1) -> dom 1
    for b in range(0, int(sp.max()) + 1, 3):
        where = np.argwhere(sp == b)
        a, c = (0, 1) if b % 2 else (4, 1)
        halves = rng.permutation(len(where))
        for i, (r, cc) in enumerate(where):
            choice[r, cc] = a if halves[i] < 4 else c
    probs = protos[choice].transpose(2, 0, 1).astype(np.float32)
    labels = rng.integers(0, K, size=(H, W)).astype(np.uint8)
    labels[rng.random((H, W)) < 0.2] = IGNORE_INDEX
    return probs, labels, sp


def assert_matches_reference(table: ScoreTable, ref: dict, acquisition: str, tol: float) -> None:
    assert table.superpixel_id.tolist() == sorted(ref)
    got_rep = list(zip(table.rep_row.tolist(), table.rep_col.tolist()))
    assert got_rep == [ref[s]["rep"] for s in sorted(ref)]
    assert table.dominant.tolist() == [ref[s]["dominant"] for s in sorted(ref)]
    assert table.area.tolist() == [ref[s]["area"] for s in sorted(ref)]
    assert table.label_at_rep.tolist() == [ref[s]["label_at_rep"] for s in sorted(ref)]
    expected = np.array([ref[s][acquisition] for s in sorted(ref)])
    np.testing.assert_allclose(table.score, expected, rtol=tol, atol=tol)


# -------------------------------------------------------------------------------------------------
# against the reference
# -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("K", [3, 21])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_reference_on_random_inputs(seed, K, dtype):
    probs, labels, sp = random_case(seed, K, dtype=dtype)
    ref = reference_scores(probs, labels, sp)
    tables = score_superpixels_many(probs, labels, sp, image_id="img")
    for acq in ("cil", "lcil", "sim", "entropy", "margin", "softmin"):
        assert_matches_reference(tables[acq], ref, acq, tol=1e-5)
        assert (tables[acq].image_id == "img").all()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_matches_reference_with_ties(seed):
    probs, labels, sp = tie_case(seed)
    ref = reference_scores(probs, labels, sp)
    for acq in ("cil", "lcil", "sim"):
        table = score_superpixels(probs, labels, sp, acquisition=acq)
        assert_matches_reference(table, ref, acq, tol=1e-5)


def test_tie_rules_by_hand():
    # one superpixel of 2x2 identical vectors with a pred tie between classes 1 and 2; one of a
    # 2/2 split between classes 2 and 0
    p = np.zeros((3, 2, 4), dtype=np.float32)
    p[:, :, :2] = np.array([0.2, 0.4, 0.4])[:, None, None]
    p[:, 0, 2:] = np.array([0.1, 0.2, 0.7])[:, None]  # pred 2
    p[:, 1, 2:] = np.array([0.6, 0.3, 0.1])[:, None]  # pred 0
    sp = np.array([[0, 0, 1, 1], [0, 0, 1, 1]])
    labels = np.array([[1, 2, 0, 0], [IGNORE_INDEX, 1, 1, 0]], dtype=np.uint8)
    t = score_superpixels(p, labels, sp, acquisition="cil")
    assert t.dominant.tolist() == [1, 0]  # pred tie -> 1 everywhere; vote tie 2 vs 0 -> 0
    assert list(zip(t.rep_row, t.rep_col)) == [(0, 0), (1, 2)]  # first pixel in row-major order
    assert t.label_at_rep.tolist() == [1, 1]
    np.testing.assert_allclose(t.score, [1 - 0.4, 1 - 0.3], atol=1e-7)


# -------------------------------------------------------------------------------------------------
# the method does what it is for
# -------------------------------------------------------------------------------------------------


def test_sim_ranks_a_planted_wrong_region_first():
    K, H, W = 3, 20, 20
    rng = np.random.default_rng(7)
    tables = []
    for image_id in ("a", "b", "c"):
        truth = np.zeros((H, W), dtype=np.uint8)
        truth[:, 10:] = 1
        truth[12:, :6] = 2
        probs = np.full((K, H, W), 0.05, dtype=np.float32)
        np.put_along_axis(probs, truth[None].astype(np.int64), 0.9, axis=0)
        probs += rng.uniform(0, 0.02, size=probs.shape).astype(np.float32)
        probs /= probs.sum(0)
        labels = truth.copy()
        rows, cols = np.mgrid[0:H, 0:W]
        sp = ((rows // 5) * 4 + cols // 5).astype(np.int32)  # 16 blocks of 5x5
        # a few scattered single-pixel label errors everywhere
        noise = rng.random((H, W)) < 0.03
        labels[noise] = (labels[noise] + 1) % K
        if image_id == "b":
            sp[2:12, 10:20] = 99  # one large superpixel, model confident of class 1 ...
            labels[2:12, 10:20] = 0  # ... labelled 0: wrong
        tables.append(score_superpixels(probs, labels, sp, image_id=image_id))
    top = select_top(tables, 1)
    assert (top.image_id[0], int(top.superpixel_id[0])) == ("b", 99)
    assert top.label_at_rep[0] == 0 and top.dominant[0] == 1


# -------------------------------------------------------------------------------------------------
# contract, for every registered acquisition
# -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def contract_case():
    probs, labels, sp = random_case(11, 5, H=19, W=21, n_sp=25)
    sp[:3, :3] = 1000  # a superpixel whose labels are all void
    labels[:3, :3] = IGNORE_INDEX
    return probs, labels, sp


@pytest.mark.parametrize("name", ACQUISITIONS.names())
def test_acquisition_contract(name, contract_case):
    probs, labels, sp = contract_case
    t = score_superpixels(probs, labels, sp, acquisition=name, image_id="x", seed=3)
    ids = np.unique(sp[sp >= 0])
    assert len(t) == len(ids) and t.superpixel_id.tolist() == ids.tolist()
    assert t.superpixel_id.dtype == np.int32 and t.rep_row.dtype == np.int32
    assert t.label_at_rep.dtype == np.uint8 and t.dominant.dtype == np.uint8
    assert t.area.dtype == np.int64 and t.score.dtype == np.float64
    assert np.isfinite(t.score).all()
    assert (sp[t.rep_row, t.rep_col] == t.superpixel_id).all()  # rep lies in its superpixel
    assert (labels[t.rep_row, t.rep_col] == t.label_at_rep).all()
    assert (t.area == np.array([(sp == i).sum() for i in ids])).all()
    assert (t.dominant < probs.shape[0]).all()
    again = score_superpixels(probs, labels, sp, acquisition=name, image_id="x", seed=3)
    assert t.equals(again)  # deterministic


def test_score_many_equals_single_calls(contract_case):
    probs, labels, sp = contract_case
    many = score_superpixels_many(probs, labels, sp, image_id="x")
    assert sorted(many) == ACQUISITIONS.names()
    for name, table in many.items():
        assert table.equals(score_superpixels(probs, labels, sp, acquisition=name, image_id="x"))


def test_softmin_all_void_superpixel_comes_last(contract_case):
    probs, labels, sp = contract_case
    t = score_superpixels(probs, labels, sp, acquisition="softmin")
    assert t.score[t.superpixel_id == 1000][0] == ALL_VOID_SCORE == t.score.min()
    assert ((t.score[t.superpixel_id != 1000] >= 0) & (t.score[t.superpixel_id != 1000] <= 1)).all()


def test_random_is_seeded_by_seed_and_image(contract_case):
    probs, labels, sp = contract_case

    def scores(seed, image_id):
        t = score_superpixels(probs, labels, sp, acquisition="random", seed=seed, image_id=image_id)
        return t.score

    a = scores(1, "a")
    assert np.array_equal(a, scores(1, "a"))
    assert not np.array_equal(a, scores(2, "a"))
    assert not np.array_equal(a, scores(1, "b"))


def test_no_candidate_gives_an_empty_table():
    probs, labels, _ = random_case(0, 3)
    t = score_superpixels(probs, labels, np.full(labels.shape, -1))
    assert len(t) == 0 and t.score.dtype == np.float64


def test_large_sparse_ids_and_wide_ids():
    probs, labels, sp = random_case(4, 3)
    for big in (40_000, 3_000_000):  # uint16 radix path, and the general sort
        remapped = np.where(sp >= 0, sp + big, sp)
        t = score_superpixels(probs, labels, remapped, acquisition="sim")
        base = score_superpixels(probs, labels, sp, acquisition="sim")
        assert (t.superpixel_id == base.superpixel_id + big).all()
        np.testing.assert_array_equal(t.score, base.score)


# -------------------------------------------------------------------------------------------------
# torch inputs
# -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ACQUISITIONS.names())
def test_torch_path_matches_numpy(name):
    torch = pytest.importorskip("torch")
    for probs, labels, sp in (random_case(5, 6, n_sp=15), tie_case(1)):
        ref = score_superpixels(probs, labels, sp, acquisition=name, image_id="t")
        tensors = [torch.from_numpy(a) for a in (probs, labels, sp)]
        forced = score_superpixels(*tensors, acquisition=name, image_id="t", backend="torch")
        for col in ref.columns:
            if col == "score":
                np.testing.assert_allclose(forced.score, ref.score, rtol=1e-6, atol=1e-6)
            else:
                np.testing.assert_array_equal(forced[col], ref[col])
        auto = score_superpixels(*tensors, acquisition=name, image_id="t")  # CPU: numpy path
        assert auto.equals(ref)
    none = torch.full(tuple(sp.shape), -1)
    assert len(score_superpixels(*tensors[:2], none, acquisition=name, backend="torch")) == 0


def test_torch_path_checks_inputs():
    torch = pytest.importorskip("torch")
    probs, labels, sp = random_case(0, 3)
    labels[0, 0] = 9
    with pytest.raises(AlcError, match="value 9 on 1 pixel"):
        score_superpixels(torch.from_numpy(probs), torch.from_numpy(labels), torch.from_numpy(sp),
                          backend="torch")


# -------------------------------------------------------------------------------------------------
# bad inputs
# -------------------------------------------------------------------------------------------------


def test_bad_inputs_raise_alc_error():
    probs, labels, sp = random_case(0, 4, H=10, W=12)
    with pytest.raises(AlcError, match=r"probs has shape \(4, 10, 12\) but labels has \(10, 11\)"):
        score_superpixels(probs, labels[:, :11], sp)
    with pytest.raises(AlcError, match=r"but superpixels has \(9, 12\)"):
        score_superpixels(probs, labels, sp[:9])
    with pytest.raises(AlcError, match="3-D"):
        score_superpixels(probs[0], labels, sp)
    bad = labels.copy()
    bad[:2, :3] = 7
    bad[5, 5] = 200
    with pytest.raises(AlcError, match=r"value 7 on 6 pixels \(and 1 other"):
        score_superpixels(probs, bad, sp)
    with pytest.raises(AlcError, match="choose one of: a2lc, cil, entropy, lcil"):
        score_superpixels(probs, labels, sp, acquisition="nope")
    with pytest.raises(AlcError, match="integers"):
        score_superpixels(probs, labels.astype(np.float32), sp)
    with pytest.raises(AlcError, match="floating point"):
        score_superpixels((probs * 100).astype(np.int64), labels, sp)
    nan = probs.copy()
    nan[:, 3, 4] = np.nan
    with pytest.raises(AlcError, match="NaN or inf at 1 candidate pixel"):
        score_superpixels(nan, labels, np.zeros_like(sp))
    with pytest.raises(AlcError, match="seed"):
        score_superpixels(probs, labels, sp, seed=-1)
    with pytest.raises(AlcError, match="backend"):
        score_superpixels(probs, labels, sp, backend="jax")


# -------------------------------------------------------------------------------------------------
# select_top
# -------------------------------------------------------------------------------------------------


def _table(image_id: str, ids, scores) -> ScoreTable:
    n = len(ids)
    return ScoreTable(
        image_id=image_id,
        superpixel_id=np.asarray(ids),
        rep_row=np.zeros(n),
        rep_col=np.zeros(n),
        label_at_rep=np.zeros(n),
        dominant=np.zeros(n),
        area=np.ones(n),
        score=np.asarray(scores, dtype=float),
    )


def _pairs(t: ScoreTable) -> list:
    return list(zip(t.image_id.tolist(), t.superpixel_id.tolist()))


def test_select_top_is_global_and_ties_are_deterministic():
    a = _table("a", [3, 1, 2], [0.5, 0.9, 0.5])
    b = _table("b", [1, 0], [0.5, 0.95])
    top = select_top([a, b], 4)
    assert _pairs(top) == [("b", 0), ("a", 1), ("a", 2), ("a", 3)]
    assert _pairs(select_top([b, a], 4)) == _pairs(top)
    shuffled = ScoreTable.concat([a, b]).take(np.array([4, 2, 0, 3, 1]))
    assert _pairs(select_top(shuffled, 5)) == _pairs(top) + [("b", 1)]


def test_select_top_exclude():
    a = _table("a", [0, 1, 2], [0.9, 0.8, 0.1])
    b = _table("b", [0, 1], [0.85, 0.2])
    top = select_top([a, b], 2, exclude={("a", 0), ("b", 0), ("zzz", 5)})
    assert _pairs(top) == [("a", 1), ("b", 1)]
    top = select_top([a, b], 1, exclude=select_top([a, b], 2))
    assert _pairs(top) == [("a", 1)]
    with pytest.raises(AlcError, match="budget 3 exceeds the 2 candidates left; lower --budget"):
        select_top([a, b], 3, exclude=[("a", 0), ("a", 1), ("b", 0)])


def test_select_top_budget_checks():
    a = _table("a", [0, 1], [0.9, 0.8])
    with pytest.raises(AlcError, match="budget 3 exceeds the 2 candidates left"):
        select_top(a, 3)
    for bad in (0, -2):
        with pytest.raises(AlcError, match="positive"):
            select_top(a, bad)
    with pytest.raises(AlcError, match="budget 1 exceeds the 0 candidates left"):
        select_top([], 1)


def test_select_top_streams_in_bounded_buffers(monkeypatch):
    rng = np.random.default_rng(0)
    tables = [
        _table(f"img{i:03d}", np.arange(30), rng.integers(0, 5, 30) / 4) for i in range(40)
    ]
    expected = select_top(ScoreTable.concat(tables), 25)
    monkeypatch.setattr(select_module, "_MIN_BUFFER_ROWS", 10)
    got = select_top(iter(tables), 25)  # cut back to the running top-25 every ~100 rows
    assert got.equals(expected)


# -------------------------------------------------------------------------------------------------
# the table
# -------------------------------------------------------------------------------------------------


def test_table_access_concat_and_parquet_round_trip(tmp_path):
    probs, labels, sp = random_case(3, 4)
    t1 = score_superpixels(probs, labels, sp, image_id="one")
    t2 = score_superpixels(probs, labels, sp, acquisition="cil", image_id="two")
    assert t1["score"] is t1.score and len(t1) == len(t1.superpixel_id)
    both = ScoreTable.concat([t1, t2])
    assert len(both) == len(t1) + len(t2)
    assert both.image_id.tolist() == ["one"] * len(t1) + ["two"] * len(t2)
    path = tmp_path / "round" / "scores.parquet"
    both.to_parquet(path)
    back = ScoreTable.from_parquet(path)
    assert back.equals(both)
    assert back.score.dtype == np.float64 and back.label_at_rep.dtype == np.uint8
    assert list(path.parent.iterdir()) == [path]  # no temp file left behind
    with pytest.raises(AlcError, match="not found"):
        ScoreTable.from_parquet(tmp_path / "missing.parquet")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"image_id": ["x"]}), tmp_path / "other.parquet")
    with pytest.raises(AlcError, match="missing column"):
        ScoreTable.from_parquet(tmp_path / "other.parquet")
    with pytest.raises(AlcError, match="rows"):
        ScoreTable(**{**t1.to_dict(), "score": t1.score[:-1]})
    with pytest.raises(KeyError):
        t1["nope"]
