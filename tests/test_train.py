"""Training: config parsing, deterministic data, learning a planted task, resume, seeds, warm start, CLI."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import invoke
from tiny_workspaces import tiny_ws

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlcError, InvalidInput
from alc_data.train import TrainConfig, read_checkpoint, train_model
from alc_data.train.data import BatchKeys, augment

torch = pytest.importorskip("torch")


COLOURS = np.array([(30, 30, 30), (220, 40, 40), (40, 200, 60)], dtype=np.uint8)


def colour_workspace(root: Path, *, n_train: int = 6, n_val: int = 2, size=(32, 32), seed: int = 0):
    """Planted task: every pixel's class is its colour (3 classes, noise added), blocks of colour."""
    from PIL import Image

    from alc_data.ingest.base import DatasetSource, IngestItem, ingest
    from alc_data.workspace import ClassInfo

    rng = np.random.default_rng(seed)
    h, w = size

    def items():
        for i in range(n_train + n_val):
            cells = rng.integers(0, 3, size=(4, 4))
            gt = np.kron(cells, np.ones((h // 4 + 1, w // 4 + 1), dtype=np.int64))[:h, :w].astype(np.uint8)
            image = COLOURS[gt].astype(np.int16) + rng.integers(-20, 21, size=(h, w, 3))
            buf = io.BytesIO()
            Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(buf, format="PNG")
            yield IngestItem(image_id=f"img{i:02d}", image_path=Path(f"img{i:02d}.png"),
                             splits=("train" if i < n_train else "val",), gt=gt, image_bytes=buf.getvalue())

    classes = [ClassInfo(0, "dark", (30, 30, 30)), ClassInfo(1, "red", (220, 40, 40)), ClassInfo(2, "green", (40, 200, 60))]
    return ingest(root, DatasetSource("colours", classes, items, count=n_train + n_val))


@pytest.fixture(scope="module")
def colour_ws(tmp_path_factory):
    return colour_workspace(tmp_path_factory.mktemp("colours") / "ws")


def tiny(**kw) -> TrainConfig:
    base = dict(model="demo-tiny", iterations=4, batch_size=2, crop_size=32, lr=0.02, backbone_lr_mult=1.0,
                checkpoint_every=0, scale_range=(0.75, 1.25))
    return TrainConfig.from_dict({**base, **kw})


def weights(path: Path) -> dict:
    return read_checkpoint(path)["model"]


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------ config
def test_config_from_dict_converts_and_rejects_unknown_keys():
    cfg = TrainConfig.from_dict({"model": "demo-tiny", "lr": "0.02", "flip": "false", "scale_range": "0.5, 1.5",
                                 "iterations": "10", "encoder_weights": "w.pth"})
    assert cfg.lr == 0.02 and cfg.flip is False and cfg.scale_range == (0.5, 1.5) and cfg.iterations == 10
    assert cfg.encoder_weights == "w.pth"
    assert cfg.as_dict()["encoder_weights"] == "w.pth"
    with pytest.raises(AlcError, match=r"unknown train setting\(s\) lr_decay, warmup; valid keys: model, iterations"):
        TrainConfig.from_dict({"warmup": 3, "lr_decay": 1})
    with pytest.raises(AlcError, match="iterations \\(--iterations\\) or epochs \\(--epochs\\), not both"):
        TrainConfig.from_dict({"iterations": 3, "epochs": 1})
    with pytest.raises(AlcError, match="batch_size must be ≥ 2"):
        TrainConfig.from_dict({"batch_size": 1})
    with pytest.raises(AlcError, match="unknown model"):
        TrainConfig.from_dict({"model": "resnet9000"})
    with pytest.raises(AlcError, match="train setting lr='fast' is not valid"):
        TrainConfig.from_dict({"lr": "fast"})
    with pytest.raises(AlcError, match="optimizer must be sgd or adamw"):
        TrainConfig.from_dict({"optimizer": "lion"})
    assert TrainConfig.from_dict({"epochs": 2.5, "batch_size": 4}).total_iterations(10) == 7
    assert TrainConfig().total_iterations(10) == 30_000  # the paper's schedule by default


# ------------------------------------------------------------------ data
def test_batch_order_is_a_function_of_seed_and_iteration():
    full = list(BatchKeys(5, 3, seed=7, start=0, total=6))
    resumed = list(BatchKeys(5, 3, seed=7, start=4, total=6))
    assert resumed == full[4:]
    # each epoch visits every image once (positions 0..4, then 5..9)
    stream = [i for batch in full for i, _ in batch]
    assert sorted(stream[:5]) == list(range(5)) and sorted(stream[5:10]) == list(range(5))
    assert list(BatchKeys(5, 3, seed=8, start=0, total=6)) != full


def test_augment_pads_with_ignore_and_keeps_image_and_labels_aligned():
    rng = np.random.default_rng(0)
    label = rng.integers(0, 3, size=(10, 14)).astype(np.uint8)
    image = COLOURS[label]
    seen_flip = set()
    for seed in range(8):
        img, lab = augment(image, label, np.random.default_rng(seed), crop_size=12, out_size=16,
                           scale_range=(1.0, 1.0), flip=True)
        assert img.shape == (3, 16, 16) and img.dtype == np.float32
        assert lab.shape == (16, 16) and lab.dtype == np.int64
        # rows 10.. are outside the 10-row image, columns 12.. outside the 12-px crop
        assert (lab[10:] == IGNORE_INDEX).all() and (lab[:, 12:] == IGNORE_INDEX).all()
        assert (img[:, 10:] == 0).all() and (img[:, :, 12:] == 0).all()
        inside = lab != IGNORE_INDEX
        assert inside.sum() == 10 * 12
        # the class of every labelled pixel is recoverable from the (normalised) image colour
        red = img[0][inside]
        assert np.array_equal(red > 0.5, lab[inside] == 1)
        x0_left = np.array_equal(lab[:10, :12], label[:, :12]) or np.array_equal(lab[:10, :12], label[:, 2:])
        seen_flip.add(not x0_left)
    assert seen_flip == {True, False}  # flips happen, and not always


# ------------------------------------------------------------------ training
def test_training_learns_the_planted_task(colour_ws, tmp_path):
    from alc_data.evaluate import model_miou

    losses = []
    cfg = tiny(iterations=30, batch_size=4, lr=0.05)
    res = train_model(colour_ws, config=cfg, run_dir=tmp_path / "run", callback=lambda s: losses.append(s["loss"]))
    assert res.completed and res.iterations == 30 and res.checkpoint == tmp_path / "run" / "final.pt"
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    assert res.final_loss == pytest.approx(np.mean(losses[-20:]))
    result = model_miou(colour_ws, res.checkpoint, split="val")
    assert result.miou is not None and result.miou > 80.0  # measured 92-95 (seeds 0-2) after 30 iterations
    train_json = json.loads((tmp_path / "run" / "train.json").read_text())
    assert train_json["label_version"] == "v0" and train_json["config"]["model"] == "demo-tiny"
    ck = read_checkpoint(res.checkpoint)
    assert ck["model_name"] == "demo-tiny" and ck["num_classes"] == 3 and ck["class_names"] == ["dark", "red", "green"]
    assert "optimizer" not in ck and "optimizer" in read_checkpoint(tmp_path / "run" / "last.pt")


def test_the_run_records_what_its_float_sums_depend_on(colour_ws, tmp_path):
    # a seeded CPU training is reproducible only with the same torch build and thread count (the thread
    # count changes the order of float sums): the run says which it had
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        res = train_model(colour_ws, config=tiny(iterations=2), run_dir=tmp_path / "run")
    finally:
        torch.set_num_threads(before)
    expected = {"torch": torch.__version__, "threads": 1}
    assert read_checkpoint(res.checkpoint)["environment"] == expected
    assert json.loads((tmp_path / "run" / "train.json").read_text())["environment"] == expected


def test_seeded_runs_are_identical_and_seeds_matter(colour_ws, tmp_path):
    a = train_model(colour_ws, config=tiny(seed=3), run_dir=tmp_path / "a")
    b = train_model(colour_ws, config=tiny(seed=3), run_dir=tmp_path / "b")
    c = train_model(colour_ws, config=tiny(seed=4), run_dir=tmp_path / "c")
    assert same_weights(weights(a.checkpoint), weights(b.checkpoint))
    assert not same_weights(weights(a.checkpoint), weights(c.checkpoint))


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("model", ["demo-tiny", "deeplabv3plus-mobilenet_v2"])  # the second has dropout
def test_resume_after_interruption_equals_uninterrupted(colour_ws, tmp_path, model):
    cfg = tiny(model=model, iterations=5, checkpoint_every=2)
    whole = train_model(colour_ws, config=cfg, run_dir=tmp_path / "whole")

    def boom(state):
        if state["iteration"] == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        train_model(colour_ws, config=cfg, run_dir=tmp_path / "cut", callback=boom)
    assert read_checkpoint(tmp_path / "cut" / "last.pt")["iteration"] == 2
    assert not (tmp_path / "cut" / "final.pt").exists()
    seen = []
    resumed = train_model(colour_ws, config=cfg, run_dir=tmp_path / "cut", callback=lambda s: seen.append(s["iteration"]))
    assert seen == [3, 4, 5]
    assert resumed.completed and resumed.iterations == 5
    assert same_weights(weights(whole.checkpoint), weights(resumed.checkpoint))
    assert resumed.final_loss == pytest.approx(whole.final_loss)


def test_max_iterations_this_call_then_resume(colour_ws, tmp_path):
    cfg = tiny(iterations=5)
    whole = train_model(colour_ws, config=cfg, run_dir=tmp_path / "whole")
    part = train_model(colour_ws, config=cfg, run_dir=tmp_path / "steps", max_iterations_this_call=2)
    assert not part.completed and part.iterations == 2 and part.checkpoint.name == "last.pt"
    rest = train_model(colour_ws, config=cfg, run_dir=tmp_path / "steps")
    assert rest.completed and same_weights(weights(whole.checkpoint), weights(rest.checkpoint))
    # finished: a further call returns at once; a different setting is refused
    again = train_model(colour_ws, config=cfg, run_dir=tmp_path / "steps", callback=lambda s: pytest.fail("retrained"))
    assert again.completed and again.checkpoint == rest.checkpoint
    with pytest.raises(AlcError, match=r"different training \(config.lr differ\).*--no-resume"):
        train_model(colour_ws, config=tiny(iterations=5, lr=0.5), run_dir=tmp_path / "steps")
    fresh = train_model(colour_ws, config=tiny(iterations=5, lr=0.5), run_dir=tmp_path / "steps", resume=False)
    assert fresh.completed and not same_weights(weights(fresh.checkpoint), weights(whole.checkpoint))


def test_warm_start_loads_weights_not_optimizer(colour_ws, tmp_path):
    first = train_model(colour_ws, config=tiny(), run_dir=tmp_path / "r1")
    # a step with a vanishing learning rate leaves the warm-started weights (almost) unchanged
    warm = train_model(colour_ws, config=tiny(iterations=1, lr=1e-12, weight_decay=0.0), run_dir=tmp_path / "r2",
                       init_checkpoint=first.checkpoint)
    a, b = weights(first.checkpoint), weights(warm.checkpoint)
    for k in a:
        if a[k].is_floating_point() and "running" not in k:
            assert torch.allclose(a[k], b[k], atol=1e-6), k
    cold = train_model(colour_ws, config=tiny(iterations=1, lr=1e-12, weight_decay=0.0), run_dir=tmp_path / "r3")
    assert not same_weights(a, weights(cold.checkpoint))
    with pytest.raises(AlcError, match="warm start needs a deeplabv3plus-mobilenet_v2 checkpoint"):
        train_model(colour_ws, config=tiny(model="deeplabv3plus-mobilenet_v2"), run_dir=tmp_path / "r4",
                    init_checkpoint=first.checkpoint)


def test_train_errors(colour_ws, tmp_path):
    with pytest.raises(AlcError, match="unknown split 'test'"):
        train_model(colour_ws, split="test", config=tiny(), run_dir=tmp_path / "x")
    with pytest.raises(AlcError, match="unknown label version 'v9'"):
        train_model(colour_ws, version="v9", config=tiny(), run_dir=tmp_path / "x")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "last.pt").write_bytes(b"garbage")
    with pytest.raises(AlcError, match="last.pt: cannot read the model checkpoint"):
        train_model(colour_ws, config=tiny(), run_dir=tmp_path / "bad")


def test_cli_train_prints_the_checkpoint(colour_ws, tmp_path, capsys):
    run = tmp_path / "cli-run"
    args = ["train", "-w", str(colour_ws.root), "--model", "demo-tiny", "--iterations", "2", "--batch-size", "2",
            "--crop-size", "32", "--seed", "1", "--run-dir", str(run)]
    res = invoke(capsys, args)
    assert res.exit_code == 0, res.output
    assert res.stdout.strip().splitlines()[-1] == str(run / "final.pt")
    res = invoke(capsys, [*args, "--json"])
    data = json.loads(res.stdout)
    assert data["completed"] and data["iterations"] == 2 and data["seconds"] == 0.0  # already finished
    res = invoke(capsys, [*args, "--epochs", "1"])
    assert res.exit_code == 2 and "error: give iterations (--iterations) or epochs (--epochs), not both" in res.output


# ---------------------------------------------------------------- checkpoint class names


def _checkpoint(path, class_names, *, with_names=True):
    from alc_data.models import build_model
    from alc_data.train import save_checkpoint

    payload = {"model_name": "demo-tiny", "num_classes": len(class_names), "model": build_model("demo-tiny", len(class_names)).state_dict(),
               "iteration": 0}
    if with_names:
        payload["class_names"] = list(class_names)
    return save_checkpoint(path, payload)


def test_checkpoint_of_another_class_list_is_refused(tmp_path):
    from alc_data.predict import iter_probabilities

    ws = tiny_ws(tmp_path / "ws", ["sky", "road", "car"])
    ckpt = _checkpoint(tmp_path / "m.pt", ["sky", "building", "car"])
    with pytest.raises(InvalidInput) as err:
        list(iter_probabilities(ws, ckpt, ws.catalogue.image_ids(), device="cpu"))
    msg = str(err.value)
    assert str(ckpt) in msg and "class 1" in msg and "'building'" in msg and "'road'" in msg and "\n" not in msg


def test_warm_start_from_another_class_list_is_refused(tmp_path):
    from alc_data.models import build_model
    from alc_data.train.loop import load_warm_start

    ws = tiny_ws(tmp_path / "ws", ["sky", "road"])
    ckpt = _checkpoint(tmp_path / "m.pt", ["road", "sky"])
    with pytest.raises(InvalidInput, match="class 0"):
        load_warm_start(build_model("demo-tiny", 2), ckpt, "demo-tiny", 2, class_names=ws.catalogue.class_names)


def test_checkpoint_without_class_names_works_with_a_warning(tmp_path):
    from alc_data.predict import iter_probabilities

    ws = tiny_ws(tmp_path / "ws", ["sky", "road"])
    ckpt = _checkpoint(tmp_path / "m.pt", ["a", "b"], with_names=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = list(iter_probabilities(ws, ckpt, ws.catalogue.image_ids(), device="cpu"))
    assert len(out) == 3
    assert any("no class names" in str(w.message) and str(ckpt) in str(w.message) for w in caught)


def test_checkpoint_with_the_same_class_list_is_silent(tmp_path):
    from alc_data.predict import iter_probabilities

    ws = tiny_ws(tmp_path / "ws", ["sky", "road"])
    ckpt = _checkpoint(tmp_path / "m.pt", ["sky", "road"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(list(iter_probabilities(ws, ckpt, ws.catalogue.image_ids(), device="cpu"))) == 3
