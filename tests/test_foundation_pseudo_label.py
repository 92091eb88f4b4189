"""`alc-data pseudo-label`: exact semantics with stub box/mask providers, the real command on tiny
random GroundingDINO + SAM checkpoints, resume, recorded parameters, errors."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlcError
from alc_data import pseudo_label as pl
from alc_data.foundation.detector import Detections
from alc_data.pseudo_label import run_pseudo_label
from cli_helpers import run_cli  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ALC_PROGRESS", "0")


CLASSES = ["background", "car", "pottedplant", "tvmonitor"]
H, W = 40, 56


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def make_ws(root: Path, n: int = 3, classes=CLASSES):
    """A workspace of ``n`` H×W images; pixel (0, 0) of image i has red value i (stubs use it)."""
    from alc_data.ingest import ingest
    from alc_data.ingest.base import DatasetSource, IngestItem
    from alc_data.io.labels import VOC_PALETTE
    from alc_data.workspace import ClassInfo

    rng = np.random.default_rng(0)
    items = []
    for i in range(n):
        img = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
        img[0, 0] = (i, 0, 0)
        gt = np.zeros((H, W), np.uint8)
        gt[5:20, 5:30] = 1
        items.append(IngestItem(image_id=f"img{i}", image_path=Path(f"img{i}.png"), splits=("train",), gt=gt,
                                image_bytes=_png(img)))
    cls = [ClassInfo(i, c, tuple(int(v) for v in VOC_PALETTE[i])) for i, c in enumerate(classes)]
    return ingest(root, DatasetSource(name="tiny", classes=cls, items=lambda: iter(items), count=n))


class StubDetector:
    """Fixed boxes per image (keyed by pixel (0, 0)); records the prompts and counts images."""

    def __init__(self, boxes: dict[int, list[tuple[list[float], float, int]]], fail_after: int | None = None):
        self.boxes, self.fail_after, self.seen, self.prompts = boxes, fail_after, [], None

    def detect(self, images, prompts, *, box_threshold, text_threshold, nms_iou):
        self.prompts = list(prompts)
        out = []
        for img in images:
            if self.fail_after is not None and len(self.seen) >= self.fail_after:
                raise KeyboardInterrupt
            key = int(img[0, 0, 0])
            self.seen.append(key)
            rows = self.boxes.get(key, [])
            out.append(Detections(
                np.array([r[0] for r in rows], np.float32).reshape(-1, 4),
                np.array([r[1] for r in rows], np.float32), np.array([r[2] for r in rows], np.int64)))
        return out

    def describe(self):
        return {"kind": "stub-detector"}


class BoxMasker:
    """SAM stand-in: the mask of a box is the box itself."""

    def masks_from_boxes(self, image, boxes):
        h, w = image.shape[:2]
        yy, xx = np.mgrid[:h, :w]
        return np.stack([(xx >= x0) & (xx < x1) & (yy >= y0) & (yy < y1) for x0, y0, x1, y1 in boxes]).reshape(-1, h, w)

    def describe(self):
        return {"kind": "stub-sam"}


BOXES = {
    0: [([0, 0, 40, 30], 0.9, 1), ([5, 5, 15, 12], 0.5, 2)],  # big car, small potted plant on top
    1: [([10, 10, 20, 20], 0.8, 3)],
    2: [],  # nothing found
}


def test_stub_pipeline_exact_labels_instances_and_record(tmp_path):
    ws = make_ws(tmp_path / "ws")
    det = StubDetector(BOXES)
    res = run_pseudo_label(ws, detector=det, sam=BoxMasker(), batch_size=2)
    assert res.version == "pseudo" and res.computed == 3 and res.resumed == 0  # v0 is the ingest's
    assert res.boxes == 3 and res.boxes_per_class == {"car": 1, "pottedplant": 1, "tvmonitor": 1}
    assert det.prompts == [(1, "car"), (2, "potted plant"), (3, "tv monitor")]  # background not prompted
    lab = ws.labels.read_label("pseudo", "img0")
    want = np.zeros((H, W), np.uint8)
    want[0:30, 0:40] = 1
    want[5:12, 5:15] = 2
    assert np.array_equal(lab, want)
    inst = ws.superpixels.read_superpixels("gsam", "img0")
    assert inst.dtype == np.int32 and set(np.unique(inst)) == {-1, 0, 1}
    assert (inst[5:12, 5:15] == 1).all() and inst[20, 20] == 0 and (inst[30:, :] == -1).all()
    assert (ws.superpixels.read_superpixels("gsam", "img2") == -1).all() and (ws.labels.read_label("pseudo", "img2") == 0).all()
    v = ws.labels.version("pseudo")
    assert v.kind == "pseudo-label" and v.parent is None
    assert v.params["box_threshold"] == 0.2 and v.params["nms_iou"] == 0.5
    assert v.params["prompts"] == {"car": "car", "pottedplant": "potted plant", "tvmonitor": "tv monitor"}
    assert v.params["detector"] == {"kind": "stub-detector"} and v.params["background"] == "background"
    assert ws.superpixels.superpixel_set("gsam").params["label_version"] == "pseudo"
    assert not (ws.root / "pseudo").exists()  # staging removed after the commit
    with pytest.raises(AlcError, match="v0 and pseudo exist already; pass --version NAME"):
        run_pseudo_label(ws, detector=det, sam=BoxMasker())
    with pytest.raises(AlcError, match="label version 'pseudo' already exists"):
        run_pseudo_label(ws, detector=det, sam=BoxMasker(), version="pseudo")
    with pytest.raises(AlcError, match="superpixel set 'gsam' already exists"):
        run_pseudo_label(ws, detector=det, sam=BoxMasker(), version="again")


def test_void_background_and_prompt_overrides(tmp_path):
    ws = make_ws(tmp_path / "ws")
    det = StubDetector(BOXES)
    run_pseudo_label(ws, detector=det, sam=BoxMasker(), version="pv", background="void",
                     prompts={"tvmonitor": "television", "pottedplant": ""}, instances_set="gv")
    assert det.prompts == [(1, "car"), (3, "television")]
    lab = ws.labels.read_label("pv", "img1")
    assert (lab[10:20, 10:20] == 3).all() and (lab[:10] == IGNORE_INDEX).all()
    assert np.array_equal(ws.superpixels.read_superpixels("gv", "img1") < 0, lab == IGNORE_INDEX)
    no_bg = make_ws(tmp_path / "ws2", classes=["car", "tvmonitor"])
    with pytest.raises(AlcError, match="no class named 'background'; use --background void"):
        run_pseudo_label(no_bg, detector=det, sam=BoxMasker(), background="background")
    with pytest.raises(AlcError, match="--box-threshold 1.5"):
        run_pseudo_label(no_bg, detector=det, sam=BoxMasker(), box_threshold=1.5)


def test_interrupted_run_resumes_without_recomputing(tmp_path):
    ws = make_ws(tmp_path / "ws")
    with pytest.raises(KeyboardInterrupt):
        run_pseudo_label(ws, detector=StubDetector(BOXES, fail_after=1), sam=BoxMasker(), batch_size=1)
    stage = ws.root / "pseudo" / "pseudo"
    assert sorted(p.name for p in stage.glob("*.npz")) == ["img0.npz"]
    assert "pseudo" not in {v.name for v in ws.labels.label_versions()}  # nothing half-written
    with pytest.raises(AlcError, match=r"other settings \(box_threshold\)"):
        run_pseudo_label(ws, detector=StubDetector(BOXES), sam=BoxMasker(), box_threshold=0.3)
    det = StubDetector(BOXES)
    res = run_pseudo_label(ws, detector=det, sam=BoxMasker(), batch_size=1)
    assert sorted(det.seen) == [1, 2] and res.computed == 2 and res.resumed == 1
    assert (ws.labels.read_label("pseudo", "img0")[5:12, 5:15] == 2).all()


# ------------------------------------------------------------------ the real command, tiny models
@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from alc_data.testing.foundation import build_tiny_grounding_dino, build_tiny_sam_hf, build_tiny_sam_pth

    root = tmp_path_factory.mktemp("models")
    return {
        "dino": build_tiny_grounding_dino(root / "dino"),
        "pth": build_tiny_sam_pth(root / "sam_tiny.pth"),
        "hf": build_tiny_sam_hf(root / "sam_hf"),
    }


def test_cli_on_tiny_checkpoints_both_sam_formats(tmp_path, capsys, models):
    ws_dir = tmp_path / "ws"
    ws = make_ws(ws_dir)
    code, out, err = run_cli(capsys, "pseudo-label", "-w", ws_dir, "--detector", models["dino"], "--sam", models["pth"],
                             "--device", "cpu", "--batch-size", "2", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["version"] == "pseudo" and res["images"] == 3 and res["boxes"] > 0
    v = ws.labels.version("pseudo")
    assert v.params["sam"]["sha256"] == hashlib.sha256(models["pth"].read_bytes()).hexdigest()
    assert v.params["detector"]["path"] == str(models["dino"].resolve()) and len(v.params["detector"]["sha256"]) == 64
    for image_id in ws.catalogue.image_ids():
        lab = ws.labels.read_label("pseudo", image_id)
        inst = ws.superpixels.read_superpixels("gsam", image_id)
        assert lab.shape == inst.shape == (H, W) and inst.dtype == np.int32
        assert set(np.unique(lab)) <= {0, 1, 2, 3}
        assert np.array_equal(inst < 0, lab == 0)  # background is never prompted: uncovered ⇔ background
        ids = np.unique(inst[inst >= 0])
        assert ids.tolist() == list(range(ids.size))  # compact instance ids
    code, out, err = run_cli(capsys, "pseudo-label", "-w", ws_dir, "--detector", models["dino"], "--sam", models["hf"],
                             "--device", "cpu", "--version", "hf", "--instances-set", "gsam-hf", "--background", "void",
                             "--prompt", "tvmonitor=tv", "--box-threshold", "0.3")
    assert code == 0, err
    assert "pseudo labels hf: 3 images (3 computed)" in out
    v = ws.labels.version("hf")
    assert v.params["prompts"]["tvmonitor"] == "tv" and v.params["box_threshold"] == 0.3
    assert v.params["background_label"] == IGNORE_INDEX
    lab, inst = ws.labels.read_label("hf", "img0"), ws.superpixels.read_superpixels("gsam-hf", "img0")
    assert np.array_equal(inst < 0, lab == IGNORE_INDEX)


def test_cli_resume_after_interrupt(tmp_path, capsys, models, monkeypatch):
    ws_dir = tmp_path / "ws"
    ws = make_ws(ws_dir)
    real = pl.pseudo_label_images
    calls: list[int] = []
    interrupt = [True]

    def flaky(images, *a, **k):
        calls.append(len(images))
        if len(calls) == 2 and interrupt[0]:
            raise KeyboardInterrupt
        return real(images, *a, **k)

    monkeypatch.setattr(pl, "pseudo_label_images", flaky)
    args = ("pseudo-label", "-w", ws_dir, "--detector", models["dino"], "--sam", models["pth"], "--device", "cpu",
            "--batch-size", "1")
    code, _, err = run_cli(capsys, *args)
    assert code == 130, err  # interrupted
    assert len(list((ws_dir / "pseudo" / "pseudo").glob("*.npz"))) == 1
    calls.clear()
    interrupt[0] = False
    code, out, err = run_cli(capsys, *args, "--json")
    assert code == 0, err
    assert calls == [1, 1] and json.loads(out)["resumed"] == 1  # only the two images not done before
    assert ws.labels.version("pseudo").kind == "pseudo-label"


def test_cli_errors_are_one_line_and_write_nothing(tmp_path, capsys, models):
    ws_dir = tmp_path / "ws"
    ws = make_ws(ws_dir)
    before = sorted(p.name for p in ws_dir.iterdir() if p.name != ".alc.lock")  # the lock file is made by any writer
    cases = [
        (("--detector", models["dino"], "--sam", tmp_path / "sam_vit_h_4b8939.pth"), "SAM checkpoint not found"),
        (("--detector", models["pth"], "--sam", models["pth"]), "is a file; expected a GroundingDINO folder"),
        (("--detector", models["hf"], "--sam", models["pth"]), "model_type 'sam' is not a GroundingDINO"),
        (("--detector", models["dino"], "--sam", models["dino"]), "is not a SAM checkpoint"),
        (("--detector", models["dino"], "--sam", models["pth"], "--prompt", "car"), "use CLASS=PHRASE"),
        (("--detector", models["dino"], "--sam", models["pth"], "--prompt", "zebra=zebra"), "unknown class 'zebra'"),
        (("--detector", models["dino"], "--sam", models["pth"], "--version", "v0"), "'v0' already exists"),
        (("--detector", models["dino"], "--sam", models["pth"], "--sam-type", "vit_h", "--device", "cpu"), "not vit_h"),
    ]
    for extra, msg in cases:
        code, out, err = run_cli(capsys, "pseudo-label", "-w", ws_dir, *extra)
        assert code == 2, (extra, err)
        assert err.startswith("error: ") and msg in err and err.count("\n") == 1, err
        assert sorted(p.name for p in ws_dir.iterdir() if p.name != ".alc.lock") == before  # no staging, no version
    assert [v.name for v in ws.labels.label_versions()] == ["v0"]


def test_a_second_writer_is_refused_before_any_work(tmp_path, capsys, models):
    """Reported class: the staging was written outside the workspace lock, so a run refused by
    --no-wait had already done (and left behind) all its work, and two runs of one version raced."""
    from test_integrity import hold_lock

    ws = make_ws(tmp_path / "ws")
    holder = hold_lock(ws.root, 60)
    try:
        code, _, err = run_cli(capsys, "--no-wait", "pseudo-label", "-w", ws.root, "--detector", models["dino"],
                               "--sam", models["pth"], "--device", "cpu")
        assert code == 2 and f"pid {holder.pid}" in err and err.count("\n") == 1, err
        assert not (ws.root / "pseudo").exists()  # refused before the first image
    finally:
        holder.kill()
        holder.wait()
    assert [v.name for v in ws.labels.label_versions()] == ["v0"]
