"""Superpixel methods `sam` (SAM automatic masks → painted, filled, split, renumbered) and `gsam`
(Grounded-SAM instance maps with the skip / fill policy)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from alc_data.errors import AlcError
from alc_data.foundation import sam as fsam
from alc_data.superpixels import compute_superpixel_set
from alc_data.superpixels.sam import regions_from_masks
from alc_data.superpixels.utils import is_connected

from test_foundation_pseudo_label import BOXES, BoxMasker, StubDetector, make_ws, run_cli

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def sam_pth(tmp_path_factory):
    from alc_data.testing.foundation import build_tiny_sam_pth

    return build_tiny_sam_pth(tmp_path_factory.mktemp("sam") / "sam_tiny.pth")


def _sq(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_regions_small_on_top_split_filled_and_renumbered():
    img = np.random.default_rng(0).integers(0, 255, (32, 48, 3), dtype=np.uint8)
    big = _sq(32, 48, 0, 32, 0, 24)
    small = _sq(32, 48, 4, 10, 4, 10)
    blobs = _sq(32, 48, 20, 24, 30, 34) | _sq(32, 48, 20, 24, 40, 44)  # one mask, two parts
    sp = regions_from_masks(img, np.stack([big, small, blobs]), num_superpixels=4)
    assert sp.dtype == np.int32 and sp.min() == 0
    assert np.unique(sp).tolist() == list(range(int(sp.max()) + 1))
    assert is_connected(sp)
    assert len(np.unique(sp[small])) == 1 and sp[5, 5] != sp[20, 2]  # small mask wins over the big one
    assert sp[21, 31] != sp[21, 41]  # the two blobs became two regions
    assert np.unique(sp[big & ~small]).size == 1  # the rest of the big mask stays one region
    left = regions_from_masks(img, np.stack([big, small, blobs]), fill_method="none")
    assert (left[~(big | blobs)] == -1).all() and (left[big | blobs] >= 0).all()
    assert (regions_from_masks(img, np.zeros((0, 32, 48), bool), num_superpixels=4) >= 0).all()


def test_sam_method_on_a_workspace_loads_the_model_once(tmp_path, sam_pth, monkeypatch):
    ws = make_ws(tmp_path / "ws")
    calls = []
    real = fsam.load_sam
    monkeypatch.setattr(fsam, "load_sam", lambda *a, **k: calls.append(a) or real(*a, **k))
    fsam._CACHE.clear()
    params = {"checkpoint": str(sam_pth), "device": "cpu", "points_per_side": "2", "pred_iou_thresh": "0",
              "stability_score_thresh": "0", "num_superpixels": "8"}
    assert compute_superpixel_set(ws, "sam", params=params) == "sam"
    assert len(calls) == 1  # one load for three images
    for image_id in ws.catalogue.image_ids():
        sp = ws.superpixels.read_superpixels("sam", image_id)
        assert sp.shape == (40, 56) and sp.min() == 0 and is_connected(sp)
        assert np.unique(sp).tolist() == list(range(int(sp.max()) + 1))
    # crops with random weights: no mask survives; the guard returns none and SEEDS covers the image
    compute_superpixel_set(ws, "sam", name="sam-crop", params={"checkpoint": str(sam_pth), "device": "cpu",
                                                              "points_per_side": 2, "crop_n_layers": 1})
    assert all((ws.superpixels.read_superpixels("sam-crop", i) >= 0).all() for i in ws.catalogue.image_ids())


def test_sam_method_errors(tmp_path, sam_pth):
    ws = make_ws(tmp_path / "ws", n=1)
    with pytest.raises(AlcError, match="needs a checkpoint: pass --sam PATH"):
        compute_superpixel_set(ws, "sam")
    with pytest.raises(AlcError, match="points_per_side='many': expected an integer"):
        compute_superpixel_set(ws, "sam", params={"checkpoint": str(sam_pth), "points_per_side": "many"})
    with pytest.raises(AlcError, match="unknown parameter 'n_segmentz' for superpixel method sam; it takes: .*points_per_side"):
        compute_superpixel_set(ws, "sam", params={"checkpoint": str(sam_pth), "n_segmentz": 3})
    with pytest.raises(AlcError, match="unknown parameter 'n_segmentz' for superpixel method sam; it takes: .*points_per_side"):
        compute_superpixel_set(ws, "sam", params={"checkpoint": str(sam_pth), "n_segmentz": 3, "fill_method": "none"})
    for key in ("pred_iou_thresh", "stability_score_thresh", "box_nms_thresh", "crop_nms_thresh"):
        # a threshold above 1 keeps no mask: the set would be all fill, silently
        with pytest.raises(AlcError, match=f"{key}=2: must be between 0.0 and 1.0"):
            compute_superpixel_set(ws, "sam", params={"checkpoint": str(sam_pth), key: 2})
    with pytest.raises(AlcError, match="SAM checkpoint not found"):
        compute_superpixel_set(ws, "sam", params={"checkpoint": str(tmp_path / "nope.pth")})
    assert ws.superpixels.superpixel_sets() == []


def test_gsam_method_skip_and_fill(tmp_path):
    from alc_data.pseudo_label import run_pseudo_label

    ws = make_ws(tmp_path / "ws")
    with pytest.raises(AlcError, match="run `alc-data pseudo-label` first"):
        compute_superpixel_set(ws, "gsam")
    run_pseudo_label(ws, detector=StubDetector(BOXES), sam=BoxMasker())
    compute_superpixel_set(ws, "gsam", name="gsam-skip")
    compute_superpixel_set(ws, "gsam", name="gsam-fill", params={"policy": "fill", "num_superpixels": "8"})
    for image_id in ws.catalogue.image_ids():
        inst = ws.superpixels.read_superpixels("gsam", image_id)
        assert np.array_equal(ws.superpixels.read_superpixels("gsam-skip", image_id), inst)
        filled = ws.superpixels.read_superpixels("gsam-fill", image_id)
        assert (filled >= 0).all()
        assert np.array_equal(filled[inst >= 0], inst[inst >= 0])  # instances keep pixels and ids
        assert (filled[inst < 0] > inst.max()).all()
    with pytest.raises(AlcError, match="policy"):
        compute_superpixel_set(ws, "gsam", name="x", params={"policy": "grow"})


def test_superpixels_cli_sam_and_gsam(tmp_path, capsys, sam_pth):
    code, _, _ = run_cli(capsys, "superpixels", "--help")
    if code != 0:
        pytest.skip("the superpixels command is not built yet")
    ws_dir = tmp_path / "ws"
    ws = make_ws(ws_dir, n=2)
    code, out, err = run_cli(capsys, "superpixels", "-w", ws_dir, "--method", "sam", "--sam", sam_pth,
                             "--param", "points_per_side=2", "--param", "device=cpu", "--param", "num_superpixels=8")
    assert code == 0, err
    assert all((ws.superpixels.read_superpixels("sam", i) >= 0).all() for i in ws.catalogue.image_ids())
    code, out, err = run_cli(capsys, "superpixels", "-w", ws_dir, "--method", "gsam")
    assert code == 2 and "pseudo-label" in err
