"""`alc-data check`: each kind of damage is found and named; `--repair` removes debris and nothing else;
`publish` and `export` refuse damaged labels before writing anything."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alc_data.workspace.lock import LOCK_NAME

# these tests damage workspaces on purpose and check the reports themselves
pytestmark = pytest.mark.damages_workspace

from alc_data.constants import IGNORE_INDEX
from alc_data.io.labels import encode_label_png
from alc_data.workspace import Workspace
from alc_data.workspace.check import check_workspace
from cli_helpers import run_cli  # noqa: E402

IMAGE = "demo_00001"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A demo workspace (6 + 2 images of 32×32) with one round (score table + 4 queries), unanswered."""
    from alc_data.demo import build_demo_workspace
    from alc_data.queries import create_round
    from alc_data.scoring import ScoreTable, score_superpixels, select_top

    root = tmp_path_factory.mktemp("check-template") / "ws"
    ws = build_demo_workspace(root, n_train=6, n_val=2, size=(32, 32), seed=0)
    tables = []
    for i in ws.catalogue.image_ids("train"):
        g = ws.catalogue.read_gt(i).astype(int)
        g[g == IGNORE_INDEX] = 0
        probs = np.eye(ws.catalogue.num_classes, dtype=np.float32)[g].transpose(2, 0, 1) * 0.9 + 0.1 / ws.catalogue.num_classes
        tables.append(score_superpixels(probs, ws.labels.read_label("v0", i), ws.superpixels.read_superpixels("sam", i), image_id=i))
    scores = ScoreTable.concat(tables)

    def place_table(round_no: int) -> str:
        table = ws.rounds_dir(round_no) / "scores.parquet"
        scores.to_parquet(table)
        return str(table.relative_to(ws.root))

    create_round(ws, select_top(scores, 4), label_version="v0", superpixel_set="sam", acquisition="sim", budget=4,
                 score_table=place_table)
    return root


@pytest.fixture
def ws(template, tmp_path) -> Workspace:
    shutil.copytree(template, tmp_path / "ws")
    return Workspace.open(tmp_path / "ws")


def _label(ws: Workspace, image_id: str = IMAGE) -> Path:
    return ws.labels.label_path("v0", image_id)


def _record_unapplied(ws: Workspace) -> None:
    from alc_data.answers import oracle_answers, record_answers
    from alc_data.queries import round_queries

    answers = oracle_answers(ws, round_queries(ws, 1), label_version="v0")
    record_answers(ws, 1, answers, source="oracle:gt:pixel", annotator="test")


# each damage: (make it, the kind check reports, a path fragment the report names)
DAMAGES = {
    "missing label": (lambda ws: _label(ws).unlink(), "label-missing", f"v0/{IMAGE}.png"),
    "wrong size": (lambda ws: _label(ws).write_bytes(encode_label_png(np.zeros((20, 32), np.uint8))), "label-size",
                   f"v0/{IMAGE}.png"),
    "value >= K": (lambda ws: _label(ws).write_bytes(encode_label_png(np.full((32, 32), ws.catalogue.num_classes, np.uint8))),
                   "label-values", f"v0/{IMAGE}.png"),
    "edited label": (lambda ws: _label(ws).write_bytes(encode_label_png(np.ones((32, 32), np.uint8))), "label-changed",
                     f"v0/{IMAGE}.png"),  # a valid file, but not the one registered
    "truncated png": (lambda ws: _label(ws).write_bytes(_label(ws).read_bytes()[:60]), "label-unreadable",
                      f"v0/{IMAGE}.png"),
    "missing superpixel map": (lambda ws: ws.superpixels.superpixel_path("sam", IMAGE).unlink(), "superpixels-missing",
                               f"sam/{IMAGE}.npz"),
    "float superpixel map": (lambda ws: np.savez(ws.superpixels.superpixel_path("sam", IMAGE), superpixels=np.zeros((32, 32))),
                             "superpixels-dtype", f"sam/{IMAGE}.npz"),
    "missing image": (lambda ws: ws.catalogue.image_path(IMAGE).unlink(), "image-missing", f"images/{IMAGE}.png"),
    "missing score table": (lambda ws: (ws.rounds_dir(1) / "scores.parquet").unlink(), "score-table-missing",
                            "001/scores.parquet"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_check_names_each_damage_and_repair_leaves_it(ws, damage, capsys):
    make, kind, where = DAMAGES[damage]
    make(ws)
    report = check_workspace(ws.root)
    assert [(p.kind, p.repairable) for p in report.problems] == [(kind, False)], report.to_dict()
    assert where in report.problems[0].path_or_name
    code, out, err = run_cli(capsys, "check", "-w", ws.root)
    assert code == 1 and where in err and kind in err
    # --repair touches only debris: the damage is still reported, and still there
    code, out, _ = run_cli(capsys, "check", "-w", ws.root, "--repair", "--json")
    data = json.loads(out)
    assert code == 1 and data["repaired"] == [] and [p["kind"] for p in data["problems"]] == [kind]


def test_unapplied_answers_are_a_note_naming_the_command_that_applies_them(ws, capsys):
    _record_unapplied(ws)
    report = check_workspace(ws.root)
    assert report.ok and report.problems == ()
    (note,) = report.notices
    assert note.kind == "unapplied-answers" and f"alc-data correct -w {ws.root} --round 1" in note.message
    code, out, _ = run_cli(capsys, "check", "-w", ws.root)
    assert code == 0 and "note: round 1: 4 answers are recorded but not applied" in out


def _plant_debris(ws: Workspace) -> list[Path]:
    root = ws.root
    paths = [
        root.parent / f".{root.name}.ingest-abc123",  # interrupted ingest, beside the workspace
        root / "labels" / ".v1.x7y8.tmp",  # staging of a label version
        root / "labels" / "v9",  # a version folder with no catalogue row
        root / "superpixels" / ".slic.new",  # staging of a superpixel set
        root / "superpixels" / "..slic.new.ab12.tmp",
        root / "superpixels" / ".gone.old",  # the old copy of a set that is not registered
        root / "superpixels" / "slic",  # a set folder with no catalogue row
        root / "rounds" / "002",  # a round folder with no catalogue row
    ]
    for p in paths:
        p.mkdir(parents=True)
        (p / "x.png").write_bytes(b"junk")
    (root / "rounds" / "002" / "x.png").unlink()
    (root / "rounds" / "002" / "scores.parquet").write_bytes(b"junk")
    files = [root / "runs" / "t" / ".last.pt.k3j4.tmp", root / f".{root.name}.x.tmp", root / "gt" / f".{IMAGE}.png.q.tmp"]
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"junk")
    return paths + files


UNREGISTERED = ("labels/v9", "superpixels/slic", "rounds/002")
"""Planted folders alc-data never stages under these names (a crash's, or a person's): moved, not deleted."""


def test_debris_is_listed_and_repair_removes_only_it(ws, capsys):
    planted = _plant_debris(ws)
    keep = sorted(p for p in ws.root.rglob("*") if not any(p == d or d in p.parents for d in planted))
    report = check_workspace(ws.root)
    assert sorted(Path(p.path_or_name) for p in report.problems) == sorted(planted)
    kinds = {Path(p.path_or_name).relative_to(ws.root).as_posix() if ws.root in Path(p.path_or_name).parents else "":
             p.kind for p in report.problems}
    assert all(p.repairable for p in report.problems)
    assert {k for k, kind in kinds.items() if kind == "unregistered"} == set(UNREGISTERED)
    assert set(kinds.values()) == {"debris", "unregistered"}
    code, _, err = run_cli(capsys, "check", "-w", ws.root)
    assert code == 1 and "repairable" in err
    code, out, _ = run_cli(capsys, "check", "-w", ws.root, "--repair")
    assert code == 0 and out.count("repaired:") == len(planted) and out.count("moved to") == len(UNREGISTERED)
    assert not [p for p in planted if p.exists()]
    lost = ws.root / "lost+found"
    for rel in UNREGISTERED:  # a person's folder is never lost: it is in lost+found with its files
        assert any((lost / rel).iterdir()), rel
    # everything else is still there (repair takes the write lock, which leaves its lock file)
    assert sorted(p for p in ws.root.rglob("*") if p.name != LOCK_NAME and lost not in (p, *p.parents)) == keep
    assert check_workspace(ws.root).ok


def test_check_during_a_live_writer_does_not_call_its_staging_debris(ws):
    from alc_data.workspace.lock import LOCK_NAME

    staging = ws.root / "labels" / ".v1.k2j3.tmp"
    staging.mkdir()
    code = ("import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
            "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'{\"pid\": 1, \"command\": \"correct\"}'); "
            "print('held', flush=True); time.sleep(60)")
    writer = subprocess.Popen([sys.executable, "-c", code, str(ws.root / LOCK_NAME)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "held"
        report = check_workspace(ws.root)
        assert report.ok and not report.problems
        [notice] = [n for n in report.notices if n.kind == "writer-active"]
        assert "`correct`" in notice.message and "again" in notice.message
    finally:
        writer.kill()
        writer.wait()
    assert [p.kind for p in check_workspace(ws.root).problems] == ["debris"]  # once it is gone, it is debris
    staging.rmdir()


def test_repair_removes_debris_but_keeps_damage(ws):
    DAMAGES["value >= K"][0](ws)
    planted = _plant_debris(ws)
    report = check_workspace(ws.root, repair=True)
    assert len(report.repaired) == len(planted)
    assert [p.kind for p in report.problems] == ["label-values"]
    assert _label(ws).is_file()


def test_interrupted_superpixel_overwrite_is_put_back(ws):
    sp = ws.root / "superpixels"
    before = ws.superpixels.read_superpixels("sam", IMAGE)
    os.replace(sp / "sam", sp / ".sam.old")  # killed between the two renames of an overwrite
    (sp / ".sam.new").mkdir()
    kinds = sorted(p.kind for p in check_workspace(ws.root).problems)
    assert kinds == ["debris", "superpixels-interrupted"]
    report = check_workspace(ws.root, repair=True)
    assert report.ok and len(report.repaired) == 2
    np.testing.assert_array_equal(ws.superpixels.read_superpixels("sam", IMAGE), before)


def test_missing_version_folder(ws):
    shutil.rmtree(ws.labels.version_dir("v0"))
    kinds = [p.kind for p in check_workspace(ws.root).problems]
    assert kinds == ["version-folder-missing"]


def test_round_naming_a_version_not_in_the_catalogue(ws):
    import sqlite3

    with sqlite3.connect(ws.db_path) as con:  # damaged on purpose
        con.execute("UPDATE rounds SET output_version='v7' WHERE round=1")
    (problem,) = check_workspace(ws.root).problems
    assert problem.kind == "output-version-missing" and "'v7'" in problem.message


def test_hard_linked_files_are_read_once(ws):
    ws.labels.write_version("v1", [(IMAGE, np.zeros((32, 32), np.uint8))], parent="v0", kind="correction")
    report = check_workspace(ws.root)
    assert report.ok
    assert report.checked["label_versions"] == 2 and report.checked["label_files_read"] == len(ws.catalogue.image_ids()) + 1


def test_interrupted_ingest_leaves_only_debris(tmp_path, capsys):
    target = tmp_path / "ws"
    staging = tmp_path / ".ws.ingest-k2j3"
    staging.mkdir()
    (staging / "alc.sqlite").write_bytes(b"")
    report = check_workspace(target)
    assert [p.kind for p in report.problems] == ["no-workspace", "debris"]
    code, _, _ = run_cli(capsys, "check", "-w", target, "--repair")
    assert code == 1 and not staging.exists()
    code, _, err = run_cli(capsys, "check", "-w", target)
    assert code == 2 and err.count("\n") == 1 and "not an alc-data workspace" in err


@pytest.mark.parametrize("damage", ["wrong size", "value >= K", "edited label"])
@pytest.mark.parametrize("command", ["export", "publish"])
def test_publish_and_export_refuse_damaged_labels(ws, tmp_path, capsys, damage, command):
    DAMAGES[damage][0](ws)
    out = tmp_path / "out"
    args = ["export", "-w", ws.root, "--out", out] if command == "export" else ["publish", "-w", ws.root, "--to-dir", out]
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and err.count("\n") == 1, err
    assert f"v0/{IMAGE}.png" in err and "alc-data check" in err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["ws"]  # nothing written, no staging


def test_the_summary_line_counts_problems_in_words_that_agree(ws, capsys):
    _label(ws).unlink()
    code, _, err = run_cli(capsys, "check", "-w", ws.root)
    assert code == 1 and err.strip().splitlines()[-1] == f"{ws.root}: 1 problem"
    ws.superpixels.superpixel_path("sam", IMAGE).unlink()
    code, _, err = run_cli(capsys, "check", "-w", ws.root)
    assert code == 1 and err.strip().splitlines()[-1] == f"{ws.root}: 2 problems"


def test_repair_rebuilds_damaged_files_of_corrected_versions_from_the_ledger(ws, capsys):
    """A label file of a version made by `correct` is the parent plus the ledger: `check` says so, and
    `check --repair` rebuilds it when the rebuilt file has the SHA-256 recorded at registration. v0 (the
    dataset's own labels) has no ledger: its damage stays, with the fix in the message."""
    from alc_data.correction import apply_answers

    _record_unapplied(ws)
    applied = apply_answers(ws, 1)
    assert applied is not None and applied.version == "v1"
    changed = [i for i in ws.catalogue.image_ids()
               if not np.array_equal(ws.labels.read_label("v0", i), ws.labels.read_label("v1", i))]
    assert changed
    first, second = ws.labels.label_path("v1", changed[0]), ws.labels.label_path("v1", changed[-1])
    before = {p: p.read_bytes() for p in (first, second)}
    first.unlink()
    second.chmod(0o644)
    second.write_bytes(encode_label_png(np.zeros_like(ws.labels.read_label("v0", changed[-1]))))
    other = ws.labels.label_path("v0", "demo_00007")
    other.unlink()
    code, _, err = run_cli(capsys, "check", "-w", ws.root)
    lines = {line.split(": ", 2)[1]: line for line in err.splitlines() if line.startswith("label-")}
    assert code == 1 and set(lines) == {str(first), str(second), str(other)}
    for path in (first, second):
        assert "--repair` rebuilds it from label version 'v0' and the ledger" in lines[str(path)]
    assert "[repairable" not in lines[str(other)] and "restore it" in lines[str(other)]
    code, out, err = run_cli(capsys, "check", "-w", ws.root, "--repair")
    assert code == 1 and out.count("rebuilt") == 2 and [line.split(":")[0] for line in err.splitlines()[:-1]] == ["label-missing"]
    assert {p: p.read_bytes() for p in (first, second)} == before


@pytest.mark.parametrize("command", [("info",), ("diff", "v0", "latest"), ("eval",)])
def test_commands_that_meet_a_damaged_label_file_say_to_run_check(ws, capsys, command):
    _label(ws).unlink()
    code, _, err = run_cli(capsys, *command, "-w", ws.root)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"v0/{IMAGE}.png: label file not found" in err and f"alc-data check -w {ws.root}" in err
