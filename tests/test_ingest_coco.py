"""`alc-data ingest coco`: instances (paint order, crowd) and panoptic (auto-detected), fixtures + generated."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("ALC_PROGRESS", "0")

from alc_data.constants import IGNORE_INDEX  # noqa: E402
from alc_data.workspace import Workspace  # noqa: E402
from cli_helpers import run_cli, indices  # noqa: E402
from conftest import FIXTURES  # noqa: E402

ICE = FIXTURES / "coco" / "icevision"
PAN = FIXTURES / "coco" / "panoptic"
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def export(capsys, ws: Path, out: Path) -> dict[str, np.ndarray]:
    code, _, err = run_cli(capsys, "export", "-w", ws, "--version", "v0", "--out", out)
    assert code == 0, err
    return {p.stem: indices(p) for p in sorted(out.glob("*.png"))}


def panoptic_reference(png: Path, segments: list[dict], cat_index: dict[int, int]) -> np.ndarray:
    """Straightforward per-segment decoding of a panoptic PNG (independent of the reader)."""
    from PIL import Image

    rgb = np.array(Image.open(png).convert("RGB")).astype(np.int64)
    ids = rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]
    out = np.full(ids.shape, IGNORE_INDEX, np.uint8)
    for seg in segments:
        if not seg.get("iscrowd"):
            out[ids == seg["id"]] = cat_index[seg["category_id"]]
    return out


# ----------------------------------------------------------------------------- real fixtures
def test_coco_instances_fixture(tmp_path, capsys):
    from pycocotools import mask as mask_utils

    code, out, err = run_cli(capsys, "ingest", "coco", ICE / "annotations.json", "--images", ICE / "images", "-w", tmp_path / "ws")
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    data = json.loads((ICE / "annotations.json").read_text())
    cats = sorted(data["categories"], key=lambda c: c["id"])
    assert ws.catalogue.class_names == ["background"] + [c["name"] for c in cats] and len(ws.catalogue.classes) == 81
    cat_index = {c["id"]: i + 1 for i, c in enumerate(cats)}
    assert ws.catalogue.splits() == {"train": 1}
    exported = export(capsys, tmp_path / "ws", tmp_path / "out")
    by_image = {im["id"]: im for im in data["images"]}
    assert sorted(exported) == sorted(Path(im["file_name"]).stem for im in data["images"])
    crowd_seen = False
    for im in data["images"]:
        lab = ws.labels.read_label("v0", Path(im["file_name"]).stem)
        np.testing.assert_array_equal(exported[Path(im["file_name"]).stem], lab)
        assert lab.shape == (im["height"], im["width"])
        anns = [a for a in data["annotations"] if a["image_id"] == im["id"]]
        covered = np.zeros(lab.shape, bool)
        for a in anns:
            h, w = by_image[a["image_id"]]["height"], by_image[a["image_id"]]["width"]
            seg = a["segmentation"]
            rle = mask_utils.merge(mask_utils.frPyObjects(seg, h, w)) if isinstance(seg, list) else (
                mask_utils.frPyObjects(seg, h, w) if isinstance(seg["counts"], list) else seg)
            m = mask_utils.decode(rle).astype(bool)
            covered |= m
            want = IGNORE_INDEX if a["iscrowd"] else cat_index[a["category_id"]]
            crowd_seen |= bool(a["iscrowd"])
            assert (lab[m] == want).any(), (im["id"], a["id"])  # every instance keeps some pixels
        assert (lab[~covered] == 0).all()  # background outside every instance
        assert (lab[covered] != 0).all()
    assert crowd_seen


def test_coco_panoptic_fixture_matches_detection_format(tmp_path, capsys):
    pan_json = PAN / "panoptic_examples.json"
    code, _, err = run_cli(
        capsys, "ingest", "coco", pan_json, "--images", PAN / "input_images", "--split", "val", "-w", tmp_path / "pan"
    )
    assert code == 0, err
    ws = Workspace.open(tmp_path / "pan")
    data = json.loads(pan_json.read_text())
    cats = sorted(data["categories"], key=lambda c: c["id"])
    assert len(ws.catalogue.classes) == 133 and ws.catalogue.class_names == [c["name"] for c in cats]
    assert ws.catalogue.classes[0].color == tuple(cats[0]["color"])
    assert ws.catalogue.splits() == {"val": 1} and ws.catalogue.meta("format_meta")["panoptic"] is True
    cat_index = {c["id"]: i for i, c in enumerate(cats)}
    exported = export(capsys, tmp_path / "pan", tmp_path / "out")
    for ann in data["annotations"]:
        stem = Path(ann["file_name"]).stem
        expected = panoptic_reference(PAN / "panoptic_examples" / ann["file_name"], ann["segments_info"], cat_index)
        assert (expected == IGNORE_INDEX).any() and len(np.unique(expected)) > 5
        np.testing.assert_array_equal(exported[stem], expected)

    # the same annotation in detection format (RLE, instances path) agrees pixel for pixel
    code, _, err = run_cli(
        capsys, "ingest", "coco", PAN / "panoptic_coco_detection_format.json", "--images", PAN / "input_images",
        "-w", tmp_path / "det",
    )
    assert code == 0, err
    det = Workspace.open(tmp_path / "det")
    assert det.catalogue.class_names[1:] == ws.catalogue.class_names
    for image_id in ws.catalogue.image_ids():
        p, d = ws.labels.read_label("v0", image_id), det.labels.read_label("v0", image_id)
        labelled = p != IGNORE_INDEX
        np.testing.assert_array_equal(d[labelled], p[labelled] + 1)
        assert set(np.unique(d[~labelled])) <= {0, IGNORE_INDEX}  # unlabelled → background, crowd → 255


# ----------------------------------------------------------------------------- generated data
def _write_images(folder: Path, sizes: dict[str, tuple[int, int]]) -> list[dict]:
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = []
    for i, (stem, (h, w)) in enumerate(sorted(sizes.items()), start=1):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / f"{stem}.jpg")
        images.append({"id": i * 10, "file_name": f"{stem}.jpg", "height": h, "width": w})
    return images


def _rect(x0, y0, x1, y1) -> list[list[float]]:
    """A polygon covering pixel columns x0..x1-1 and rows y0..y1-1."""
    return [[x0, y0, x1, y0, x1, y1, x0, y1]]


def _rle_uncompressed(mask: np.ndarray) -> dict:
    flat = mask.astype(np.uint8).ravel(order="F")
    counts, current, run = [], 0, 0
    for v in flat:
        if v == current:
            run += 1
        else:
            counts.append(run)
            current, run = v, 1
    counts.append(run)
    return {"counts": counts, "size": list(mask.shape)}


def make_instances(root: Path, *, big_first: bool) -> tuple[Path, dict[str, np.ndarray]]:
    """Two images: overlapping squares (large cat 5 'dog', small cat 2 'cup'), a crowd region, and
    an uncompressed-RLE instance. Categories listed out of id order. Returns JSON path, expected maps."""
    images = _write_images(root / "img", {"a": (12, 16), "b": (10, 10)})
    big = {"id": 1, "image_id": 10, "category_id": 5, "iscrowd": 0, "segmentation": _rect(2, 2, 12, 10)}
    small = {"id": 2, "image_id": 10, "category_id": 2, "iscrowd": 0, "segmentation": _rect(4, 4, 7, 7)}
    m = np.zeros((10, 10), bool)
    m[1:9, 1:9] = True
    crowd = {"id": 3, "image_id": 20, "category_id": 2, "iscrowd": 1, "segmentation": _rle_uncompressed(m)}
    person = {"id": 4, "image_id": 20, "category_id": 9, "iscrowd": 0, "segmentation": _rect(3, 3, 5, 6)}
    anns = [big, small, crowd, person] if big_first else [person, small, crowd, big]
    cats = [{"id": 9, "name": "person"}, {"id": 2, "name": "cup"}, {"id": 5, "name": "dog"}]
    path = root / "instances.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    # classes: background 0, cup 1 (id 2), dog 2 (id 5), person 3 (id 9)
    a = np.zeros((12, 16), np.uint8)
    a[2:10, 2:12] = 2
    a[4:7, 4:7] = 1
    b = np.zeros((10, 10), np.uint8)
    b[1:9, 1:9] = IGNORE_INDEX
    b[3:6, 3:5] = 3
    return path, {"a": a, "b": b}


@pytest.mark.parametrize("big_first", [True, False], ids=["big-first", "small-first"])
def test_coco_instances_generated_paint_order_and_export(tmp_path, capsys, big_first):
    ann, expected = make_instances(tmp_path, big_first=big_first)
    code, _, err = run_cli(capsys, "ingest", "coco", ann, "--images", tmp_path / "img", "-w", tmp_path / "ws")
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    assert ws.catalogue.class_names == ["background", "cup", "dog", "person"]
    exported = export(capsys, tmp_path / "ws", tmp_path / "out")
    assert sorted(exported) == ["a", "b"]
    for stem, want in expected.items():
        np.testing.assert_array_equal(exported[stem], want)


def make_panoptic(root: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """One image: stuff 'sky' (id 184), thing 'car' (id 3), a crowd segment, unlabelled pixels."""
    from PIL import Image

    images = _write_images(root / "img", {"p": (8, 10)})
    seg_ids = np.zeros((8, 10), np.int64)
    seg_ids[:4] = 70000  # sky: id needs all three channels
    seg_ids[4:, :5] = 513  # car
    seg_ids[4:, 5:8] = 1  # crowd car
    rgb = np.stack([seg_ids % 256, (seg_ids // 256) % 256, seg_ids // 65536], axis=-1).astype(np.uint8)
    (root / "pan").mkdir()
    Image.fromarray(rgb).save(root / "pan" / "p.png")
    data = {
        "images": images,
        "annotations": [{"image_id": 10, "file_name": "p.png", "segments_info": [
            {"id": 70000, "category_id": 184, "iscrowd": 0},
            {"id": 513, "category_id": 3, "iscrowd": 0},
            {"id": 1, "category_id": 3, "iscrowd": 1},
        ]}],
        "categories": [{"id": 184, "name": "sky", "isthing": 0, "color": [70, 130, 180]},
                       {"id": 3, "name": "car", "isthing": 1, "color": [0, 0, 142]}],
    }
    path = root / "panoptic.json"
    path.write_text(json.dumps(data))
    want = np.full((8, 10), IGNORE_INDEX, np.uint8)
    want[:4] = 1  # sky (category 184 after car 3)
    want[4:, :5] = 0  # car
    return path, {"p": want}


def test_coco_panoptic_generated(tmp_path, capsys):
    ann, expected = make_panoptic(tmp_path)
    code, _, err = run_cli(
        capsys, "ingest", "coco", ann, "--images", tmp_path / "img", "--panoptic-dir", tmp_path / "pan", "-w", tmp_path / "ws"
    )
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    assert ws.catalogue.class_names == ["car", "sky"] and ws.catalogue.classes[1].color == (70, 130, 180)
    np.testing.assert_array_equal(export(capsys, tmp_path / "ws", tmp_path / "out")["p"], expected["p"])


def test_coco_panoptic_default_dir_and_unknown_segment(tmp_path, capsys):
    from PIL import Image

    ann, _ = make_panoptic(tmp_path)
    # without --panoptic-dir the folder named like the JSON is used
    code, _, err = run_cli(capsys, "ingest", "coco", ann, "--images", tmp_path / "img", "-w", tmp_path / "ws")
    assert code == 2 and str(tmp_path / "panoptic") in err and "--panoptic-dir" in err
    (tmp_path / "pan").rename(tmp_path / "panoptic")
    png = tmp_path / "panoptic" / "p.png"
    rgb = np.array(Image.open(png))
    rgb[0, 0] = (9, 0, 0)  # segment id 9 is not in segments_info
    Image.fromarray(rgb).save(png)
    code, _, err = run_cli(capsys, "ingest", "coco", ann, "--images", tmp_path / "img", "-w", tmp_path / "ws")
    assert code == 2 and str(png) in err and "segment id 9" in err and err.count("\n") == 1
    assert not (tmp_path / "ws").exists()


def test_coco_bad_json_and_category(tmp_path, capsys):
    ann, _ = make_instances(tmp_path, big_first=True)
    data = json.loads(ann.read_text())
    data["annotations"][0]["category_id"] = 77
    ann.write_text(json.dumps(data))
    code, _, err = run_cli(capsys, "ingest", "coco", ann, "--images", tmp_path / "img", "-w", tmp_path / "ws")
    assert code == 2 and "category id 77" in err and str(ann) in err
    ann.write_text("{not json")
    code, _, err = run_cli(capsys, "ingest", "coco", ann, "--images", tmp_path / "img", "-w", tmp_path / "ws")
    assert code == 2 and "invalid JSON at line 1" in err and err.count("\n") == 1
    assert not (tmp_path / "ws").exists()


def test_coco_rle_size_mismatch_names_the_annotation(tmp_path, capsys):
    ann, _ = make_instances(tmp_path, big_first=True)
    data = json.loads(ann.read_text())
    crowd = next(a for a in data["annotations"] if a["iscrowd"])
    crowd["segmentation"]["size"] = [11, 10]  # image 'b' is 10 x 10
    ann.write_text(json.dumps(data))
    code, _, err = run_cli(capsys, "ingest", "coco", ann, "--images", tmp_path / "img", "-w", tmp_path / "ws")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert str(ann) in err and f"annotation id {crowd['id']}" in err and "RLE size [11, 10]" in err
    assert not (tmp_path / "ws").exists()


def test_an_annotation_with_nothing_to_draw_is_left_out_and_said(tmp_path, capsys):
    ann, _ = make_instances(tmp_path, big_first=True)
    data = json.loads(ann.read_text())
    bad = next(a for a in data["annotations"] if not a["iscrowd"])
    bad["segmentation"] = [[1, 2, 3]]  # fewer than 3 points: no polygon
    ann.write_text(json.dumps(data))
    code, out, err = run_cli(capsys, "ingest", "coco", ann, "--images", tmp_path / "img", "-w", tmp_path / "ws")
    assert code == 0 and "ingested" in out, err
    assert err.startswith("note: ") and err.count("\n") == 1 and f"ids {bad['id']}" in err and "1 annotation(s)" in err


def test_two_images_with_one_id_are_named_as_such(tmp_path, capsys):
    """Red team, session 7: a COCO file whose 'images' gave two entries id 1 was reported as "annotation
    refers to image id 2 missing from 'images'"."""
    data = json.loads((ICE / "annotations.json").read_text())
    data["images"].append({**data["images"][0], "file_name": "other.jpg"})  # a second entry, the same id
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(data))
    code, _, err = run_cli(capsys, "ingest", "coco", path, "--images", ICE / "images", "-w", tmp_path / "ws")
    assert code == 2 and f"two 'images' entries have id {data['images'][0]['id']}" in err, err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "ws").exists()


def test_a_superpixel_parameter_that_is_not_finite_says_so():
    from alc_data.errors import InvalidInput
    from alc_data.superpixels.utils import param_float

    with pytest.raises(InvalidInput) as err:
        param_float("compactness", "nan", above=0.0)
    assert "must be a finite number" in str(err.value) and "None" not in str(err.value)


def test_a_category_named_background_says_that_name_is_class_0s(tmp_path, capsys):
    """Red team, session 7: it said "class name 'background' repeats 'background'"."""
    data = json.loads((ICE / "annotations.json").read_text())
    data["categories"][0]["name"] = "background"
    path = tmp_path / "bg.json"
    path.write_text(json.dumps(data))
    code, _, err = run_cli(capsys, "ingest", "coco", path, "--images", ICE / "images", "-w", tmp_path / "ws")
    assert code == 2 and "the name of class 0" in err and len(err.strip().splitlines()) == 1, err
