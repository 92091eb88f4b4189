"""Superpixel methods (registry contract), the vectorised helpers, the fill of uncovered pixels, the
``imported`` method and the ``alc-data superpixels`` command on a tiny ingested workspace."""

from __future__ import annotations

import inspect
import io
import json
import os

import numpy as np
import pytest

os.environ.setdefault("ALC_PROGRESS", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from alc_data.errors import AlcError  # noqa: E402
from alc_data.superpixels import SUPERPIXEL_METHODS, SuperpixelContext, load_methods  # noqa: E402
from cli_helpers import run_cli  # noqa: E402
from alc_data.superpixels.utils import (  # noqa: E402
    connected_components,
    is_connected,
    merge_small_regions,
    region_stats,
    relabel_sequential,
)

load_methods()
METHODS = SUPERPIXEL_METHODS.names()
FULL_COVER = ("seeds", "slic", "felzenszwalb")
H, W = 64, 80
N_IMAGES = 3


def synthetic_image(h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    """(h, w, 3) uint8: a smooth colour gradient, a dozen flat discs and mild noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx / w * 200, yy / h * 200, (xx + yy) / (h + w) * 255], axis=-1)
    for _ in range(12):
        cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(max(2, h // 16), max(3, h // 5))
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.integers(0, 256, 3)
    return np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)


def planted_regions(h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    """(h, w) int32: four connected rectangles with ids 0..3 on a -1 background (like instance masks)."""
    sp = np.full((h, w), -1, dtype=np.int32)
    off = seed % 3
    sp[2 + off:20, 3:30] = 0
    sp[30:60, 5 + off:25] = 1
    sp[10:40, 40:70 - off] = 2
    sp[45:62, 50:78] = 3
    return sp


def connected(sp: np.ndarray, connectivity: int = 8) -> bool:
    """Independent check: one labelled component per id ≥ 0 (skimage, not the library helper)."""
    from skimage.measure import label

    pieces = label(np.where(sp >= 0, sp.astype(np.int64) + 1, 0), background=0, connectivity=1 if connectivity == 4 else 2)
    return int(pieces.max()) == np.unique(sp[sp >= 0]).size


def check_contract(sp: np.ndarray, shape: tuple[int, int], *, full_cover: bool) -> None:
    assert sp.shape == shape
    assert sp.dtype == np.int32
    if full_cover:
        assert sp.min() == 0, "every pixel must be covered"
    ids = np.unique(sp[sp >= 0])
    np.testing.assert_array_equal(ids, np.arange(ids.size))  # contiguous 0..n-1
    assert ids.size >= 1
    assert connected(sp, 8), "every region must be one 8-connected piece"


# ------------------------------------------------------------------ tiny workspace (ingest driver)
def _png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def build_workspace(root):
    """A workspace of N_IMAGES 64×80 images with planted regions given at ingest (set ``imported``)."""
    from alc_data.ingest import DatasetSource, IngestItem, ingest
    from alc_data.workspace import ClassInfo

    def items():
        for i in range(N_IMAGES):
            sp = planted_regions(seed=i)
            gt = np.where(sp >= 0, 1, 0).astype(np.uint8)
            yield IngestItem(
                image_id=f"img{i}", image_path=root / f"img{i}.png", splits=("train",), gt=gt, superpixels=sp,
                image_bytes=_png_bytes(synthetic_image(seed=i)),
            )

    classes = [ClassInfo(0, "background", (0, 0, 0)), ClassInfo(1, "thing", (128, 0, 0))]
    return ingest(root / "ws", DatasetSource(name="tiny", classes=classes, items=items, count=N_IMAGES))


@pytest.fixture(scope="module")
def tiny_ws(tmp_path_factory):
    ws = build_workspace(tmp_path_factory.mktemp("sp"))
    # the gsam method reads instance maps from set "gsam": give it the same planted maps
    ws.superpixels.write_superpixel_set("gsam", ((i, ws.superpixels.read_superpixels("imported", i)) for i in ws.catalogue.image_ids()), method="gsam-test")
    return ws


# ------------------------------------------------------------------ registry contract
@pytest.fixture(scope="module")
def tiny_sam(tmp_path_factory):
    from alc_data.testing.foundation import build_tiny_sam_pth

    return build_tiny_sam_pth(tmp_path_factory.mktemp("sam") / "sam_tiny.pth")


@pytest.mark.parametrize("method", METHODS)
def test_method_contract(method, tiny_ws, request):
    fn = SUPERPIXEL_METHODS.get(method)
    sig = inspect.signature(fn).parameters
    kwargs = {}
    if "checkpoint" in sig and sig["checkpoint"].default in (None, ""):  # a model method: a tiny random model
        kwargs = {"checkpoint": request.getfixturevalue("tiny_sam"), "points_per_side": 4}
    image_id = tiny_ws.catalogue.image_ids()[0]
    image = tiny_ws.catalogue.load_image(image_id)
    ctx = SuperpixelContext(tiny_ws, image_id)
    sp = np.asarray(fn(image, context=ctx, **kwargs))
    check_contract(sp, image.shape[:2], full_cover=method in FULL_COVER or "checkpoint" in kwargs)
    np.testing.assert_array_equal(sp, fn(image, context=ctx, **kwargs))  # deterministic
    assert region_stats(sp).count > 3


@pytest.mark.parametrize("method", FULL_COVER)
@pytest.mark.parametrize("connectivity", [4, 8])
def test_classic_methods_connected_under_both_connectivities(method, connectivity):
    image = synthetic_image(seed=3)
    sp = SUPERPIXEL_METHODS.get(method)(image, connectivity=connectivity)
    check_contract(sp, image.shape[:2], full_cover=True)
    assert connected(sp, connectivity)


@pytest.mark.parametrize("method", FULL_COVER)
def test_classic_methods_reject_bad_input(method):
    fn = SUPERPIXEL_METHODS.get(method)
    with pytest.raises(AlcError, match="uint8"):
        fn(np.zeros((8, 8, 3), dtype=np.float32))
    with pytest.raises(AlcError, match=r"\(H, W, 3\)"):
        fn(np.zeros((8, 8, 4), dtype=np.uint8))
    with pytest.raises(AlcError, match="connectivity"):
        fn(synthetic_image(16, 16), connectivity=6)


def test_seeds_gives_about_the_asked_number_on_a_pascal_size_image():
    from alc_data.superpixels.classic import seeds

    image = synthetic_image(375, 500, seed=1)
    default = seeds(image)
    n = region_stats(default).count
    assert 1700 <= n <= 2400, n  # 2,048 asked; OpenCV's rounded grid gives about 1,850
    fewer = region_stats(seeds(image, num_superpixels=400)).count
    assert 300 <= fewer <= 520, fewer
    # raw OpenCV levels (no adaptation) round 2,048 down to 713 regions on this size
    raw = region_stats(seeds(image, adapt_levels=False)).count
    assert raw < 0.5 * n


def test_seeds_layout_matches_opencv():
    import cv2

    from alc_data.superpixels.classic import seeds_layout

    for h, w, n, levels in [(375, 500, 2048, 4), (375, 500, 2048, 2), (281, 500, 1000, 3), (64, 80, 50, 4), (97, 31, 30, 2)]:
        engine = cv2.ximgproc.createSuperpixelSEEDS(w, h, 3, n, levels, 2, 5, False)
        assert seeds_layout(h, w, n, levels)[1] == engine.getNumberOfSuperpixels(), (h, w, n, levels)
    assert seeds_layout(10, 10, 2048, 4) is None  # a grid OpenCV would crash on


@pytest.mark.parametrize("shape", [(1, 1), (3, 200), (200, 3), (7, 9), (16, 16)])
def test_seeds_survives_tiny_and_thin_images(shape):
    from alc_data.superpixels.classic import seeds

    image = synthetic_image(*shape, seed=2) if min(shape) > 4 else np.full((*shape, 3), 90, np.uint8)
    sp = seeds(image)  # OpenCV segfaults on grids this fine; seeds() must clamp the ask
    check_contract(sp, shape, full_cover=True)


def test_parameters_from_text_are_converted_and_checked():
    from alc_data.superpixels.classic import seeds, slic

    image = synthetic_image(seed=4)
    np.testing.assert_array_equal(seeds(image, num_superpixels="60", double_step="false"), seeds(image, num_superpixels=60))
    with pytest.raises(AlcError, match="num_superpixels"):
        seeds(image, num_superpixels="many")
    with pytest.raises(AlcError, match="color_space"):
        seeds(image, color_space="cmyk")
    with pytest.raises(AlcError, match="compactness"):
        slic(image, compactness=-1)


# ------------------------------------------------------------------ helpers
def test_relabel_sequential_keeps_negatives_and_sorted_order():
    sp = np.array([[7, 7, -1], [3, -5, 42]], dtype=np.int64)
    out = relabel_sequential(sp)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[1, 1, -1], [0, -5, 2]])
    np.testing.assert_array_equal(relabel_sequential(np.full((2, 2), -1)), np.full((2, 2), -1))


def test_connected_components_splits_disconnected_regions():
    sp = np.array(
        [
            [5, 5, -1, 5],
            [-1, -1, -1, 5],
            [2, -1, 9, -1],
            [-1, 2, -1, -1],
        ]
    )
    four = connected_components(sp, 4)
    eight = connected_components(sp, 8)
    # region 5 is two pieces under both; region 2 touches by a corner only: two pieces under 4
    assert region_stats(four).count == 5 and region_stats(eight).count == 4
    np.testing.assert_array_equal(four[sp < 0], sp[sp < 0])  # negatives untouched
    assert four[0, 0] == 0 and four[0, 3] == 1  # raster order of first pixels
    assert connected(four, 4) and connected(eight, 8)
    assert not connected(sp, 8)
    assert is_connected(four, 4) and is_connected(eight, 8) and not is_connected(sp, 8) and not is_connected(eight, 4)


def test_merge_small_regions_joins_slivers_to_their_longest_border():
    sp = np.full((6, 8), -1, dtype=np.int32)
    sp[:, :4] = 0
    sp[:, 4:] = 1
    sp[2, 3:5] = 2  # a 2-pixel sliver sharing 3 edges with region 0 and 3 with region 1
    sp[5, 0] = 3  # 1 pixel in the corner of region 0
    sp[0, 7] = -1  # an uncovered pixel stays uncovered
    out = merge_small_regions(sp, 3)
    assert region_stats(out).count == 2
    assert out[5, 0] == out[0, 0]  # the corner pixel joined region 0
    assert out[0, 7] == -1
    assert connected(out, 4)
    np.testing.assert_array_equal(merge_small_regions(sp, 0), relabel_sequential(sp))  # 0: keep all


def test_region_stats_counts_and_areas():
    sp = np.array([[0, 0, -1], [4, 4, 4]])
    stats = region_stats(sp)
    assert stats.count == 2 and stats.areas.tolist() == [2, 3] and stats.ids.tolist() == [0, 4]
    assert stats.candidate_pixels == 5 and stats.candidate_share == pytest.approx(5 / 6)


# ------------------------------------------------------------------ fill and imported
@pytest.mark.parametrize("method", ["seeds", "slic"])
def test_fill_covers_everything_and_keeps_the_covered_regions(method):
    from alc_data.superpixels.fill import fill_uncovered

    image = synthetic_image(seed=5)
    sp = planted_regions()
    sp[sp == 1] = 17  # non-contiguous ids are kept as they are
    out = fill_uncovered(image, sp, method=method)
    assert out.dtype == np.int32 and out.min() >= 0
    covered = sp >= 0
    np.testing.assert_array_equal(out[covered], sp[covered])
    new = out[~covered]
    assert new.min() == 18  # numbered after the largest existing id
    assert not np.isin(new, sp[covered]).any()
    fill_only = np.where(covered, -1, out)
    assert connected(fill_only, 8)
    assert region_stats(fill_only).areas.min() >= 1
    assert region_stats(fill_only).count > 5


def test_fill_merges_slivers_and_reports_bad_arguments():
    from alc_data.superpixels.fill import fill_uncovered

    image = synthetic_image(seed=6)
    sp = planted_regions()
    merged = np.where(sp >= 0, -1, fill_uncovered(image, sp, num_superpixels=300))
    raw = np.where(sp >= 0, -1, fill_uncovered(image, sp, num_superpixels=300, min_area=0))
    assert (region_stats(merged).areas < 20).sum() < (region_stats(raw).areas < 20).sum()
    assert region_stats(merged).count < region_stats(raw).count
    nothing = np.zeros((H, W), dtype=np.int32)
    np.testing.assert_array_equal(fill_uncovered(image, nothing), nothing)  # nothing to fill
    with pytest.raises(AlcError, match="fill method"):
        fill_uncovered(image, sp, method="quickshift")
    with pytest.raises(AlcError, match="unknown parameter 'n_segments'"):
        fill_uncovered(image, sp, method="seeds", n_segments=10)
    with pytest.raises(AlcError, match="shape"):
        fill_uncovered(image, sp[:10])


def test_imported_skip_and_fill(tiny_ws):
    fn = SUPERPIXEL_METHODS.get("imported")
    image_id = tiny_ws.catalogue.image_ids()[1]
    image = tiny_ws.catalogue.load_image(image_id)
    ctx = SuperpixelContext(tiny_ws, image_id)
    stored = planted_regions(seed=1)
    skip = fn(image, context=ctx)
    np.testing.assert_array_equal(skip, stored)  # negatives stay: no candidates there
    assert (skip < 0).any()
    filled = fn(image, context=ctx, policy="fill", fill_method="slic", n_segments=80)
    assert filled.min() >= 0
    np.testing.assert_array_equal(filled[stored >= 0], stored[stored >= 0])
    assert filled[stored < 0].min() == stored.max() + 1
    with pytest.raises(AlcError, match="no superpixel set 'nope'.*has: "):
        fn(image, context=ctx, source="nope")
    with pytest.raises(AlcError, match="policy"):
        fn(image, context=ctx, policy="guess")
    with pytest.raises(AlcError, match="unknown parameter 'polcy'"):
        fn(image, context=ctx, polcy="fill")  # a typo is caught under policy=skip too
    # a key neither the method nor its fill takes: the error names the method and both lists of keys
    with pytest.raises(AlcError) as err:
        fn(image, context=ctx, box_threshold=0.3)
    msg = str(err.value)
    assert "for superpixel method imported" in msg and "source, policy, fill_method" in msg
    assert "fill method seeds" in msg and "num_superpixels" in msg
    with pytest.raises(AlcError, match="workspace"):
        fn(image)


# ------------------------------------------------------------------ command line
def test_cli_computes_stores_and_summarises(tiny_ws, capsys):
    from alc_data.superpixels.classic import seeds

    ws = tiny_ws
    code, out, err = run_cli(capsys, "superpixels", "--method", "seeds", "-w", ws.root, "--param", "num_superpixels=40",
                             "--set", "prior=3", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["name"] == "seeds" and data["method"] == "seeds" and data["images"] == N_IMAGES
    assert data["params"] == {"num_superpixels": 40, "prior": 3}
    assert data["candidate_share"] == 1.0
    assert 20 <= data["regions"]["min"] <= data["regions"]["mean"] <= data["regions"]["max"] <= 80
    for image_id in ws.catalogue.image_ids():  # the stored set round-trips
        np.testing.assert_array_equal(ws.superpixels.read_superpixels("seeds", image_id),
                                      seeds(ws.catalogue.load_image(image_id), num_superpixels=40, prior=3))

    code, out, err = run_cli(capsys, "superpixels", "-m", "imported", "-w", ws.root, "--name", "imp-skip", "--json")
    assert code == 0, err
    data = json.loads(out)
    planted = [planted_regions(seed=i) for i in range(N_IMAGES)]
    assert data["regions"]["min"] == data["regions"]["max"] == 4
    assert data["candidate_share"] == pytest.approx(np.mean([(p >= 0).mean() for p in planted]))

    code, out, err = run_cli(capsys, "superpixels", "-m", "imported", "-w", ws.root, "--name", "imp-fill",
                             "-p", "policy=fill", "-p", "num_superpixels=100")
    assert code == 0, err
    assert "superpixel set imp-fill (imported): 3 images" in out and "candidates 100.0 % of pixels" in out
    for image_id, p in zip(ws.catalogue.image_ids(), planted):
        filled = ws.superpixels.read_superpixels("imp-fill", image_id)
        np.testing.assert_array_equal(filled[p >= 0], p[p >= 0])
        assert filled.min() >= 0
    assert ws.superpixels.superpixel_set("imp-fill").params == {"policy": "fill", "num_superpixels": 100}

    # an existing name needs --overwrite
    code, out, err = run_cli(capsys, "superpixels", "-m", "slic", "-w", ws.root, "--name", "seeds")
    assert code == 2 and "already exists" in err and len(err.strip().splitlines()) == 1
    code, out, err = run_cli(capsys, "superpixels", "-m", "slic", "-w", ws.root, "--name", "seeds", "--overwrite",
                             "-p", "n_segments=30", "--json")
    assert code == 0, err
    assert json.loads(out)["method"] == "slic" and ws.superpixels.superpixel_set("seeds").method == "slic"


def test_cli_list(capsys):
    code, out, err = run_cli(capsys, "superpixels", "--list", "--json")
    assert code == 0, err
    rows = {r["name"]: r for r in json.loads(out)}
    assert set(FULL_COVER) | {"imported"} <= set(rows)
    assert rows["seeds"]["params"]["num_superpixels"] == 2048
    code, out, err = run_cli(capsys, "superpixels", "--list")
    assert code == 0 and "felzenszwalb" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--method", "nope"], "unknown superpixel method 'nope'; choose one of: "),
        (["--method", "imported", "--param", "source=missing", "--name", "x1"], "no superpixel set 'missing'"),
        (["--method", "seeds", "--param", "num_superpixels"], "expected key=value"),
        (["--method", "seeds", "--param", "nmu_superpixels=3"], "unknown parameter 'nmu_superpixels'"),
        (["--method", "seeds", "--param", "num_superpixels=lots", "--name", "x2"], "expected an integer"),
        (["--method", "seeds", "--name", "bad/name"], "not allowed"),
        (["--method", "seeds", "--name", ""], "--name '' is empty"),
        ([], "pass --method"),
    ],
)
def test_cli_errors_are_one_line_and_write_nothing(tiny_ws, capsys, args, message):
    before = [s.name for s in tiny_ws.superpixels.superpixel_sets()]
    code, out, err = run_cli(capsys, "superpixels", "-w", tiny_ws.root, *args)
    assert code == 2, (out, err)
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert [s.name for s in tiny_ws.superpixels.superpixel_sets()] == before
    leftovers = [p.name for p in (tiny_ws.root / "superpixels").iterdir() if p.name.startswith(".")]
    assert leftovers == []
    assert not (tiny_ws.root / "superpixels" / "x1").exists()


def test_cli_sam_option_becomes_the_checkpoint_param(tmp_path, capsys, monkeypatch):
    """--sam PATH reaches the method as param checkpoint (checked with a stand-in method)."""
    seen = {}

    def fake(image, *, context=None, checkpoint=None):
        seen["checkpoint"] = checkpoint
        return np.zeros(image.shape[:2], dtype=np.int32)

    monkeypatch.setitem(SUPERPIXEL_METHODS._items, "fake-sam", fake)
    ws = build_workspace(tmp_path)
    code, out, err = run_cli(capsys, "superpixels", "-m", "fake-sam", "-w", ws.root, "--sam", tmp_path / "sam.pth", "--json")
    assert code == 0, err
    assert seen["checkpoint"] == str(tmp_path / "sam.pth")
    assert json.loads(out)["params"] == {"checkpoint": str(tmp_path / "sam.pth")}
    code, out, err = run_cli(capsys, "superpixels", "-m", "fake-sam", "-w", ws.root, "--sam", "a.pth",
                             "--param", "checkpoint=b.pth", "--name", "twice")
    assert code == 2 and "give it once" in err
