"""alc-data publish: dataset folder round trip (offline), upload through a fake client, token hygiene, bad input."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ALC_PROGRESS", "0")

from alc_data.constants import IGNORE_INDEX  # noqa: E402
from alc_data.errors import AlcError  # noqa: E402
from alc_data.ingest import DatasetSource, IngestItem, ingest  # noqa: E402
from alc_data.workspace import ClassInfo  # noqa: E402

H, W = 12, 16
CLASSES = [ClassInfo(0, "background", (0, 0, 0)), ClassInfo(1, "cat", (64, 0, 0)), ClassInfo(2, "dog", (0, 128, 0))]
SPLITS = {"img0": ("train", "trainval"), "img1": ("train", "trainval"), "img2": ("train", "trainval"),
          "img3": ("val", "trainval")}
SECRET = "hf_SeCrEtToKeN0123456789abcdefXYZ"


def _rgb_png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _gt(i: int) -> np.ndarray:
    g = np.zeros((H, W), dtype=np.uint8)
    g[2:6, 3:9] = 1 + i % 2
    g[0, :] = IGNORE_INDEX  # a void border row
    return g


def grid_superpixels() -> np.ndarray:
    """(12, 16) int32: 4x4 blocks, ids 0..11 row-major."""
    r, c = np.mgrid[0:H, 0:W]
    return ((r // 4) * 4 + c // 4).astype(np.int32)


def make_workspace(root: Path, *, labels_from="gt", name="voc-mini"):
    """4 images (train img0-2, val img3, trainval all), v0 = gt, v1 with two ledger corrections + one unlogged change."""
    rng = np.random.default_rng(0)

    def items():
        for i, image_id in enumerate(SPLITS):
            yield IngestItem(
                image_id=image_id, image_path=Path(f"{image_id}.png"), splits=SPLITS[image_id], gt=_gt(i),
                image_bytes=_rgb_png(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)),
            )

    ws = ingest(root, DatasetSource(name=name, classes=CLASSES, items=items, count=4), labels_from=labels_from)
    ws.superpixels.write_superpixel_set("grid", ((i, grid_superpixels()) for i in ws.catalogue.image_ids()), method="grid")
    sp = grid_superpixels()
    l0 = ws.labels.read_label("v0", "img0").copy()
    l0[sp == 5] = 2  # correction 1: superpixel 5 -> dog (8 cat + 8 background pixels)
    l0[0, 12:16] = 0  # unlogged change: void -> background (4 pixels)
    l3 = ws.labels.read_label("v0", "img3").copy()
    l3[sp == 10] = 1  # correction 2: superpixel 10 -> cat (16 background pixels)
    l3[1, 1] = IGNORE_INDEX  # unlogged change: background -> void

    def ledger(con):
        con.execute("INSERT INTO rounds(round, label_version, superpixel_set, acquisition, budget, output_version, created_at) "
                    "VALUES (1, 'v0', 'grid', 'sim', 3, 'v1', '2024-05-01T09:00:00+00:00')")
        queries = [(1, 1, 1, "img0", 5, 5, 5, 1), (2, 1, 2, "img3", 10, 9, 9, 0), (3, 1, 3, "img1", 0, 1, 1, 0)]
        for qid, rnd, rank, image_id, spid, y, x, shown in queries:
            con.execute(
                "INSERT INTO queries(query_id, round, rank, image_id, superpixel_set, superpixel_id, rep_row, rep_col, "
                "shown_label, dominant, area, score, bbox_x0, bbox_y0, bbox_x1, bbox_y1) "
                "VALUES (?,?,?,?, 'grid', ?,?,?,?, NULL, 16, 1.0, 0, 0, 3, 3)",
                (qid, rnd, rank, image_id, spid, y, x, shown),
            )
        for qid, status, cls, source, who, at in [
            (1, "corrected", 2, "csv:answers.csv", "alice", "2024-05-01T10:00:00+00:00"),
            (2, "corrected", 1, "oracle:gt:pixel", "oracle", "2024-05-01T10:01:00+00:00"),
            (3, "accepted", 0, "csv:answers.csv", "bob", "2024-05-01T10:02:00+00:00"),
        ]:
            con.execute("INSERT INTO answers(query_id, round, status, answer_class, source, annotator, answered_at) "
                        "VALUES (?, 1, ?, ?, ?, ?, ?)", (qid, status, cls, source, who, at))
        con.execute("INSERT INTO corrections(query_id, round, label_version, image_id, superpixel_id, old_class, new_class, pixels) "
                    "VALUES (1, 1, 'v1', 'img0', 5, 1, 2, 16)")
        con.execute("INSERT INTO corrections(query_id, round, label_version, image_id, superpixel_id, old_class, new_class, pixels) "
                    "VALUES (2, 1, 'v1', 'img3', 10, 0, 1, 16)")

    ws.labels.write_version("v1", [("img0", l0), ("img3", l3)], parent="v0", kind="correction", round=1, on_commit=ledger)
    return ws


@pytest.fixture
def ws(tmp_path):
    return make_workspace(tmp_path / "ws")


def fake_hub(fail: Exception | None = None):
    """A hub client with ``HfApi``'s exact signatures (a misspelt keyword fails as it would for real);
    records its calls in ``method_calls``, optionally raises on upload."""
    from unittest.mock import create_autospec

    from huggingface_hub import HfApi

    hub = create_autospec(HfApi, instance=True)
    hub.uploaded_files = []
    hub.create_repo.side_effect = lambda repo_id, **kw: f"https://huggingface.co/datasets/{repo_id}"

    def upload_folder(**kwargs):
        if fail is not None:
            raise fail
        folder = Path(kwargs["folder_path"])
        hub.uploaded_files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())

        class Info(str):
            oid = "abc123def"
            commit_url = f"https://huggingface.co/datasets/{kwargs['repo_id']}/commit/abc123def"

        return Info(Info.commit_url)

    hub.upload_folder.side_effect = upload_folder
    return hub


def names(hub) -> list[str]:
    return [c[0] for c in hub.method_calls]


def _load(folder: Path, config: str | None, cache: Path):
    import datasets

    return datasets.load_dataset(str(folder), config, cache_dir=str(cache))


def _run_cli(argv, monkeypatch, capsys):
    from alc_data_cli.main import main

    monkeypatch.setattr(sys, "argv", ["alc-data", *argv])
    with pytest.raises(SystemExit) as exc:
        main()
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


# ---------------------------------------------------------------------------------------------- round trip
def test_folder_loads_offline_and_labels_are_byte_exact(ws, tmp_path):
    import datasets
    from huggingface_hub import DatasetCard

    from alc_data.publish import publish

    out = tmp_path / "pub"
    res = publish(ws, to_dir=out, license="cc-by-4.0", pretty_name="Mini+")
    assert res.build.version == "v1" and res.build.original == "v0"
    assert res.build.splits == {"train": 3, "val": 1}  # trainval = train ∪ val is not published twice
    assert (out / "data" / "train-00000-of-00001.parquet").is_file()
    assert json.loads((out / "id2label.json").read_text()) == {"0": "background", "1": "cat", "2": "dog"}
    assert json.loads((out / "label2color.json").read_text())["dog"] == [0, 128, 0]

    dd = _load(out, None, tmp_path / "cache")
    assert set(dd) == {"train", "val"}
    seen = set()
    for split, expected_ids in (("train", ["img0", "img1", "img2"]), ("val", ["img3"])):
        d = dd[split]
        assert d.features["classes_present"].feature.names == ["background", "cat", "dog"]
        raw = d.cast_column("label", datasets.Image(decode=False)).cast_column(
            "label_original", datasets.Image(decode=False)).cast_column("image", datasets.Image(decode=False))
        assert raw["image_id"] == expected_ids
        for i, row in enumerate(raw):
            image_id = row["image_id"]
            seen.add(image_id)
            assert row["label"]["bytes"] == ws.labels.label_path("v1", image_id).read_bytes()
            assert row["label_original"]["bytes"] == ws.labels.label_path("v0", image_id).read_bytes()
            assert row["image"]["bytes"] == ws.catalogue.image_path(image_id).read_bytes()
            assert row["label"]["path"] is None and row["image"]["path"] is None  # bytes, not local paths
            decoded = d[i]
            lab = np.array(decoded["label"])
            assert decoded["label"].mode == "P"
            np.testing.assert_array_equal(lab, ws.labels.read_label("v1", image_id))
            np.testing.assert_array_equal(np.array(decoded["label_original"]), ws.labels.read_label("v0", image_id))
            assert (lab == IGNORE_INDEX).any()  # the void row survives as 255
            present = sorted(set(np.unique(lab).tolist()) - {IGNORE_INDEX})
            assert decoded["classes_present"] == present
    assert seen == {"img0", "img1", "img2", "img3"}
    np.testing.assert_array_equal(np.array(dd["train"][0]["label"])[4:8, 4:8], 2)  # the correction is in

    corr = _load(out, "corrections", tmp_path / "cache")["train"]
    rows = sorted(corr.to_list(), key=lambda r: r["correction_id"])
    assert [(r["image_id"], r["superpixel_id"], r["old_class"], r["new_class"], r["pixels"], r["round"]) for r in rows] == [
        ("img0", 5, 1, 2, 16, 1), ("img3", 10, 0, 1, 16, 1)]
    assert rows[0]["source"] == "csv:answers.csv" and rows[0]["annotator"] == "alice"
    assert rows[0]["answered_at"] == "2024-05-01T10:00:00+00:00" and rows[0]["new_class_name"] == "dog"
    assert rows[1]["superpixel_set"] == "grid" and rows[1]["label_version"] == "v1"

    card = DatasetCard.load(out / "README.md")
    meta = card.data.to_dict()
    assert meta["license"] == "cc-by-4.0" and meta["task_categories"] == ["image-segmentation"]
    assert meta["task_ids"] == ["semantic-segmentation"] and meta["pretty_name"] == "Mini+"
    assert {c["config_name"] for c in meta["configs"]} == {"default", "corrections"}
    infos = {i["config_name"]: i for i in meta["dataset_info"]}
    assert {s["name"]: s["num_examples"] for s in infos["default"]["splits"]} == {"train": 3, "val": 1}
    assert "2403.10820" in card.text and "Everingham" in card.text  # ALC + VOC citations
    assert "255 | void" in card.text and "budget 3" in card.text
    assert res.build.changed_pixels == 16 + 4 + 16 + 1 and res.build.images_changed == 2


def test_independent_ground_truth_gives_miou_before_after(tmp_path):
    from alc_data.evaluate import data_miou
    from alc_data.publish import publish

    noisy = tmp_path / "pseudo"
    noisy.mkdir()
    from alc_data.io.labels import write_label_png

    for i, image_id in enumerate(SPLITS):
        lab = _gt(i)
        lab[2:4, 3:9] = 0  # pseudo labels miss half of the object
        write_label_png(noisy / f"{image_id}.png", lab)
    ws = make_workspace(tmp_path / "ws", labels_from=str(noisy), name="cityscapes-mini")
    res = publish(ws, to_dir=tmp_path / "out", splits=["train"])
    assert res.build.splits == {"train": 3}
    m = res.build.miou["train"]
    # the card's numbers are `alc-data eval`'s data mIoU of each version on that split
    before, after = data_miou(ws, "v0", split="train"), data_miou(ws, "v1", split="train")
    assert m["before"] == pytest.approx(before.miou) and m["after"] == pytest.approx(after.miou)
    assert m["coverage_after"] == pytest.approx(after.coverage) and m["images"] == 3
    assert m["before"] < 100.0 and m["before"] != m["after"]
    assert f"| train | 3 | {before.miou:.2f} | {after.miou:.2f} |" in (tmp_path / "out" / "README.md").read_text()
    text = (tmp_path / "out" / "README.md").read_text()
    assert "Data mIoU" in text and "Cordts" in text and "Everingham" not in text


# ---------------------------------------------------------------------------------------------- upload
def test_upload_calls_client_with_delete_patterns_and_tag(ws, tmp_path):
    from alc_data.publish import publish

    hub = fake_hub()
    msgs = []
    res = publish(ws, repo_id="my-org/mini-plus", private=True, tag="v1.0", revision="main2", token=SECRET,
                  api=hub, echo=msgs.append)
    assert names(hub) == ["create_repo", "create_branch", "upload_folder", "create_tag"]
    _, args, kw = hub.method_calls[0]
    assert args == ("my-org/mini-plus",) and kw == {"repo_type": "dataset", "private": True, "exist_ok": True}
    up = hub.method_calls[2][2]
    assert up["repo_id"] == "my-org/mini-plus" and up["repo_type"] == "dataset" and up["revision"] == "main2"
    assert up["delete_patterns"] == ["data/*", "corrections/*"]
    assert "README.md" in hub.uploaded_files and "data/train-00000-of-00001.parquet" in hub.uploaded_files
    tag = hub.method_calls[3]
    assert tag[1] == ("my-org/mini-plus",) and tag[2]["tag"] == "v1.0" and tag[2]["revision"] == "abc123def"
    assert res.upload.commit_url.endswith("/commit/abc123def")
    assert any("commit/abc123def" in m for m in msgs)
    assert not res.kept and not Path(up["folder_path"]).exists()  # the temp build is gone after success


def test_token_never_written_or_printed(ws, tmp_path, monkeypatch, capsys):
    import alc_data.publish.upload as upload_mod

    hub = fake_hub()
    tokens_seen = []

    def fake_api(token):
        tokens_seen.append(token)
        return hub

    monkeypatch.setattr(upload_mod, "default_api", fake_api)
    out = tmp_path / "pub"
    code, stdout, stderr = _run_cli(["publish", "-w", str(ws.root), "--to-dir", str(out), "--repo-id", "org/mini",
                                     "--tag", "v1", "--token", SECRET], monkeypatch, capsys)
    assert code == 0, stderr
    assert tokens_seen == [SECRET]  # the token reaches the client ...
    assert "https://huggingface.co/datasets/org/mini/commit/abc123def" in stdout
    assert SECRET not in stdout + stderr  # ... and nothing else
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) >= 5
    for p in files:
        assert SECRET.encode() not in p.read_bytes(), p
    for p in ws.root.rglob("*"):
        if p.is_file():
            assert SECRET.encode() not in p.read_bytes(), p

    # error path: the client fails with a message holding the token (env token this time)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    hub2 = fake_hub(fail=PermissionError(f"401 Unauthorized: invalid token {SECRET} (Authorization: Bearer {SECRET})"))
    monkeypatch.setattr(upload_mod, "default_api", lambda token: hub2)
    out2 = tmp_path / "pub2"
    code, stdout, stderr = _run_cli(["publish", "-w", str(ws.root), "--to-dir", str(out2), "--repo-id", "org/mini"],
                                    monkeypatch, capsys)
    assert code == 2
    assert SECRET not in stdout + stderr
    assert stderr.startswith("error: ") and stderr.count("\n") == 1
    assert "401" in stderr and f"kept at {out2.resolve()}" in stderr
    assert (out2 / "README.md").is_file()  # the built folder is kept
    for p in out2.rglob("*"):
        if p.is_file():
            assert SECRET.encode() not in p.read_bytes(), p


def test_upload_failure_with_temp_build_keeps_folder(ws):
    from alc_data.publish import publish

    hub = fake_hub(fail=ConnectionError("Failed to resolve 'huggingface.co'"))
    with pytest.raises(AlcError) as exc:
        publish(ws, repo_id="org/mini", api=hub)
    msg = str(exc.value)
    assert "network" in msg and "kept at" in msg
    kept = Path(msg.rsplit("kept at ", 1)[1])
    try:
        assert (kept / "README.md").is_file() and (kept / "data").is_dir()
    finally:
        import shutil

        shutil.rmtree(kept.parent, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"version": "v9", "to_dir": "new"}, "unknown label version 'v9'"),
        ({"repo_id": "not-a-repo-id"}, "is not 'org/name'"),
        ({"repo_id": "org/na me"}, "is not 'org/name'"),
        ({"repo_id": "a/b/c"}, "is not 'org/name'"),
        ({"to_dir": "full"}, "not an empty folder"),
        ({}, "nothing to do"),
        ({"to_dir": "new", "tag": "v1"}, "--tag needs --repo-id"),
        ({"repo_id": "org/x", "tag": "bad tag"}, "tag 'bad tag'"),
        ({"to_dir": "new", "splits": ["test"]}, "unknown split 'test'"),
    ],
)
def test_bad_input_is_one_line_and_touches_nothing(ws, tmp_path, kwargs, pattern):
    from alc_data.publish import publish

    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("precious")
    kwargs = dict(kwargs)
    if "to_dir" in kwargs:
        kwargs["to_dir"] = tmp_path / kwargs["to_dir"]
    hub = fake_hub()
    with pytest.raises(AlcError, match=pattern) as exc:
        publish(ws, api=hub, **kwargs)
    assert "\n" not in str(exc.value)
    assert hub.method_calls == []
    assert not (tmp_path / "new").exists()
    assert (full / "keep.txt").read_text() == "precious" and len(list(full.iterdir())) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_cli_bad_version_exit_code(ws, tmp_path, monkeypatch, capsys):
    code, _, stderr = _run_cli(["publish", "-w", str(ws.root), "--version", "nope", "--to-dir", str(tmp_path / "x")],
                               monkeypatch, capsys)
    assert code == 2 and stderr.startswith("error: unknown label version 'nope'") and stderr.count("\n") == 1
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------- hub token


class _FailingHub:
    def __init__(self, message: str) -> None:
        self.message = message

    def create_repo(self, *args, **kwargs):
        raise RuntimeError(self.message)


@pytest.mark.parametrize("token", ["s3cr3t-" * 8, "hf_" + "Ab1" * 12])
@pytest.mark.parametrize("before", range(285, 300, 2))
def test_token_straddling_the_message_cut_is_not_printed(tmp_path, token, before):
    from alc_data.publish.upload import upload_dataset

    message = "x" * before + f" {token} rest of the response"  # the cut at 300 falls inside the token
    with pytest.raises(AlcError) as err:
        upload_dataset(tmp_path, "org/name", token=token, api=_FailingHub(message))
    text = str(err.value)
    for n in range(4, len(token) + 1):
        assert token[:n] not in text, (n, text[-80:])


def test_long_error_is_still_cut(tmp_path):
    from alc_data.publish.upload import upload_dataset

    with pytest.raises(AlcError) as err:
        upload_dataset(tmp_path, "org/name", token="tok-12345", api=_FailingHub("y" * 5000))
    assert len(str(err.value)) < 500 and "…" in str(err.value)
