"""Nothing wrong gets into the ledger (issue 21, items 1, 2, 7 and 8): answers are checked against the
workspace's classes before they are recorded, a class called like an answer word is that class in every
reader and on the page, and JSON that is bad in any way is one line, never an internal error."""

from __future__ import annotations

import json
import sqlite3
import warnings
from contextlib import closing

import numpy as np
import pytest
from cli_helpers import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiny_workspaces import make_round, tiny_ws

from alc_data.answers.record import Answer
from alc_data.constants import IGNORE_INDEX
from alc_data.errors import InvalidInput, NotFound


# ------------------------------------------------------------------ item 1: classes outside 0..K-1
def _gt_of_value(ws, value: int) -> None:
    from alc_data.io.labels import write_label_png

    for image_id in ws.catalogue.image_ids():
        path = ws.catalogue.gt_path(image_id)
        write_label_png(path, np.full_like(ws.catalogue.read_gt(image_id), value), ws.catalogue.palette)


def test_the_oracle_refuses_ground_truth_outside_the_classes_and_records_nothing(tmp_path):
    from alc_data.stages.correct import correct_round
    from alc_data.testing.annotate import open_round_workspace

    ws = open_round_workspace(tmp_path / "ws", budget=4)
    _gt_of_value(ws, 200)
    with pytest.raises(InvalidInput, match=r"gt/.*\.png: value 200 at row \d+, col \d+ .*nothing recorded"):
        correct_round(ws, oracle="gt")
    assert ws.ledger.answers(1) == {}
    _gt_of_value(ws, 1)
    assert correct_round(ws, oracle="gt").recorded == 4  # once the ground truth is fixed, the round goes on


@pytest.mark.parametrize("bad", [Answer(0, "corrected", 200), Answer(0, "accepted", -1), Answer(0, "corrected", None),
                                 Answer(0, "unanswerable", 3)])
def test_every_way_of_recording_checks_the_class_first(tmp_path, bad):
    from alc_data.testing.annotate import open_round_workspace

    ws = open_round_workspace(tmp_path / "ws", budget=2)
    q = ws.ledger.queries(1)[0]
    bad = Answer(q.query_id, bad.status, bad.answer_class)
    with pytest.raises(InvalidInput, match=f"query {q.query_id}: .*nothing recorded"):
        ws.ledger.record_answers(1, [bad], source="csv:x", annotator="ann")
    with pytest.raises(InvalidInput, match=f"query {q.query_id}: "):
        ws.ledger.record_timed_answer(1, bad, annotator="ann", seconds=1.0)
    assert ws.ledger.answers(1) == {}


@pytest.mark.damages_workspace
def test_answers_recorded_before_the_check_are_found_and_can_be_discarded(tmp_path, capsys):
    from alc_data.testing.annotate import open_round_workspace
    from alc_data.workspace.check import check_workspace

    ws = open_round_workspace(tmp_path / "ws", budget=3)
    with closing(sqlite3.connect(ws.db_path)) as con, con:  # what an older alc-data let in
        con.execute("INSERT INTO answers(query_id, round, status, answer_class, source, annotator, answered_at)"
                    " SELECT query_id, 1, 'corrected', 200, 'oracle:gt:pixel', 'oracle', 'x' FROM queries")
    report = check_workspace(ws.root)
    [problem] = [p for p in report.problems if p.kind == "unappliable-answers"]
    assert "3 recorded answers name no class" in problem.message and "--discard-invalid" in problem.message
    assert "\n" not in problem.message
    code, _, err = run_cli(capsys, "correct", "-w", str(ws.root), "--round", "1")
    assert code == 2 and "--discard-invalid" in err and "nothing applied" in err
    code, out, _ = run_cli(capsys, "correct", "-w", str(ws.root), "--round", "1", "--discard-invalid")
    assert code == 0 and "discarded 3 answers" in out
    assert check_workspace(ws.root).ok
    code, out, _ = run_cli(capsys, "correct", "-w", str(ws.root), "--oracle", "gt")
    assert code == 0 and "3 answers recorded" in out  # the queries are open again


# ------------------------------------------------------------------ item 2: classes named like keywords
KEYWORDS = sorted({"accept", "accepted", "yes", "Yes", "y", "ok", "correct", "true", "unanswerable", "skip", "unsure",
                   "?", "void", "can't tell", "cant tell"})


@pytest.fixture(scope="module")
def keyword_ws(tmp_path_factory):
    """Classes 0 ``background`` and 1 ``thing``, one round of 4 queries; tests rename class 1."""
    ws = tiny_ws(tmp_path_factory.mktemp("kw") / "ws", ["background", "thing"], image_ids=("a",))
    make_round(ws, 4)
    return ws


def _rename(ws, name: str):
    """The workspace opened afresh after class 1 is renamed ``name`` (a workspace keeps its class list)."""
    from alc_data.workspace import Workspace

    with closing(sqlite3.connect(ws.db_path)) as con, con:
        con.execute("UPDATE classes SET name=? WHERE idx=1", (name,))
    return Workspace.open(ws.root)


@pytest.mark.parametrize("keyword", KEYWORDS)
def test_a_class_named_like_an_answer_word_is_that_class_in_every_text_reader(keyword_ws, keyword):
    from alc_data.answers.choice import answer_from_choice
    from alc_data.answers.csv_answers import parse_answer
    from alc_data.queries.label_studio import labeling_config

    keyword_ws = _rename(keyword_ws, keyword)
    q = keyword_ws.ledger.queries(1)[0]
    assert parse_answer(keyword_ws, keyword) == 1
    answer = answer_from_choice(keyword_ws, q.query_id, 0, keyword)
    assert (answer.status.value, answer.answer_class) == ("corrected", 1)
    # Label Studio's "can't tell" choice is never a class's name (two equal choices could not be told apart)
    values = [line.split('"')[1] for line in labeling_config(keyword_ws).splitlines() if "<Choice value=" in line]
    assert len(values) == len({v.casefold() for v in values}) == 3


def test_the_page_sends_a_verdict_and_a_class_called_accept_stays_a_class(keyword_ws):
    from starlette.testclient import TestClient

    from alc_data.annotate.app import create_app

    keyword_ws = _rename(keyword_ws, "accept")
    c = TestClient(create_app(keyword_ws, 1, annotator="ann"), base_url="http://127.0.0.1:8000")
    post = lambda body: c.post("/api/answer", json={"holder": "tab", **body},  # noqa: E731
                               headers={"Origin": "http://127.0.0.1:8000"})
    q0, q1, q2 = (q for q in keyword_ws.ledger.queries(1)[:3])
    assert post({"query_id": q0.query_id, "choice": "accept"}).status_code == 400  # no words: a structured answer
    assert post({"query_id": q0.query_id, "verdict": "accept"}).json()["status"] == "accepted"
    assert post({"query_id": q1.query_id, "class_index": 1}).status_code == 200
    assert post({"query_id": q2.query_id, "verdict": "unanswerable"}).json()["status"] == "unanswerable"
    answers = keyword_ws.ledger.answers(1)
    assert answers[q0.query_id].answer_class == q0.shown_label and answers[q1.query_id].answer_class == 1
    with closing(sqlite3.connect(keyword_ws.db_path)) as con, con:
        con.execute("DELETE FROM answers")


# ------------------------------------------------------------------ items 7 and 8: bad JSON is one line
BAD_JSON = {
    "deep": "[" * 100_000 + "]" * 100_000,
    "long number": '[{"data": {"query_id": ' + "7" * 5000 + "}}]",
    "long id text": '[{"data": {"query_id": "' + "7" * 5000 + '"}}]',
    "not utf-8": b'[{"data": {"query_id": 1, "x": "\xff"}}]',
    "malformed annotation": '[{"data": {"query_id": 1}, "annotations": [{"result": [{"type": "choices", '
                            '"value": {"choices": "thing"}}]}]}]',
    "annotations not a list": '[{"data": {"query_id": 1}, "annotations": {"result": []}}]',
}


@pytest.mark.parametrize("name", sorted(BAD_JSON))
def test_bad_label_studio_files_are_one_line_errors(keyword_ws, tmp_path, capsys, name):
    path = tmp_path / "export.json"
    data = BAD_JSON[name]
    if isinstance(data, str):  # this workspace's tasks (its id and query), bad in one way each
        data = data.replace('"query_id": 1', f'"query_id": {keyword_ws.ledger.queries(1)[0].query_id}').replace(
            '{"data": {', f'{{"data": {{"workspace_id": "{keyword_ws.catalogue.workspace_id}", ').encode()
    path.write_bytes(data)
    code, _, err = run_cli(capsys, "correct", "-w", str(keyword_ws.root), "--answers", str(path))
    assert code == 2, err
    assert err.count("\n") == 1 and str(path) in err and "Traceback" not in err
    assert keyword_ws.ledger.answers(1) == {}


def test_a_round_mismatch_names_two_different_rounds(keyword_ws, tmp_path):
    from alc_data.answers.label_studio import read_label_studio_export

    q = keyword_ws.ledger.queries(1)[0]
    path = tmp_path / "export.json"
    path.write_text(json.dumps([{"data": {"query_id": q.query_id, "round": 4,
                                          "workspace_id": keyword_ws.catalogue.workspace_id}}]))
    with pytest.raises(InvalidInput) as err:
        read_label_studio_export(keyword_ws, path, round_no=1)
    assert "round 4" in str(err.value) and "round 1" in str(err.value)


@pytest.mark.parametrize("body", [b"[" * 5000 + b"]" * 5000, b'{"query_id": 1, "verdict": "\xff"}',
                                  b'{"query_id": ' + b"7" * 5000 + b"}"])
def test_the_annotate_api_answers_400_to_bad_json(keyword_ws, body):
    from starlette.testclient import TestClient

    from alc_data.annotate.app import create_app

    c = TestClient(create_app(keyword_ws, 1, annotator="ann"), base_url="http://127.0.0.1:8000")
    r = c.post("/api/answer", content=body, headers={"Origin": "http://127.0.0.1:8000",
                                                     "Content-Type": "application/json"})
    assert r.status_code == 400 and "\n" not in r.json()["error"]
    assert keyword_ws.ledger.answers(1) == {}


JSON_ATOMS = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.text(max_size=8),
                       st.sampled_from(["yes", "can't tell", "thing", "background", "0", "choices"]))
JSON_VALUES = st.recursive(JSON_ATOMS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(
        ["data", "query_id", "round", "annotations", "result", "type", "value", "choices", "was_cancelled", "id"]),
        inner, max_size=4)), max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tasks=st.lists(JSON_VALUES, max_size=3), cut=st.integers(0, 40))
def test_the_label_studio_reader_gives_answers_or_one_line(keyword_ws, tmp_path_factory, tasks, cut):
    from alc_data.answers.label_studio import read_label_studio_export

    qid = keyword_ws.ledger.queries(1)[0].query_id
    text = json.dumps(tasks).replace('"query_id": 0', f'"query_id": {qid}')
    path = tmp_path_factory.mktemp("fuzz") / "export.json"
    path.write_text(text[:-cut] if cut and cut < len(text) else text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # most fuzzed files name no workspace id: applied with a warning
            answers = read_label_studio_export(keyword_ws, path, round_no=1)
    except (InvalidInput, NotFound) as exc:
        assert "\n" not in str(exc)
    else:
        assert all(a.query_id == qid and a.answer_class in (None, 0, 1) for a in answers)


@settings(max_examples=60, deadline=None)
@given(value=JSON_VALUES, depth=st.integers(0, 3000))
def test_json_text_reads_or_refuses_in_one_line(value, depth):
    from alc_data.io.json_text import loads

    text = "[" * depth + json.dumps(value) + "]" * depth
    try:
        assert loads(text, "x") is not None or value is None
    except InvalidInput as exc:
        assert str(exc).startswith("x: ") and "\n" not in str(exc)
