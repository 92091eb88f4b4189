"""ingest → `alc-data export --version v0` is pixel-exact, 255 included, for every registered format."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from alc_data.ingest.folder import read_classes_file

os.environ.setdefault("ALC_PROGRESS", "0")
os.environ["HF_HUB_OFFLINE"] = "1"

from alc_data.constants import IGNORE_INDEX  # noqa: E402
from alc_data.ingest import FORMATS, load_formats  # noqa: E402
from alc_data.io.labels import encode_label_png  # noqa: E402
from cli_helpers import run_cli  # noqa: E402

load_formats()
RNG = np.random.default_rng(0)


def _image(path: Path, h: int, w: int) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)


def _labels(h: int, w: int, k: int) -> np.ndarray:
    lab = RNG.integers(0, k, (h, w)).astype(np.uint8)
    lab[0, :] = IGNORE_INDEX
    return lab


Built = tuple[list, dict[str, np.ndarray], list[str]]  # CLI args after "ingest", expected maps, class names


def build_voc(root: Path) -> Built:
    from alc_data.ingest.voc import VOC_CLASSES

    base = root / "VOC2012"
    expected = {}
    for image_id in ("2099_000001", "2099_000002"):
        _image(base / "JPEGImages" / f"{image_id}.jpg", 5, 7)
        expected[image_id] = _labels(5, 7, 21)
        (base / "SegmentationClass").mkdir(parents=True, exist_ok=True)
        (base / "SegmentationClass" / f"{image_id}.png").write_bytes(encode_label_png(expected[image_id]))
    (base / "ImageSets" / "Segmentation").mkdir(parents=True)
    (base / "ImageSets" / "Segmentation" / "train.txt").write_text("\n".join(expected) + "\n")
    return ["voc", root], expected, list(VOC_CLASSES)


def build_cityscapes(root: Path) -> Built:
    from PIL import Image

    from alc_data.ingest.cityscapes import CITYSCAPES_TRAIN_CLASSES

    image_id = "ulm_000001_000019"
    _image(root / "leftImg8bit" / "val" / "ulm" / f"{image_id}_leftImg8bit.png", 2, 6)
    raw = np.array([[7, 26, 0, 255, 33, 6], [24, 31, 34, 1, 23, 8]], np.uint8)
    (root / "gtFine" / "val" / "ulm").mkdir(parents=True)
    Image.fromarray(raw).save(root / "gtFine" / "val" / "ulm" / f"{image_id}_gtFine_labelIds.png")
    want = np.array([[0, 13, 255, 255, 18, 255], [11, 16, 255, 255, 10, 1]], np.uint8)
    return ["cityscapes", root], {image_id: want}, [c[1] for c in CITYSCAPES_TRAIN_CLASSES]


def build_coco_instances(root: Path) -> Built:
    _image(root / "img" / "000001.jpg", 8, 8)
    anns = [
        {"id": 1, "image_id": 1, "category_id": 4, "iscrowd": 0, "segmentation": [[1, 1, 5, 1, 5, 4, 1, 4]]},
        {"id": 2, "image_id": 1, "category_id": 4, "iscrowd": 1, "segmentation": [[0, 6, 8, 6, 8, 8, 0, 8]]},
    ]
    data = {
        "images": [{"id": 1, "file_name": "000001.jpg", "height": 8, "width": 8}],
        "annotations": anns,
        "categories": [{"id": 4, "name": "kite"}, {"id": 1, "name": "person"}],
    }
    (root / "ann.json").write_text(json.dumps(data))
    want = np.zeros((8, 8), np.uint8)
    want[1:4, 1:5] = 2  # kite: category id 4 comes after person (1)
    want[6:8, :] = IGNORE_INDEX
    return ["coco", root / "ann.json", "--images", root / "img"], {"000001": want}, ["background", "person", "kite"]


def build_coco_panoptic(root: Path) -> Built:
    from PIL import Image

    _image(root / "img" / "000002.jpg", 4, 6)
    seg_ids = np.zeros((4, 6), np.int64)  # 0: unlabelled
    seg_ids[:2] = 70000  # wall: an id that needs all three channels
    seg_ids[2:, :3] = 513  # car
    seg_ids[2:, 3:5] = 7  # a crowd of cars
    (root / "pan").mkdir()
    rgb = np.stack([seg_ids % 256, (seg_ids // 256) % 256, seg_ids // 65536], axis=-1).astype(np.uint8)
    Image.fromarray(rgb).save(root / "pan" / "000002.png")
    data = {
        "images": [{"id": 2, "file_name": "000002.jpg", "height": 4, "width": 6}],
        "annotations": [{"image_id": 2, "file_name": "000002.png", "segments_info": [
            {"id": 70000, "category_id": 171, "iscrowd": 0},
            {"id": 513, "category_id": 3, "iscrowd": 0},
            {"id": 7, "category_id": 3, "iscrowd": 1},
        ]}],
        "categories": [{"id": 171, "name": "wall", "isthing": 0, "color": [9, 9, 9]},
                       {"id": 3, "name": "car", "isthing": 1, "color": [0, 0, 142]}],
    }
    (root / "pan.json").write_text(json.dumps(data))
    want = np.full((4, 6), IGNORE_INDEX, np.uint8)
    want[:2] = 1  # wall: category 171 comes after car (3)
    want[2:, :3] = 0
    return ["coco", root / "pan.json", "--images", root / "img", "--panoptic-dir", root / "pan"], {"000002": want}, ["car", "wall"]


def build_folder(root: Path) -> Built:
    expected = {}
    for image_id, (h, w) in {"x": (4, 5), "y": (3, 3)}.items():
        _image(root / "images" / f"{image_id}.png", h, w)
        expected[image_id] = _labels(h, w, 4)
        (root / "labels").mkdir(exist_ok=True)
        (root / "labels" / f"{image_id}.png").write_bytes(encode_label_png(expected[image_id]))
    names = ["a", "b", "c", "d"]
    (root / "classes.txt").write_text("\n".join(names) + "\n")
    args = ["folder", "--images", root / "images", "--labels", root / "labels", "--classes", root / "classes.txt"]
    return args, expected, names


def build_hf(root: Path) -> Built:
    import io

    import datasets
    from PIL import Image

    expected, images, labels = {}, [], []
    for i, (h, w) in enumerate([(4, 4), (3, 6)]):
        buf = io.BytesIO()
        Image.fromarray(RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(buf, format="PNG")
        images.append({"bytes": buf.getvalue(), "path": None})
        expected[f"train_{i:06d}"] = _labels(h, w, 2)
        labels.append({"bytes": encode_label_png(expected[f"train_{i:06d}"]), "path": None})
    features = datasets.Features({"image": datasets.Image(), "label": datasets.Image()})
    datasets.Dataset.from_dict({"image": images, "label": labels}, features=features).save_to_disk(str(root / "ds"))
    (root / "ds" / "id2label.json").write_text(json.dumps({"0": "bg", "1": "fg"}))
    return ["hf", root / "ds"], expected, ["bg", "fg"]


def build_demo(root: Path) -> Built:
    from alc_data.demo.synth import DEMO_CLASSES, generate

    scenes = list(generate(3, seed=5, size=(16, 16)))
    # two training images keep the noisy labels, the validation image its ground truth (255 band included)
    expected = {f"demo_{i:05d}": (s.noisy if i < 2 else s.gt) for i, s in enumerate(scenes)}
    return ["demo", "--train", 2, "--val", 1, "--size", 16, "--seed", 5], expected, [n for n, _ in DEMO_CLASSES]


#: the ingest → export cases of every registered format (a format may have several paths)
CASES: dict[str, tuple[Callable[[Path], Built], ...]] = {
    "voc": (build_voc,),
    "cityscapes": (build_cityscapes,),
    "coco": (build_coco_instances, build_coco_panoptic),
    "folder": (build_folder,),
    "hf": (build_hf,),
    "demo": (build_demo,),
}


def test_every_registered_format_has_a_case():
    """A format added to the registry without an ingest → export case here fails, never skips."""
    assert sorted(FORMATS.names()) == sorted(CASES), "add an ingest → export case for every registered format"


@pytest.mark.parametrize("build", [b for fmt in sorted(CASES) for b in CASES[fmt]], ids=lambda b: b.__name__[6:])
def test_ingest_export_is_pixel_exact(tmp_path, capsys, build):
    from PIL import Image

    args, expected, names = build(tmp_path / "src")
    assert args[0] in FORMATS, f"format {args[0]!r} is not registered"
    assert any((lab == IGNORE_INDEX).any() for lab in expected.values())
    code, _, err = run_cli(capsys, "ingest", *args, "-w", tmp_path / "ws")
    assert code == 0, err
    code, out, err = run_cli(capsys, "export", "-w", tmp_path / "ws", "--version", "v0", "--out", tmp_path / "out")
    assert code == 0, err
    exported = sorted(p.stem for p in (tmp_path / "out").glob("*.png"))
    assert exported == sorted(expected)
    for image_id, want in expected.items():
        with Image.open(tmp_path / "out" / f"{image_id}.png") as img:
            assert img.mode == "P" and len(img.getpalette()) == 768
            np.testing.assert_array_equal(np.asarray(img), want)
    assert [c.name for c in read_classes_file(tmp_path / "out" / "classes.txt")] == names  # with colours since session 7
