"""Smaller defects a careful user found (issue 21, item 11), each with the class it belongs to."""

from __future__ import annotations

import pytest
from cli_helpers import run_cli

from alc_data.errors import InvalidInput


def test_the_csv_hint_suggests_a_word_other_than_the_one_refused(demo_ws):
    from alc_data.answers.csv_answers import parse_answer

    import sqlite3

    with sqlite3.connect(demo_ws.db_path) as con:
        con.execute("UPDATE classes SET name='Accept' WHERE idx=1")
    with pytest.raises(InvalidInput) as err:
        parse_answer(demo_ws, "accept")
    message = str(err.value)
    assert "'Accept' exactly for the class" in message and "(accept)" not in message
    assert "(yes)" in message


@pytest.mark.parametrize("name", ["ann\x1b[31m", "bob\nmallory", "", "   ", "x" * 201])
def test_annotator_names_with_control_characters_are_refused_before_anything_is_recorded(tmp_path, name):
    from alc_data.answers.record import Answer
    from alc_data.testing.annotate import open_round_workspace

    ws = open_round_workspace(tmp_path / "ws", budget=2)
    q = ws.ledger.queries(1)[0]
    with pytest.raises(InvalidInput, match="annotator"):
        ws.ledger.record_answers(1, [Answer(q.query_id, "accepted", q.shown_label)], source="csv:x", annotator=name)
    with pytest.raises(InvalidInput, match="annotator"):
        ws.ledger.record_timed_answer(1, Answer(q.query_id, "accepted", q.shown_label), annotator=name, seconds=1.0)
    assert ws.ledger.answers(1) == {}


def test_export_over_another_workspace_is_refused(demo_ws, tmp_path, capsys):
    from alc_data.demo import build_demo_workspace

    other = build_demo_workspace(tmp_path / "elsewhere" / "other", n_train=2, n_val=1, size=(32, 32))
    code, _, err = run_cli(capsys, "export", "-w", demo_ws.root, "--out", other.root.parent, "--overwrite")
    assert code == 2 and "alc.sqlite" in err and (other.root / "alc.sqlite").exists()
    code, _, err = run_cli(capsys, "export", "-w", demo_ws.root, "--out", other.root, "--overwrite")
    assert code == 2 and "alc.sqlite" in err and (other.root / "alc.sqlite").exists()


def test_the_page_refuses_an_annotator_with_an_escape_sequence(tmp_path):
    from starlette.testclient import TestClient

    from alc_data.annotate import create_app
    from alc_data.testing.annotate import open_round_workspace

    ws = open_round_workspace(tmp_path / "ws", budget=2)
    origin = "http://127.0.0.1:8765"
    c = TestClient(create_app(ws, 1, annotator="ann", allowed_hosts={"127.0.0.1:8765"}), base_url=origin)
    q = c.post("/api/lease", json={"holder": "tab"}, headers={"Origin": origin}).json()["queries"][0]
    r = c.post("/api/answer", json={"holder": "tab", "query_id": q["query_id"], "verdict": "accept",
                                    "annotator": "ann\x1b[2J"}, headers={"Origin": origin})
    assert r.status_code == 400 and "annotator" in r.json()["error"] and ws.ledger.answers(1) == {}
