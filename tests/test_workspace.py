"""Workspace round trips: classes, splits, images, label versions, superpixel sets, atomic writes."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

os.environ.setdefault("ALC_PROGRESS", "0")

from alc_data.constants import IGNORE_INDEX  # noqa: E402
from alc_data.errors import AlcError  # noqa: E402
from alc_data.ingest import DatasetSource, IngestItem, ingest  # noqa: E402
from alc_data.workspace import ClassInfo, ImageRecord, Workspace  # noqa: E402
from alc_data.workspace.ledger import RoundProgress  # noqa: E402

CLASSES = [ClassInfo(0, "sky", (10, 20, 30)), ClassInfo(1, "road", (200, 100, 50)), ClassInfo(2, "car", (1, 2, 3))]
SIZES = {"a": (6, 8), "b": (5, 7), "c": (4, 4)}


def _png_bytes(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture()
def made(tmp_path):
    """A workspace of three generated images; returns (workspace, images, labels)."""
    rng = np.random.default_rng(0)
    images, labels = {}, {}
    for image_id, (h, w) in SIZES.items():
        images[image_id] = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        lab = rng.integers(0, len(CLASSES), (h, w)).astype(np.uint8)
        lab[0, 0] = IGNORE_INDEX
        labels[image_id] = lab

    def items():
        for image_id in sorted(SIZES):
            yield IngestItem(
                image_id=image_id,
                image_path=tmp_path / f"{image_id}.png",
                splits=("train",) if image_id != "c" else ("val", "extra"),
                gt=labels[image_id],
                image_bytes=_png_bytes(images[image_id]),
            )

    ws = ingest(tmp_path / "ws", DatasetSource("gen", CLASSES, items, count=len(SIZES)))
    return ws, images, labels


def test_classes_splits_images_round_trip(made):
    ws, images, labels = made
    ws = Workspace.open(ws.root)  # fresh object: everything comes from disk
    assert ws.catalogue.classes == CLASSES
    assert ws.catalogue.palette.shape == (256, 3) and ws.catalogue.palette.dtype == np.uint8
    assert [tuple(ws.catalogue.palette[i]) for i in range(3)] == [c.color for c in CLASSES]
    assert ws.catalogue.meta("dataset") == "gen"
    assert ws.catalogue.splits() == {"extra": 1, "train": 2, "val": 1}
    assert ws.catalogue.image_ids() == ["a", "b", "c"]
    assert ws.catalogue.image_ids("train") == ["a", "b"]
    with pytest.raises(AlcError, match="unknown split"):
        ws.catalogue.image_ids("test")
    for image_id, img in images.items():
        rec = ws.catalogue.image_record(image_id)
        assert (rec.height, rec.width) == img.shape[:2]
        assert ws.catalogue.image_path(image_id).is_relative_to(ws.root)  # copied in (image_bytes)
        np.testing.assert_array_equal(ws.catalogue.load_image(image_id), img)
        np.testing.assert_array_equal(ws.catalogue.read_gt(image_id), labels[image_id])
        np.testing.assert_array_equal(ws.labels.read_label("v0", image_id), labels[image_id])
    assert ws.catalogue.class_index("road") == 1 and ws.catalogue.class_index("2") == 2
    with pytest.raises(AlcError, match="unknown class"):
        ws.catalogue.class_index("bus")
    with pytest.raises(AlcError, match="case-sensitive"):  # names match exactly (issue 9)
        ws.catalogue.class_index("ROAD")


def test_label_pngs_keep_255_with_full_palette(made):
    from PIL import Image

    ws, _, labels = made
    files = sorted((ws.root / "labels" / "v0").glob("*.png")) + sorted((ws.root / "gt").glob("*.png"))
    assert len(files) == 6
    for path in files:
        with Image.open(path) as img:
            assert img.mode == "P"
            assert len(img.getpalette()) == 256 * 3
            arr = np.asarray(img)
        np.testing.assert_array_equal(arr, labels[path.stem])
        assert arr[0, 0] == IGNORE_INDEX


def test_write_version_hard_links_unchanged_images(made):
    ws, _, labels = made
    new_b = labels["b"].copy()
    new_b[1:3, 1:3] = 2
    v = ws.labels.write_version("v1", [("b", new_b)], parent="v0", kind="correction", round=1, params={"x": 1})
    assert (v.name, v.parent, v.kind, v.round, v.params) == ("v1", "v0", "correction", 1, {"x": 1})
    assert ws.labels.version().name == "v1" and ws.labels.next_version_name() == "v2"
    for image_id in ("a", "c"):
        assert os.path.samefile(ws.labels.label_path("v0", image_id), ws.labels.label_path("v1", image_id))
    assert not os.path.samefile(ws.labels.label_path("v0", "b"), ws.labels.label_path("v1", "b"))
    np.testing.assert_array_equal(ws.labels.read_label("v1", "b"), new_b)
    np.testing.assert_array_equal(ws.labels.read_label("v0", "b"), labels["b"])  # parent untouched
    with pytest.raises(AlcError, match="already exists"):
        ws.labels.write_version("v1", [], parent="v0", kind="correction")


def _state(ws: Workspace):
    files = sorted(str(p.relative_to(ws.root)) for p in ws.root.rglob("*") if "alc.sqlite" not in p.name)
    return files, [v.name for v in ws.labels.label_versions()], [s.name for s in ws.superpixels.superpixel_sets()]


@pytest.mark.parametrize(
    "bad",
    ["raise", "value", "shape", "unknown"],
)
def test_write_version_is_atomic(made, bad, assert_workspace_ok):
    ws, _, labels = made
    before = _state(ws)

    def gen():
        yield "a", labels["a"]
        if bad == "raise":
            raise RuntimeError("crash in the middle")
        if bad == "value":
            yield "b", np.full(SIZES["b"], 7, np.uint8)
        if bad == "shape":
            yield "b", np.zeros((2, 2), np.uint8)
        yield "nope", labels["c"]

    with pytest.raises((RuntimeError, AlcError)):
        ws.labels.write_version("v1", gen(), parent="v0", kind="correction")
    assert _state(ws) == before
    assert not ws.labels.version_dir("v1").exists()
    assert [p.name for p in (ws.root / "labels").iterdir()] == ["v0"]  # no temp folder left
    assert_workspace_ok(ws)


def test_write_version_without_parent_needs_every_image(made):
    ws, _, labels = made
    with pytest.raises(AlcError, match="lacks labels"):
        ws.labels.write_version("full", [("a", labels["a"])], parent=None, kind="import")
    assert not ws.labels.version_dir("full").exists()
    ws.labels.write_version("full", list(labels.items()), parent=None, kind="import")
    np.testing.assert_array_equal(ws.labels.read_label("full", "c"), labels["c"])


def test_superpixel_set_round_trip_and_atomicity(made, assert_workspace_ok):
    ws, _, _ = made
    rng = np.random.default_rng(1)
    maps = {i: rng.integers(-1, 5, SIZES[i]).astype(np.int32) for i in SIZES}
    maps["a"][0, 0] = 2**20  # large ids survive exactly
    ws.superpixels.write_superpixel_set("sp", sorted(maps.items()), method="test", params={"k": 3})
    assert [(s.name, s.method, s.params) for s in ws.superpixels.superpixel_sets()] == [("sp", "test", {"k": 3})]
    for image_id, sp in maps.items():
        got = ws.superpixels.read_superpixels("sp", image_id)
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, sp)

    before = _state(ws)

    def failing():
        yield "a", np.zeros(SIZES["a"], np.int32)
        raise RuntimeError("crash in the middle")

    with pytest.raises(RuntimeError):
        ws.superpixels.write_superpixel_set("sp2", failing(), method="test")
    with pytest.raises(RuntimeError):  # overwriting an existing set: the old one must survive
        ws.superpixels.write_superpixel_set("sp", failing(), method="test", overwrite=True)
    with pytest.raises(AlcError, match="lacks maps"):
        ws.superpixels.write_superpixel_set("sp3", [("a", maps["a"])], method="test")
    with pytest.raises(AlcError, match="already exists"):
        ws.superpixels.write_superpixel_set("sp", sorted(maps.items()), method="test")
    assert _state(ws) == before
    np.testing.assert_array_equal(ws.superpixels.read_superpixels("sp", "a"), maps["a"])
    assert_workspace_ok(ws)


def test_superpixel_set_from_staged_files_links_them_after_checking_their_header(made, tmp_path, assert_workspace_ok):
    from alc_data.io.superpixels import write_superpixels

    ws, _, _ = made
    rng = np.random.default_rng(2)
    staged = tmp_path / "stage"
    staged.mkdir()
    maps = {i: rng.integers(-1, 9, SIZES[i]).astype(np.int32) for i in SIZES}
    for image_id, sp in maps.items():
        write_superpixels(staged / f"{image_id}.npz", sp)
    (ws.root / "superpixels").mkdir(exist_ok=True)  # the (empty) parent a first set creates
    before = _state(ws)
    write_superpixels(tmp_path / "wrong.npz", np.zeros((2, 3), np.int32))
    np.savez_compressed(tmp_path / "int64.npz", superpixels=np.zeros(SIZES["a"], np.int64))
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not a zip")
    for bad, message in (("wrong.npz", r"has shape \(2, 3\)"), ("int64.npz", "dtype int64, expected int32"),
                         ("broken.npz", "broken.npz: corrupt superpixel map")):
        wrong = {i: staged / f"{i}.npz" for i in SIZES} | {"a": tmp_path / bad}
        with pytest.raises(AlcError, match=message):
            ws.superpixels.write_superpixel_set("linked", sorted(wrong.items()), method="test")
    assert _state(ws) == before  # nothing registered, nothing left
    ws.superpixels.write_superpixel_set("linked", sorted((i, staged / f"{i}.npz") for i in SIZES), method="test")
    for image_id, sp in maps.items():
        np.testing.assert_array_equal(ws.superpixels.read_superpixels("linked", image_id), sp)
        assert (ws.root / "superpixels" / "linked" / f"{image_id}.npz").samefile(staged / f"{image_id}.npz")  # linked
    assert_workspace_ok(ws)


def test_the_workspace_is_a_facade_over_typed_stores(made):
    ws, _, _ = made
    assert not hasattr(ws, "connect") and not hasattr(ws, "query")  # SQL stays inside the stores
    rec = ws.catalogue.image_record("b")
    assert isinstance(rec, ImageRecord) and (rec.height, rec.width, rec.has_gt) == (5, 7, True)
    assert ws.catalogue.image_records()["b"] == rec and ws.catalogue.image_sizes()["b"] == (5, 7)
    progress = ws.ledger.round_progress(1)
    assert isinstance(progress, RoundProgress) and progress.to_dict() == {
        "round": 1, "total": 0, "answered": 0, "accepted": 0, "corrected": 0, "unanswerable": 0,
        "retracted": 0, "median_seconds": None}
    assert ws.ledger.timed_answers(1) == [] and ws.ledger.answer_counts() == []
