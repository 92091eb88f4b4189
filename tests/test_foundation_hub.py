"""Hub ids for --detector / --sam / superpixels sam, resolved through a Hugging Face cache the test
fills with tiny saved models (offline); the one-line error when a hub id is not cached."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from alc_data.errors import AlcError
from alc_data.foundation.hub import local_or_hub, looks_like_hub_id, resolve_pretrained
from cli_helpers import run_cli
from test_foundation_pseudo_label import make_ws

DINO_ID = "IDEA-Research/grounding-dino-base"
SAM_ID = "facebook/sam-vit-huge"


@pytest.fixture(scope="module")
def filled_cache(tmp_path_factory):
    """A hub cache holding a tiny GroundingDINO and a tiny HF SAM under the real repository ids."""
    from alc_data.testing.foundation import build_tiny_grounding_dino, build_tiny_sam_hf, put_in_hub_cache

    root = tmp_path_factory.mktemp("hub")
    cache = root / "cache"
    dino = put_in_hub_cache(build_tiny_grounding_dino(root / "dino"), DINO_ID, cache)
    sam = put_in_hub_cache(build_tiny_sam_hf(root / "sam"), SAM_ID, cache)
    return {"cache": cache, "dino": dino, "sam": sam}


@pytest.fixture
def offline_cache(monkeypatch, filled_cache):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(filled_cache["cache"]))
    return filled_cache


def test_hub_ids_and_local_paths_are_told_apart(tmp_path):
    assert looks_like_hub_id(DINO_ID) and looks_like_hub_id("nvidia/mit-b0")
    for local in ("checkpoints/sam_vit_h_4b8939.pth", "/abs/folder", "a/b/c", "model.pth", "dir/weights.safetensors"):
        assert not looks_like_hub_id(local), local
    (tmp_path / "owner" / "name").mkdir(parents=True)
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert not looks_like_hub_id("owner/name")  # an existing local folder wins
        assert local_or_hub("owner/name").is_dir()
    finally:
        os.chdir(here)


def test_hub_ids_resolve_to_the_cached_snapshot(offline_cache):
    assert resolve_pretrained(DINO_ID) == offline_cache["dino"]
    assert local_or_hub(SAM_ID) == offline_cache["sam"]
    from alc_data.foundation.detector import GroundingDinoDetector
    from alc_data.foundation.sam import cached_sam

    det = GroundingDinoDetector.load(DINO_ID, device="cpu")
    assert det.source["path"] == str(offline_cache["dino"].resolve())
    masker = cached_sam(SAM_ID, device="cpu")  # the loader behind `superpixels --method sam`
    assert masker.describe()["kind"] == "sam-transformers" and masker.describe()["path"] == str(offline_cache["sam"].resolve())


def test_pseudo_label_cli_takes_hub_ids(tmp_path, capsys, offline_cache):
    ws_dir = tmp_path / "ws"
    ws = make_ws(ws_dir)
    code, out, err = run_cli(capsys, "pseudo-label", "-w", ws_dir, "--detector", DINO_ID, "--sam", SAM_ID,
                             "--device", "cpu", "--json")
    assert code == 0, err
    assert json.loads(out)["images"] == 3
    params = ws.labels.version("pseudo").params
    assert params["detector"]["path"] == str(offline_cache["dino"].resolve())
    assert params["sam"]["path"] == str(offline_cache["sam"].resolve())
    assert ws.labels.read_label("pseudo", "img0").dtype == np.uint8


def test_hub_id_without_cache_offline_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(AlcError, match="hf download facebook/sam-vit-huge"):
        resolve_pretrained(SAM_ID, what="SAM checkpoint")
    ws_dir = tmp_path / "ws"
    make_ws(ws_dir)
    before = sorted(p.name for p in ws_dir.iterdir())
    code, _, err = run_cli(capsys, "pseudo-label", "-w", ws_dir, "--detector", DINO_ID, "--sam", SAM_ID)
    assert code == 2 and err.count("\n") == 1, err
    assert "GroundingDINO checkpoint 'IDEA-Research/grounding-dino-base'" in err
    assert f"hf download {DINO_ID}" in err and str(tmp_path / "empty-cache") in err
    assert sorted(p.name for p in ws_dir.iterdir()) == before


def test_a_hub_model_reaches_another_machine_pinned_at_the_commit_resolved_here(tmp_path, offline_cache, monkeypatch):
    """Ray actors on another node see neither the driver's cache path nor, maybe, the same 'main':
    they get the repo id at the driver's commit and load it from their own cache."""
    from alc_data.errors import NotFound
    from alc_data.foundation.grounded_sam import load_models
    from alc_data.foundation.hub import PinnedSnapshot, pinned
    from alc_data.testing.foundation import put_in_hub_cache

    here = local_or_hub(DINO_ID)
    ref = pinned(DINO_ID, here)
    assert ref == PinnedSnapshot(DINO_ID, here.name, here)
    assert pinned(str(here), here) == here  # a local path is handed on as it is
    # the other node: the driver's cache path does not exist there; its own cache has the same commit
    elsewhere = PinnedSnapshot(DINO_ID, ref.revision, tmp_path / "driver-only" / "snapshots" / ref.revision)
    other_cache = tmp_path / "node2-cache"
    node2 = put_in_hub_cache(here, DINO_ID, other_cache, revision=ref.revision)
    monkeypatch.setenv("HF_HUB_CACHE", str(other_cache))
    assert elsewhere.local() == node2
    det, _ = load_models(detector=elsewhere, sam=PinnedSnapshot(SAM_ID, "0" * 40, offline_cache["sam"]), device="cpu")
    assert det.source["path"] == str(node2.resolve())
    # that node's cache holds another commit only: one line naming the commit to fetch
    moved = PinnedSnapshot(DINO_ID, "f" * 40, elsewhere.path)
    with pytest.raises(NotFound, match=f"hf download {DINO_ID} --revision {'f' * 40}"):
        moved.local("GroundingDINO checkpoint")
