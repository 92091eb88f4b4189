"""SegFormer from a tiny local configuration: pretrained weights and head re-initialisation, train,
resume, predict and score like the smp models; the same model from a hub id in a filled cache."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from alc_data.errors import AlcError
from alc_data.models import build_model, input_multiple
from alc_data.testing.models import build_tiny_segformer
from cli_helpers import run_cli

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

TINY = ["--iterations", "3", "--batch-size", "2", "--crop-size", "32", "--device", "cpu", "--lr", "0.001",
        "--optimizer", "adamw", "--checkpoint-every", "0"]


def _encoder_equal(model, folder) -> bool:
    from transformers import SegformerForSemanticSegmentation

    saved = SegformerForSemanticSegmentation.from_pretrained(folder).segformer.state_dict()
    mine = model.encoder.state_dict()
    return saved.keys() == mine.keys() and all(torch.equal(saved[k], mine[k]) for k in saved)


def test_pretrained_weights_and_the_head(tmp_path, demo_ws):
    names = demo_ws.catalogue.class_names
    k = len(names)
    other = build_tiny_segformer(tmp_path / "ade", ["wall", "floor", "sky"])  # another class list, K=3
    model = build_model("segformer-b0", k, pretrained=other, class_names=names).eval()
    assert _encoder_equal(model, other)
    assert model.net.decode_head.classifier.out_channels == k
    assert model.net.config.id2label[1] == names[1]
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 96))
    assert out.shape == (2, k, 64, 96) and torch.isfinite(out).all()  # upsampled to the input size
    assert input_multiple(model) == 32
    # same classes: the fine-tuned head is kept; same count, other names: it is re-initialised
    same = build_tiny_segformer(tmp_path / "same", names)
    saved_head = build_model("segformer-b0", k, pretrained=same).net.decode_head.classifier.weight
    kept = build_model("segformer-b0", k, pretrained=same, class_names=names).net.decode_head.classifier.weight
    renamed = build_model("segformer-b0", k, pretrained=same, class_names=[n + "x" for n in names])
    assert torch.equal(saved_head, kept)
    assert not torch.equal(saved_head, renamed.net.decode_head.classifier.weight)


def test_bad_combinations_are_one_line(tmp_path, demo_ws, capsys):
    folder = build_tiny_segformer(tmp_path / "tiny")
    w = ["-w", demo_ws.root, "--run-dir", tmp_path / "run", *TINY]
    cases = [
        (["--model", "segformer-b0", "--pretrained", folder, "--encoder-weights", "imagenet"], "give --pretrained"),
        (["--model", "segformer-b0", "--encoder-weights", "imagenet"], "has no smp encoder; start it with --pretrained nvidia/mit-b0"),
        (["--model", "demo-tiny", "--pretrained", folder], "demo-tiny is a segmentation-models-pytorch model"),
        (["--model", "segformer-b0", "--pretrained", tmp_path / "missing"], "not found; expected a SegFormer folder"),
        (["--model", "segformer-b0", "--pretrained", demo_ws.root], "no config.json"),
    ]
    for extra, message in cases:
        code, _, err = run_cli(capsys, "train", *w, *extra)
        error = err[err.index("error: "):]  # after the "checkpoints go to" notice, if any
        assert code == 2 and message in error and error.count("\n") == 1, (extra, err)
    with pytest.raises(AlcError, match="not both"):
        build_model("segformer-b0", 3, pretrained=folder, encoder_weights="imagenet")


@pytest.mark.slow
def test_train_resume_predict_and_score(tmp_path, demo_ws, capsys):
    from alc_data.predict import iter_probabilities
    from alc_data.train import TrainConfig, read_checkpoint, train_model

    ws = demo_ws
    folder = build_tiny_segformer(tmp_path / "tiny", ["wall", "floor", "sky"])
    code, out, err = run_cli(capsys, "train", "-w", ws.root, "--model", "segformer-b0", "--pretrained", folder,
                             "--run-dir", tmp_path / "run", *TINY, "--json")
    assert code == 0, err
    ckpt_path = json.loads(out)["checkpoint"]
    ckpt = read_checkpoint(ckpt_path)
    assert ckpt["model_name"] == "segformer-b0" and ckpt["config"]["pretrained"] == str(folder)
    assert json.loads(ckpt["model_config"])["hidden_sizes"] == [8, 16, 24, 32]

    # interrupted after one iteration, resumed without the pretrained folder: the same weights
    cfg = TrainConfig(model="segformer-b0", pretrained=str(folder), iterations=3, batch_size=2, crop_size=32,
                      device="cpu", lr=0.001, optimizer="adamw", checkpoint_every=0)
    first = train_model(ws, config=cfg, run_dir=tmp_path / "resumed", max_iterations_this_call=1)
    assert not first.completed
    moved = shutil.move(str(folder), str(tmp_path / "gone"))
    done = train_model(ws, config=cfg, run_dir=tmp_path / "resumed")
    assert done.completed and done.iterations == 3
    again = read_checkpoint(done.checkpoint)["model"]
    for key, value in ckpt["model"].items():
        assert torch.allclose(value, again[key], atol=1e-6), key
    shutil.move(moved, str(folder))

    # predict at full resolution, then score a round with the checkpoint
    for image_id, probs in iter_probabilities(ws, ckpt_path, ws.catalogue.image_ids("train")[:2], as_numpy=True):
        rec = ws.catalogue.image_record(image_id)
        assert probs.shape == (ws.catalogue.num_classes, int(rec.height), int(rec.width))
        assert np.allclose(probs.sum(0), 1, atol=1e-4)
    code, out, err = run_cli(capsys, "score", "-w", ws.root, "--model", ckpt_path, "--budget", 5, "--superpixels", "sam",
                             "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["round"] == 1 and res["selected"] == 5


def test_pretrained_hub_id_from_a_filled_cache(tmp_path, monkeypatch):
    from alc_data.testing.foundation import put_in_hub_cache

    folder = build_tiny_segformer(tmp_path / "mit")
    put_in_hub_cache(folder, "nvidia/mit-b0", tmp_path / "cache")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    model = build_model("segformer-b0", 4, pretrained="nvidia/mit-b0")
    assert _encoder_equal(model, folder)
    with pytest.raises(AlcError, match="hf download nvidia/mit-b1"):
        build_model("segformer-b1", 4, pretrained="nvidia/mit-b1")
