"""Evaluation: exact confusion matrices and mIoU on hand-made maps, with IGNORE_INDEX on either side."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import invoke

from alc_data.constants import IGNORE_INDEX as V
from alc_data.errors import AlcError
from alc_data.evaluate import confusion_matrix, data_miou, iou_per_class, model_miou, scores

GT1 = np.array([[0, 0, 1], [1, 2, V]], dtype=np.uint8)
LAB1 = np.array([[0, 1, 1], [V, 2, 2]], dtype=np.uint8)
GT2 = np.array([[3, 3], [0, V]], dtype=np.uint8)
LAB2 = np.array([[3, 0], [0, 0]], dtype=np.uint8)


def test_confusion_matrix_skips_ignore_on_either_side():
    cm = confusion_matrix(LAB1, GT1, 3)
    expected = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]])  # rows: ground truth, columns: prediction
    assert cm.dtype == np.int64 and np.array_equal(cm, expected)
    res = scores(cm, total_pixels=GT1.size)
    assert res["per_class"] == [50.0, 50.0, 100.0]
    assert res["miou"] == pytest.approx(66.6667, abs=1e-4)
    assert res["pixel_accuracy"] == 75.0
    assert res["coverage"] == pytest.approx(4 / 6, abs=1e-6) and res["skipped"] == pytest.approx(2 / 6, abs=1e-6)
    assert res["evaluated_pixels"] == 4 and res["pixels"] == 6


def test_confusion_matrix_torch_matches_numpy():
    torch = pytest.importorskip("torch")
    cm = confusion_matrix(torch.from_numpy(LAB1), torch.from_numpy(GT1), 3)
    assert np.array_equal(cm, confusion_matrix(LAB1, GT1, 3))


def test_absent_classes_and_bad_values():
    cm = confusion_matrix(LAB1, GT1, 5)  # classes 3 and 4 appear on neither side
    iou = iou_per_class(cm)
    assert np.isnan(iou[3]) and np.isnan(iou[4])
    res = scores(cm)
    assert res["per_class"][3:] == [None, None] and res["miou"] == pytest.approx(66.6667, abs=1e-4)
    assert res["coverage"] == 1.0
    assert scores(np.zeros((2, 2), dtype=np.int64), total_pixels=4)["miou"] is None
    with pytest.raises(AlcError, match="class value 7 is outside 0..2"):
        confusion_matrix(np.array([7]), np.array([0]), 3)
    with pytest.raises(AlcError, match="shape"):
        confusion_matrix(np.zeros((2, 2)), np.zeros((2, 3)), 3)


def hand_workspace(root: Path, *, with_gt: bool = True):
    """Two tiny images: 2×3 (train) and 2×2 (val), 4 classes, the maps above."""
    from PIL import Image

    from alc_data.ingest.base import DatasetSource, IngestItem, ingest
    from alc_data.workspace import ClassInfo

    def items():
        for name, split, gt, lab in (("a", "train", GT1, LAB1), ("b", "val", GT2, LAB2)):
            buf = io.BytesIO()
            Image.fromarray(np.full((*gt.shape, 3), 128, dtype=np.uint8)).save(buf, format="PNG")
            yield IngestItem(image_id=name, image_path=Path(f"{name}.png"), splits=(split,),
                             gt=gt if with_gt else None, labels=lab, image_bytes=buf.getvalue())

    classes = [ClassInfo(i, n, (40 * i, 0, 0)) for i, n in enumerate(["bg", "cat", "dog", "car"])]
    return ingest(root, DatasetSource("hand", classes, items, count=2))


def test_data_miou_exact_with_coverage(tmp_path):
    ws = hand_workspace(tmp_path / "ws")
    res = data_miou(ws)
    # cm rows (gt) × cols (labels): [[2,1,0,0],[0,1,0,0],[0,0,1,0],[1,0,0,1]]
    assert res.per_class == (50.0, 50.0, 100.0, 50.0)
    assert res.miou == res.to_dict()["data_miou"] == 62.5
    assert res.pixel_accuracy == pytest.approx(100 * 5 / 7, abs=1e-4)
    assert res.coverage == pytest.approx(0.7) and res.skipped == pytest.approx(0.3)
    assert res.images == 2 and res.version == "v0" and res.class_names[3] == "car"
    train = data_miou(ws, "v0", split="train")
    assert train.per_class == (50.0, 50.0, 100.0, None) and train.miou == pytest.approx(66.6667, abs=1e-4)
    assert train.images == 1 and train.coverage == pytest.approx(4 / 6, abs=1e-6)
    json.dumps(res.to_dict())  # JSON-ready


def test_data_miou_needs_ground_truth(tmp_path):
    ws = hand_workspace(tmp_path / "ws", with_gt=False)
    with pytest.raises(AlcError, match="data mIoU needs reference ground truth"):
        data_miou(ws)
    with pytest.raises(AlcError, match="unknown split 'test'"):
        data_miou(hand_workspace(tmp_path / "ws2"), split="test")


def test_model_miou_of_a_constant_model(tmp_path):
    torch = pytest.importorskip("torch")

    class AlwaysBackground(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            out = torch.zeros(x.shape[0], 4, *x.shape[2:]) + 0 * self.p
            out[:, 0] = 1.0
            return out

    ws = hand_workspace(tmp_path / "ws")
    res = model_miou(ws, AlwaysBackground(), split="val")
    # val image b: gt [[3,3],[0,V]], prediction all 0 → cm[3,0]=2, cm[0,0]=1
    assert res.per_class == (pytest.approx(100 / 3, abs=1e-4), None, None, 0.0)
    assert res.miou == res.to_dict()["model_miou"] == pytest.approx(50 / 3, abs=1e-4)
    assert res.coverage == 0.75 and res.images == 1 and res.kind == "model"


def test_cli_eval_json_and_table(tmp_path, capsys):
    ws = hand_workspace(tmp_path / "ws")
    res = invoke(capsys, ["eval", "-w", str(ws.root), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["data_miou"] == 62.5 and data["coverage"] == pytest.approx(0.7)
    res = invoke(capsys, ["eval", "-w", str(ws.root), "--split", "train"])
    assert res.exit_code == 0 and "mIoU" in res.stdout and "66.67" in res.stdout and "dog" in res.stdout
    res = invoke(capsys, ["eval", "-w", str(ws.root), "--model", str(tmp_path / "m.pt"), "--version", "v0"])
    assert res.exit_code == 2 and "--version applies to data mIoU" in res.output
    nogt = hand_workspace(tmp_path / "nogt", with_gt=False)
    res = invoke(capsys, ["eval", "-w", str(nogt.root), "--json"])
    assert res.exit_code == 2 and "error:" in res.output and "ground truth" in res.output
