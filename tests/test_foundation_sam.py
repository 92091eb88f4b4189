"""SAM loading (segment-anything .pth with the architecture read from the file, or a Hugging Face
folder), box prompts → masks, automatic masks and their crash guard, load errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from alc_data.errors import AlcError
from alc_data.foundation import sam as fsam
from alc_data.foundation.sam import load_sam
from alc_data.foundation.sam_pth import MODEL_TYPES, sam_architecture

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    from alc_data.testing.foundation import build_tiny_sam_hf, build_tiny_sam_pth

    root = tmp_path_factory.mktemp("sam")
    return {
        "pth": build_tiny_sam_pth(root / "tiny.pth"),
        "pth2": build_tiny_sam_pth(root / "heads2" / "tiny.pth", decoder_num_heads=2, seed=1),
        "hf": build_tiny_sam_hf(root / "hf"),
    }


@pytest.fixture
def image():
    return np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)


@pytest.mark.parametrize("model_type, heads, glob", [("vit_b", 12, [2, 5, 8, 11]), ("vit_h", 16, [7, 15, 23, 31])])
def test_architecture_of_published_checkpoints_is_read_from_shapes(model_type, heads, glob):
    import torch
    from segment_anything import sam_model_registry

    with torch.device("meta"):
        sd = sam_model_registry[model_type]().state_dict()
    arch = sam_architecture(sd)
    width, depth = MODEL_TYPES[model_type]
    assert (arch["encoder_embed_dim"], arch["encoder_depth"], arch["encoder_num_heads"]) == (width, depth, heads)
    assert arch["global_attn_indexes"] == glob and arch["window_size"] == 14 and arch["img_size"] == 1024
    assert (arch["out_chans"], arch["decoder_mlp_dim"], arch["decoder_num_heads"], arch["iou_head_depth"]) == (256, 2048, 8, 3)


def test_pth_with_sidecar_reproduces_the_saved_model_exactly(ckpts, image):
    import torch
    from segment_anything import SamPredictor

    from alc_data.foundation.sam_pth import build_sam
    from alc_data.testing.foundation import tiny_sam_architecture

    torch.manual_seed(1)
    ref = SamPredictor(build_sam(tiny_sam_architecture(decoder_num_heads=2)))
    masker = load_sam(ckpts["pth2"], device="cpu")
    assert masker.describe()["encoder"] == {"encoder_embed_dim": 32, "encoder_depth": 2, "img_size": 256}
    boxes = torch.tensor([[4.0, 4.0, 40.0, 30.0], [10.0, 8.0, 60.0, 44.0]])
    outs = []
    for pred in (ref, masker.predictor):
        pred.set_image(image)
        logits, iou, _ = pred.predict_torch(None, None, boxes=pred.transform.apply_boxes_torch(boxes, image.shape[:2]),
                                            multimask_output=False, return_logits=True)
        outs.append(logits)
    assert torch.equal(outs[0], outs[1])


@pytest.mark.parametrize("kind", ["pth", "hf"])
def test_masks_from_boxes_one_mask_per_box_in_batches(ckpts, image, kind):
    masker = load_sam(ckpts[kind], device="cpu")
    boxes = np.array([[2, 2, 30, 20], [10, 10, 60, 45], [0, 0, 64, 48]], np.float32)
    masks = masker.masks_from_boxes(image, boxes)
    assert masks.shape == (3, 48, 64) and masks.dtype == bool
    masker.box_batch = 1
    assert np.array_equal(masker.masks_from_boxes(image, boxes), masks)
    assert masker.masks_from_boxes(image, np.zeros((0, 4))).shape == (0, 48, 64)


def test_automatic_masks_and_the_empty_crop_guard(ckpts, image):
    from segment_anything import SamAutomaticMaskGenerator

    masker = load_sam(ckpts["pth"], device="cpu")
    masks, scores = masker.automatic_masks(image, points_per_side=2, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    assert masks.ndim == 3 and masks.shape[1:] == (48, 64) and len(masks) == len(scores) >= 1
    # random weights + default thresholds: nothing survives; upstream crashes with crops, we return nothing
    with pytest.raises(Exception):
        SamAutomaticMaskGenerator(masker.predictor.model, points_per_side=2, crop_n_layers=1).generate(image)
    masks, scores = masker.automatic_masks(image, points_per_side=2, crop_n_layers=1)
    assert masks.shape == (0, 48, 64) and scores.shape == (0,)
    hf = load_sam(ckpts["hf"], device="cpu")
    masks, _ = hf.automatic_masks(image, points_per_side=2, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    assert masks.shape[1:] == (48, 64) and len(masks) >= 1


def test_cached_sam_loads_once(ckpts, monkeypatch):
    calls = []
    real = fsam.load_sam
    monkeypatch.setattr(fsam, "load_sam", lambda *a, **k: calls.append(a) or real(*a, **k))
    fsam._CACHE.clear()
    a = fsam.cached_sam(ckpts["pth"], device="cpu")
    b = fsam.cached_sam(str(ckpts["pth"]), device="cpu")
    assert a is b and len(calls) == 1
    fsam.cached_sam(ckpts["hf"], device="cpu")
    assert len(calls) == 2 and len(fsam._CACHE) == 1  # only the latest model is kept


def test_load_errors_say_what_is_expected(ckpts, tmp_path):
    import torch

    def err(path, **kw):
        with pytest.raises(AlcError) as info:
            load_sam(path, device="cpu", **kw)
        msg = str(info.value)
        assert "\n" not in msg
        return msg

    assert "not found" in err(tmp_path / "sam_vit_h_4b8939.pth") and "sam_vit_h_4b8939.pth" in fsam.SAM_HINT
    folder = tmp_path / "ckpts"
    folder.mkdir()
    (folder / "x.pth").write_bytes(ckpts["pth"].read_bytes())
    assert "pass the .pth file in it (x.pth)" in err(folder)
    assert "pass its folder" in err(ckpts["hf"] / "config.json")
    (tmp_path / "garbage.pth").write_bytes(b"not a checkpoint at all")
    assert "corrupt file or not a PyTorch state dict" in err(tmp_path / "garbage.pth")
    (tmp_path / "cut.pth").write_bytes(ckpts["pth"].read_bytes()[:5000])
    assert "corrupt" in err(tmp_path / "cut.pth")
    torch.save({"encoder.weight": torch.zeros(2)}, tmp_path / "other.pth")
    assert "not a SAM state dict (found encoder.weight)" in err(tmp_path / "other.pth")
    assert "not vit_b (768, 12)" in err(ckpts["pth"], model_type="vit_b")
    assert "use one of vit_h" in err(ckpts["pth"], model_type="vit_x")
    side = tmp_path / "side.pth"
    side.write_bytes(ckpts["pth"].read_bytes())
    (tmp_path / "side.pth.json").write_text(json.dumps({"decoder_heads": 2}))
    assert "unknown key 'decoder_heads'" in err(side)
    dino = tmp_path / "dino"
    dino.mkdir()
    (dino / "config.json").write_text('{"model_type": "grounding-dino"}')
    assert "model_type 'grounding-dino' is not a SAM checkpoint" in err(dino)


def test_mixed_precision_path_runs_under_bf16_autocast(ckpts, image, monkeypatch):
    """The CUDA path autocasts to bfloat16; run the same code under CPU bf16 autocast."""
    import contextlib

    import torch

    used = []

    def cpu_bf16(device, enabled=True):
        used.append(enabled)
        return torch.autocast("cpu", dtype=torch.bfloat16) if enabled else contextlib.nullcontext()

    monkeypatch.setattr(fsam, "autocast", cpu_bf16)
    for kind in ("pth", "hf"):
        masker = load_sam(ckpts[kind], device="cpu")
        masks = masker.masks_from_boxes(image, np.array([[2, 2, 30, 20], [10, 10, 60, 45]], np.float32))
        assert masks.shape == (2, 48, 64) and masks.dtype == bool
        masks, scores = masker.automatic_masks(image, points_per_side=2, pred_iou_thresh=0.0, stability_score_thresh=0.0)
        assert masks.shape[1:] == (48, 64) and scores.dtype == np.float32
    assert used and all(used)
