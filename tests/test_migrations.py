"""A workspace written by alc-data 0.1.0 (schema 1) opens, is upgraded in place and takes browser answers."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from alc_data.answers.record import Answer
from alc_data.stages.correct import correct_round
from alc_data.workspace import Workspace
from alc_data.workspace.migrations import MIGRATIONS, latest_version

FIXTURE = Path(__file__).parent / "data" / "workspace-0.1.0"


@pytest.fixture
def old_ws(tmp_path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(FIXTURE, root)
    return root


def columns(root: Path, table: str) -> list[str]:
    with sqlite3.connect(root / "alc.sqlite") as con:
        return [r[1] for r in con.execute(f"PRAGMA table_info({table})")]


def test_step_2_adds_seconds_leases_and_retractions_in_place(old_ws):  # reads the schema itself, on purpose
    assert "seconds" not in columns(old_ws, "answers")
    ws = Workspace.open(old_ws)
    assert latest_version() >= 2 and 2 in MIGRATIONS
    assert int(ws.catalogue.meta("schema_version")) == latest_version()
    assert "seconds" in columns(old_ws, "answers")
    assert {"query_id", "holder", "annotator", "expires_at"} <= set(columns(old_ws, "leases"))
    assert {"retracted_by", "retracted_at"} <= set(columns(old_ws, "answers"))
    # the 0.1.0 ledger is kept: round 1's 12 oracle answers, applied as v1, without measured time
    answers = ws.ledger.timed_answers(1)
    assert len(answers) == 12 and all(a.seconds is None for a in answers)
    assert {a.applied_version for a in ws.ledger.answers(1).values()} == {"v1"}
    assert [v.name for v in ws.labels.label_versions()] == ["v0", "v1"]
    # opening again changes nothing
    assert int(Workspace.open(old_ws).catalogue.meta("schema_version")) == latest_version()


def test_upgraded_workspace_takes_timed_answers_and_applies_them(old_ws):
    ws = Workspace.open(old_ws)
    leased = ws.ledger.lease_queries(2, holder="tab", annotator="ann", want=4)
    assert len(leased) == 4
    shown = {q.query_id: q.shown_label for q in ws.ledger.queries(2)}
    for i, qid in enumerate(leased):
        ws.ledger.record_timed_answer(2, Answer(qid, "accepted", shown[qid]), annotator="ann", seconds=2.0 + i, holder="tab")
    progress = ws.ledger.round_progress(2)
    assert (progress.answered, progress.total, progress.median_seconds) == (4, 4, 3.5)
    result = correct_round(ws, round_no=2)
    assert result.source == "ledger" and result.applied is not None and result.applied.version == "v2"
    assert result.applied.accepted == 4
    from alc_data.queries.cost import cost_summary

    cost = cost_summary(ws)
    assert [r.measured_median_seconds for r in cost.rounds] == [None, 3.5]
    assert cost.total.timed_answers == 4
