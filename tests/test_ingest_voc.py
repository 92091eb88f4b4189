"""`alc-data ingest voc`: the real-format fixture (both roots, --aug), generated data, --labels-from."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("ALC_PROGRESS", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from alc_data.constants import IGNORE_INDEX  # noqa: E402
from alc_data.ingest.voc import VOC_CLASSES  # noqa: E402
from alc_data.io.labels import encode_label_png  # noqa: E402
from alc_data.workspace import Workspace  # noqa: E402
from cli_helpers import run_cli  # noqa: E402
from conftest import FIXTURES  # noqa: E402

VOC = FIXTURES / "voc" / "VOCdevkit"


def palette_indices(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        assert img.mode == "P", path
        return np.array(img)


def expected_voc_colors() -> list[tuple[int, int, int]]:
    """The VOC colour map written out from its definition (bit interleaving of the index)."""
    out = []
    for i in range(21):
        r = g = b = 0
        for j in range(8):
            r |= ((i >> (3 * j)) & 1) << (7 - j)
            g |= ((i >> (3 * j + 1)) & 1) << (7 - j)
            b |= ((i >> (3 * j + 2)) & 1) << (7 - j)
        out.append((r, g, b))
    return out


@pytest.mark.parametrize("root", [VOC, VOC / "VOC2012"], ids=["VOCdevkit", "VOC2012"])
def test_voc_fixture(tmp_path, capsys, root):
    code, out, err = run_cli(capsys, "ingest", "voc", root, "-w", tmp_path / "ws")
    assert code == 0, err
    assert "ingested 2 images" in out
    ws = Workspace.open(tmp_path / "ws")
    assert ws.catalogue.class_names == list(VOC_CLASSES) and len(ws.catalogue.classes) == 21
    assert [c.color for c in ws.catalogue.classes] == expected_voc_colors()
    assert ws.catalogue.classes[15].name == "person" and ws.catalogue.classes[15].color == (192, 128, 128)
    seg = VOC / "VOC2012" / "ImageSets" / "Segmentation"
    for split in ("train", "val", "trainval"):
        listed = sorted(line.strip() for line in (seg / f"{split}.txt").read_text().splitlines() if line.strip())
        assert ws.catalogue.image_ids(split) == listed
    assert "train_aug" not in ws.catalogue.splits()
    seen_ignore = False
    for image_id in ws.catalogue.image_ids():
        expected = palette_indices(VOC / "VOC2012" / "SegmentationClass" / f"{image_id}.png")
        np.testing.assert_array_equal(ws.labels.read_label("v0", image_id), expected)
        np.testing.assert_array_equal(ws.catalogue.read_gt(image_id), expected)
        seen_ignore |= bool((expected == IGNORE_INDEX).any())
        assert ws.catalogue.image_path(image_id) == (VOC / "VOC2012" / "JPEGImages" / f"{image_id}.jpg").resolve()
    assert seen_ignore  # the fixture has void borders: 255 must survive


def test_voc_fixture_aug(tmp_path, capsys):
    code, _, err = run_cli(capsys, "ingest", "voc", VOC, "--aug", "-w", tmp_path / "ws")
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    assert ws.catalogue.meta("dataset") == "voc2012-aug"
    assert ws.catalogue.splits()["train_aug"] == 1
    assert ws.catalogue.meta("format_meta")["aug"] is True
    for image_id in ws.catalogue.image_ids():
        aug = palette_indices(VOC / "VOC2012" / "SegmentationClassAug" / f"{image_id}.png")
        np.testing.assert_array_equal(ws.labels.read_label("v0", image_id), aug)


def test_voc_fixture_export_pixel_exact(tmp_path, capsys):
    assert run_cli(capsys, "ingest", "voc", VOC, "-w", tmp_path / "ws")[0] == 0
    code, _, err = run_cli(capsys, "export", "-w", tmp_path / "ws", "--version", "v0", "--out", tmp_path / "out")
    assert code == 0, err
    pngs = sorted((tmp_path / "out").glob("*.png"))
    assert len(pngs) == 2
    for png in pngs:
        expected = palette_indices(VOC / "VOC2012" / "SegmentationClass" / png.name)
        np.testing.assert_array_equal(palette_indices(png), expected)
    from alc_data.ingest.folder import read_classes_file

    assert [c.name for c in read_classes_file(tmp_path / "out" / "classes.txt")] == list(VOC_CLASSES)


def test_voc_fixture_labels_from_folder(tmp_path, capsys):
    """--labels-from FOLDER: v0 from the folder, the VOC annotation kept as reference ground truth."""
    from PIL import Image

    labels = tmp_path / "pseudo"
    labels.mkdir()
    planted = {}
    for jpg in sorted((VOC / "VOC2012" / "JPEGImages").glob("*.jpg")):
        with Image.open(jpg) as img:
            w, h = img.size
        lab = np.zeros((h, w), np.uint8)
        lab[: h // 2] = 15
        lab[-1] = IGNORE_INDEX
        planted[jpg.stem] = lab
        (labels / f"{jpg.stem}.png").write_bytes(encode_label_png(lab))
    code, _, err = run_cli(capsys, "ingest", "voc", VOC, "--labels-from", labels, "-w", tmp_path / "ws")
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    assert ws.catalogue.meta("labels_from") == str(labels)
    for image_id, lab in planted.items():
        np.testing.assert_array_equal(ws.labels.read_label("v0", image_id), lab)
        gt = palette_indices(VOC / "VOC2012" / "SegmentationClass" / f"{image_id}.png")
        np.testing.assert_array_equal(ws.catalogue.read_gt(image_id), gt)


def make_voc(root: Path, n: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    """A tiny VOC2012 tree: JPEGs, palette labels with 255 borders, train/val lists; plus
    SegmentationClassAug (labels + 1, mod 21) and train_aug.txt (all ids)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    base = root / "VOCdevkit" / "VOC2012"
    for sub in ("JPEGImages", "SegmentationClass", "SegmentationClassAug", "ImageSets/Segmentation"):
        (base / sub).mkdir(parents=True)
    labels = {}
    for i in range(n):
        image_id = f"2099_{i:06d}"
        h, w = 6 + i, 9
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(base / "JPEGImages" / f"{image_id}.jpg")
        lab = rng.integers(0, 21, (h, w)).astype(np.uint8)
        lab[0] = IGNORE_INDEX
        labels[image_id] = lab
        (base / "SegmentationClass" / f"{image_id}.png").write_bytes(encode_label_png(lab))
        aug = np.where(lab == IGNORE_INDEX, lab, (lab + 1) % 21).astype(np.uint8)
        (base / "SegmentationClassAug" / f"{image_id}.png").write_bytes(encode_label_png(aug))
    ids = sorted(labels)
    (base / "ImageSets" / "Segmentation" / "train_aug.txt").write_text("\n".join(ids) + "\n")
    (base / "ImageSets" / "Segmentation" / "train.txt").write_text("\n".join(ids[:-1]) + "\n")
    (base / "ImageSets" / "Segmentation" / "val.txt").write_text(ids[-1] + "\n")
    return labels


def test_voc_generated(tmp_path, capsys):
    labels = make_voc(tmp_path / "data")
    code, _, err = run_cli(capsys, "ingest", "voc", tmp_path / "data" / "VOCdevkit", "-w", tmp_path / "ws")
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    assert ws.catalogue.splits() == {"train": 2, "val": 1}  # train_aug.txt only with --aug
    for image_id, lab in labels.items():
        np.testing.assert_array_equal(ws.labels.read_label("v0", image_id), lab)
    code, _, err = run_cli(capsys, "export", "-w", tmp_path / "ws", "--version", "v0", "--out", tmp_path / "out")
    assert code == 0, err
    for image_id, lab in labels.items():
        np.testing.assert_array_equal(palette_indices(tmp_path / "out" / f"{image_id}.png"), lab)


def test_voc_generated_aug(tmp_path, capsys):
    labels = make_voc(tmp_path / "data")
    code, _, err = run_cli(capsys, "ingest", "voc", tmp_path / "data" / "VOCdevkit" / "VOC2012", "--aug", "-w", tmp_path / "ws")
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    assert ws.catalogue.splits() == {"train": 2, "train_aug": 3, "val": 1}
    for image_id, lab in labels.items():
        aug = np.where(lab == IGNORE_INDEX, lab, (lab + 1) % 21)
        np.testing.assert_array_equal(ws.labels.read_label("v0", image_id), aug)


def test_voc_generated_missing_label_is_one_line_error(tmp_path, capsys):
    labels = make_voc(tmp_path / "data")
    victim = sorted(labels)[0]
    (tmp_path / "data" / "VOCdevkit" / "VOC2012" / "SegmentationClass" / f"{victim}.png").unlink()
    code, out, err = run_cli(capsys, "ingest", "voc", tmp_path / "data", "-w", tmp_path / "ws")
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and f"{victim}.png" in err
    assert not (tmp_path / "ws").exists()
