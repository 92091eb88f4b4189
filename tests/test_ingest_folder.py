"""`alc-data ingest folder`: class lists, labels vs gt, superpixels, splits, --labels-from, EXIF."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("ALC_PROGRESS", "0")

from alc_data.constants import IGNORE_INDEX  # noqa: E402
from alc_data.errors import AlcError  # noqa: E402
from alc_data.ingest.folder import read_classes_file  # noqa: E402
from alc_data.io.labels import VOC_PALETTE, encode_label_png  # noqa: E402
from alc_data.workspace import Workspace  # noqa: E402
from cli_helpers import run_cli, indices  # noqa: E402
from conftest import FIXTURES  # noqa: E402

VOC = FIXTURES / "voc" / "VOCdevkit" / "VOC2012"
SECOND = FIXTURES / "voc-second-annotator"


CLASSES_TXT = """# my classes
sky 10 20 30

road #FF8000
traffic light
"""


def make_folder(root: Path) -> dict:
    """Images a.png, b.jpg, c.jpeg; labels (palette and grey); gt for a and b; 16-bit superpixels."""
    from PIL import Image

    rng = np.random.default_rng(0)
    sizes = {"a": (6, 9), "b": (7, 5), "c": (4, 4)}
    for sub in ("images", "labels", "gt", "sp"):
        (root / sub).mkdir(parents=True)
    (root / "classes.txt").write_text(CLASSES_TXT)
    out = {"labels": {}, "gt": {}, "sp": {}}
    for image_id, (h, w) in sizes.items():
        ext = {"a": ".png", "b": ".jpg", "c": ".jpeg"}[image_id]
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / "images" / f"{image_id}{ext}")
        lab = rng.integers(0, 3, (h, w)).astype(np.uint8)
        lab[-1, -1] = IGNORE_INDEX
        out["labels"][image_id] = lab
        if image_id == "b":  # a grey PNG of class ids works as well as a palette PNG
            Image.fromarray(lab).save(root / "labels" / "b.png")
        else:
            (root / "labels" / f"{image_id}.png").write_bytes(encode_label_png(lab))
        if image_id != "c":  # reference ground truth may cover a subset
            gt = np.where(lab == IGNORE_INDEX, lab, (lab + 1) % 3).astype(np.uint8)
            out["gt"][image_id] = gt
            (root / "gt" / f"{image_id}.png").write_bytes(encode_label_png(gt))
        stored = rng.integers(0, 400, (h, w)).astype(np.uint16)  # ids above 255 need 16 bits
        stored[0, 0] = 0
        Image.fromarray(stored).save(root / "sp" / f"{image_id}.png")
        out["sp"][image_id] = stored.astype(np.int32) - 1
    (root / "train.txt").write_text("a\nc\n")
    (root / "val.txt").write_text("b\n")
    return out


def test_read_classes_file(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(CLASSES_TXT)
    classes = read_classes_file(path)
    assert [(c.index, c.name, c.color) for c in classes] == [
        (0, "sky", (10, 20, 30)),
        (1, "road", (255, 128, 0)),
        (2, "traffic light", tuple(int(v) for v in VOC_PALETTE[2])),
    ]
    path.write_text("__ignore__\n_background_\ncar 1 2 3\n")  # labelme's class_names.txt
    assert [c.name for c in read_classes_file(path)] == ["_background_", "car"]
    path.write_text("car\nbus\nCar\n")
    with pytest.raises(AlcError, match=r"c.txt:3: class name 'Car' repeats line 1"):
        read_classes_file(path)
    path.write_text("car 1 2 300\n")
    with pytest.raises(AlcError, match="out of range"):
        read_classes_file(path)
    path.write_text("\n# nothing\n")
    with pytest.raises(AlcError, match="empty"):
        read_classes_file(path)


def test_folder_generated(tmp_path, capsys):
    data = make_folder(tmp_path)
    code, out, err = run_cli(
        capsys, "ingest", "folder", "--images", tmp_path / "images", "--labels", tmp_path / "labels",
        "--gt", tmp_path / "gt", "--superpixels", tmp_path / "sp", "--classes", tmp_path / "classes.txt",
        "--split", f"train={tmp_path / 'train.txt'}", "--split", f"val={tmp_path / 'val.txt'}", "--name", "mine",
        "-w", tmp_path / "ws",
    )
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    assert ws.catalogue.meta("dataset") == "mine"
    assert ws.catalogue.class_names == ["sky", "road", "traffic light"] and ws.catalogue.classes[1].color == (255, 128, 0)
    assert ws.catalogue.splits() == {"train": 2, "val": 1} and ws.catalogue.image_ids("train") == ["a", "c"]
    assert [s.name for s in ws.superpixels.superpixel_sets()] == ["imported"]
    for image_id, lab in data["labels"].items():
        np.testing.assert_array_equal(ws.labels.read_label("v0", image_id), lab)
        sp = ws.superpixels.read_superpixels("imported", image_id)
        assert sp.dtype == np.int32 and sp[0, 0] == -1
        np.testing.assert_array_equal(sp, data["sp"][image_id])
    assert ws.catalogue.has_gt("a") and ws.catalogue.has_gt("b") and not ws.catalogue.has_gt("c")
    for image_id, gt in data["gt"].items():
        np.testing.assert_array_equal(ws.catalogue.read_gt(image_id), gt)

    code, _, err = run_cli(capsys, "export", "-w", tmp_path / "ws", "--version", "v0", "--out", tmp_path / "out")
    assert code == 0, err
    for image_id, lab in data["labels"].items():
        np.testing.assert_array_equal(indices(tmp_path / "out" / f"{image_id}.png"), lab)
    assert read_classes_file(tmp_path / "out" / "classes.txt")[2].name == "traffic light"  # export round trip


def test_folder_default_split_and_labels_from(tmp_path, capsys):
    data = make_folder(tmp_path)
    common = ("--images", tmp_path / "images", "--classes", tmp_path / "classes.txt")
    # --labels-from FOLDER is the same as --labels FOLDER; no --split puts everything in train
    code, _, err = run_cli(capsys, "ingest", "folder", *common, "--labels-from", tmp_path / "labels", "-w", tmp_path / "w1")
    assert code == 0, err
    ws = Workspace.open(tmp_path / "w1")
    assert ws.catalogue.splits() == {"train": 3}
    for image_id, lab in data["labels"].items():
        np.testing.assert_array_equal(ws.labels.read_label("v0", image_id), lab)
    # --labels-from gt starts from the ground truth: every image needs one
    code, _, err = run_cli(capsys, "ingest", "folder", *common, "--gt", tmp_path / "gt", "--labels-from", "gt", "-w", tmp_path / "w2")
    assert code == 2 and "'c'" in err and "--labels-from" in err
    (tmp_path / "gt" / "c.png").write_bytes(encode_label_png(np.zeros((4, 4), np.uint8)))
    code, _, err = run_cli(capsys, "ingest", "folder", *common, "--gt", tmp_path / "gt", "--labels-from", "gt", "-w", tmp_path / "w2")
    assert code == 0, err
    ws = Workspace.open(tmp_path / "w2")
    for image_id, gt in data["gt"].items():
        np.testing.assert_array_equal(ws.labels.read_label("v0", image_id), gt)
    # both at once is ambiguous
    code, _, err = run_cli(
        capsys, "ingest", "folder", *common, "--labels", tmp_path / "labels", "--labels-from", "gt", "-w", tmp_path / "w3"
    )
    assert code == 2 and "not both" in err and not (tmp_path / "w3").exists()


def test_folder_exif_orientation(tmp_path, capsys):
    """A JPEG stored 8 wide x 4 high with EXIF orientation 6 is 4 wide x 8 high upright."""
    from PIL import Image

    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    stored = np.zeros((4, 8, 3), np.uint8)
    stored[:, :4] = (255, 0, 0)  # left half red, right half blue
    stored[:, 4:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    Image.fromarray(stored).save(tmp_path / "images" / "r.jpg", exif=exif, quality=95)
    label = np.zeros((8, 4), np.uint8)  # upright size (H=8, W=4)
    label[4:] = 1
    (tmp_path / "labels" / "r.png").write_bytes(encode_label_png(label))
    (tmp_path / "c.txt").write_text("red\nblue\n")
    code, _, err = run_cli(
        capsys, "ingest", "folder", "--images", tmp_path / "images", "--labels", tmp_path / "labels",
        "--classes", tmp_path / "c.txt", "-w", tmp_path / "ws",
    )
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    rec = ws.catalogue.image_record("r")
    assert (rec.height, rec.width) == (8, 4)
    path = ws.catalogue.image_path("r")
    assert path.is_relative_to(ws.root)  # an upright copy, not the rotated original
    with Image.open(path) as img:
        assert img.size == (4, 8) and int(img.getexif().get(0x0112, 1)) == 1
    img = ws.catalogue.load_image("r").astype(int)
    assert img.shape == (8, 4, 3)
    assert img[:4, :, 0].mean() > 200 and img[:4, :, 2].mean() < 60  # red on top after the rotation
    assert img[4:, :, 2].mean() > 200 and img[4:, :, 0].mean() < 60
    np.testing.assert_array_equal(ws.labels.read_label("v0", "r"), label)


def test_folder_fixture_second_annotator(tmp_path, capsys):
    """Real labels: a second annotator's VOC labels to correct, the official ones as ground truth."""
    ids = sorted(p.stem for p in (SECOND / "SegmentationClass").glob("*.png"))
    (tmp_path / "images").mkdir()
    (tmp_path / "gt").mkdir()
    for image_id in ids:
        (tmp_path / "images" / f"{image_id}.jpg").symlink_to(VOC / "JPEGImages" / f"{image_id}.jpg")
        (tmp_path / "gt" / f"{image_id}.png").symlink_to(VOC / "SegmentationClass" / f"{image_id}.png")
    code, _, err = run_cli(
        capsys, "ingest", "folder", "--images", tmp_path / "images", "--labels", SECOND / "SegmentationClass",
        "--gt", tmp_path / "gt", "--classes", SECOND / "class_names.txt", "-w", tmp_path / "ws",
    )
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    assert len(ws.catalogue.classes) == 21 and ws.catalogue.class_names[15] == "person" and ws.catalogue.class_names[20] == "tv/monitor"
    for image_id in ids:
        labels, gt = ws.labels.read_label("v0", image_id), ws.catalogue.read_gt(image_id)
        np.testing.assert_array_equal(labels, indices(SECOND / "SegmentationClass" / f"{image_id}.png"))
        np.testing.assert_array_equal(gt, indices(VOC / "SegmentationClass" / f"{image_id}.png"))
        both = (labels != IGNORE_INDEX) & (gt != IGNORE_INDEX)
        agree = (labels[both] == gt[both]).mean()
        assert 0.97 < agree < 1.0  # a real label diff (PROVENANCE: 98.0-99.9 % outside void)
    code, _, err = run_cli(capsys, "export", "-w", tmp_path / "ws", "--version", "v0", "--out", tmp_path / "out")
    assert code == 0, err
    for image_id in ids:
        np.testing.assert_array_equal(
            indices(tmp_path / "out" / f"{image_id}.png"), indices(SECOND / "SegmentationClass" / f"{image_id}.png")
        )
