"""Training refuses what it cannot learn from, in one line: divergence (loss or weights not finite),
labels with no labelled pixel, a registered model whose output does not fit, bad settings (each named
with its value); eval refuses a model whose outputs are not finite; a failed start leaves no run folder."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cli_helpers import invoke
from test_train import colour_workspace, tiny

from alc_data.errors import AlcError, InvalidInput, NotFound
from alc_data.models import MODELS, ModelSpec
from alc_data.train import TrainConfig, train_model

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def colour_ws(tmp_path_factory):
    return colour_workspace(tmp_path_factory.mktemp("colours") / "ws", n_train=4, n_val=2)


def _one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


# ------------------------------------------------------------------ 1. divergence


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_diverged_training_stops_and_saves_no_final_checkpoint(colour_ws, tmp_path, optimizer):
    run = tmp_path / "run"
    with pytest.raises(InvalidInput, match=r"not finite.*lower the learning rate \(lr 1000000000.0") as err:
        train_model(colour_ws, config=tiny(lr=1e9, iterations=3, optimizer=optimizer), run_dir=run)
    _one_line(str(err.value))
    assert not (run / "final.pt").exists() and not (run / "last.pt").exists()


def test_divergence_caught_before_a_periodic_checkpoint(colour_ws, tmp_path):
    """The weights are checked before every save: a checkpoint never holds NaN weights."""
    from alc_data.train import read_checkpoint

    run = tmp_path / "run"
    with pytest.raises(InvalidInput, match="not finite"):
        train_model(colour_ws, config=tiny(lr=1e9, iterations=6, checkpoint_every=1), run_dir=run)
    assert not (run / "final.pt").exists()
    if (run / "last.pt").exists():
        state = read_checkpoint(run / "last.pt")["model"]
        assert all(bool(torch.isfinite(v).all()) for v in state.values() if v.is_floating_point())


def test_a_normal_training_is_unchanged(colour_ws, tmp_path):
    """Positive control: a sane lr trains to the end and its weights are finite."""
    from alc_data.train import read_checkpoint

    res = train_model(colour_ws, config=tiny(iterations=2), run_dir=tmp_path / "ok")
    assert res.completed and np.isfinite(res.final_loss)
    state = read_checkpoint(res.checkpoint)["model"]
    assert all(bool(torch.isfinite(v).all()) for v in state.values() if v.is_floating_point())


def _nan_checkpoint(path: Path, class_names: list[str]) -> Path:
    from alc_data.models import build_model
    from alc_data.train import save_checkpoint

    model = build_model("demo-tiny", len(class_names))
    state = model.state_dict()
    for key, value in state.items():
        if value.is_floating_point():
            value.fill_(float("nan"))
    save_checkpoint(path, {"model_name": "demo-tiny", "num_classes": len(class_names), "class_names": class_names,
                           "model": state, "iteration": 3})
    return path


def test_eval_refuses_a_model_with_non_finite_outputs(colour_ws, tmp_path, capsys):
    from alc_data.evaluate import model_miou

    ckpt = _nan_checkpoint(tmp_path / "nan.pt", colour_ws.catalogue.class_names)
    with pytest.raises(InvalidInput, match="NaN or inf"):
        model_miou(colour_ws, ckpt, split="val")
    res = invoke(capsys, ["eval", "-w", str(colour_ws.root), "--model", str(ckpt)])
    assert res.exit_code != 0 and "NaN or inf" in res.output and "mIoU" not in res.stdout, res.output
    assert "nan.pt" in _one_line(res.stderr)


# ------------------------------------------------------------------ 2. no labelled pixel


def _void_workspace(root: Path):
    from PIL import Image

    from alc_data.ingest.base import DatasetSource, IngestItem, ingest
    from alc_data.workspace import ClassInfo

    def items():
        for i in range(3):
            buf = io.BytesIO()
            Image.fromarray(np.full((16, 16, 3), 40 * i, dtype=np.uint8)).save(buf, format="PNG")
            yield IngestItem(image_id=f"v{i}", image_path=Path(f"v{i}.png"), splits=("train",),
                             gt=np.full((16, 16), 255, dtype=np.uint8), image_bytes=buf.getvalue())

    classes = [ClassInfo(0, "a", (0, 0, 0)), ClassInfo(1, "b", (9, 9, 9))]
    return ingest(root, DatasetSource("void", classes, items, count=3))


def test_all_void_labels_are_refused_before_training(tmp_path):
    ws = _void_workspace(tmp_path / "ws")
    run = tmp_path / "run"
    with pytest.raises(InvalidInput, match=r"no labelled pixels in v0 / train") as err:
        train_model(ws, config=tiny(crop_size=16), run_dir=run)
    _one_line(str(err.value))
    assert not run.exists()


# ------------------------------------------------------------------ 3. a registered model's output


class _Reshaped(torch.nn.Module):
    """Wraps a model and changes its output (wrong classes, wrong spatial shape, not a tensor)."""

    def __init__(self, inner: Any, how: str) -> None:
        super().__init__()
        self.inner = inner
        self.encoder = inner.encoder
        self.how = how

    def forward(self, x):
        out = self.inner(x)
        if self.how == "width1":
            return out[..., :1]
        if self.how == "flat":
            return out.mean(dim=(2, 3))
        if self.how == "dict":
            return {"out": out}
        return out


@dataclass(frozen=True)
class _CustomSpec(ModelSpec):
    """A registered model of the user's: demo-tiny's U-Net with its output changed."""

    how: str = "ok"
    extra_classes: int = 0

    def build(self, num_classes: int, **kw: Any) -> Any:
        if self.how == "fail":
            raise NotFound("weights of my-model are not in the cache")
        return _Reshaped(super().build(num_classes + self.extra_classes), self.how)


def _register(monkeypatch, name: str, **kw: Any) -> str:
    spec = _CustomSpec(name, "Unet", "resnet18", {"encoder_depth": 3, "decoder_channels": (32, 16, 16)},
                       drop_unused_stages=True, **kw)
    monkeypatch.setitem(MODELS._items, name, spec)
    return name


@pytest.mark.parametrize("kw, message", [
    ({"extra_classes": 2}, "outputs 5 classes, the workspace has 3"),
    ({"how": "width1"}, r"outputs \(2, 3, 32, 1\) for a \(2, 3, 32, 32\) input"),
    ({"how": "flat"}, r"outputs \(2, 3\) for a \(2, 3, 32, 32\) input"),
    ({"how": "dict"}, "returns a dict, not a tensor"),
])
def test_registered_model_with_a_wrong_output_is_refused(colour_ws, tmp_path, monkeypatch, kw, message):
    name = _register(monkeypatch, "my-bad", **kw)
    run = tmp_path / "run"
    with pytest.raises(InvalidInput, match=message) as err:
        train_model(colour_ws, config=tiny(model=name, iterations=3), run_dir=run)
    assert "'my-bad'" in _one_line(str(err.value))
    assert not (run / "final.pt").exists()


def test_registered_model_with_the_right_output_trains(colour_ws, tmp_path, monkeypatch):
    name = _register(monkeypatch, "my-ok")
    from alc_data.evaluate import model_miou

    res = train_model(colour_ws, config=tiny(model=name, iterations=2), run_dir=tmp_path / "run")
    assert res.completed and res.model == "my-ok"
    assert model_miou(colour_ws, res.checkpoint, split="val").miou is not None  # evaluated in the same process


def test_cli_unknown_model_says_how_to_use_a_custom_one(colour_ws, tmp_path, capsys):
    res = invoke(capsys, ["train", "-w", str(colour_ws.root), "-m", "my-ok", "--iterations", "1",
                          "--run-dir", str(tmp_path / "run")])
    assert res.exit_code == 2
    line = _one_line(res.stderr)
    assert "unknown model 'my-ok'" in line and "demo-tiny" in line and "MODELS.add" in line and "train_model" in line
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------ 4. each bad setting named with its value


@pytest.mark.parametrize("key, value, message", [
    ("backbone_lr_mult", -2, "backbone_lr_mult must be ≥ 0, got -2.0"),
    ("momentum", -0.5, "momentum must be ≥ 0, got -0.5"),
    ("weight_decay", -1, "weight_decay must be ≥ 0, got -1.0"),
    ("poly_power", -1, "poly_power must be ≥ 0, got -1.0"),
    ("num_workers", -3, "num_workers must be ≥ 0, got -3"),
    ("checkpoint_every", -1, "checkpoint_every must be ≥ 0, got -1"),
    ("cache_megapixels", -1, "cache_megapixels must be ≥ 0, got -1.0"),
    ("scale_range", 5, r"scale_range=5 is not valid \(expected two numbers \[low, high\]"),
    ("scale_range", "[1, 2, 3]", r"scale_range='\[1, 2, 3\]' is not valid \(expected two numbers \[low, high\]"),
    ("scale_range", [1.0], r"scale_range=\[1.0\] is not valid \(expected two numbers \[low, high\]"),
    ("scale_range", [2.0, 1.0], r"scale_range must be two numbers 0 < low ≤ high, got \(2.0, 1.0\)"),
])
def test_each_bad_setting_is_named_with_its_value(key, value, message):
    with pytest.raises(AlcError, match=message) as err:
        TrainConfig.from_dict({"model": "demo-tiny", key: value})
    assert "iterable" not in str(err.value) and "unpack" not in str(err.value)
    _one_line(str(err.value))


def test_direct_construction_checks_types_too():
    with pytest.raises(AlcError, match=r"train setting lr='fast' is not valid \(not a number\)"):
        TrainConfig(model="demo-tiny", lr="fast")  # type: ignore[arg-type]
    with pytest.raises(AlcError, match=r"scale_range=5 is not valid"):
        TrainConfig(model="demo-tiny", scale_range=5)  # type: ignore[arg-type]


@pytest.mark.parametrize("args, message", [
    (["--backbone-lr-mult", "-2"], "backbone_lr_mult must be ≥ 0, got -2.0"),
    (["--checkpoint-every", "-1"], "checkpoint_every must be ≥ 0, got -1"),
])
def test_cli_names_the_bad_option_and_value(colour_ws, tmp_path, capsys, args, message):
    res = invoke(capsys, ["train", "-w", str(colour_ws.root), "-m", "demo-tiny", "--iterations", "1",
                          "--run-dir", str(tmp_path / "run"), *args])
    assert res.exit_code == 2 and message in _one_line(res.stderr), res.output


# ------------------------------------------------------------------ 5. no empty run folder after a failed start


def test_failed_start_removes_the_run_folder_it_created(colour_ws, tmp_path, monkeypatch):
    name = _register(monkeypatch, "my-fail", how="fail")
    run = tmp_path / "new" / "run"
    with pytest.raises(NotFound, match="not in the cache"):
        train_model(colour_ws, config=tiny(model=name), run_dir=run)
    assert not run.exists() and not (tmp_path / "new").exists()


def test_failed_start_keeps_a_run_folder_that_was_there(colour_ws, tmp_path, monkeypatch):
    name = _register(monkeypatch, "my-fail", how="fail")
    run = tmp_path / "mine"
    run.mkdir()
    (run / "notes.txt").write_text("keep me")
    with pytest.raises(NotFound):
        train_model(colour_ws, config=tiny(model=name), run_dir=run)
    assert (run / "notes.txt").read_text() == "keep me"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NotFound):
        train_model(colour_ws, config=tiny(model=name), run_dir=empty)
    assert empty.is_dir()


def test_cli_failed_train_leaves_no_run_folder(colour_ws, tmp_path, capsys):
    """smp's ImageNet weights are not in the (empty, offline) cache: the default run folder goes again."""
    runs = colour_ws.root / "runs"
    before = sorted(runs.iterdir()) if runs.exists() else []
    res = invoke(capsys, ["train", "-w", str(colour_ws.root), "-m", "demo-tiny", "--iterations", "1",
                          "--encoder-weights", "imagenet"])
    assert res.exit_code != 0, res.output
    after = sorted(runs.iterdir()) if runs.exists() else []
    assert after == before
