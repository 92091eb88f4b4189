"""alc-data diff: exact numbers on planted changes, pictures, self-contained HTML, ledger links, real fixture."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import invoke
from conftest import FIXTURES

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ALC_PROGRESS", "0")

from alc_data.constants import IGNORE_INDEX  # noqa: E402
from alc_data.errors import AlcError, InvalidInput  # noqa: E402
from alc_data.io.labels import write_label_png  # noqa: E402

V = IGNORE_INDEX


def _png_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return img.size


@pytest.fixture
def folders(tmp_path):
    """Two label folders (6x8) with planted changes; expected numbers in the test below."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    p1a = np.zeros((6, 8), np.uint8)
    p1b = p1a.copy()
    p1b[1:3, 1:3] = 1  # region 1: 4 px 0->1
    p1b[4, 4:7] = 2  # region 2: 3 px 0->2
    p1b[0, 7] = V  # region 3: 1 px 0->void
    p2a = np.ones((6, 8), np.uint8)
    p2a[0:2, 0:2] = V
    p2b = p2a.copy()
    p2b[0:2, 0:2] = 0  # 4 px void->0
    p2b[2, 2] = 0  # 1 px 1->0, diagonal neighbour of the block: same region (8-connectivity)
    p2b[5, 7] = 2  # 1 px 1->2, region 2
    p3 = np.full((6, 8), 2, np.uint8)
    p3[3, 3] = V  # unchanged, void stays void
    for name, la, lb in (("p1", p1a, p1b), ("p2", p2a, p2b), ("p3", p3, p3)):
        write_label_png(a / f"{name}.png", la)
        write_label_png(b / f"{name}.png", lb)
    write_label_png(a / "onlyA.png", p3)
    write_label_png(b / "onlyB.png", p3)
    classes = tmp_path / "classes.txt"
    classes.write_text("bg\nthing\nstuff\n")
    images = tmp_path / "images"
    images.mkdir()
    from PIL import Image

    Image.fromarray(np.full((6, 8, 3), 200, np.uint8)).save(images / "p1.jpg")  # p2 has no image
    return a, b, classes, images


EXPECTED_MATRIX = [
    [40, 4, 3, 1],  # bg -> bg, thing, stuff, void
    [1, 42, 1, 0],  # thing
    [0, 0, 47, 0],  # stuff
    [4, 0, 0, 1],  # void
]


def test_folder_diff_exact_numbers(folders):
    from alc_data.audit import diff_labels

    a, b, classes, images = folders
    d = diff_labels(str(a), str(b), classes_file=classes, images=images, top=5)
    assert d.mode == "folders"
    assert d.labels_with_void == ["bg", "thing", "stuff", "void"]
    assert d.transition_matrix.tolist() == EXPECTED_MATRIX
    assert d.only_in_a == ["onlyA"] and d.only_in_b == ["onlyB"]
    t = d.totals()
    assert t["images_compared"] == 3 and t["images_changed"] == 2
    assert t["pixels"] == 144 and t["changed_pixels"] == 14
    assert t["became_void"] == 1 and t["stopped_void"] == 4 and t["regions"] == 5
    p1, p2, p3 = (d.image(i) for i in ("p1", "p2", "p3"))
    assert p1.changed_share == pytest.approx(8 / 48) and p2.changed_share == pytest.approx(6 / 48)
    assert p3.changed == 0 and p3.regions == 0 and p3.agreement == 1.0
    assert (p1.regions, p2.regions) == (3, 2)
    assert (p1.became_void, p1.stopped_void, p2.became_void, p2.stopped_void) == (1, 0, 0, 4)
    assert p2.agreement == pytest.approx(42 / 44)  # void pixels do not count
    assert d.top == ["p1", "p2"]  # most changed first; unchanged images are not "top"
    regs = {(r.pixels, r.old_class, r.new_class, r.bbox) for r in d.regions["p1"]}
    assert regs == {(4, 0, 1, (1, 1, 2, 2)), (3, 0, 2, (4, 4, 6, 4)), (1, 0, V, (7, 0, 7, 0))}
    assert sorted(r.pixels for r in d.regions["p2"]) == [1, 5]
    tr = d.transitions()
    assert [(x["from"], x["to"], x["pixels"]) for x in tr] == [  # most pixels first, then matrix order
        ("bg", "thing", 4), ("void", "bg", 4), ("bg", "stuff", 3), ("bg", "void", 1), ("thing", "bg", 1),
        ("thing", "stuff", 1)]
    assert tr[1]["from_index"] == V and tr[1]["to_index"] == 0
    assert d.ledger is None


def test_numeric_classes_and_bad_values(folders, tmp_path):
    from alc_data.audit import diff_labels

    a, b, _, _ = folders
    d = diff_labels(str(a), str(b))
    assert d.class_names == ["0", "1", "2"]
    assert d.transition_matrix.tolist() == EXPECTED_MATRIX
    two = tmp_path / "two.txt"
    two.write_text("bg\nthing\n")
    with pytest.raises(AlcError, match=r"p\d\.png: label value 2 .* not a class \(K=2\)"):
        diff_labels(str(a), str(b), classes_file=two)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AlcError, match="share no image ids"):
        diff_labels(str(a), str(empty))
    with pytest.raises(AlcError, match="neither an existing label folder nor a label version"):
        diff_labels(str(a), "missing", workspace=tmp_path / "nows")
    with pytest.raises(AlcError, match="missing: no such folder"):
        diff_labels(str(a), str(tmp_path / "missing"), workspace=tmp_path / "nows")


def test_cli_json_report_and_pictures(folders, tmp_path, capsys):
    a, b, classes, images = folders
    report = tmp_path / "r" / "report.html"
    pics = tmp_path / "pics"
    res = invoke(capsys, ["diff", str(a), str(b), "--classes", str(classes), "--images", str(images),
                                   "--json", "--report", str(report), "--out", str(pics), "--top", "2"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["transition_matrix"] == EXPECTED_MATRIX
    assert data["changed_pixels"] == 14 and data["became_void"] == 1 and data["stopped_void"] == 4
    assert [x["image_id"] for x in data["top"]] == ["p1", "p2"]
    assert {x["image_id"]: x["regions"] for x in data["per_image"]} == {"p1": 3, "p2": 2, "p3": 0}
    assert data["only_in_a"] == ["onlyA"] and data["report"] == str(report)
    # pictures: p1 has an image (4 panels), p2 has none (3 panels: labels only)
    assert _png_size((pics / "p1.png").read_bytes())[0] == 4 * 8 + 3 * 4
    assert _png_size((pics / "p2.png").read_bytes())[0] == 3 * 8 + 2 * 4
    html = report.read_text()
    srcs = re.findall(r"""src=['"]([^'"]*)""", html)
    assert len(srcs) == 2 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<link" not in html and "<script" not in html and "href=" not in html
    assert "onlyA" in html and "thing" in html
    # plain output
    res = invoke(capsys, ["diff", str(a), str(b), "--classes", str(classes)])
    assert res.exit_code == 0 and "14 of 144 pixels" in res.stdout


# ---------------------------------------------------------------------------------------------- ledger
def _ledger_workspace(root: Path):
    from alc_data.ingest import DatasetSource, IngestItem, ingest
    from alc_data.workspace import ClassInfo

    classes = [ClassInfo(0, "bg", (0, 0, 0)), ClassInfo(1, "cat", (128, 0, 0)), ClassInfo(2, "dog", (0, 128, 0))]

    def png(arr):
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="PNG")
        return buf.getvalue()

    def items():
        for i in range(2):
            yield IngestItem(image_id=f"img{i}", image_path=Path(f"img{i}.png"), splits=("train",),
                             gt=np.zeros((8, 8), np.uint8), image_bytes=png(np.full((8, 8, 3), 50 * i, np.uint8)))

    ws = ingest(root, DatasetSource(name="toy", classes=classes, items=items, count=2))
    r, c = np.mgrid[0:8, 0:8]
    grid = ((r // 4) * 2 + c // 4).astype(np.int32)  # ids 0..3, 4x4 blocks
    ws.superpixels.write_superpixel_set("grid", ((i, grid) for i in ws.catalogue.image_ids()), method="grid")

    def add_round(con, rnd, parent, out, image_id, sp_set, sp_id, rep, old, new, who):
        con.execute("INSERT INTO rounds(round, label_version, superpixel_set, acquisition, budget, output_version, created_at) "
                    "VALUES (?, ?, 'grid', 'sim', 1, ?, '2024-01-01T00:00:00+00:00')", (rnd, parent, out))
        con.execute("INSERT INTO queries(query_id, round, rank, image_id, superpixel_set, superpixel_id, rep_row, rep_col, "
                    "shown_label, area, score, bbox_x0, bbox_y0, bbox_x1, bbox_y1) VALUES (?,?,1,?,?,?,?,?,?,16,1.0,0,0,3,3)",
                    (rnd, rnd, image_id, sp_set, sp_id, rep[0], rep[1], old))
        con.execute("INSERT INTO answers(query_id, round, status, answer_class, source, annotator, answered_at) "
                    "VALUES (?, ?, 'corrected', ?, 'csv:a.csv', ?, ?)", (rnd, rnd, new, who, f"2024-01-0{rnd}T12:00:00+00:00"))
        con.execute("INSERT INTO corrections(query_id, round, label_version, image_id, superpixel_id, old_class, new_class, pixels) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 16)", (rnd, rnd, out, image_id, sp_id, old, new))

    l0 = np.zeros((8, 8), np.uint8)
    l0[grid == 1] = 1  # round 1: superpixel 1 of img0 -> cat
    l0[7, 0] = 2  # a change no query explains
    ws.labels.write_version("v1", [("img0", l0)], parent="v0", kind="correction", round=1,
                     on_commit=lambda con: add_round(con, 1, "v0", "v1", "img0", "grid", 1, (1, 5), 0, 1, "alice"))
    l1 = np.zeros((8, 8), np.uint8)
    l1[grid == 2] = 2  # round 2: superpixel 2 of img1 -> dog; its superpixel set file is gone (rep-pixel fallback)
    ws.labels.write_version("v2", [("img1", l1)], parent="v1", kind="correction", round=2,
                     on_commit=lambda con: add_round(con, 2, "v1", "v2", "img1", "gone", 2, (5, 1), 0, 2, "bob"))
    return ws


def test_version_diff_links_regions_to_ledger(tmp_path):
    from alc_data.audit import diff_labels, render_report

    ws = _ledger_workspace(tmp_path / "ws")
    d = diff_labels("v0", "v2", workspace=ws, top=5)
    assert d.mode == "versions" and d.class_names == ["bg", "cat", "dog"]
    assert d.ledger["versions"] == ["v1", "v2"] and d.ledger["corrections"] == 2
    assert d.ledger["linked_changed_pixels"] == 32 and d.ledger["unlinked_changed_pixels"] == 1
    regs0 = {r.pixels: r for r in d.regions["img0"]}
    assert set(regs0) == {16, 1}
    link = regs0[16].links[0]
    assert (link["round"], link["annotator"], link["source"], link["superpixel_id"], link["overlap"]) == (1, "alice", "csv:a.csv", 1, 16)
    assert link["answered_at"] == "2024-01-01T12:00:00+00:00" and link["status"] == "corrected"
    assert regs0[1].links == []  # the unexplained pixel
    (r1,) = d.regions["img1"]
    assert r1.links[0]["annotator"] == "bob" and r1.links[0]["overlap"] is None and r1.new_class == 2
    assert "alice" in render_report(d)
    # only the versions between A and B count; the reverse direction links too
    d12 = diff_labels("v1", "v2", workspace=ws)
    assert d12.ledger["versions"] == ["v2"] and d12.ledger["corrections"] == 1 and "img0" not in d12.regions
    d20 = diff_labels("v2", "v0", workspace=ws)
    assert d20.transition_matrix[1, 0] == 16 and d20.ledger["corrections"] == 2
    # mixed: a version against a folder of the original labels, no ledger
    exported = tmp_path / "orig"
    exported.mkdir()
    for i in ws.catalogue.image_ids():
        write_label_png(exported / f"{i}.png", ws.labels.read_label("v0", i))
    dm = diff_labels(str(exported), "latest", workspace=ws)
    assert dm.mode == "mixed" and dm.ledger is None and dm.totals()["changed_pixels"] == 33
    with pytest.raises(AlcError, match="--classes is only for two label folders"):
        diff_labels("v0", "v1", workspace=ws, classes_file=tmp_path / "x.txt")
    with pytest.raises(AlcError, match="unknown label version 'v7'"):
        diff_labels("v0", "v7", workspace=ws)


# ---------------------------------------------------------------------------------------------- real fixture
def test_second_annotator_agrees_98_to_99_9_percent(tmp_path):
    from alc_data.audit import diff_labels, diff_pictures, write_report

    second = FIXTURES / "voc-second-annotator" / "SegmentationClass"
    official = FIXTURES / "voc" / "VOCdevkit" / "VOC2012" / "SegmentationClass"
    d = diff_labels(str(second), str(official), classes_file=FIXTURES / "voc-second-annotator" / "class_names.txt",
                    images=FIXTURES / "voc" / "VOCdevkit" / "VOC2012" / "JPEGImages", top=3)
    ids = ["2011_000006"]
    assert [im.image_id for im in d.images] == ids
    assert d.only_in_a == [] and d.only_in_b == ["2007_000032"]
    for im in d.images:
        assert 98.0 <= round(100 * im.agreement, 1) <= 99.9, (im.image_id, im.agreement)
        assert im.changed > 0 and im.regions > 0
    m = d.transition_matrix
    assert m.sum() == sum(im.pixels for im in d.images) and m.shape == (22, 22)
    assert d.totals()["became_void"] > d.totals()["stopped_void"]  # the official labels add void borders
    report = write_report(d, tmp_path / "voc.html", diff_pictures(d))
    assert report.read_text().count("data:image/png;base64,") == len(ids)  # one picture per image (top=3)


# ---------------------------------------------------------------- diff's class file


def test_diff_class_file_keeps_lines_whole_and_refuses_control_characters(tmp_path):
    from alc_data.audit.sources import read_class_file

    path = tmp_path / "classes.txt"
    path.write_text("sky\r\nroad\rcar\n", encoding="utf-8")
    assert read_class_file(path) == ["sky", "road", "car"]
    path.write_text("sky\nroad\u2028car\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        read_class_file(path)
    assert str(path) in str(err.value) and "\\u2028" in str(err.value)


# ---------------------------------------------------------------- sides a new user mistypes


def test_a_side_that_is_no_folder_nor_version_is_named_as_such(tmp_path, capsys, monkeypatch):
    """A missing folder is not called an "unknown label version"; an empty side is not the current folder;
    a folder that shares its name with a label version is not silently taken for it; --images must exist
    and is refused for two versions (as --classes is)."""
    ws = _ledger_workspace(tmp_path / "ws")
    missing = tmp_path / "no" / "such-folder"
    res = invoke(capsys, ["diff", "v0", str(missing), "-w", ws.root])
    assert res.exit_code == 2 and "unknown label version" not in res.stderr
    assert f"{missing}: no such folder" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = invoke(capsys, ["diff", "", "v1", "-w", ws.root])
    assert res.exit_code == 2 and "share no image ids" not in res.stderr and "empty" in res.stderr
    monkeypatch.chdir(tmp_path)
    (tmp_path / "v1").mkdir()
    res = invoke(capsys, ["diff", "v0", "v1", "-w", ws.root])
    assert res.exit_code == 2 and "./v1" in res.stderr, res.output
    res = invoke(capsys, ["diff", "v0", "latest", "-w", ws.root, "--images", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "--images" in res.stderr and "two label folders" in res.stderr, res.output
    folder = tmp_path / "labels-a"
    shutil.copytree(ws.labels.version_dir("v0"), folder)
    res = invoke(capsys, ["diff", str(folder), str(folder), "--images", str(tmp_path / "nope")])
    assert res.exit_code == 2 and f"--images {tmp_path / 'nope'}" in res.stderr and "not found" in res.stderr, res.output


def test_diff_reads_the_class_list_an_export_writes_with_its_colours(tmp_path):
    """`export --format folder` writes classes.txt with each class's colour (session 7); diff's --classes
    reads the same format as `ingest folder` (one reader), not the colour as part of the name."""
    from alc_data.audit.sources import read_class_file

    path = tmp_path / "classes.txt"
    path.write_text("background 0 0 0\ntraffic light 250 170 30\ncar #c82828\n", encoding="utf-8")
    assert read_class_file(path) == ["background", "traffic light", "car"]
