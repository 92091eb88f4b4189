"""`alc-data ingest cityscapes`: labelIds → train ids with the official table, --train-ids, errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

os.environ.setdefault("ALC_PROGRESS", "0")

from alc_data.constants import IGNORE_INDEX  # noqa: E402
from alc_data.workspace import Workspace  # noqa: E402
from cli_helpers import run_cli  # noqa: E402
from conftest import FIXTURES  # noqa: E402

CS = FIXTURES / "cityscapes"
FRAME = "frankfurt_000000_000294"

# The official table (cityscapesScripts labels.py), written out independently of the reader:
# label id -> (train id, name, colour) for the 19 evaluated classes; every other id -> 255.
OFFICIAL = {
    7: (0, "road", (128, 64, 128)),
    8: (1, "sidewalk", (244, 35, 232)),
    11: (2, "building", (70, 70, 70)),
    12: (3, "wall", (102, 102, 156)),
    13: (4, "fence", (190, 153, 153)),
    17: (5, "pole", (153, 153, 153)),
    19: (6, "traffic light", (250, 170, 30)),
    20: (7, "traffic sign", (220, 220, 0)),
    21: (8, "vegetation", (107, 142, 35)),
    22: (9, "terrain", (152, 251, 152)),
    23: (10, "sky", (70, 130, 180)),
    24: (11, "person", (220, 20, 60)),
    25: (12, "rider", (255, 0, 0)),
    26: (13, "car", (0, 0, 142)),
    27: (14, "truck", (0, 0, 70)),
    28: (15, "bus", (0, 60, 100)),
    31: (16, "train", (0, 80, 100)),
    32: (17, "motorcycle", (0, 0, 230)),
    33: (18, "bicycle", (119, 11, 32)),
}


def official_lut() -> np.ndarray:
    lut = np.full(256, IGNORE_INDEX, np.uint8)
    for label_id, (train_id, _, _) in OFFICIAL.items():
        lut[label_id] = train_id
    return lut


def grey(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.array(img)


def test_reader_table_matches_official():
    from alc_data.ingest.cityscapes import cityscapes_classes, label_id_to_train_id_lut

    np.testing.assert_array_equal(label_id_to_train_id_lut(), official_lut())
    by_train = sorted(OFFICIAL.values())
    assert [(c.index, c.name, c.color) for c in cityscapes_classes()] == by_train


def test_cityscapes_fixture_and_export(tmp_path, capsys):
    code, _, err = run_cli(capsys, "ingest", "cityscapes", CS, "-w", tmp_path / "ws")
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    assert ws.catalogue.image_ids() == [FRAME] and ws.catalogue.splits() == {"val": 1}
    assert len(ws.catalogue.classes) == 19 and ws.catalogue.classes[13].name == "car" and ws.catalogue.classes[13].color == (0, 0, 142)
    gt_dir = CS / "gtFine" / "val" / "frankfurt"
    expected = official_lut()[grey(gt_dir / f"{FRAME}_gtFine_labelIds.png")]
    assert expected.shape == (128, 256)
    assert (expected == IGNORE_INDEX).any() and len(np.unique(expected)) > 5
    np.testing.assert_array_equal(ws.labels.read_label("v0", FRAME), expected)
    np.testing.assert_array_equal(ws.catalogue.read_gt(FRAME), expected)
    # the fixture's own labelTrainIds was downscaled separately: close to, not equal to, the table
    own = grey(gt_dir / f"{FRAME}_gtFine_labelTrainIds.png")
    assert 0 < (own != expected).mean() < 0.01

    code, _, err = run_cli(capsys, "export", "-w", tmp_path / "ws", "--version", "v0", "--out", tmp_path / "out")
    assert code == 0, err
    np.testing.assert_array_equal(grey(tmp_path / "out" / f"{FRAME}.png"), expected)


def test_cityscapes_fixture_train_ids(tmp_path, capsys):
    code, _, err = run_cli(capsys, "ingest", "cityscapes", CS, "--train-ids", "-w", tmp_path / "ws")
    assert code == 0, err
    own = grey(CS / "gtFine" / "val" / "frankfurt" / f"{FRAME}_gtFine_labelTrainIds.png")
    np.testing.assert_array_equal(Workspace.open(tmp_path / "ws").labels.read_label("v0", FRAME), own)


def make_cityscapes(root: Path) -> dict[str, np.ndarray]:
    """Two cities in train and val; every label id 0..33 plus 255 appears; returns raw labelIds."""
    from PIL import Image

    rng = np.random.default_rng(0)
    frames = {("train", "aachen"): ["aachen_000000_000019", "aachen_000001_000019"], ("val", "lindau"): ["lindau_000000_000019"]}
    raw = {}
    for (split, city), ids in frames.items():
        for sub in ("leftImg8bit", "gtFine"):
            (root / sub / split / city).mkdir(parents=True)
        for image_id in ids:
            ids_map = np.concatenate([np.arange(34), [255, 7]]).astype(np.uint8)
            lab = rng.permutation(np.tile(ids_map, 2)).reshape(6, 12)
            raw[image_id] = lab
            Image.fromarray(rng.integers(0, 256, (6, 12, 3), dtype=np.uint8)).save(
                root / "leftImg8bit" / split / city / f"{image_id}_leftImg8bit.png"
            )
            Image.fromarray(lab).save(root / "gtFine" / split / city / f"{image_id}_gtFine_labelIds.png")
            train = official_lut()[lab]
            Image.fromarray(train).save(root / "gtFine" / split / city / f"{image_id}_gtFine_labelTrainIds.png")
    return raw


def test_cityscapes_generated(tmp_path, capsys):
    raw = make_cityscapes(tmp_path / "cs")
    code, out, err = run_cli(capsys, "ingest", "cityscapes", tmp_path / "cs", "-w", tmp_path / "ws")
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    assert ws.catalogue.splits() == {"train": 2, "val": 1}
    assert ws.catalogue.image_ids("val") == ["lindau_000000_000019"]
    for image_id, lab in raw.items():
        got = ws.labels.read_label("v0", image_id)
        for label_id in range(256):  # every id of the table, and every other one, mapped right
            sel = lab == label_id
            if sel.any():
                want = OFFICIAL[label_id][0] if label_id in OFFICIAL else IGNORE_INDEX
                assert (got[sel] == want).all(), label_id
    code, _, err = run_cli(capsys, "export", "-w", tmp_path / "ws", "--version", "v0", "--out", tmp_path / "out")
    assert code == 0, err
    for image_id, lab in raw.items():
        np.testing.assert_array_equal(grey(tmp_path / "out" / f"{image_id}.png"), official_lut()[lab])


def test_cityscapes_generated_split_option(tmp_path, capsys):
    make_cityscapes(tmp_path / "cs")
    code, _, err = run_cli(capsys, "ingest", "cityscapes", tmp_path / "cs", "--split", "val", "-w", tmp_path / "ws")
    assert code == 0, err
    assert Workspace.open(tmp_path / "ws").catalogue.splits() == {"val": 1}


def test_cityscapes_missing_gtfine_names_the_file(tmp_path, capsys):
    make_cityscapes(tmp_path / "cs")
    missing = tmp_path / "cs" / "gtFine" / "train" / "aachen" / "aachen_000001_000019_gtFine_labelIds.png"
    missing.unlink()
    code, out, err = run_cli(capsys, "ingest", "cityscapes", tmp_path / "cs", "-w", tmp_path / "ws")
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert str(missing) in err and "Traceback" not in err
    assert not (tmp_path / "ws").exists()


def test_cityscapes_train_ids_value_out_of_range(tmp_path, capsys):
    from PIL import Image

    make_cityscapes(tmp_path / "cs")
    bad = tmp_path / "cs" / "gtFine" / "val" / "lindau" / "lindau_000000_000019_gtFine_labelTrainIds.png"
    lab = grey(bad)
    lab[2, 3] = 19  # one class past the 19 train ids
    Image.fromarray(lab).save(bad)
    code, _, err = run_cli(capsys, "ingest", "cityscapes", tmp_path / "cs", "--train-ids", "-w", tmp_path / "ws")
    assert code == 2 and "label value 19" in err and str(bad) in err and err.count("\n") == 1
    assert not (tmp_path / "ws").exists()
