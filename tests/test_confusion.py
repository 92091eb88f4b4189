"""One ground-truth confusion accumulator behind data mIoU, model mIoU and the publish statistics."""

from __future__ import annotations

import numpy as np
import pytest

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlcError
from alc_data.evaluate.metrics import GroundTruthConfusion, confusion_matrix, scores


def test_accumulator_sums_images_and_counts_skipped_pixels():
    gt = [np.array([[0, 1], [1, 2]], np.uint8), np.array([[2, 2, IGNORE_INDEX]], np.uint8)]
    labels = [np.array([[0, 1], [2, 2]], np.uint8), np.array([[IGNORE_INDEX, 2, 1]], np.uint8)]
    acc = GroundTruthConfusion(3)
    for lab, g in zip(labels, gt):
        acc.add(lab, g)
    expected = confusion_matrix(labels[0], gt[0], 3) + confusion_matrix(labels[1], gt[1], 3)
    np.testing.assert_array_equal(acc.matrix, expected)
    assert acc.images == 2 and acc.pixels == 7
    assert acc.scores() == scores(expected, total_pixels=7)
    assert acc.scores()["coverage"] == pytest.approx(5 / 7)  # the two pixels either side marks 255
    with pytest.raises(AlcError, match="labels of 'x' has shape \\(2, 2\\), ground truth \\(1, 3\\)"):
        acc.add(labels[0], gt[1], "labels of 'x'")


def test_evaluation_and_publish_use_the_shared_accumulator():
    import inspect

    import alc_data.evaluate.evaluate as evaluate
    import alc_data.publish.build as build

    for module in (evaluate, build):
        source = inspect.getsource(module)
        assert "GroundTruthConfusion(" in source and "confusion_matrix(" not in source, module.__name__
