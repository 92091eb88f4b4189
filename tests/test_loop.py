"""The loop end to end: train → score → correct on demo data, recipes, resume after a real kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import invoke

from alc_data.errors import AlcError
from alc_data.loop import apply_overrides, load_recipe


# a tiny, fast loop: 12 training images of 48×48, a few iterations per round
TINY = [
    "data.n_train=12", "data.n_val=4", "data.size=48",
    "train.iterations=12", "train.batch_size=4", "train.crop_size=48", "train.checkpoint_every=3",
    "loop.rounds=2", "loop.budget=8", "loop.batch_size=4",
]


def cli(capsys, *args):
    res = invoke(capsys, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res


def test_two_rounds_with_the_oracle_raise_data_miou(demo_ws, capsys, assert_workspace_ok):
    ws = demo_ws
    w = ["-w", ws.root]
    mious = [json.loads(cli(capsys, "eval", *w, "--json").stdout)["data_miou"]]
    for _ in range(2):
        out = cli(capsys, "train", *w, "--model", "demo-tiny", "--iterations", 40, "--batch-size", 8, "--crop-size", 48, "--json")
        ckpt = json.loads(out.stdout)["checkpoint"]
        cli(capsys, "score", *w, "--model", ckpt, "--budget", 10, "--superpixels", "sam")
        cli(capsys, "correct", *w, "--oracle", "gt")
        mious.append(json.loads(cli(capsys, "eval", *w, "--json").stdout)["data_miou"])
    assert [v.name for v in ws.labels.label_versions()] == ["v0", "v1", "v2"]
    assert mious[0] < mious[1] < mious[2], mious
    # the round's score table has one row per candidate superpixel and the queries are its top rows
    from alc_data.scoring import ScoreTable

    table = ScoreTable.from_parquet(ws.rounds_dir(1) / "scores.parquet")
    n_regions = sum(len(np.unique(ws.superpixels.read_superpixels("sam", i))) for i in ws.catalogue.image_ids("train"))
    assert len(table) == n_regions
    top = sorted(table.score.tolist(), reverse=True)[:10]
    asked = [q.score for q in ws.ledger.queries(1)]
    assert asked == pytest.approx(top)
    assert_workspace_ok(ws)


def test_recipes_extend_and_override():
    demo = load_recipe("demo")
    assert demo["name"] == "demo" and demo["loop"]["acquisition"] == "sim"
    assert demo["loop"]["oracle_mode"] == "pixel"  # from base.toml
    city = load_recipe("cityscapes")
    assert city["train"]["crop_size"] == 768 and city["train"]["model"] == "deeplabv3plus-resnet101"
    over = apply_overrides(demo, ["loop.budget=7", "train.lr=0.5", "loop.acquisition=random"])
    assert over["loop"]["budget"] == 7 and over["train"]["lr"] == 0.5 and over["loop"]["acquisition"] == "random"
    assert demo["loop"]["budget"] != 7  # the loaded recipe is not mutated
    with pytest.raises(AlcError, match="no table \\[lopo\\]"):
        apply_overrides(demo, ["lopo.budget=3"])
    with pytest.raises(AlcError, match="not found"):
        load_recipe("no-such-recipe")


@pytest.mark.parametrize(
    "override, message",
    [
        ("loop.rounds=abc", "loop.rounds = 'abc' is not a number"),
        ("loop.skip_asked=3", "use true or false"),
        ("loop.acquisition=foo", "unknown acquisition 'foo'"),
        ("train.lr=abc", "lr='abc' is not valid"),
        ("train.bogus=1", "bogus"),
    ],
)
def test_bad_recipe_values_fail_before_anything_is_written(tmp_path, override, message, capsys):
    res = invoke(capsys, ["run", "demo", "-w", str(tmp_path / "ws"), "--set", override])
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "ws").exists()


def test_recipe_chain_from_files(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "demo"\n[loop]\nbudget = 3\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\nname = "bee"\n[train]\nlr = 0.2\n')
    r = load_recipe(tmp_path / "b.toml")
    assert r["name"] == "bee" and r["loop"]["budget"] == 3 and r["train"]["lr"] == 0.2 and r["train"]["model"] == "demo-tiny"
    (tmp_path / "c.toml").write_text('extends = "d.toml"\n')
    (tmp_path / "d.toml").write_text('extends = "c.toml"\n')
    with pytest.raises(AlcError, match="cycle"):
        load_recipe(tmp_path / "c.toml")


def _run_cmd(ws: Path) -> list[str]:
    args = [sys.executable, "-m", "alc_data_cli.main", "run", "demo", "-w", str(ws), "--json"]
    for s in TINY:
        args += ["--set", s]
    return args


def _final_labels(ws_root: Path) -> dict[str, np.ndarray]:
    from alc_data.workspace import Workspace

    ws = Workspace.open(ws_root)
    v = ws.labels.version().name
    return {i: ws.labels.read_label(v, i) for i in ws.catalogue.image_ids()}


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_labels(tmp_path, assert_workspace_ok):
    env = dict(os.environ, ALC_PROGRESS="0", OMP_NUM_THREADS="1")
    # uninterrupted reference run
    ref = tmp_path / "ref"
    out = subprocess.run(_run_cmd(ref), env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    table = json.loads(out.stdout)
    assert [r["round"] for r in table["rounds"]] == [0, 1, 2]
    assert table["rounds"][-1]["clicks"] == 16
    assert (ref / "runs" / "demo" / "miou.png").stat().st_size > 1000
    run_info = json.loads((ref / "runs" / "demo" / "run.json").read_text())
    assert run_info["alc_data_version"]
    assert json.loads((ref / "runs" / "demo" / "recipe.json").read_text())["loop"]["budget"] == 8

    # the same run, killed with SIGKILL in the middle of round 2's training
    ws = tmp_path / "killed"
    proc = subprocess.Popen(_run_cmd(ws), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    marker = ws / "runs" / "demo" / "round-02" / "model" / "last.pt"
    deadline = time.time() + 300
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (ws / "runs" / "demo" / "round-02" / "model" / "final.pt").exists()
    state = json.loads((ws / "runs" / "demo" / "state.json").read_text())
    assert state["rounds"]["1"].get("done") and not state["rounds"].get("2", {}).get("done")

    out = subprocess.run(_run_cmd(ws), env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    resumed = json.loads(out.stdout)
    assert [r["clicks"] for r in resumed["rounds"]] == [r["clicks"] for r in table["rounds"]]
    a, b = _final_labels(ref), _final_labels(ws)
    assert a.keys() == b.keys()
    for image_id in a:
        np.testing.assert_array_equal(a[image_id], b[image_id], err_msg=image_id)
    # no round was asked twice
    from alc_data.workspace import Workspace

    assert len(Workspace.open(ws).ledger.rounds()) == 2
    assert_workspace_ok(ref)
    assert_workspace_ok(ws)


def test_csv_answers_stop_the_run_and_continue_it(tmp_path, capsys, assert_workspace_ok):
    import csv

    from alc_data.workspace import Workspace

    ws_dir = tmp_path / "ws"
    sets = [a for s in TINY for a in ("--set", s)] + ["--set", "loop.final_train=false"]
    res = invoke(capsys, ["run", "demo", "-w", str(ws_dir), "--answers-from", "csv", "--json", *sets])
    assert res.exit_code == 0, res.output
    table = json.loads(res.stdout)
    assert table["waiting_for_answers"] and [r["round"] for r in table["rounds"]] == [0]
    queries = ws_dir / "runs" / "demo" / "round-01" / "queries.csv"
    rows = list(csv.DictReader(queries.open()))
    assert len(rows) == 8
    # a person answers from the ground truth
    ws = Workspace.open(ws_dir)
    names = ws.catalogue.class_names
    for r in rows:
        g = int(ws.catalogue.read_gt(r["image_id"])[int(r["rep_row"]), int(r["rep_col"])])
        r["answer"] = "skip" if g >= len(names) else names[g]
    answers = tmp_path / "answers.csv"
    with answers.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    res = invoke(capsys, ["run", "demo", "-w", str(ws_dir), "--answers-from", "csv", "--answers", str(answers), "--json", *sets])
    assert res.exit_code == 0, res.output
    table = json.loads(res.stdout)
    assert table["waiting_for_answers"] and [r["round"] for r in table["rounds"]] == [0, 1]
    assert table["rounds"][1]["clicks"] == 8
    assert {a.source for r in ws.ledger.rounds() for a in ws.ledger.answers(r.round).values()} == {"csv:answers.csv"}
    assert (ws_dir / "runs" / "demo" / "round-02" / "queries.csv").is_file()  # round 2 waits for people
    assert_workspace_ok(ws)


def test_loop_starts_from_grounded_sam_labels_and_instance_superpixels(tmp_path, capsys, assert_workspace_ok):
    from alc_data.testing.foundation import build_tiny_grounding_dino, build_tiny_sam_pth
    from alc_data.workspace import Workspace

    dino = build_tiny_grounding_dino(tmp_path / "dino")
    sam = build_tiny_sam_pth(tmp_path / "sam_tiny.pth")
    recipe = tmp_path / "gsam.toml"
    recipe.write_text(
        'extends = "demo"\n'
        "[pseudo_label]\n"
        f'enabled = true\ndetector = "{dino}"\nsam = "{sam}"\nversion = "pseudo"\nbox_threshold = 0.0\ninstances_set = "gdino"\n'
        "[superpixels]\n"
        'set = "gsam-filled"\nmethod = "gsam"\nparams = { policy = "fill", source = "gdino" }\n'
    )
    sets = [a for s in TINY for a in ("--set", s)] + ["--set", "loop.rounds=1", "--set", "loop.final_train=false"]
    res = invoke(capsys, ["run", str(recipe), "-w", str(tmp_path / "ws"), "--json", *sets])
    assert res.exit_code == 0, res.output
    ws = Workspace.open(tmp_path / "ws")
    versions = {v.name: v for v in ws.labels.label_versions()}
    assert versions["pseudo"].kind != "ingest" and versions["v1"].parent == "pseudo"
    assert {"gdino", "gsam-filled"} <= {s.name for s in ws.superpixels.superpixel_sets()}
    assert {r.superpixel_set for r in ws.ledger.rounds()} == {"gsam-filled"}
    assert [r.label_version for r in ws.ledger.rounds()] == ["pseudo"]
    for image_id in ws.catalogue.image_ids():
        assert ws.superpixels.read_superpixels("gsam-filled", image_id).min() >= 0  # fill: every pixel is a candidate
    assert_workspace_ok(ws)
