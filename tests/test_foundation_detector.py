"""GroundingDINO through transformers: prompts, captions and token spans, class scores, NMS, loading."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from alc_data.errors import AlcError
from alc_data.foundation.detector import (
    Caption,
    Detections,
    GroundingDinoDetector,
    build_captions,
    class_nms,
    class_prompts,
    detections_from_logits,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")


VOC = ["background", "aeroplane", "diningtable", "motorbike", "pottedplant", "tvmonitor", "person"]


@pytest.fixture(scope="module")
def tiny_dino(tmp_path_factory):
    from alc_data.testing.foundation import build_tiny_grounding_dino

    return build_tiny_grounding_dino(tmp_path_factory.mktemp("dino") / "gd", max_text_len=12)


@pytest.fixture(scope="module")
def detector(tiny_dino):
    return GroundingDinoDetector.load(tiny_dino, device="cpu")


def test_class_prompts_voc_phrases_background_and_overrides():
    pr = dict(class_prompts(VOC))
    assert 0 not in pr  # background is never prompted
    assert pr[4] == "potted plant" and pr[5] == "tv monitor" and pr[2] == "dining table" and pr[3] == "motorbike"
    pr = dict(class_prompts(VOC, {"person": "Pedestrian", "6": "human", "aeroplane": ""}))
    assert pr[6] == "human" and 1 not in pr  # later override wins; empty phrase skips the class
    with pytest.raises(AlcError, match="unknown class 'zebra'"):
        class_prompts(VOC, {"zebra": "zebra"})
    with pytest.raises(AlcError, match="contains '.'"):
        class_prompts(VOC, {"person": "a. person"})
    with pytest.raises(AlcError, match="no class to prompt"):
        class_prompts(["background", "person"], {"person": ""})


def test_captions_ids_spans_and_chunks(detector):
    tok = detector.tokenizer
    prompts = class_prompts(VOC)
    caps = build_captions(tok, prompts, 64)
    assert len(caps) == 1
    cap = caps[0]
    assert cap.input_ids[0] == 101 and cap.input_ids[-1] == 102
    assert cap.text == "aeroplane . dining table . motorbike . potted plant . tv monitor . person ."
    spans = {c: (a, b) for c, a, b in cap.spans}
    a, b = spans[4]  # "potted plant": two tokens, mapped to class 4
    assert b - a == 2
    assert list(cap.input_ids[a:b]) == tok.convert_tokens_to_ids(["potted", "plant"])
    assert cap.input_ids[b] == 1012  # the '.' after it
    # chunking: every class exactly once, no chunk longer than the text encoder takes
    caps = build_captions(tok, prompts, 9)
    assert len(caps) > 1
    assert all(len(c.input_ids) <= 9 and c.input_ids[0] == 101 and c.input_ids[-1] == 102 for c in caps)
    assert sorted(c for cap in caps for c, _, _ in cap.spans) == [1, 2, 3, 4, 5, 6]
    with pytest.raises(AlcError, match="takes 2 at most"):
        build_captions(tok, [(1, "potted plant tv")], 5)


def test_tokenizer_with_other_special_ids_is_rejected():
    class Tok:
        cls_token_id, sep_token_id = 2, 3

        def convert_tokens_to_ids(self, t):
            return 4

    with pytest.raises(AlcError, match="101, 102, 1012"):
        build_captions(Tok(), [(1, "car")], 32)


def test_class_score_is_max_over_its_tokens_and_thresholds():
    cap = Caption("car . traffic light .", (101, 10, 1012, 11, 12, 1012, 102), ((4, 1, 2), (7, 3, 5)))
    logits = np.full((3, 16), -np.inf)
    logits[:, :7] = -5.0
    logits[0, 1] = 2.0  # car
    logits[1, 4] = 3.0  # "light", second token of class 7
    logits[1, 1] = 1.0
    logits[2, 2] = 9.0  # only the separator '.' is high: no class
    boxes = np.array([[0.5, 0.5, 0.5, 0.5], [0.25, 0.5, 0.1, 0.2], [0.5, 0.5, 1, 1]])
    det = detections_from_logits(logits, boxes, cap, (100, 200), box_threshold=0.2)
    assert det.classes.tolist() == [4, 7]
    np.testing.assert_allclose(det.scores, 1 / (1 + np.exp(-np.array([2.0, 3.0]))), rtol=1e-6)
    np.testing.assert_allclose(det.boxes[0], [50, 25, 150, 75])
    # a stricter text threshold drops the weaker box
    det = detections_from_logits(logits, boxes, cap, (100, 200), box_threshold=0.2, text_threshold=0.9)
    assert det.classes.tolist() == [7]


def test_per_class_nms_keeps_one_of_two_overlapping_same_class_boxes():
    det = Detections(
        boxes=np.array([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32),
        scores=np.array([0.5, 0.9, 0.7, 0.3], np.float32),
        classes=np.array([1, 1, 2, 1]),
    )
    kept = class_nms(det, 0.5)
    assert sorted(zip(kept.classes.tolist(), np.round(kept.scores.astype(float), 2).tolist())) == [(1, 0.3), (1, 0.9), (2, 0.7)]
    assert len(class_nms(Detections.empty(), 0.5)) == 0


def test_tiny_detector_detects_in_chunks(detector):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (40, 56, 3), dtype=np.uint8), rng.integers(0, 255, (64, 48, 3), dtype=np.uint8)]
    prompts = class_prompts(VOC)
    assert len(detector.captions(prompts)) == 2  # max_text_len 12 in the tiny config
    dets = detector.detect(images, prompts, box_threshold=0.2, nms_iou=0.5)
    assert len(dets) == 2
    for img, det in zip(images, dets):
        h, w = img.shape[:2]
        assert det.boxes.shape == (len(det), 4) and det.boxes.dtype == np.float32
        assert len(det) > 0 and (det.scores >= 0.2).all()
        assert set(det.classes.tolist()) <= {1, 2, 3, 4, 5, 6}
        assert (det.boxes[:, [0, 2]] <= w).all() and (det.boxes[:, [1, 3]] <= h).all() and (det.boxes >= 0).all()
        # NMS ran: no two boxes of one class overlap more than the threshold
        again = class_nms(det, 0.5)
        assert len(again) == len(det)


def test_load_errors_name_the_expected_checkpoint(tiny_dino, tmp_path):
    with pytest.raises(AlcError, match="not found; expected a GroundingDINO folder"):
        GroundingDinoDetector.load(tmp_path / "missing")
    with pytest.raises(AlcError, match="is a file.*grounding-dino-tiny"):
        GroundingDinoDetector.load(tiny_dino / "config.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AlcError, match="no config.json"):
        GroundingDinoDetector.load(tmp_path / "empty")
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "config.json").write_text('{"model_type": "sam"}')
    with pytest.raises(AlcError, match="model_type 'sam' is not a GroundingDINO"):
        GroundingDinoDetector.load(wrong)
    broken = tmp_path / "broken"
    shutil.copytree(tiny_dino, broken)
    data = (broken / "model.safetensors").read_bytes()
    (broken / "model.safetensors").write_bytes(data[: len(data) // 3])
    with pytest.raises(AlcError, match="cannot load the GroundingDINO weights") as info:
        GroundingDinoDetector.load(broken)
    assert "\n" not in str(info.value)


def test_detector_runs_under_bf16_autocast(detector, monkeypatch):
    """The CUDA path autocasts to bfloat16; run the same code under CPU bf16 autocast."""
    import contextlib

    import torch

    from alc_data.foundation import detector as fdet

    monkeypatch.setattr(fdet, "autocast", lambda device, enabled=True: torch.autocast("cpu", dtype=torch.bfloat16)
                        if enabled else contextlib.nullcontext())
    img = np.random.default_rng(1).integers(0, 255, (40, 56, 3), dtype=np.uint8)
    (det,) = detector.detect([img], class_prompts(VOC))
    assert det.boxes.dtype == np.float32 and det.scores.dtype == np.float32 and len(det) > 0
