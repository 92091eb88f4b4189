"""`alc-data check` reads the database and the files the catalogue vouches for (issue 21): a missing
table, column or index; a label file changed after it was registered (named by its version and image,
never by another version's path); bad reference ground truth. Registered files are read-only, and every
command that registers labels records their hashes."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest

from alc_data.io.labels import encode_label_png, read_label_png
from alc_data.workspace import Workspace
from alc_data.workspace.check import check_workspace
from cli_helpers import run_cli

OLD = Path(__file__).parent / "data" / "workspace-0.1.0"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A demo workspace (5 + 1 images of 32×32) whose round 1 (8 queries) is answered and applied as v1."""
    from alc_data.stages.correct import correct_round
    from alc_data.testing.annotate import open_round_workspace

    root = tmp_path_factory.mktemp("catalogue") / "ws"
    ws = open_round_workspace(root, n_train=5, size=(32, 32), budget=8)
    correct_round(ws, round_no=1, oracle="gt")
    return root


@pytest.fixture
def ws(template, tmp_path) -> Workspace:
    subprocess.run(["cp", "-a", str(template), str(tmp_path / "ws")], check=True)  # keeps the hard links
    return Workspace.open(tmp_path / "ws")


def _sql(ws: Workspace, statement: str) -> None:
    with sqlite3.connect(ws.db_path) as con:
        con.execute(statement)


def _kept(ws: Workspace) -> str:
    """An image whose v1 file is v0's (the version kept it)."""
    return next(i for i in ws.catalogue.image_ids()
                if ws.labels.label_path("v1", i).samefile(ws.labels.label_path("v0", i)))


# ---------------------------------------------------------------------------------------------- item 3
@pytest.mark.damages_workspace
@pytest.mark.parametrize("table", ["queries", "corrections", "leases", "verified"])
def test_check_fails_on_a_dropped_table(ws, table, capsys):
    _sql(ws, f"DROP TABLE {table}")
    code, _, err = run_cli(capsys, "check", "-w", ws.root)
    assert code == 1 and f"schema-table-missing: {ws.db_path}: table {table!r} is missing" in err


@pytest.mark.damages_workspace
def test_check_fails_on_a_dropped_index_or_column(ws):
    _sql(ws, "DROP INDEX answers_live_per_query")
    _sql(ws, "ALTER TABLE propagations DROP COLUMN review_version")
    kinds = {(p.kind, p.path_or_name) for p in check_workspace(ws.root).problems}
    assert kinds == {("schema-index-missing", "index answers_live_per_query"),
                     ("schema-column-missing", "table propagations")}


@pytest.mark.damages_workspace
def test_check_runs_sqlite_foreign_key_check(ws):
    _sql(ws, "UPDATE rounds SET label_version='v7'")  # sqlite3's default: foreign keys not enforced
    (problem,) = check_workspace(ws.root).problems
    assert problem.kind == "database-foreign-keys" and "rounds row 1 names a missing label_versions row" in problem.message


@pytest.mark.damages_workspace
def test_a_database_without_its_meta_table_is_a_problem_not_a_crash(ws, capsys):
    _sql(ws, "DROP TABLE meta")
    code, _, err = run_cli(capsys, "check", "-w", ws.root)
    assert code == 1 and "database:" in err and "meta" in err


# ---------------------------------------------------------------------------------------------- item 4
@pytest.mark.damages_workspace
def test_a_label_file_changed_in_place_is_named_by_each_version_and_image(ws, capsys):
    image = _kept(ws)
    path = ws.labels.label_path("v1", image)
    labels = read_label_png(path)
    labels[0, 0] = (labels[0, 0] + 1) % ws.catalogue.num_classes  # still a valid label map
    with open(path, "r+b") as fh:  # in place: the file v0 shares
        fh.write(encode_label_png(labels, ws.catalogue.palette))
        fh.truncate()
    problems = check_workspace(ws.root).problems
    assert {(p.kind, p.path_or_name) for p in problems} == {
        ("label-changed", str(ws.labels.label_path(v, image))) for v in ("v0", "v1")}
    code, _, err = run_cli(capsys, "check", "-w", ws.root)
    assert code == 1 and f"image {image!r} in version 'v1'" in err and f"image {image!r} in version 'v0'" in err


@pytest.mark.damages_workspace
def test_a_broken_shared_file_is_reported_under_each_versions_own_path(ws):
    image = _kept(ws)
    path = ws.labels.label_path("v1", image)
    data = path.read_bytes()
    with open(path, "r+b") as fh:
        fh.write(data[:60])
        fh.truncate()
    problems = check_workspace(ws.root).problems
    assert [(p.kind, p.path_or_name) for p in problems] == [
        ("label-unreadable", str(ws.labels.label_path(v, image))) for v in ("v0", "v1")]
    for p in problems:
        assert p.message.startswith(f"{p.path_or_name}: ") and p.message.count("labels/") == 1


def test_registered_files_are_read_only_and_every_version_has_its_hashes(ws):
    files = sorted((ws.root / "labels").glob("*/*.png")) + sorted((ws.root / "gt").glob("*.png"))
    assert len(files) == 3 * len(ws.catalogue.image_ids())
    assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o444}
    hashes = ws.labels.file_hashes()
    assert set(hashes) == {(v.name, i) for v in ws.labels.label_versions() for i in ws.catalogue.image_ids()}
    assert all(len(h) == 64 for h in hashes.values())


@pytest.mark.damages_workspace
def test_a_version_without_hash_rows_is_a_problem_that_repair_records(ws, capsys):
    _sql(ws, "DELETE FROM label_files WHERE label_version='v1'")
    kinds = {p.kind for p in check_workspace(ws.root).problems}
    assert kinds == {"label-hash-missing"}
    code, out, _ = run_cli(capsys, "check", "-w", ws.root, "--repair")
    assert code == 0 and "recorded the hashes of" in out
    assert check_workspace(ws.root).ok


def test_an_old_workspace_gets_an_id_and_its_unhashed_files_a_note_until_repair(tmp_path, capsys):
    root = tmp_path / "old"
    shutil.copytree(OLD, root)
    ws = Workspace.open(root)
    assert uuid.UUID(ws.catalogue.workspace_id).version == 4
    report = check_workspace(root)
    assert report.ok and {n.kind for n in report.notices} == {"label-hash-unknown"}
    code, out, _ = run_cli(capsys, "check", "-w", root, "--repair")
    assert code == 0 and "repaired: label version 'v1': recorded the hashes of 6 files" in out
    report = check_workspace(root)
    assert report.ok and report.notices == ()
    assert {stat.S_IMODE(f.stat().st_mode) for f in (root / "labels").glob("*/*.png")} == {0o444}


# ---------------------------------------------------------------------------------------------- ground truth
def _gt_damages(ws: Workspace) -> dict[str, tuple[str, str]]:
    ids = ws.catalogue.image_ids()
    k = ws.catalogue.num_classes
    ws.catalogue.gt_path(ids[0]).unlink()
    ws.catalogue.gt_path(ids[1]).write_bytes(encode_label_png(np.zeros((20, 32), np.uint8)))
    ws.catalogue.gt_path(ids[2]).write_bytes(encode_label_png(np.full((32, 32), k, np.uint8)))
    return {"gt-missing": ids[0], "gt-size": ids[1], "gt-values": ids[2]}


@pytest.mark.damages_workspace
def test_check_reads_the_ground_truth_as_it_reads_labels(ws, capsys):
    want = _gt_damages(ws)
    problems = check_workspace(ws.root).problems
    assert {(p.kind, p.path_or_name) for p in problems} == {
        (kind, str(ws.catalogue.gt_path(i))) for kind, i in want.items()}
    code, _, err = run_cli(capsys, "check", "-w", ws.root)
    assert code == 1 and "ground-truth value" in err and "ground-truth file not found" in err
