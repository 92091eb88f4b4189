"""The stage layer's options (issue 19): each refuses a bad value in one line, once, and the CLI builds
the options object the stage function receives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from cli_helpers import run_cli

from alc_data.engine import Engine
from alc_data.errors import AlcError
from alc_data.stages.check import CheckOptions
from alc_data.stages.diff import DiffOptions
from alc_data.stages.evaluate import EvaluateOptions
from alc_data.stages.export import ExportOptions
from alc_data.stages.ingest import IngestOptions
from alc_data.stages.pseudo_label import Background, PseudoLabelOptions
from alc_data.stages.publish import PublishOptions
from alc_data.stages.superpixels import SuperpixelOptions
from alc_data.stages.train import TrainOptions
from alc_data.train import TrainConfig

BAD = [
    (lambda p: IngestOptions("nope"), "unknown dataset format 'nope'"),
    (lambda p: IngestOptions("folder", labels_from=str(p / "missing")), "label folder not found"),
    (lambda p: SuperpixelOptions("nope"), "unknown superpixel method 'nope'"),
    (lambda p: SuperpixelOptions("slic", params={"n_segmentz": 3}), "n_segmentz"),
    (lambda p: SuperpixelOptions("slic", engine="spark"), "--engine 'spark' is unknown"),
    (lambda p: SuperpixelOptions("slic", concurrency=0), "at least 1 actor"),
    (lambda p: PseudoLabelOptions("d", "s", box_threshold=1.5), "--box-threshold 1.5: must be between 0 and 1"),
    (lambda p: PseudoLabelOptions("d", "s", batch_size=0), "--batch-size 0: must be at least 1"),
    (lambda p: PseudoLabelOptions("d", "s", background="purple"), "--background 'purple': use auto, background or void"),
    (lambda p: PseudoLabelOptions("d", "s", version="a/b"), "label version"),
    (lambda p: TrainOptions(TrainConfig(iterations=0)), "iterations must be ≥ 1"),
    (lambda p: TrainOptions(TrainConfig(model="nope")), "unknown model 'nope'"),
    (lambda p: TrainOptions(TrainConfig(optimizer="adam")), "optimizer must be sgd or adamw"),
    (lambda p: EvaluateOptions(version="v0", model=Path("final.pt")), "--version applies to data mIoU"),
    (lambda p: EvaluateOptions(batch_size=0), "--batch-size 0: it must be at least 1"),
    (lambda p: DiffOptions("v0", "v1", top=-1), "--top must be ≥ 0"),
    (lambda p: PublishOptions(), "nothing to do"),
    (lambda p: PublishOptions(to_dir=p / "out", tag="v1"), "--tag needs --repo-id"),
]


@pytest.mark.parametrize("make, message", BAD, ids=[m for _, m in BAD])
def test_options_refuse_a_bad_value_in_one_line(tmp_path, make, message):
    with pytest.raises(AlcError) as exc:
        make(tmp_path)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_options_are_frozen_and_convert_recipe_text_once():
    opts = PseudoLabelOptions("d", "s", background="VOID", engine="local")
    assert opts.background is Background.VOID and opts.engine is Engine.LOCAL
    for obj in (opts, CheckOptions(), ExportOptions(Path("out")), TrainOptions(), SuperpixelOptions("slic")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.version = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().lr = 1.0  # type: ignore[misc]


class _Spied(AlcError):
    pass


def _spy(monkeypatch, module_name: str, name: str) -> list:
    import importlib

    seen: list = []

    def fake(where, options, **kwargs):
        seen.append(options)
        raise _Spied("spied")

    monkeypatch.setattr(importlib.import_module(module_name), name, fake)
    return seen


def test_the_cli_builds_the_options_the_stage_receives(demo_ws, tmp_path, capsys, monkeypatch):
    w = ("-w", demo_ws.root)
    cases = [
        ("alc_data.stages.superpixels", "superpixels",
         ["superpixels", *w, "--method", "slic", "--name", "s2", "--param", "n_segments=20", "--overwrite"],
         SuperpixelOptions("slic", name="s2", params={"n_segments": 20}, overwrite=True)),
        ("alc_data.stages.pseudo_label", "pseudo_label",
         ["pseudo-label", *w, "--detector", "det", "--sam", "sam.pth", "--background", "void", "--batch-size", 2,
          "--prompt", "car=a car"],
         PseudoLabelOptions("det", "sam.pth", background=Background.VOID, batch_size=2, prompts={"car": "a car"})),
        ("alc_data.stages.train", "train",
         ["train", *w, "--model", "demo-tiny", "--iterations", 3, "--batch-size", 2, "--run-dir", tmp_path / "run"],
         TrainOptions(TrainConfig(model="demo-tiny", iterations=3, batch_size=2), run_dir=tmp_path / "run")),
        ("alc_data.stages.evaluate", "evaluate", ["eval", *w, "--split", "val"], EvaluateOptions(split="val")),
        ("alc_data.stages.diff", "diff", ["diff", *w, "v0", "v0", "--top", 3], DiffOptions("v0", "v0", top=3)),
        ("alc_data.stages.export", "export", ["export", *w, "--out", tmp_path / "x"], ExportOptions(tmp_path / "x")),
        ("alc_data.stages.publish", "publish", ["publish", *w, "--to-dir", tmp_path / "pub", "--split", "train"],
         PublishOptions(to_dir=tmp_path / "pub", splits=("train",))),
        ("alc_data.stages.check", "check", ["check", *w, "--repair"], CheckOptions(repair=True)),
        ("alc_data.stages.ingest", "ingest",
         ["ingest", "voc", tmp_path / "VOCdevkit", "-w", tmp_path / "new"],
         IngestOptions("voc", {"root": tmp_path / "VOCdevkit", "aug": False})),
    ]
    for module, name, argv, expected in cases:
        seen = _spy(monkeypatch, module, name)
        code, _, err = run_cli(capsys, *argv)
        assert code == 2 and "spied" in err, (argv, err)
        assert seen == [expected], argv
