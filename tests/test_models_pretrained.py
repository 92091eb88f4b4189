"""--encoder-weights NAME through smp's repositories in the Hugging Face cache (a cache the test fills),
the one-line error offline without it, and names smp does not know."""

from __future__ import annotations

import json

import pytest

from alc_data.errors import AlcError
from alc_data.models import MODELS, build_model, is_weight_name
from cli_helpers import run_cli

torch = pytest.importorskip("torch")


def _fill_smp_cache(tmp_path, encoder: str = "resnet18", weights: str = "imagenet"):
    """The files smp fetches for ``encoder``/``weights`` (config.json, model.safetensors) of a random
    encoder, filed in a hub cache at smp's pinned revision. Returns (cache, state dict)."""
    from safetensors.torch import save_file
    from segmentation_models_pytorch.encoders import encoders, get_encoder

    from alc_data.testing.foundation import put_in_hub_cache

    torch.manual_seed(5)
    state = {k: v.contiguous() for k, v in get_encoder(encoder, weights=None).state_dict().items()}
    files = tmp_path / "files"
    files.mkdir()
    save_file(state, str(files / "model.safetensors"))
    (files / "config.json").write_text(json.dumps({"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}))
    settings = encoders[encoder]["pretrained_settings"][weights]
    put_in_hub_cache(files, settings["repo_id"], tmp_path / "cache", revision=settings["revision"])
    return tmp_path / "cache", state


def test_weight_names_and_paths():
    assert is_weight_name("imagenet") and is_weight_name("noisy-student")
    assert not is_weight_name("w.pth") and not is_weight_name("dir/encoder") and not is_weight_name("./x")
    assert "imagenet" in MODELS.get("deeplabv3plus-resnet101").pretrained_names()


def test_imagenet_weights_come_from_the_cache(tmp_path, monkeypatch):
    cache, state = _fill_smp_cache(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    model = build_model("demo-tiny", 4, encoder_weights="imagenet")  # a ResNet-18 encoder, stages 1-3 kept
    got = model.encoder.state_dict()
    assert "conv1.weight" in got and "layer2.0.conv1.weight" in got
    for key, value in got.items():
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(value, state[key]), key


def test_offline_without_cache_is_one_line(tmp_path, monkeypatch, demo_ws, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch"))
    code, _, err = run_cli(capsys, "train", "-w", demo_ws.root, "--model", "demo-tiny", "--encoder-weights", "imagenet",
                           "--iterations", "1", "--batch-size", "2", "--crop-size", "32", "--device", "cpu",
                           "--run-dir", tmp_path / "run")
    error = err[err.index("error: "):]
    assert code == 2 and error.count("\n") == 1, err
    assert "encoder weights 'imagenet' of resnet18" in error and "hf download smp-hub/resnet18.imagenet --revision" in error
    assert str(tmp_path / "empty-hf") in error and "--encoder-weights PATH.pth" in error
    assert not (tmp_path / "run" / "final.pt").exists()


def test_unknown_weight_name_lists_what_smp_knows(demo_ws, capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "-w", demo_ws.root, "--model", "deeplabv3plus-resnet18",
                           "--encoder-weights", "imagenet21k", "--run-dir", tmp_path / "run")
    assert code == 2 and err.count("\n") == 1, err
    assert "'imagenet21k' are not known for resnet18" in err and "imagenet, ssl, swsl" in err
    with pytest.raises(AlcError, match="encoder weights not found"):
        build_model("demo-tiny", 3, encoder_weights="weights/missing.pth")
