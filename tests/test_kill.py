"""Crash tests: every writing command killed (SIGKILL) at each of its named kill points.

For each point in :data:`alc_data.faults.KILL_POINTS` the real CLI runs in a subprocess with
``ALC_KILL_AT=<point>``; the test proves the process died by SIGKILL there (return code -9 and the
point's name in ``ALC_KILL_LOG``), requires ``alc-data check`` to pass (only repairable debris allowed,
which ``--repair`` removes), then re-runs the command without the kill and requires the same result as
an uninterrupted run on an identical workspace.

A command whose points have no recipe in :data:`RECIPES` fails :func:`test_every_kill_point_has_a_recipe`,
so no point is added without its crash test; a new point of a known command is tested automatically.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from alc_data.faults import KILL_POINTS
from alc_data.workspace import Workspace
from alc_data.workspace.check import check_workspace

ROOT = Path(__file__).resolve().parents[1]
TRAIN_ARGS = ["--model", "demo-tiny", "--batch-size", 2, "--crop-size", 32, "--device", "cpu"]


def point_names() -> list[str]:
    """Every registered point as ``command:point`` (entries may be given with or without the prefix)."""
    return sorted({p if ":" in p else f"{cmd}:{p}" for cmd, points in KILL_POINTS.items() for p in points})


def run_alc(*args, env_extra: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("ALC_KILL_AT", "ALC_KILL_LOG")}
    env.update(ALC_PROGRESS="0", OMP_NUM_THREADS="1", **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "alc_data_cli.main", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------------------------------------- template
@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A tiny demo workspace (6 + 2 images of 32×32) with a trained checkpoint (runs/t0/final.pt) and
    one scored, unanswered round: every command's recipe starts from a copy of it."""
    from alc_data.demo import build_demo_workspace
    from alc_data.score_round import score_round
    from alc_data.train import TrainConfig, train_model

    root = tmp_path_factory.mktemp("kill-template") / "ws"
    ws = build_demo_workspace(root, n_train=6, n_val=2, size=(32, 32), seed=0)
    cfg = TrainConfig.from_dict({"model": "demo-tiny", "iterations": 3, "batch_size": 2, "crop_size": 32},
                                seed=0, device="cpu", num_workers=0, checkpoint_every=0)
    result = train_model(ws, config=cfg, run_dir=root / "runs" / "t0")
    score_round(ws, checkpoint=result.checkpoint, budget=24, superpixel_set="sam", device="cpu")
    return root


def copy_template(template: Path, where: Path) -> Path:
    ws = where / "ws"
    shutil.copytree(template, ws)
    return ws


def labels_of(ws: Workspace, version: str) -> dict[str, np.ndarray]:
    return {i: ws.labels.read_label(version, i) for i in ws.catalogue.image_ids()}


def parquet_rows(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


# ---------------------------------------------------------------------------------------------- recipes
@dataclass(frozen=True)
class Recipe:
    """How to crash-test one command.

    ``prepare(template, folder) -> ctx`` makes a fresh workspace (``ctx["ws"]``); ``argv(ctx)`` is the
    command line; ``result(ctx)`` what an uninterrupted run must equal after kill + re-run;
    ``needs_rerun(ctx)``: False when the killed run had already committed its output (a registered set,
    a published folder), so that running it again would be refused or would start something new."""

    prepare: Callable[[Path, Path], dict[str, Any]]
    argv: Callable[[dict[str, Any]], list[Any]]
    result: Callable[[dict[str, Any]], Any]
    needs_rerun: Callable[[dict[str, Any]], bool] = lambda ctx: True


def _from_template(template: Path, where: Path) -> dict[str, Any]:
    return {"ws": copy_template(template, where), "dir": where}


def _ingest_result(ctx):
    ws = Workspace.open(ctx["ws"])
    return {"ids": ws.catalogue.image_ids(), "v0": labels_of(ws, "v0"),
            **{s: {i: ws.superpixels.read_superpixels(s, i) for i in ws.catalogue.image_ids()} for s in ("sam", "gsam")}}


def _superpixel_result(ctx):
    ws = Workspace.open(ctx["ws"])
    s = ws.superpixels.superpixel_set("kp")
    return {"method": s.method, "params": s.params, "maps": {i: ws.superpixels.read_superpixels("kp", i) for i in ws.catalogue.image_ids()}}


def _train_result(ctx):
    from alc_data.train.checkpoint import read_checkpoint

    ckpt = read_checkpoint(ctx["ws"] / "runs" / "t" / "final.pt")
    return {"iteration": ckpt["iteration"], "model": {k: v.numpy() for k, v in ckpt["model"].items()}}


def _score_result(ctx):
    ws = Workspace.open(ctx["ws"])
    return {"table": parquet_rows(ws.rounds_dir(2) / "scores.parquet"),
            "queries": [(q.round, q.rank, q.image_id, q.superpixel_id, q.score) for q in ws.ledger.queries(2)]}


def _correct_result(ctx):
    ws = Workspace.open(ctx["ws"])
    v = ws.labels.version()
    return {"version": v.name, "parent": v.parent, "labels": labels_of(ws, v.name),
            "corrections": sorted((c.query_id, c.image_id, c.superpixel_id, c.old_class, c.new_class, c.pixels)
                                  for c in ws.ledger.corrections([v.name])),
            "answers": [(a.query_id, a.status.value, a.answer_class, a.applied_version)
                        for r in ws.ledger.rounds() for a in ws.ledger.answers(r.round).values()]}


def _propagate_result(ctx):
    ws = Workspace.open(ctx["ws"])
    return {**_correct_result(ctx), "versions": [(v.name, v.kind, v.parent) for v in ws.labels.label_versions()],
            "propagations": [(r.label_version, r.image_id, r.superpixel_id, r.old_class, r.new_class, r.pixels)
                             for r in ws.ledger.propagations()]}


def _publish_result(ctx):
    out = ctx["dir"] / "hf"
    return {"files": sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()),
            "data": {p.name: parquet_rows(p) for p in sorted((out / "data").glob("*.parquet"))},
            "id2label": json.loads((out / "id2label.json").read_text())}


RECIPES: dict[str, Recipe] = {
    "ingest": Recipe(
        prepare=lambda template, where: {"ws": where / "ws", "dir": where},
        argv=lambda ctx: ["ingest", "demo", "-w", ctx["ws"], "--train", 6, "--val", 2, "--size", 32],
        result=_ingest_result,
        needs_rerun=lambda ctx: not (ctx["ws"] / "alc.sqlite").exists(),
    ),
    "superpixels": Recipe(
        prepare=_from_template,
        argv=lambda ctx: ["superpixels", "-w", ctx["ws"], "--method", "slic", "--name", "kp", "--param", "n_segments=20"],
        result=_superpixel_result,
        needs_rerun=lambda ctx: "kp" not in {s.name for s in Workspace.open(ctx["ws"]).superpixels.superpixel_sets()},
    ),
    "train": Recipe(
        prepare=_from_template,
        argv=lambda ctx: ["train", "-w", ctx["ws"], *TRAIN_ARGS, "--iterations", 3, "--checkpoint-every", 0,
                          "--run-dir", ctx["ws"] / "runs" / "t"],
        result=_train_result,
    ),
    "score": Recipe(
        prepare=_from_template,
        argv=lambda ctx: ["score", "-w", ctx["ws"], "--model", ctx["ws"] / "runs" / "t0" / "final.pt", "--budget", 4,
                          "--superpixels", "sam"],
        result=_score_result,
        needs_rerun=lambda ctx: len(Workspace.open(ctx["ws"]).ledger.rounds()) < 2,
    ),
    "correct": Recipe(
        prepare=_from_template,
        argv=lambda ctx: ["correct", "-w", ctx["ws"], "--oracle", "gt", "--round", 1],
        result=_correct_result,
    ),
    "propagate": Recipe(
        prepare=_from_template,
        argv=lambda ctx: ["correct", "-w", ctx["ws"], "--oracle", "gt", "--round", 1, "--propagate",
                          "--propagate-threshold", 0.05],
        result=_propagate_result,
    ),
    "publish": Recipe(
        prepare=_from_template,
        argv=lambda ctx: ["publish", "-w", ctx["ws"], "--to-dir", ctx["dir"] / "hf"],
        result=_publish_result,
        needs_rerun=lambda ctx: not (ctx["dir"] / "hf").exists(),
    ),
}


def assert_same(a: Any, b: Any, where: str = "result") -> None:
    """Deep equality of nested dicts / lists / arrays."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)) and not isinstance(a, str):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


# ---------------------------------------------------------------------------------------------- tests
def test_every_kill_point_has_a_recipe():
    """A point registered for a command this file cannot run is a failure: add its recipe."""
    missing = sorted({p.split(":", 1)[0] for p in point_names()} - set(RECIPES))
    assert not missing, f"kill points of {missing} have no recipe in tests/test_kill.py"


def test_every_kill_point_in_the_code_is_registered_and_vice_versa():
    called = set()
    for path in (ROOT / "alc_data").rglob("*.py"):
        if path.name != "faults.py":  # its docstring shows an example call
            text = path.read_text(encoding="utf-8")
            called |= set(re.findall(r"""kill_point\(\s*["']([^"']+)["']\s*\)""", text))
            # atomic_file(..., before_rename="X") calls kill_point("X") before its rename
            called |= set(re.findall(r"""\bbefore_rename=["']([^"']+)["']""", text))
            # shared writers called with stage="X" reach the points X:staged and X:renamed
            for stage in re.findall(r"""\bstage=["']([^"']+)["']""", text):
                called |= {f"{stage}:staged", f"{stage}:renamed"}
    registered = set(point_names())
    assert called - registered == set(), f"kill points called but not in KILL_POINTS: {sorted(called - registered)}"
    stale = registered - called
    assert not stale, f"KILL_POINTS lists points no code calls: {sorted(stale)}"


_REFERENCE: dict[str, Any] = {}


def reference_result(command: str, template: Path, tmp_path_factory) -> Any:
    """The result of one uninterrupted run of ``command`` on a fresh copy of the template (once per module)."""
    if command not in _REFERENCE:
        recipe = RECIPES[command]
        ctx = recipe.prepare(template, tmp_path_factory.mktemp(f"ref-{command}"))
        out = run_alc(*recipe.argv(ctx))
        assert out.returncode == 0, out.stderr
        _REFERENCE[command] = recipe.result(ctx)
    return _REFERENCE[command]


def require_check_passes(ws_dir: Path) -> None:
    """``alc-data check`` passes, after ``--repair`` when the only problems are repairable debris."""
    if not (ws_dir / "alc.sqlite").exists():  # an interrupted ingest: nothing but its staging may be left
        leftovers = list(ws_dir.parent.glob(f".{ws_dir.name}.ingest-*"))
        if leftovers:
            report = check_workspace(ws_dir, repair=True)
            assert [p.kind for p in report.problems] == ["no-workspace"], report.to_dict()
        assert not list(ws_dir.parent.glob(f".{ws_dir.name}.ingest-*"))
        return
    report = check_workspace(ws_dir)
    hard = [p for p in report.problems if not p.repairable]
    assert not hard, f"check fails after the kill: {[p.message for p in hard]}"
    if report.problems:
        repaired = check_workspace(ws_dir, repair=True)
        assert repaired.ok, repaired.to_dict()
        assert len(repaired.repaired) == len(report.problems)
    assert check_workspace(ws_dir).ok


@pytest.mark.parametrize("point", point_names())
def test_killed_at_each_point_checks_clean_and_reruns_to_the_same_result(point, template, tmp_path, tmp_path_factory):
    command = point.split(":", 1)[0]
    recipe = RECIPES.get(command)
    if recipe is None:
        pytest.fail(f"no recipe for command {command!r} (see test_every_kill_point_has_a_recipe)")
    expected = reference_result(command, template, tmp_path_factory)

    ctx = recipe.prepare(template, tmp_path)
    log = tmp_path / "kill.log"
    out = run_alc(*recipe.argv(ctx), env_extra={"ALC_KILL_AT": point, "ALC_KILL_LOG": str(log)})
    assert out.returncode == -signal.SIGKILL, f"not killed at {point} (exit {out.returncode}): {out.stderr[-2000:]}"
    assert log.read_text() == point

    require_check_passes(ctx["ws"])

    if recipe.needs_rerun(ctx):
        out = run_alc(*recipe.argv(ctx))
        assert out.returncode == 0, f"re-run after a kill at {point} failed: {out.stderr[-2000:]}"
    assert_same(expected, recipe.result(ctx))
    require_check_passes(ctx["ws"])
