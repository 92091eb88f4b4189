"""Painting masks into label and instance maps: smallest on top, classes, background, ids."""

from __future__ import annotations

import numpy as np
import pytest

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlcError
from alc_data.foundation.paint import compact_ids, paint_masks, paint_regions, winning_mask


def _box(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_small_mask_on_top_whatever_the_input_order():
    big = _box(10, 10, 0, 10, 0, 10)
    small = _box(10, 10, 2, 5, 2, 5)
    for masks, classes in (([big, small], [3, 7]), ([small, big], [7, 3])):
        labels, inst, src = paint_masks(np.stack(masks), np.array(classes), background=0)
        assert labels.dtype == np.uint8 and inst.dtype == np.int32
        assert (labels[2:5, 2:5] == 7).all()
        assert (labels[small == 0] == 3).all()
        # instance ids follow input order; sources map them back to the masks
        assert set(np.unique(inst)) == {0, 1}
        assert np.asarray(classes)[src][inst[3, 3]] == 7
        assert np.asarray(classes)[src][inst[8, 8]] == 3


def test_uncovered_pixels_background_or_void_and_instances_minus_one():
    m = _box(6, 6, 0, 3, 0, 3)[None]
    labels, inst, _ = paint_masks(m, np.array([2]), background=0)
    assert (labels[3:, :] == 0).all() and (inst[3:, :] == -1).all() and (inst[:3, :3] == 0).all()
    labels, _, _ = paint_masks(m, np.array([2]), background=IGNORE_INDEX)
    assert (labels[3:, :] == IGNORE_INDEX).all() and (labels[:3, :3] == 2).all()


def test_fully_hidden_mask_gets_no_instance_id():
    a = _box(8, 8, 0, 4, 0, 4)
    b = _box(8, 8, 4, 8, 4, 8)
    hidden = _box(8, 8, 0, 4, 0, 4)  # same area as a, lower score: a wins everywhere
    labels, inst, src = paint_masks(np.stack([a, hidden, b]), np.array([1, 2, 3]), scores=np.array([0.9, 0.5, 0.8]))
    assert (labels[:4, :4] == 1).all()
    assert sorted(np.unique(inst[inst >= 0])) == [0, 1]  # compact: hidden mask dropped
    assert list(src) == [0, 2]
    # higher score wins the tie when it is given to the other mask
    labels, _, _ = paint_masks(np.stack([a, hidden, b]), np.array([1, 2, 3]), scores=np.array([0.1, 0.5, 0.8]))
    assert (labels[:4, :4] == 2).all()


def test_winning_mask_no_masks_and_empty_ids():
    assert (winning_mask(np.zeros((0, 3, 4), bool)) == -1).all()
    out, kept = compact_ids(np.full((2, 2), -1))
    assert (out == -1).all() and kept.size == 0
    out, kept = compact_ids(np.array([[5, -1], [9, 5]]))
    assert out.tolist() == [[0, -1], [1, 0]] and kept.tolist() == [5, 9]


def test_paint_regions_large_to_small():
    big = _box(10, 10, 0, 10, 0, 10)
    mid = _box(10, 10, 0, 6, 0, 6)
    small = _box(10, 10, 1, 3, 1, 3)
    sp = paint_regions(np.stack([small, big, mid]))
    assert sp[2, 2] == 0 and sp[4, 4] == 2 and sp[9, 9] == 1


def test_bad_inputs_raise_alc_error():
    with pytest.raises(AlcError, match="masks must be"):
        paint_masks(np.zeros((3, 3), bool), np.array([1]))
    with pytest.raises(AlcError, match="one class per mask"):
        paint_masks(np.zeros((2, 3, 3), bool), np.array([1]))
    with pytest.raises(AlcError, match="mask classes"):
        paint_masks(np.zeros((1, 3, 3), bool), np.array([IGNORE_INDEX]))
