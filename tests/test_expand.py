"""Expansion modes: superpixel (the paper's), label (only the rejected label's pixels), pixel."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from alc_data.constants import IGNORE_INDEX
from alc_data.correction import expand_answers, rebuild_version
from alc_data.stages.correct import correct_round
from alc_data.errors import AlcError, InvalidInput
from alc_data.ingest.base import DatasetSource, IngestItem, ingest
from alc_data.score_round import asked_before
from alc_data.scoring import ScoreTable
from alc_data.queries import create_round
from alc_data.workspace import ClassInfo
from cli_helpers import run_cli

V = IGNORE_INDEX
# An 6x8 image. Superpixel 0 (rows 0-3) spans two true classes: class 1 on the left, class 2 on
# the right. Its left half carries the wrong label 3, its right half the right label 2.
# Superpixel 1 (rows 4-5): the left half is void in the labels (true class 1), the right half is
# labelled 2 and right.
GT = np.array([[1] * 4 + [2] * 4] * 6, np.uint8)
NOISY = np.array([[3] * 4 + [2] * 4] * 4 + [[V] * 4 + [2] * 4] * 2, np.uint8)
SP = np.array([[0] * 8] * 4 + [[1] * 8] * 2, np.int32)
REPS = [(0, 1, 1), (1, 5, 0)]  # (superpixel, row, col): the representatives show 3 and void


def _png(image):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def planted_ws(tmp_path):
    classes = [ClassInfo(i, n, (40 * i, 60, 200 - 40 * i)) for i, n in enumerate(["bg", "person", "pole", "car"])]

    def items():
        yield IngestItem("img0", Path("img0.png"), ("train",), gt=GT, labels=NOISY, superpixels=SP,
                         image_bytes=_png(np.zeros((6, 8, 3), np.uint8)))

    ws = ingest(tmp_path / "ws", DatasetSource("planted", classes, items, 1), superpixel_set="sp")
    return ws


def _ask(ws, version="v0"):
    rows = [dict(image_id="img0", superpixel_id=s, rep_row=r, rep_col=c, label_at_rep=NOISY[r, c], dominant=0,
                 area=int((SP == s).sum()), score=1.0 - s) for s, r, c in REPS]
    table = ScoreTable(**{k: np.array([row[k] for row in rows]) for k in rows[0]})
    return create_round(ws, table, label_version=version, superpixel_set="sp", acquisition="sim", budget=2)


EXPECTED = {
    # label: the rejected label's pixels (3 in superpixel 0, void in superpixel 1) take the answer 1
    "label": GT,
    # superpixel: the right halves, labelled correctly, are overwritten with 1 too
    "superpixel": np.ones_like(GT),
    # pixel: only the two asked pixels change
    "pixel": np.where((np.arange(48).reshape(6, 8) == 1 * 8 + 1) | (np.arange(48).reshape(6, 8) == 5 * 8), 1, NOISY),
}


@pytest.mark.parametrize("mode", ["label", "superpixel", "pixel"])
def test_expand_answers_modes_on_a_region_spanning_two_classes(mode):
    corrections = [(10 + s, s, 1, r, c) for s, r, c in REPS]
    out, changes = expand_answers(NOISY, SP, corrections, mode=mode)
    np.testing.assert_array_equal(out, EXPECTED[mode])
    pixels = {c.query_id: (c.old_class, c.pixels) for c in changes}
    if mode == "label":
        assert pixels == {10: (3, 16), 11: (V, 8)}
        assert (out[NOISY == 2] == 2).all()  # no right label was touched
    elif mode == "superpixel":
        assert {q: n for q, (_old, n) in pixels.items()} == {10: 32, 11: 16}
        assert (out[:, 4:] == 1).all()  # the right labels were overwritten
    else:
        assert pixels == {10: (3, 1), 11: (V, 1)}


def test_expand_label_with_tau_needs_both_conditions():
    probs = np.zeros((4, 6, 8), np.float32)
    probs[1] = 1.0
    probs[:, 0, 0] = (0, 0, 0, 1.0)  # a pixel labelled 3 whose prediction differs from the representative's
    probs[:, 0, 7] = (0, 1.0, 0, 0)  # a pixel labelled 2 that looks like the representative
    out, _ = expand_answers(NOISY, SP, [(1, 0, 1, 1, 1)], mode="label", tau=0.5, probs=probs)
    assert out[0, 0] == 3  # same label, dissimilar prediction: kept
    assert out[0, 7] == 2  # similar prediction, another label: kept
    assert (out[:4, :4][np.arange(4)[:, None] * 4 + np.arange(4) != 0] == 1).all()
    with pytest.raises(InvalidInput, match="unknown expansion 'region'"):
        expand_answers(NOISY, SP, [(1, 0, 1, 1, 1)], mode="region")


@pytest.mark.parametrize("mode", ["label", "superpixel", "pixel"])
def test_correct_round_stores_the_mode_and_rebuild_reproduces_it(planted_ws, mode):
    ws = planted_ws
    rnd = _ask(ws)
    res = correct_round(ws, round_no=rnd, oracle="gt", expand=mode)
    assert res.applied is not None and res.applied.expand == mode and res.applied.corrected == 2
    np.testing.assert_array_equal(ws.labels.read_label("v1", "img0"), EXPECTED[mode])
    assert ws.labels.version("v1").params["expand"] == mode
    (image_id, rebuilt), = list(rebuild_version(ws, "v1"))
    np.testing.assert_array_equal(rebuilt, EXPECTED[mode])
    # a superpixel asked in any mode counts as asked: the next round skips it
    assert asked_before(ws, "sp") == {("img0", 0), ("img0", 1)}


def test_label_beats_superpixel_on_the_planted_region(planted_ws, tmp_path):
    """The same answers, applied both ways from the same parent: label mode fixes the wrong pixels
    and keeps the right ones; superpixel mode overwrites the right ones."""
    ws = planted_ws
    rnd = _ask(ws)
    correct_round(ws, round_no=rnd, oracle="gt", expand="label")
    label = ws.labels.read_label("v1", "img0")
    wrong, right = NOISY != GT, NOISY == GT
    assert (label[wrong] == GT[wrong]).all() and (label[right] == NOISY[right]).all()
    whole, _ = expand_answers(NOISY, SP, [(1, s, 1, r, c) for s, r, c in REPS], mode="superpixel")
    assert (whole[right] != GT[right]).sum() == right.sum() > 0


def test_region_majority_oracle_combines_with_label_mode(planted_ws):
    ws = planted_ws
    rnd = _ask(ws)
    res = correct_round(ws, round_no=rnd, oracle="gt", oracle_mode="region-majority", expand="label")
    # superpixel 0 agrees with the ground truth on half of its pixels: corrected; 1 likewise
    assert res.applied is not None and res.applied.corrected == 2
    np.testing.assert_array_equal(ws.labels.read_label("v1", "img0"), GT)


def test_cli_expand_option_and_bad_value(planted_ws, capsys):
    ws = planted_ws
    _ask(ws)
    code, out, err = run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt", "--expand", "sideways")
    assert code == 2 and "unknown expansion 'sideways'" in err and len(err.strip().splitlines()) == 1
    assert all(ws.ledger.answers(r.round) == {} for r in ws.ledger.rounds())  # nothing recorded
    code, out, err = run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt", "--expand", "label", "--json")
    assert code == 0, err
    assert json.loads(out)["applied"]["expand"] == "label"
    np.testing.assert_array_equal(ws.labels.read_label("v1", "img0"), GT)


def test_recipe_expand_key_is_checked():
    from alc_data.loop import Recipe

    assert Recipe.from_dict({"loop": {"expand": "label"}}).loop.expand == "label"
    with pytest.raises(AlcError, match="loop.expand = 'all'"):
        Recipe.from_dict({"loop": {"expand": "all"}})


def test_one_default_expansion_everywhere():
    from alc_data.correction.expand import DEFAULT_EXPANSION
    from alc_data.loop import Recipe, load_recipe

    assert Recipe.from_dict({}).loop.expand == DEFAULT_EXPANSION
    assert load_recipe("demo")["loop"]["expand"] == DEFAULT_EXPANSION  # from recipes/base.toml
