"""Each workspace has a random id (issue 21): two workspaces ingested alike are told apart, every query
export names the id, and `correct --answers` refuses a file from another workspace in one line (a file
without an id, exported by an older alc-data, is applied with a warning)."""

from __future__ import annotations

import csv
import json
import shutil
import uuid
import warnings
from pathlib import Path

import pytest

from alc_data.workspace import Workspace
from cli_helpers import run_cli


@pytest.fixture(scope="module")
def twins(tmp_path_factory) -> tuple[Path, Path]:
    """Two workspaces ingested alike (same demo data, same round 1): only their ids tell them apart."""
    from alc_data.testing.annotate import open_round_workspace

    base = tmp_path_factory.mktemp("twins")
    return tuple(open_round_workspace(base / n, n_train=3, size=(32, 32), budget=4).root for n in ("a", "b"))


def _copy(root: Path, tmp_path: Path, name: str) -> Path:
    shutil.copytree(root, tmp_path / name)
    return tmp_path / name


def _write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)


def test_workspaces_ingested_alike_get_different_random_ids(twins):
    a, b = (Workspace.open(r).catalogue.workspace_id for r in twins)
    assert a != b and uuid.UUID(a).version == 4 and uuid.UUID(b).version == 4


def test_a_csv_from_another_workspace_is_refused_and_one_without_an_id_accepted(twins, tmp_path, capsys):
    a, b = (_copy(r, tmp_path, n) for r, n in zip(twins, "ab"))
    out = tmp_path / "q.csv"
    assert run_cli(capsys, "queries", "export", "-w", a, "--out", out)[0] == 0
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][-2:] == ["workspace_id", "answer"]
    assert {r[-2] for r in rows[1:]} == {Workspace.open(a).catalogue.workspace_id}
    answered = tmp_path / "a.csv"
    _write(answered, [rows[0]] + [r[:-1] + ["accept"] for r in rows[1:]])
    code, _, err = run_cli(capsys, "correct", "-w", b, "--answers", answered)
    assert code == 2 and err.count("\n") == 1 and "exported from another workspace" in err
    assert Workspace.open(b).ledger.answer_counts() == []
    # an export of an older alc-data: no workspace_id column; accepted with a warning
    old = tmp_path / "old.csv"
    _write(old, [r[:-2] + r[-1:] for r in [rows[0]] + [r[:-1] + ["accept"] for r in rows[1:]]])
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        code, _, err = run_cli(capsys, "correct", "-w", b, "--answers", old)
    assert code == 0 and err.count("\n") == 1 and err.startswith("warning: ") and "names no workspace id" in err


def test_label_studio_tasks_from_another_workspace_are_refused(twins, tmp_path, capsys):
    from alc_data.queries.label_studio import label_studio_tasks

    a, b = (_copy(r, tmp_path, n) for r, n in zip(twins, "ab"))
    tasks = label_studio_tasks(Workspace.open(a), 1)
    assert {t["data"]["workspace_id"] for t in tasks} == {Workspace.open(a).catalogue.workspace_id}
    for task in tasks:
        task["annotations"] = [{"result": task["predictions"][0]["result"], "was_cancelled": False}]
        task["data"]["workspace"] = "same name, same second"  # the old tag cannot tell them apart
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks))
    code, _, err = run_cli(capsys, "correct", "-w", b, "--answers", path)
    assert code == 2 and err.count("\n") == 1 and "exported from another workspace" in err
