"""`alc-data export --format`: ingest → export → ingest is pixel-exact for voc, cityscapes, coco (instances
and panoptic) and folder on the in-repo samples; a planted change moves exactly that file's pixels; the
cityscapes ids follow the official table; pycocotools reads the coco export back; hf loads with
`datasets.load_from_disk`; the fiftyone layout is FiftyOne's ImageSegmentationDirectory; bad input is one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from alc_data.constants import IGNORE_INDEX
from alc_data.workspace import Workspace
from cli_helpers import run_cli
from conftest import FIXTURES

VOC = FIXTURES / "voc" / "VOCdevkit"
CITY = FIXTURES / "cityscapes"
ICE = FIXTURES / "coco" / "icevision"
PAN = FIXTURES / "coco" / "panoptic"


def _ok(capsys, *args) -> str:
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    return out


def _error(capsys, *args) -> str:
    code, _, err = run_cli(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def _ingest_folder_source(tmp_path: Path) -> list:
    """The VOC sample as a plain folder dataset (images, labels, class list)."""
    from alc_data.ingest.voc import VOC_CLASSES

    (tmp_path / "classes.txt").write_text("\n".join(VOC_CLASSES) + "\n")
    return ["folder", "--images", VOC / "VOC2012" / "JPEGImages", "--labels", VOC / "VOC2012" / "SegmentationClass",
            "--classes", tmp_path / "classes.txt"]


#: format → (ingest arguments of the sample, ingest arguments of an export folder OUT)
def _cases(tmp_path: Path) -> dict[str, tuple[list, callable]]:
    return {
        "voc": (["voc", VOC], lambda out: ["voc", out]),
        "cityscapes": (["cityscapes", CITY], lambda out: ["cityscapes", out]),
        "coco": (["coco", ICE / "annotations.json", "--images", ICE / "images"],
                 lambda out: ["coco", out / "annotations.json", "--images", out / "images"]),
        "coco-panoptic": (["coco", PAN / "panoptic_examples.json", "--images", PAN / "input_images"],
                          lambda out: ["coco", out / "panoptic.json", "--images", out / "images"]),
        "folder": (_ingest_folder_source(tmp_path),
                   lambda out: ["folder", "--images", out / "images", "--labels", out, "--classes", out / "classes.txt"]),
        "hf": (["voc", VOC], lambda out: ["hf", out]),
    }


def _plant_change(ws: Workspace) -> str:
    """Version v1: one pixel block of the first image relabelled (to a class it did not have there)."""
    image_id = ws.catalogue.image_ids()[0]
    label = ws.labels.read_label("v0", image_id)
    changed = label.copy()
    changed[:3, :4] = 1 if label[0, 0] != 1 else 2
    ws.labels.write_version("v1", [(image_id, changed)], parent="v0", kind="correction")
    return image_id


def _original_name(fmt: str, rel: Path) -> Path | None:
    """Where ``--with-original`` puts v0's counterpart of the label file ``rel`` (None: not a label file)."""
    parts = rel.parts
    if fmt == "voc" and "SegmentationClass" in parts:
        return Path(*["SegmentationClassOriginal" if p == "SegmentationClass" else p for p in parts])
    if fmt == "cityscapes" and parts[0] == "gtFine":
        return Path("gtFineOriginal", *parts[1:])
    if fmt == "coco" and (parts[0] in ("annotations.json", "panoptic.json") or parts[0] == "panoptic"):
        return Path(parts[0].replace("annotations", "annotations_original").replace("panoptic", "panoptic_original"), *parts[1:])
    if fmt == "folder" and len(parts) == 1 and rel.suffix == ".png":
        return Path("original", *parts)
    return None


@pytest.mark.parametrize("case", ["voc", "cityscapes", "coco", "coco-panoptic", "folder", "hf"])
def test_ingest_export_ingest_is_pixel_exact(tmp_path, capsys, case):
    source, reingest = _cases(tmp_path)[case]
    fmt = case.split("-")[0]
    _ok(capsys, "ingest", *source, "-w", tmp_path / "ws")
    ws = Workspace.open(tmp_path / "ws")
    planted = _plant_change(ws)
    for version in ("v0", "v1"):
        out = tmp_path / f"out-{version}"
        beside = ["--with-original"] if version == "v1" else []
        _ok(capsys, "export", "-w", tmp_path / "ws", "--format", fmt, "--version", version, "--images", *beside, "--out", out)
        _ok(capsys, "ingest", *reingest(out), "-w", tmp_path / f"back-{version}")
        back = Workspace.open(tmp_path / f"back-{version}")
        assert back.catalogue.class_names == ws.catalogue.class_names
        assert back.catalogue.image_ids() == ws.catalogue.image_ids()
        for image_id in ws.catalogue.image_ids():
            np.testing.assert_array_equal(back.labels.read_label("v0", image_id), ws.labels.read_label(version, image_id))
    assert any((ws.labels.read_label("v0", i) == IGNORE_INDEX).any() for i in ws.catalogue.image_ids())
    # the planted change rewrites only that image's files (and the one JSON that holds every image)
    if fmt != "hf":  # (hf's arrow files hold every image)
        files = sorted(p.relative_to(tmp_path / "out-v0") for p in (tmp_path / "out-v0").rglob("*") if p.is_file())
        differ = [str(f) for f in files if (tmp_path / "out-v0" / f).read_bytes() != (tmp_path / "out-v1" / f).read_bytes()]
        assert differ and all(planted in f or f in ("annotations.json", "panoptic.json") for f in differ), differ
        # --with-original wrote v0's label files beside v1's, the same bytes as the export of v0
        originals = {f: _original_name(fmt, f) for f in files}
        assert sum(o is not None for o in originals.values()) >= len(ws.catalogue.image_ids())
        for f, o in originals.items():
            if o is not None:
                assert (tmp_path / "out-v1" / o).read_bytes() == (tmp_path / "out-v0" / f).read_bytes(), o
    # the planted change moves exactly that image's pixels, and only those
    before, after = Workspace.open(tmp_path / "back-v0"), Workspace.open(tmp_path / "back-v1")
    for image_id in ws.catalogue.image_ids():
        diff = before.labels.read_label("v0", image_id) != after.labels.read_label("v0", image_id)
        assert diff.any() == (image_id == planted)
        if image_id == planted:
            assert diff[:3, :4].any() and not diff[3:].any() and not diff[:, 4:].any()


def test_cityscapes_ids_follow_the_official_table(tmp_path, capsys):
    from alc_data.ingest.cityscapes import CITYSCAPES_TRAIN_CLASSES, map_label_ids
    from alc_data.io.labels import read_label_png

    _ok(capsys, "ingest", "cityscapes", CITY, "-w", tmp_path / "ws")
    _ok(capsys, "export", "-w", tmp_path / "ws", "--format", "cityscapes", "--out", tmp_path / "out")
    stem = "val/frankfurt/frankfurt_000000_000294_gtFine"
    source = read_label_png(CITY / "gtFine" / f"{stem}_labelIds.png")
    train_ids = read_label_png(tmp_path / "out" / "gtFine" / f"{stem}_labelTrainIds.png")
    label_ids = read_label_png(tmp_path / "out" / "gtFine" / f"{stem}_labelIds.png")
    np.testing.assert_array_equal(train_ids, map_label_ids(source))
    evaluated = np.isin(source, [c[2] for c in CITYSCAPES_TRAIN_CLASSES])
    assert evaluated.any() and (~evaluated).any()
    np.testing.assert_array_equal(label_ids[evaluated], source[evaluated])
    assert (label_ids[~evaluated] == 0).all()  # unlabeled
    from PIL import Image

    with Image.open(tmp_path / "out" / "gtFine" / f"{stem}_color.png") as img:
        color = np.asarray(img)
    assert img.mode == "RGBA" and tuple(color[train_ids == 0][0]) == (128, 64, 128, 255)


def test_pycocotools_reads_the_coco_export_back(tmp_path, capsys):
    from pycocotools.coco import COCO

    _ok(capsys, "ingest", "coco", ICE / "annotations.json", "--images", ICE / "images", "-w", tmp_path / "ws")
    _ok(capsys, "export", "-w", tmp_path / "ws", "--format", "coco", "--out", tmp_path / "out")
    ws = Workspace.open(tmp_path / "ws")
    coco = COCO(str(tmp_path / "out" / "annotations.json"))
    original = {c["id"]: c["name"] for c in json.loads((ICE / "annotations.json").read_text())["categories"]}
    assert {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())} == original
    index = {c["id"]: ws.catalogue.class_index(c["name"]) for c in coco.loadCats(coco.getCatIds())}
    for img in coco.loadImgs(coco.getImgIds()):
        got = np.zeros((img["height"], img["width"]), np.uint8)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img["id"])):
            got[coco.annToMask(ann).astype(bool)] = IGNORE_INDEX if ann["iscrowd"] else index[ann["category_id"]]
        want = ws.labels.read_label("v0", Path(img["file_name"]).stem)
        assert (want == IGNORE_INDEX).any()
        np.testing.assert_array_equal(got, want)


def test_hf_export_loads_from_disk(tmp_path, capsys):
    import datasets

    _ok(capsys, "ingest", "voc", VOC, "-w", tmp_path / "ws")
    ws = Workspace.open(tmp_path / "ws")
    _ok(capsys, "export", "-w", tmp_path / "ws", "--format", "hf", "--with-original", "--out", tmp_path / "out")
    dd = datasets.load_from_disk(str(tmp_path / "out"))
    assert set(dd) == {"train", "val"}
    for row in dd["val"]:
        np.testing.assert_array_equal(np.asarray(row["label"]), ws.labels.read_label("v0", row["image_id"]))
        np.testing.assert_array_equal(np.asarray(row["label_original"]), ws.labels.read_label("v0", row["image_id"]))


def test_fiftyone_layout_with_mask_targets_and_error_scores(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    _ok(capsys, "ingest", "voc", VOC, "-w", tmp_path / "ws")
    ws = Workspace.open(tmp_path / "ws")
    ids = ws.catalogue.image_ids()
    pq.write_table(pa.table({"image_id": [ids[0], ids[0], ids[1]], "image_score": [0.2, 0.7, 0.1],
                             "region": [1, 2, 1]}), tmp_path / "errors.parquet")
    _ok(capsys, "export", "-w", tmp_path / "ws", "--format", "fiftyone", "--errors", tmp_path / "errors.parquet",
        "--out", tmp_path / "out")
    out = tmp_path / "out"
    # ImageSegmentationDirectory: data/<name>.<ext> and labels/<name>.png, matched by file stem
    assert sorted(p.stem for p in (out / "data").iterdir()) == sorted(p.stem for p in (out / "labels").iterdir()) == ids
    for image_id in ids:
        with Image.open(out / "labels" / f"{image_id}.png") as mask:
            assert mask.mode == "L"  # a palette PNG would reach FiftyOne (OpenCV) as colours
            np.testing.assert_array_equal(np.asarray(mask), ws.labels.read_label("v0", image_id))
        assert (out / "data" / f"{image_id}.jpg").read_bytes() == ws.catalogue.image_path(image_id).read_bytes()
    side = json.loads((out / "alc_data.json").read_text())
    assert side["mask_targets"] == {str(i): n for i, n in enumerate(ws.catalogue.class_names)}
    assert side["error_scores"] == {ids[0]: 0.7, ids[1]: 0.1}


def test_changed_only_and_with_original(tmp_path, capsys):
    _ok(capsys, "ingest", "voc", VOC, "-w", tmp_path / "ws")
    ws = Workspace.open(tmp_path / "ws")
    planted = _plant_change(ws)
    result = json.loads(_ok(capsys, "export", "-w", tmp_path / "ws", "--changed-only", "--with-original", "--json",
                            "--out", tmp_path / "out"))
    assert result == {"folder": str(tmp_path / "out"), "format": "folder", "version": "v1", "images": 1, "original": "v0"}
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == [f"{planted}.png"]
    assert sorted(p.name for p in (tmp_path / "out" / "original").glob("*.png")) == [f"{planted}.png"]
    assert (tmp_path / "out" / "original" / f"{planted}.png").read_bytes() == ws.labels.label_path("v0", planted).read_bytes()
    assert "no image of v0 differs" in _error(capsys, "export", "-w", tmp_path / "ws", "--version", "v0",
                                              "--changed-only", "--out", tmp_path / "none")
    assert not (tmp_path / "none").exists()
    _ok(capsys, "export", "-w", tmp_path / "ws", "--format", "voc", "--changed-only", "--out", tmp_path / "patch")
    patch = tmp_path / "patch" / "VOCdevkit" / "VOC2012"
    assert [p.name for p in (patch / "SegmentationClass").iterdir()] == [f"{planted}.png"]
    assert [p.name for p in (patch / "ImageSets" / "Segmentation").iterdir()] == ["changed.txt"]  # train.txt stays whole
    _ok(capsys, "export", "-w", tmp_path / "ws", "--format", "voc", "--split", "val", "--out", tmp_path / "val")
    lists = tmp_path / "val" / "VOCdevkit" / "VOC2012" / "ImageSets" / "Segmentation"
    assert [p.name for p in lists.iterdir()] == ["val.txt"]
    assert lists.joinpath("val.txt").read_text().split() == ws.catalogue.image_ids("val")


def test_outputs_follow_the_umask_and_stay_out_of_workspaces(tmp_path, capsys):
    _ok(capsys, "ingest", "voc", VOC, "-w", tmp_path / "ws")
    old = os.umask(0o027)
    try:
        _ok(capsys, "export", "-w", tmp_path / "ws", "--format", "voc", "--out", tmp_path / "out")
    finally:
        os.umask(old)
    out = tmp_path / "out"
    assert out.stat().st_mode & 0o777 == 0o750
    label = next((out / "VOCdevkit" / "VOC2012" / "SegmentationClass").iterdir())
    assert label.stat().st_mode & 0o777 == 0o640
    _ok(capsys, "ingest", "voc", VOC, "-w", tmp_path / "other")
    assert "inside the workspace" in _error(capsys, "export", "-w", tmp_path / "ws", "--out", tmp_path / "other" / "x")


def test_bad_input_is_one_line(tmp_path, capsys):
    _ok(capsys, "ingest", "voc", VOC, "-w", tmp_path / "ws")
    w = ("export", "-w", tmp_path / "ws", "--out", tmp_path / "out")
    assert "unknown export format 'pascal'" in _error(capsys, *w, "--format", "pascal")
    assert "'v7'" in _error(capsys, *w, "--version", "v7")
    assert "not the 19 Cityscapes" in _error(capsys, *w, "--format", "cityscapes")
    assert "--category-ids FILE" in _error(capsys, *w, "--format", "coco")
    assert "--format fiftyone" in _error(capsys, *w, "--errors", tmp_path / "e.parquet")
    assert not (tmp_path / "out").exists()
    (tmp_path / "afile").write_text("x")
    for extra in ((), ("--overwrite",)):  # the same answer with and without --overwrite
        err = _error(capsys, "export", "-w", tmp_path / "ws", "--out", tmp_path / "afile", *extra)
        assert "is a file; this writes a folder" in err, err


def test_a_voc_export_of_png_images_ingests_back(tmp_path, capsys):
    from alc_data.demo import build_demo_workspace

    ws = build_demo_workspace(tmp_path / "ws", n_train=3, n_val=1, size=(32, 32), seed=0)  # PNG images
    _ok(capsys, "export", "-w", ws.root, "--format", "voc", "--out", tmp_path / "voc")
    assert sorted(p.suffix for p in (tmp_path / "voc").rglob("JPEGImages/*"))[:1] == [".png"]
    _ok(capsys, "ingest", "voc", tmp_path / "voc", "-w", tmp_path / "back")
    back = Workspace.open(tmp_path / "back")
    assert sorted(back.catalogue.image_ids()) == sorted(ws.catalogue.image_ids())


def test_cityscapes_export_of_other_names_is_one_line(tmp_path, capsys):
    """A workspace with the 19 Cityscapes classes but image ids that are no Cityscapes names."""
    from PIL import Image

    from alc_data.ingest.cityscapes import CITYSCAPES_TRAIN_CLASSES
    from alc_data.io.labels import encode_label_png

    for folder in ("images", "labels"):
        (tmp_path / folder).mkdir()
    Image.fromarray(np.zeros((2, 3, 3), np.uint8)).save(tmp_path / "images" / "street.png")
    (tmp_path / "labels" / "street.png").write_bytes(encode_label_png(np.zeros((2, 3), np.uint8)))
    (tmp_path / "classes.txt").write_text("".join(f"{c[1]}\n" for c in CITYSCAPES_TRAIN_CLASSES))
    _ok(capsys, "ingest", "folder", "--images", tmp_path / "images", "--labels", tmp_path / "labels",
        "--classes", tmp_path / "classes.txt", "-w", tmp_path / "ws")
    line = _error(capsys, "export", "-w", tmp_path / "ws", "--format", "cityscapes", "--out", tmp_path / "out")
    assert "'street' is not a Cityscapes name" in line and "--format folder" in line
    assert not (tmp_path / "out").exists()


def test_coco_workspace_without_stored_ids_asks_for_them(tmp_path, capsys):
    import sqlite3

    _ok(capsys, "ingest", "coco", ICE / "annotations.json", "--images", ICE / "images", "-w", tmp_path / "ws")
    con = sqlite3.connect(tmp_path / "ws" / "alc.sqlite")  # as ingested before schema 5
    with con:
        con.execute("DELETE FROM class_sources")
    con.close()
    line = _error(capsys, "export", "-w", tmp_path / "ws", "--format", "coco", "--out", tmp_path / "out")
    assert "--category-ids FILE" in line and "re-ingest" in line
    _ok(capsys, "export", "-w", tmp_path / "ws", "--format", "coco", "--category-ids", ICE / "annotations.json",
        "--out", tmp_path / "out")
    got = json.loads((tmp_path / "out" / "annotations.json").read_text())["categories"]
    assert got == sorted(json.loads((ICE / "annotations.json").read_text())["categories"], key=lambda c: c["id"])


def test_one_registry_holds_both_directions():
    from alc_data.export import load_exporters
    from alc_data.ingest import FORMATS

    load_exporters()
    assert set(FORMATS.names()) - set(FORMATS.export_names()) == {"demo"}
    assert set(FORMATS.export_names()) - set(FORMATS.names()) == {"fiftyone"}


def test_round_trips_keep_class_names_and_colours(tmp_path, capsys):
    """Red team, session 7: `export --format folder` wrote classes.txt without colours and `ingest hf`
    ignored label2color.json (colours fell back to VOC's), and a VOC export of other classes came back as
    VOC's 21 names, since `ingest voc` did not read the class_names.txt the export writes."""
    from alc_data.demo import build_demo_workspace

    ws = build_demo_workspace(tmp_path / "ws", n_train=3, n_val=1, size=(32, 32), seed=0)
    classes = [(c.name, tuple(c.color)) for c in ws.catalogue.classes]
    assert classes[1][1] != (0, 128, 0) or classes[2][1] != (128, 128, 0)  # the demo's colours are not VOC's
    for fmt, ingest in (("folder", lambda out: ["folder", "--images", out / "images", "--labels", out,
                                                "--classes", out / "classes.txt"]),
                        ("hf", lambda out: ["hf", out]),
                        ("voc", lambda out: ["voc", out])):
        out = tmp_path / f"out-{fmt}"
        _ok(capsys, "export", "-w", ws.root, "--format", fmt, "--out", out, *(["--images"] if fmt == "folder" else []))
        _ok(capsys, "ingest", *ingest(out), "-w", tmp_path / f"back-{fmt}")
        back = Workspace.open(tmp_path / f"back-{fmt}")
        assert back.catalogue.class_names == ws.catalogue.class_names, fmt
        if fmt != "voc":  # VOC's PNGs carry VOC's palette whatever the classes
            assert [(c.name, tuple(c.color)) for c in back.catalogue.classes] == classes, fmt


def test_a_voc_export_refuses_image_ids_its_split_lists_cannot_hold(tmp_path, capsys):
    """VOC's split lists hold one id per line and readers split lines at white space: an id with a space
    exported as 'a b' came back as 'a' (red team, session 7)."""
    from PIL import Image

    (tmp_path / "im").mkdir()
    (tmp_path / "lab").mkdir()
    for name in ("a b", "c"):
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "im" / f"{name}.png")
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "lab" / f"{name}.png")
    (tmp_path / "classes.txt").write_text("bg\nfg\n")
    _ok(capsys, "ingest", "folder", "--images", tmp_path / "im", "--labels", tmp_path / "lab",
        "--classes", tmp_path / "classes.txt", "-w", tmp_path / "ws")
    line = _error(capsys, "export", "-w", tmp_path / "ws", "--format", "voc", "--out", tmp_path / "voc")
    assert "'a b'" in line and "--format folder" in line
    assert not (tmp_path / "voc").exists()


def test_a_classes_file_saved_with_a_byte_order_mark_is_read(tmp_path):
    from alc_data.ingest.folder import read_classes_file

    path = tmp_path / "classes.txt"
    path.write_text("\ufeffbg\nfg 1 2 3\n", encoding="utf-8")
    assert [(c.name, tuple(c.color)) for c in read_classes_file(path)][1] == ("fg", (1, 2, 3))
    assert read_classes_file(path)[0].name == "bg"
