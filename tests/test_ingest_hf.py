"""`alc-data ingest hf`: saved datasets built offline, labels decoded without mode conversion."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("ALC_PROGRESS", "0")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

from alc_data.constants import IGNORE_INDEX  # noqa: E402
from alc_data.io.labels import encode_label_png  # noqa: E402
from alc_data.workspace import Workspace  # noqa: E402
from cli_helpers import run_cli, indices  # noqa: E402

datasets = pytest.importorskip("datasets")


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg_rotated() -> bytes:
    """An 8 wide x 4 high JPEG whose EXIF orientation 6 makes it 4 x 8 upright."""
    from PIL import Image

    arr = np.zeros((4, 8, 3), np.uint8)
    arr[:, :4] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", exif=exif, quality=95)
    return buf.getvalue()


def make_hf(root: Path, *, with_ids: bool = True, k: int = 3) -> dict[str, dict[str, np.ndarray]]:
    """A DatasetDict (train 2 rows, validation 1 row) saved with save_to_disk. Labels are palette PNGs
    whose palette would scramble the ids under any RGB/L conversion; the val image is rotated by EXIF.
    Returns {split: {image_id: labels}}."""
    rng = np.random.default_rng(0)
    out: dict[str, dict[str, np.ndarray]] = {}
    splits = {}
    # a palette where index i has colour (255 - i, ...): converting to L would not give back i
    pal = np.stack([255 - np.arange(256)] * 3, axis=1).astype(np.uint8)
    for split, sizes in {"train": [(5, 6), (4, 7)], "validation": [(8, 4)]}.items():
        rows = {"image": [], "label": [], "image_id": []}
        out[split] = {}
        for i, (h, w) in enumerate(sizes):
            image_id = f"{split[:3]}-{i}" if with_ids else f"{split}_{i:06d}"
            lab = rng.integers(0, k, (h, w)).astype(np.uint8)
            lab[0, 0] = IGNORE_INDEX
            image = _jpeg_rotated() if split == "validation" else _png(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
            rows["image"].append({"bytes": image, "path": None})
            rows["label"].append({"bytes": encode_label_png(lab, pal), "path": None})
            rows["image_id"].append(image_id)
            out[split][image_id] = lab
        if not with_ids:
            del rows["image_id"]
        features = datasets.Features(
            {"image": datasets.Image(), "label": datasets.Image(), **({"image_id": datasets.Value("string")} if with_ids else {})}
        )
        splits[split] = datasets.Dataset.from_dict(rows, features=features)
    datasets.DatasetDict(splits).save_to_disk(str(root))
    return out


def test_hf_saved_dataset_with_classes_file(tmp_path, capsys):
    expected = make_hf(tmp_path / "ds")
    (tmp_path / "classes.txt").write_text("wall\nfloor #102030\nlamp\n")
    code, out, err = run_cli(capsys, "ingest", "hf", tmp_path / "ds", "--classes", tmp_path / "classes.txt", "-w", tmp_path / "ws")
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    assert ws.catalogue.class_names == ["wall", "floor", "lamp"] and ws.catalogue.classes[1].color == (16, 32, 48)
    assert ws.catalogue.splits() == {"train": 2, "validation": 1}
    assert ws.catalogue.image_ids("validation") == ["val-0"]
    for split, labels in expected.items():
        for image_id, lab in labels.items():
            np.testing.assert_array_equal(ws.labels.read_label("v0", image_id), lab)
            assert ws.catalogue.image_path(image_id).is_relative_to(ws.root)  # copied into the workspace
            assert ws.catalogue.image_path(image_id).is_file()
    # the EXIF-rotated JPEG is stored upright and matches its label's size
    assert ws.catalogue.load_image("val-0").shape == (8, 4, 3)
    assert ws.catalogue.image_path("val-0").suffix == ".png"
    assert ws.catalogue.image_path("tra-0").suffix == ".png"
    code, _, err = run_cli(capsys, "export", "-w", tmp_path / "ws", "--version", "v0", "--out", tmp_path / "out")
    assert code == 0, err
    for labels in expected.values():
        for image_id, lab in labels.items():
            np.testing.assert_array_equal(indices(tmp_path / "out" / f"{image_id}.png"), lab)


def test_hf_ids_from_row_numbers_id2label_and_split_option(tmp_path, capsys):
    expected = make_hf(tmp_path / "ds", with_ids=False)
    (tmp_path / "ds" / "id2label.json").write_text(json.dumps({"0": "a", "1": "b", "2": "c", "255": "void"}))
    code, _, err = run_cli(capsys, "ingest", "hf", tmp_path / "ds", "--split", "train", "-w", tmp_path / "ws")
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    assert ws.catalogue.class_names == ["a", "b", "c"]
    assert ws.catalogue.image_ids() == ["train_000000", "train_000001"] and ws.catalogue.splits() == {"train": 2}
    for image_id, lab in expected["train"].items():
        np.testing.assert_array_equal(ws.labels.read_label("v0", image_id), lab)


def test_hf_classlabel_feature_and_array_labels(tmp_path, capsys):
    """Class names from a ClassLabel feature; labels stored as 2-D integer arrays; a single Dataset."""
    lab = np.array([[0, 1, 2], [IGNORE_INDEX, 1, 0]], np.uint8)
    ds = datasets.Dataset.from_dict(
        {"img": [{"bytes": _png(np.zeros((2, 3, 3), np.uint8)), "path": None}], "mask": [lab.tolist()], "scene": [1]},
        features=datasets.Features({
            "img": datasets.Image(),
            "mask": datasets.Sequence(datasets.Sequence(datasets.Value("int32"))),
            "scene": datasets.ClassLabel(names=["sea", "sand", "rock"]),
        }),
    )
    ds.save_to_disk(str(tmp_path / "one"))
    code, _, err = run_cli(
        capsys, "ingest", "hf", tmp_path / "one", "--image-column", "img", "--label-column", "mask", "-w", tmp_path / "ws"
    )
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    assert ws.catalogue.class_names == ["sea", "sand", "rock"] and ws.catalogue.image_ids() == ["train_000000"]
    np.testing.assert_array_equal(ws.labels.read_label("v0", "train_000000"), lab)


def test_hf_parquet_folder_via_load_dataset(tmp_path):
    from alc_data.ingest import ingest
    from alc_data.ingest.hf import read_hf
    from alc_data.workspace import ClassInfo

    expected = make_hf(tmp_path / "saved")
    loaded = datasets.load_from_disk(str(tmp_path / "saved"))
    (tmp_path / "pq" / "data").mkdir(parents=True)
    loaded["train"].to_parquet(str(tmp_path / "pq" / "data" / "train-00000-of-00001.parquet"))
    classes = [ClassInfo(i, n, (i, i, i)) for i, n in enumerate("xyz")]
    source = read_hf(tmp_path / "pq", classes=classes, cache_dir=str(tmp_path / "cache"))
    ws = ingest(tmp_path / "ws", source)
    assert ws.catalogue.image_ids() == sorted(expected["train"])
    for image_id, lab in expected["train"].items():
        np.testing.assert_array_equal(ws.labels.read_label("v0", image_id), lab)


def test_hf_errors(tmp_path, capsys):
    make_hf(tmp_path / "ds", k=4)  # label value 3 with only three classes
    (tmp_path / "c3.txt").write_text("a\nb\nc\n")
    code, _, err = run_cli(capsys, "ingest", "hf", tmp_path / "ds", "--classes", tmp_path / "c3.txt", "-w", tmp_path / "ws")
    assert code == 2 and "label value 3" in err and "column 'label'" in err and err.count("\n") == 1
    code, _, err = run_cli(capsys, "ingest", "hf", tmp_path / "ds", "--label-column", "mask", "-w", tmp_path / "ws")
    assert code == 2 and "no column 'mask'" in err and "--label-column" in err
    code, _, err = run_cli(capsys, "ingest", "hf", tmp_path / "ds", "-w", tmp_path / "ws")
    assert code == 2 and "--classes" in err  # no id2label.json, no ClassLabel
    (tmp_path / "ds" / "id2label.json").write_text(json.dumps({"0": "a", "2": "c"}))
    code, _, err = run_cli(capsys, "ingest", "hf", tmp_path / "ds", "-w", tmp_path / "ws")
    assert code == 2 and "id2label.json" in err and "class id 1 is missing" in err
    code, _, err = run_cli(capsys, "ingest", "hf", tmp_path / "ds", "--split", "test", "-w", tmp_path / "ws")
    assert code == 2 and "no split 'test'" in err
    code, _, err = run_cli(capsys, "ingest", "hf", "nobody/no-such-dataset-alc", "-w", tmp_path / "ws")
    assert code == 2 and err.startswith("error: nobody/no-such-dataset-alc: cannot load") and err.count("\n") == 1
    assert not (tmp_path / "ws").exists()
