"""Stage results are frozen dataclasses whose ``to_dict()`` is exactly what ``--json`` prints."""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import run_cli

from alc_data.results import JsonResult, json_ready


class Spy:
    """Wraps a library function (patched where the CLI looks it up) and keeps what it returned."""

    def __init__(self, monkeypatch, module, name: str) -> None:
        self.fn = getattr(module, name)
        self.results: list = []
        monkeypatch.setattr(module, name, self)

    def __call__(self, *args, **kwargs):
        res = self.fn(*args, **kwargs)
        self.results.append(res)
        return res

    @property
    def one(self):
        assert len(self.results) == 1, self.results
        return self.results[0]


def cli_json(capsys, *args):
    code, out, err = run_cli(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def assert_frozen(result) -> None:
    field = dataclasses.fields(result)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, field, None)


class Colour(str, Enum):
    RED = "red"


@dataclasses.dataclass(frozen=True)
class Inner(JsonResult):
    path: Path
    colour: Colour


@dataclasses.dataclass(frozen=True)
class Outer(JsonResult):
    inner: Inner | None
    values: tuple[int, ...]
    array: np.ndarray
    scalar: np.float32
    nested: dict[str, list[Path]]


def test_to_dict_is_json_ready_and_keeps_the_field_order():
    res = Outer(Inner(Path("a/b"), Colour.RED), (1, 2), np.arange(3, dtype=np.int64), np.float32(0.5),
                {"k": [Path("c")]})
    d = res.to_dict()
    assert list(d) == ["inner", "values", "array", "scalar", "nested"]
    assert d == {"inner": {"path": "a/b", "colour": "red"}, "values": [1, 2], "array": [0, 1, 2], "scalar": 0.5,
                 "nested": {"k": ["c"]}}
    assert json.loads(json.dumps(d)) == d  # no default= needed
    assert type(d["scalar"]) is float and type(d["array"][0]) is int
    assert json_ready(Outer(None, (), np.zeros(0), np.float32(1), {}))["inner"] is None


def test_score_correct_eval_json_is_the_results_to_dict(demo_ws, tmp_path, capsys, monkeypatch):
    import alc_data.stages.correct as correct_stage
    import alc_data.stages.score as score_stage
    import alc_data.evaluate.evaluate as evaluate  # where evaluate_labels_or_model finds data_miou
    from alc_data.correction.apply import AppliedVersion
    from alc_data.stages.correct import CorrectResult
    from alc_data.evaluate import MiouResult
    from alc_data.predictions import save_prediction
    from alc_data.score_round import ScoreResult

    ws = demo_ws
    rng = np.random.default_rng(0)
    folder = tmp_path / "preds"
    for image_id in ws.catalogue.image_ids("train"):
        rec = ws.catalogue.image_record(image_id)
        logits = rng.standard_normal((ws.catalogue.num_classes, int(rec.height), int(rec.width))).astype(np.float32)
        save_prediction(folder, image_id, logits, dtype=np.float32)
    w = ("-w", ws.root)

    spy = Spy(monkeypatch, score_stage, "score")
    printed = cli_json(capsys, "score", *w, "--predictions", folder, "--logits", "--budget", 6, "--superpixels", "sam")
    score = spy.one
    assert isinstance(score, ScoreResult) and printed == score.to_dict()
    assert printed["round"] == 1 and printed["selected"] == 6 and printed["score_table"] == str(score.score_table)
    assert_frozen(score)

    spy = Spy(monkeypatch, correct_stage, "correct")
    printed = cli_json(capsys, "correct", *w, "--oracle", "gt")
    corrected = spy.one
    assert isinstance(corrected, CorrectResult) and isinstance(corrected.applied, AppliedVersion)
    assert printed == corrected.to_dict()
    assert printed["applied"]["version"] == "v1" and printed["recorded"] == 6
    assert_frozen(corrected)
    printed = cli_json(capsys, "correct", *w, "--oracle", "gt")  # nothing new: applied is None
    assert printed["applied"] is None and printed == spy.results[-1].to_dict()

    spy = Spy(monkeypatch, evaluate, "data_miou")
    printed = cli_json(capsys, "eval", *w, "--split", "train")
    miou = spy.one
    assert isinstance(miou, MiouResult) and printed == miou.to_dict()
    assert list(printed)[:5] == ["kind", "version", "split", "data_miou", "miou"]  # the order `eval --json` had
    assert printed["data_miou"] == miou.miou and printed["version"] == "v1" and "checkpoint" not in printed
    assert_frozen(miou)


def test_model_miou_to_dict_names_the_checkpoint():
    from alc_data.evaluate import MiouResult

    res = MiouResult(kind="model", split="val", miou=50.0, pixel_accuracy=75.0, coverage=1.0, skipped=0.0, pixels=4,
                     evaluated_pixels=4, per_class=(100.0, 0.0), class_names=("a", "b"), images=1, images_without_gt=0,
                     checkpoint="final.pt")
    d = res.to_dict()
    assert list(d)[:5] == ["kind", "checkpoint", "split", "model_miou", "miou"] and "version" not in d
    assert d["model_miou"] == 50.0 and d["per_class"] == [100.0, 0.0]


def test_superpixels_json_is_the_set_summary_and_sets_are_frozen(demo_ws, capsys, monkeypatch):
    import alc_data.superpixels.utils as utils
    from alc_data.workspace import SuperpixelSet

    spy = Spy(monkeypatch, utils, "set_summary")
    printed = cli_json(capsys, "superpixels", "-w", demo_ws.root, "--method", "slic", "--name", "sl",
                       "--param", "n_segments=20")
    summary = spy.one
    timing = {k: printed.pop(k) for k in ("seconds", "seconds_per_image")}
    assert printed == summary.to_dict() and timing["seconds"] >= 0
    assert printed["name"] == "sl" and printed["method"] == "slic" and printed["images"] == len(demo_ws.catalogue.image_ids())
    stored = demo_ws.superpixels.superpixel_set("sl")
    assert isinstance(stored, SuperpixelSet) and stored.method == "slic" and stored.params == printed["params"]
    assert stored.stamp and stored.to_dict()["stamp"] == stored.stamp
    assert [s.name for s in demo_ws.superpixels.superpixel_sets()][-1] == "sl"
    assert_frozen(stored)


def test_pseudo_label_result_to_dict(tmp_path):
    from test_foundation_pseudo_label import BOXES, BoxMasker, StubDetector, make_ws

    from alc_data.pseudo_label import PseudoLabelResult, run_pseudo_label

    res = run_pseudo_label(make_ws(tmp_path / "ws"), detector=StubDetector(BOXES), sam=BoxMasker(), batch_size=2)
    assert isinstance(res, PseudoLabelResult)
    d = res.to_dict()
    assert list(d) == ["version", "instances_set", "images", "computed", "resumed", "boxes", "boxes_per_class",
                       "mask_coverage", "background", "seconds", "images_per_second"]
    assert d["boxes_per_class"] == {"car": 1, "pottedplant": 1, "tvmonitor": 1}
    assert json.loads(json.dumps(d)) == d
    assert_frozen(res)


def test_check_info_and_publish_json_is_the_results_to_dict(demo_ws, tmp_path, capsys, monkeypatch):
    import alc_data.info as info
    import alc_data.stages.check as check
    import alc_data.stages.publish as publish
    from alc_data.info import WorkspaceSummary
    from alc_data.publish import PublishResult
    from alc_data.queries.cost import CostSummary
    from alc_data.workspace.check import CheckReport

    w = ("-w", demo_ws.root)
    spy = Spy(monkeypatch, check, "check")  # the stages the commands call
    printed = cli_json(capsys, "check", *w)
    assert isinstance(spy.one, CheckReport) and printed == spy.one.to_dict()
    assert list(printed) == ["workspace", "ok", "checked", "problems", "repaired", "notices"] and printed["ok"]
    assert_frozen(spy.one)

    spy = Spy(monkeypatch, info, "summary")
    printed = cli_json(capsys, "info", *w)
    summary = spy.one
    assert isinstance(summary, WorkspaceSummary) and isinstance(summary.cost, CostSummary)
    assert printed == summary.to_dict() and list(printed)[-3:] == ["pixel_shares_version", "pixel_shares", "void_share"]
    assert printed["classes"][0] == {"index": 0, "name": demo_ws.catalogue.classes[0].name, "color": list(demo_ws.catalogue.classes[0].color)}
    assert printed["cost"] == {"rounds": [], "total": summary.cost.total.to_dict()} and "round" not in printed["cost"]["total"]
    assert "pixel_shares" not in info.summary(demo_ws, pixel_shares=False).to_dict()
    for frozen in (summary, summary.cost, summary.cost.total):
        assert_frozen(frozen)

    spy = Spy(monkeypatch, publish, "publish")
    printed = cli_json(capsys, "publish", *w, "--to-dir", tmp_path / "pub")
    result = spy.one
    assert isinstance(result, PublishResult) and printed == result.to_dict()
    assert printed["folder"] == str(tmp_path / "pub") and printed["upload"] is None
    assert printed["changed_share"] == result.build.changed_share and printed["images_in_no_split"] == result.build.left_out
    assert "num_bytes" not in printed and "extra" not in printed
    assert_frozen(result)
    assert_frozen(result.build)


@pytest.mark.damages_workspace
def test_a_failed_check_prints_its_report_and_exits_1(demo_ws, capsys):
    from alc_data.stages.check import CheckOptions, check

    next(demo_ws.labels.version_dir("v0").glob("*.png")).unlink()
    report = check(demo_ws.root, CheckOptions())
    code, out, err = run_cli(capsys, "check", "-w", demo_ws.root, "--json")
    assert code == 1 and json.loads(out) == report.to_dict() and err == ""
    code, out, err = run_cli(capsys, "check", "-w", demo_ws.root)
    assert len(report.problems) == 1 and code == 1 and err.splitlines()[-1] == f"{demo_ws.root}: 1 problem"
    assert not err.startswith("error:")


def test_results_use_the_one_to_dict_and_are_frozen():
    """Every JsonResult subclass in alc_data/ is a frozen dataclass without a to_dict of its own."""
    import ast

    root = Path(__file__).resolve().parents[1] / "alc_data"
    offenders, seen = [], 0
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef) or "JsonResult" not in {ast.unparse(b) for b in node.bases}:
                continue
            seen += 1
            where = f"{path.relative_to(root.parent)}:{node.name}"
            if any(isinstance(d, ast.FunctionDef) and d.name == "to_dict" for d in node.body):
                offenders.append(f"{where} writes its own to_dict (list its keys in json_keys)")
            if not any("frozen=True" in ast.unparse(d) for d in node.decorator_list):
                offenders.append(f"{where} is not @dataclass(frozen=True)")
    assert seen >= 15 and offenders == []


class PrintedResult:
    """Records the results whose ``to_dict`` a command calls (outermost calls only, not the nested ones)."""

    def __init__(self, monkeypatch) -> None:
        self.results: list[JsonResult] = []
        self.depth = 0
        original = JsonResult.to_dict

        def recording(result: JsonResult) -> dict:
            if self.depth == 0:
                self.results.append(result)
            self.depth += 1
            try:
                return original(result)
            finally:
                self.depth -= 1

        monkeypatch.setattr(JsonResult, "to_dict", recording)


@pytest.mark.parametrize("args", [
    ("train", "--model", "demo-tiny", "--iterations", 2, "--batch-size", 2, "--crop-size", 16, "--device", "cpu"),
    ("eval", "--split", "val"),
    ("check",),
    ("diff", "v0", "v0"),
    ("superpixels", "--method", "slic", "--name", "sl2", "--param", "n_segments=20"),
], ids=lambda a: a[0])
def test_json_is_the_frozen_result_the_command_printed(args, demo_ws, capsys, monkeypatch):
    record = PrintedResult(monkeypatch)
    printed = cli_json(capsys, args[0], "-w", demo_ws.root, *args[1:])
    result = record.results[-1]
    assert printed == json.loads(json.dumps(result.to_dict()))
    assert_frozen(result)


def test_json_output_is_strict_json_with_null_for_metrics_that_are_not_finite(capsys):
    """`errors --json` on a split without a wrong image printed ``"image_auprc": NaN``, which strict
    parsers (JavaScript's JSON.parse, Python's with parse_constant) refuse (red team, session 7)."""
    import json
    import math

    import numpy as np

    from alc_data_cli.options import print_json

    @dataclasses.dataclass(frozen=True)
    class Metrics(JsonResult):
        auprc: float
        curve: np.ndarray

    def strict(text: str):
        return json.loads(text, parse_constant=lambda name: pytest.fail(f"non-JSON constant {name}"))

    result = Metrics(auprc=math.nan, curve=np.array([0.5, np.inf, -np.inf]))
    assert result.to_dict() == {"auprc": None, "curve": [0.5, None, None]}
    print_json({"metrics": result, "rows": [{"score": np.float32("nan")}, {"score": 1.5}]})
    assert strict(capsys.readouterr().out) == {"metrics": {"auprc": None, "curve": [0.5, None, None]},
                                               "rows": [{"score": None}, {"score": 1.5}]}


def test_info_keeps_a_class_named_void_apart_from_the_void_pixels(tmp_path, capsys):
    """Red team, session 7: with a class named 'void', `info` showed and printed the void pixels' share as
    that class's (one key for both)."""
    from PIL import Image

    (tmp_path / "im").mkdir()
    (tmp_path / "lab").mkdir()
    label = np.array([[0, 1, 1, 2], [255, 255, 255, 255]], np.uint8)  # void class: 2/8, void pixels: 4/8
    Image.fromarray(np.zeros((2, 4, 3), np.uint8)).save(tmp_path / "im" / "a.png")
    Image.fromarray(label).save(tmp_path / "lab" / "a.png")
    (tmp_path / "classes.txt").write_text("bg\nvoid\ndog\n")
    code, _, err = run_cli(capsys, "ingest", "folder", "--images", tmp_path / "im", "--labels", tmp_path / "lab",
                           "--classes", tmp_path / "classes.txt", "-w", tmp_path / "ws")
    assert code == 0, err
    code, out, err = run_cli(capsys, "info", "-w", tmp_path / "ws", "--json")
    assert code == 0, err
    printed = json.loads(out)
    assert printed["pixel_shares"] == {"bg": 0.125, "void": 0.25, "dog": 0.125} and printed["void_share"] == 0.5
    code, out, _ = run_cli(capsys, "info", "-w", tmp_path / "ws")
    assert "25.00 %" in out and "50.00 %" in out
