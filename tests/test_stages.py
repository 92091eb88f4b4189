"""The stage layer: options refuse bad values in one line, the CLI and a recipe build equal options,
and ``acquisition`` / ``expand`` are checked exactly once on their way from the command line to the core."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cli_helpers import run_cli

from alc_data.correction.expand import Expansion
from alc_data.errors import InvalidInput
from alc_data.loop import Recipe
from alc_data.loop.config import EngineSettings
from alc_data.scoring.pool import Representative
from alc_data.stages.correct import CorrectOptions
from alc_data.stages.score import ScoreOptions


@pytest.mark.parametrize(("options", "message"), [
    (lambda p: ScoreOptions(budget=5, acquisition="best", predictions=p), "unknown acquisition 'best'; choose one of: "),
    (lambda p: ScoreOptions(budget=0, predictions=p), "--budget 0 must be a positive number of queries"),
    (lambda p: ScoreOptions(budget=-3, predictions=p), "--budget -3 must be a positive number"),
    (lambda p: ScoreOptions(budget=5, representative="median", predictions=p), "--representative 'median' is unknown"),
    (lambda p: ScoreOptions(budget=5, engine="spark", predictions=p), "'spark' is unknown"),
    (lambda p: ScoreOptions(budget=5), "one of them"),
    (lambda p: CorrectOptions(expand="sideways"), "unknown expansion 'sideways'; use --expand superpixel | label | pixel"),
    (lambda p: CorrectOptions(tau=1.5), "--tau 1.5 is outside 0..1"),
    (lambda p: CorrectOptions(tau=-0.1), "--tau -0.1 is outside 0..1"),
    (lambda p: CorrectOptions(oracle_mode="majority"), "unknown oracle mode 'majority'"),
    (lambda p: CorrectOptions(oracle="people"), "unknown oracle 'people'"),
    (lambda p: CorrectOptions(oracle="gt", answers_file=p), "at most one of --answers FILE and --oracle gt"),
])
def test_options_refuse_bad_values_in_one_line(tmp_path, options, message):
    with pytest.raises(InvalidInput) as info:
        options(tmp_path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_options_hold_enums_and_checked_names(tmp_path):
    score = ScoreOptions(budget=5, acquisition="lcil", representative="random", predictions=tmp_path)
    assert score.representative is Representative.RANDOM and score.acquisition == "lcil"
    correct = CorrectOptions(expand="pixel", oracle="gt", oracle_mode="region-majority")
    assert correct.expand is Expansion.PIXEL and correct.oracle_mode.value == "region-majority"
    assert CorrectOptions().expand is Expansion.LABEL  # the one default
    with pytest.raises(dataclasses.FrozenInstanceError):
        score.budget = 3  # type: ignore[misc]


class Captured(Exception):
    """Raised by a stage stand-in once it has the options the command built."""


def _capture(monkeypatch, module: str, name: str) -> list[Any]:
    got: list[Any] = []

    def stand_in(ws, options, **kwargs):
        got.append(options)
        raise Captured

    monkeypatch.setattr(f"{module}.{name}", stand_in)
    return got


def test_cli_and_recipe_build_equal_score_options(demo_ws, tmp_path, capsys, monkeypatch):
    ckpt = tmp_path / "final.pt"
    ckpt.write_bytes(b"a checkpoint file")
    got = _capture(monkeypatch, "alc_data.stages.score", "score")
    code, _, _ = run_cli(capsys, "score", "-w", demo_ws.root, "--model", ckpt, "--budget", 7, "--acquisition", "lcil",
                         "--representative", "random", "--batch-size", 8, "--seed", 3, "--superpixels", "sam",
                         "--version", "v0", "--no-skip-asked")
    assert code == 3 and len(got) == 1  # the stand-in's exception: a bug, as far as the CLI knows
    recipe = Recipe.from_dict({"loop": {"budget": 7, "acquisition": "lcil", "representative": "random",
                                        "batch_size": 8, "seed": 2, "skip_asked": False}})
    built = recipe.loop.score_options(1, checkpoint=ckpt, label_version="v0", superpixel_set="sam",
                                      engine=EngineSettings(), run="r")
    assert built.extra_params == {"run": "r", "loop_round": 1}
    assert dataclasses.replace(built, extra_params={}) == got[0]


def test_cli_and_recipe_build_equal_correct_options(demo_ws, tmp_path, capsys, monkeypatch):
    ckpt = tmp_path / "final.pt"
    ckpt.write_bytes(b"a checkpoint file")
    got = _capture(monkeypatch, "alc_data.stages.correct", "correct")
    code, _, _ = run_cli(capsys, "correct", "-w", demo_ws.root, "--oracle", "gt", "--oracle-mode", "region-majority",
                         "--round", 1, "--tau", 0.5, "--expand", "pixel", "--model", ckpt)
    assert code == 3 and len(got) == 1
    recipe = Recipe.from_dict({"loop": {"expand": "pixel", "tau": 0.5, "oracle_mode": "region-majority"}})
    assert recipe.loop.correct_options(1, checkpoint=str(ckpt)) == got[0]


def _count_calls(monkeypatch, name: str) -> list[str]:
    """Wrap every binding of the function ``name`` in the loaded alc_data modules; returns the values checked."""
    import alc_data.correction.expand as expand
    import alc_data.scoring.acquisitions as acquisitions

    original = {"check_acquisition": acquisitions.check_acquisition, "check_expansion": expand.check_expansion}[name]
    calls: list[str] = []

    def counted(value: str, **kwargs: Any) -> Any:
        calls.append(value)
        return original(value, **kwargs)

    for module_name, module in list(sys.modules.items()):
        if module_name.startswith(("alc_data", "alc_data_cli")) and getattr(module, name, None) is original:
            monkeypatch.setattr(module, name, counted)
    return calls


def _predictions(ws, folder: Path) -> Path:
    from alc_data.predictions import save_prediction

    rng = np.random.default_rng(0)
    for image_id in ws.catalogue.image_ids("train"):
        rec = ws.catalogue.image_record(image_id)
        probs = rng.dirichlet(np.ones(ws.catalogue.num_classes), size=(int(rec.height), int(rec.width)))
        save_prediction(folder, image_id, probs.transpose(2, 0, 1).astype(np.float32), dtype=np.float32)
    return folder


def test_acquisition_and_expand_are_checked_once_from_the_cli_to_the_core(demo_ws, tmp_path, capsys, monkeypatch):
    import alc_data.stages.correct  # noqa: F401  (loaded, so its bindings are counted too)
    import alc_data.stages.score  # noqa: F401

    acquisitions = _count_calls(monkeypatch, "check_acquisition")
    expansions = _count_calls(monkeypatch, "check_expansion")
    folder = _predictions(demo_ws, tmp_path / "preds")
    code, _, err = run_cli(capsys, "score", "-w", demo_ws.root, "--predictions", folder, "--budget", 6,
                           "--acquisition", "sim", "--superpixels", "sam")
    assert code == 0, err
    assert acquisitions == ["sim"]  # not once more per image
    code, _, err = run_cli(capsys, "correct", "-w", demo_ws.root, "--oracle", "gt", "--expand", "superpixel")
    assert code == 0, err
    assert expansions == ["superpixel"]  # not again in apply_answers nor per image in expand_answers


def test_a_recipe_checks_acquisition_and_expand_once(monkeypatch, tmp_path):
    import alc_data.loop.config  # noqa: F401

    acquisitions = _count_calls(monkeypatch, "check_acquisition")
    expansions = _count_calls(monkeypatch, "check_expansion")
    ckpt = tmp_path / "final.pt"
    ckpt.write_bytes(b"x")
    loop = Recipe.from_dict({"loop": {"acquisition": "cil", "expand": "pixel"}}).loop
    for t in (1, 2):
        loop.score_options(t, checkpoint=ckpt, label_version="v0", superpixel_set="sam", engine=EngineSettings(), run="r")
        loop.correct_options(t, checkpoint=None)
    assert acquisitions == ["cil"] and expansions == ["pixel"]


def test_help_lists_the_choices_from_the_registries(capsys):
    from alc_data.scoring import ACQUISITIONS

    code, out, _ = run_cli(capsys, "score", "--help")
    assert code == 0
    flat = " ".join(out.replace("│", " ").split())
    assert ", ".join(ACQUISITIONS.names()) in flat
    code, out, _ = run_cli(capsys, "correct", "--help")
    flat = " ".join(out.replace("│", " ").split())
    assert all(mode.value in flat for mode in Expansion)


def test_help_lists_the_commands_in_the_order_of_the_work(capsys):
    import click
    import typer

    from alc_data_cli.main import app

    group = typer.main.get_command(app)
    names = group.list_commands(click.Context(group))
    assert names[0] == "ingest" and set(names) == set(group.commands)  # type: ignore[attr-defined]
    for before, after in (("superpixels", "train"), ("train", "score"), ("score", "queries"), ("queries", "correct"),
                          ("correct", "eval"), ("eval", "publish"), ("publish", "check")):
        assert names.index(before) < names.index(after)
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0 and out.index("│ ingest ") < out.index("│ queries ") < out.index("│ check ")
