"""Untrusted input at ingest: decompression bombs, 16-bit grey images, image ids, class
names that differ only by case, COCO / HF paths outside the dataset, and an all-or-nothing ingest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alc_data.errors import AlcError, InvalidInput
from cli_helpers import run_cli
from tiny_workspaces import bomb_png, png_bytes, tiny_source, tiny_ws
from test_ingest_errors import folder_args, make_dataset

# ---------------------------------------------------------------- decompression bombs


def _readers():
    from alc_data.ingest.folder import read_superpixel_png
    from alc_data.ingest.hf import _image_payload, decode_label_bytes
    from alc_data.io.images import image_size, load_image
    from alc_data.io.labels import read_label_png

    return {
        "load_image": load_image,
        "image_size": image_size,
        "read_label_png": read_label_png,
        "read_superpixel_png": read_superpixel_png,
        "hf_label": lambda p: decode_label_bytes(Path(p).read_bytes(), str(p)),
        "hf_image": lambda p: _image_payload(Path(p).read_bytes(), str(p), str(p)),
    }


@pytest.mark.parametrize("reader", list(_readers()))
@pytest.mark.parametrize("size", [(30000, 30000), (10000, 10000)], ids=["over-2x-limit", "over-limit"])
def test_every_image_reader_refuses_a_decompression_bomb(tmp_path, reader, size):
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png(*size))
    assert path.stat().st_size < 2000
    with pytest.raises(InvalidInput) as err:
        _readers()[reader](path)
    msg = str(err.value)
    assert str(path) in msg and f"{size[0] * size[1]:,} pixels" in msg and "89,478,485" in msg and "\n" not in msg


@pytest.mark.parametrize("where", ["images", "labels", "gt"])
def test_bomb_at_ingest_is_one_line_naming_the_file(tmp_path, capsys, where):
    root = tmp_path / "data"
    make_dataset(root)
    (root / where / "b.png").write_bytes(bomb_png(color_type=3 if where != "images" else 2))
    code, out, err = run_cli(capsys, *folder_args(root, tmp_path / "ws"))
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err + out
    assert str(root / where / "b.png") in err and "pixels" in err
    assert not (tmp_path / "ws").exists()


# ---------------------------------------------------------------- 16-bit grey


def test_16bit_grey_image_is_scaled_not_clipped(tmp_path):
    from alc_data.io.images import load_image

    ramp = np.linspace(0, 65535, 16 * 16).round().astype(np.uint16).reshape(16, 16)
    path = tmp_path / "grey16.png"
    path.write_bytes(png_bytes(ramp))
    rgb = load_image(path)
    assert rgb.shape == (16, 16, 3) and rgb.dtype == np.uint8
    expected = ((ramp.astype(np.uint32) + 128) // 257).astype(np.uint8)  # v / 257, rounded: 65535 -> 255
    assert np.array_equal(rgb[..., 0], expected) and np.array_equal(rgb[..., 2], expected)
    assert rgb.mean() < 160  # before: almost white (every value over 255 clipped to 255)


def test_16bit_grey_image_through_ingest(tmp_path):
    from alc_data.ingest.base import DatasetSource, IngestItem, ingest
    from alc_data.workspace import ClassInfo

    ramp = (np.arange(8 * 8).reshape(8, 8) * 1000).astype(np.uint16)
    (tmp_path / "g.png").write_bytes(png_bytes(ramp))

    def items():
        yield IngestItem("g", tmp_path / "g.png", ("train",), gt=np.zeros((8, 8), np.uint8))

    ws = ingest(tmp_path / "ws", DatasetSource("g16", [ClassInfo(0, "x", (0, 0, 0))], items))
    assert int(ws.catalogue.load_image("g")[..., 1].max()) == round(63000 / 257)


# ---------------------------------------------------------------- image ids

BAD_IDS = [" a", "a ", "a\nb", "a\rb", "a\tb", "a\u2028b", "a\u2029b", "a\x00b", "a\x85b", "\ufeffa", "", ".a", "x/y"]


@pytest.mark.parametrize("bad", BAD_IDS, ids=[repr(b) for b in BAD_IDS])
def test_bad_image_ids_are_refused_at_ingest_for_every_format(tmp_path, bad):
    with pytest.raises(InvalidInput) as err:
        tiny_ws(tmp_path / "ws", ["x", "y"], image_ids=("ok", bad))
    msg = str(err.value)
    assert repr(bad) in msg and "image id" in msg and "\n" not in msg
    assert not (tmp_path / "ws").exists()


def test_folder_image_with_a_padded_name_is_one_line(tmp_path, capsys):
    root = tmp_path / "data"
    make_dataset(root)
    for sub in ("images", "labels", "gt"):
        (root / sub / "b.png").rename(root / sub / "b .png")
    code, out, err = run_cli(capsys, *folder_args(root, tmp_path / "ws"))
    assert code == 2 and err.count("\n") == 1 and "'b '" in err and "space" in err


def test_good_unusual_ids_survive_ingest(tmp_path):
    ids = ("=1+2", "-x", "@home", "café", "a b", "'q")
    ws = tiny_ws(tmp_path / "ws", ["x", "y"], image_ids=ids)
    assert ws.catalogue.image_ids() == sorted(ids)


# ---------------------------------------------------------------- class names


def test_class_names_that_differ_only_by_case_are_refused(tmp_path):
    with pytest.raises(InvalidInput) as err:
        tiny_ws(tmp_path / "ws", ["background", "Car", "car"])
    msg = str(err.value)
    assert "'Car'" in msg and "'car'" in msg and "case" in msg and "\n" not in msg
    assert not (tmp_path / "ws").exists()


@pytest.mark.parametrize("bad", [" car", "car ", "", "a\nb", "a\u2028b", "a\tb"], ids=repr)
def test_bad_class_names_are_refused(tmp_path, bad):
    with pytest.raises(InvalidInput) as err:
        tiny_ws(tmp_path / "ws", ["x", bad])
    assert repr(bad) in str(err.value)


def _coco(tmp_path, categories, file_name="a.png"):
    images = tmp_path / "images"
    images.mkdir(exist_ok=True)
    (images / "a.png").write_bytes(png_bytes(np.zeros((4, 4, 3), np.uint8)))
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps({
        "images": [{"id": 1, "file_name": file_name, "height": 4, "width": 4}],
        "annotations": [],
        "categories": categories,
    }))
    return ann, images


def test_coco_car_and_car_is_one_line_naming_both(tmp_path, capsys):
    ann, images = _coco(tmp_path, [{"id": 1, "name": "Car"}, {"id": 2, "name": "car"}])
    code, out, err = run_cli(capsys, "ingest", "coco", ann, "--images", images, "-w", tmp_path / "ws")
    assert code == 2 and err.count("\n") == 1 and "'Car'" in err and "'car'" in err
    assert not (tmp_path / "ws").exists()


def test_class_list_rgb_with_unicode_digits_is_one_line(tmp_path):
    from alc_data.ingest.folder import read_classes_file

    path = tmp_path / "classes.txt"
    path.write_text("sky 1 2 ²\n", encoding="utf-8")
    classes = read_classes_file(path)  # '²' is no colour: it stays part of the name
    assert classes[0].name == "sky 1 2 ²"
    path.write_text("sky\nroad\u2028car\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        read_classes_file(path)
    assert f"{path}:2" in str(err.value) and "\n" not in str(err.value)


# ---------------------------------------------------------------- paths outside the dataset


@pytest.mark.parametrize("file_name", ["../../x.png", "/etc/x.png", "sub/../../x.png"])
def test_coco_file_name_outside_images_is_refused(tmp_path, capsys, file_name):
    outside = tmp_path / "x.png"
    outside.write_bytes(png_bytes(np.zeros((4, 4, 3), np.uint8)))
    (tmp_path / "d").mkdir()
    ann, images = _coco(tmp_path / "d", [{"id": 1, "name": "car"}], file_name=file_name)
    code, out, err = run_cli(capsys, "ingest", "coco", ann, "--images", images, "-w", tmp_path / "ws")
    assert code == 2 and err.count("\n") == 1, err
    assert repr(file_name) in err and "--images" in err
    assert not (tmp_path / "ws").exists()


def test_coco_file_name_in_a_subfolder_is_fine(tmp_path):
    from alc_data.ingest.coco import read_coco

    ann, images = _coco(tmp_path, [{"id": 1, "name": "car"}], file_name="sub/a.png")
    (images / "sub").mkdir()
    (images / "a.png").rename(images / "sub" / "a.png")
    items = list(read_coco(ann, images=images).items())
    assert items[0].image_path == images / "sub" / "a.png"


def test_hf_path_cell_outside_the_dataset_folder_is_refused(tmp_path):
    from alc_data.ingest.hf import _cell_bytes

    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    dataset_dir = tmp_path / "ds"
    (dataset_dir / "img").mkdir(parents=True)
    inside = dataset_dir / "img" / "a.png"
    inside.write_bytes(b"png")
    roots = (dataset_dir,)
    assert _cell_bytes({"bytes": None, "path": str(inside)}, "row 0", roots) == (b"png", str(inside))
    assert _cell_bytes({"bytes": None, "path": "img/a.png"}, "row 0", roots)[0] == b"png"
    for bad in (str(secret), "../secret.txt", str(dataset_dir / ".." / "secret.txt")):
        with pytest.raises(InvalidInput) as err:
            _cell_bytes({"bytes": None, "path": bad}, "row 0 column 'image'", roots)
        assert "outside" in str(err.value) and "row 0 column 'image'" in str(err.value)
    # bytes always win: the path is then only a name
    assert _cell_bytes({"bytes": b"x", "path": str(secret)}, "row 0", roots) == (b"x", str(secret))


# ---------------------------------------------------------------- all-or-nothing ingest


def test_failure_mid_ingest_leaves_nothing_and_a_rerun_works(tmp_path):
    from alc_data.ingest.base import ingest

    good = tiny_source(["x", "y"])
    make = good.items

    def failing():
        for n, item in enumerate(make()):
            if n == 2:
                raise RuntimeError("source broke")
            yield item

    good.items = failing
    with pytest.raises(RuntimeError):
        ingest(tmp_path / "ws", good)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    good.items = make
    ws = ingest(tmp_path / "ws", good)
    assert ws.catalogue.image_ids() == ["a", "b", "c"]


KILL_SCRIPT = """
import sys
from tiny_workspaces import tiny_ws
tiny_ws(sys.argv[1], ["x", "y"])
print("finished")
"""


@pytest.mark.parametrize("point", ["ingest:staged", "ingest:renamed"])
def test_ingest_killed_at_a_point_never_blocks_a_rerun(tmp_path, point):
    target = tmp_path / "ws"
    env = {**os.environ, "ALC_KILL_AT": point, "PYTHONPATH": str(Path(__file__).parent)}
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(target)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr  # proves the kill happened at that point
    assert "finished" not in proc.stdout
    if point == "ingest:staged":
        assert not target.exists()
        assert [p.name.startswith(".ws.ingest-") for p in tmp_path.iterdir()] == [True]  # debris beside it
        ws = tiny_ws(target, ["x", "y"])  # the leftover staging folder does not block a re-run
        assert ws.catalogue.image_ids() == ["a", "b", "c"]
        from alc_data.workspace.check import check_workspace

        report = check_workspace(target)  # ... and is debris that `alc-data check --repair` removes
        assert [p.kind for p in report.problems] == ["debris"] and check_workspace(target, repair=True).ok
    else:
        from alc_data.workspace import Workspace

        ws = Workspace.open(target)  # complete: images stored relative to the workspace still load
        assert ws.catalogue.image_ids() == ["a", "b", "c"] and ws.catalogue.load_image("a").shape == (8, 8, 3)
        with pytest.raises(AlcError, match="already holds dataset"):
            tiny_ws(target, ["x", "y"])


@pytest.mark.parametrize("size", [(100000, 100000), (0, 4)])
def test_coco_entry_claiming_a_huge_size_is_refused_before_allocating(tmp_path, size):
    from alc_data.ingest.coco import read_coco

    ann, images = _coco(tmp_path, [{"id": 1, "name": "car"}])
    data = json.loads(ann.read_text())
    data["images"][0]["height"], data["images"][0]["width"] = size
    ann.write_text(json.dumps(data))
    with pytest.raises(InvalidInput) as err:
        read_coco(ann, images=images)
    assert str(ann) in str(err.value) and "entry id 1" in str(err.value)


def test_a_label_saved_as_jpeg_is_named_in_the_missing_label_error(tmp_path, capsys):
    """Red team, session 7: a label `im1.jpg` gave "missing label for image im1.png" without a word about the
    JPEG that sat there (ignored: a label must be a PNG)."""
    from PIL import Image

    (tmp_path / "im").mkdir()
    (tmp_path / "lab").mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "im" / "im1.png")
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "lab" / "im1.jpg")
    (tmp_path / "c.txt").write_text("bg\nfg\n")
    code, _, err = run_cli(capsys, "ingest", "folder", "--images", tmp_path / "im", "--labels", tmp_path / "lab",
                           "--classes", tmp_path / "c.txt", "-w", tmp_path / "ws")
    assert code == 2 and "im1.jpg is there, but a label must be a PNG" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "ws").exists()
