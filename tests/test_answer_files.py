"""Answer files as people hand them back: CSVs saved by spreadsheets (semicolons, tabs, numbers without
their leading zeros, "can't tell"), Label Studio exports in other shapes or from other labeling configs,
answers that contradict the ledger, and the export commands' own hints."""

from __future__ import annotations

import csv
import json

import pytest
from cli_helpers import run_cli
from tiny_workspaces import make_round, tiny_ws


def _filled_rows(ws, tmp_path, answers):
    """The round's exported CSV rows (header first) with ``answers`` in the answer column, in order."""
    from alc_data.queries import export_queries_csv

    q = export_queries_csv(ws, tmp_path / "q.csv", overwrite=True)
    with open(q, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index("answer")
    for row, answer in zip(rows[1:], answers):
        row[col] = answer
    return rows


def _write(path, rows, delimiter=",", **kwargs):
    with open(path, "w", newline="", **kwargs) as fh:
        csv.writer(fh, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return path


@pytest.fixture
def ws(tmp_path):
    """Classes background, cat, dog, Car; one round of 4 queries."""
    ws = tiny_ws(tmp_path / "ws", ["background", "cat", "dog", "Car"])
    make_round(ws, 4)
    return ws


def _other_class(ws, q):
    return ws.catalogue.class_names[(q.shown_label + 1) % ws.catalogue.num_classes]


# ------------------------------------------------------------------ CSVs saved by spreadsheets


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_separated_answers_are_read(ws, tmp_path, capsys, delimiter):
    """Excel in many locales saves "CSV" with semicolons; "Unicode text" and copy-paste give tabs."""
    qs = ws.ledger.queries(1)
    rows = _filled_rows(ws, tmp_path, ["accept", _other_class(ws, qs[1]), "", "skip"])
    path = _write(tmp_path / "excel.csv", rows, delimiter=delimiter, encoding="utf-8-sig")
    code, out, err = run_cli(capsys, "correct", "-w", ws.root, "--answers", path, "--json")
    assert code == 0, err
    assert "workspace id" not in err  # the file's workspace_id column is read, not missed
    assert json.loads(out)["recorded"] == 3
    answers = ws.ledger.answers(1)
    assert answers[qs[0].query_id].status == "accepted"
    assert answers[qs[1].query_id].answer_class == ws.catalogue.class_names.index(_other_class(ws, qs[1]))
    assert answers[qs[3].query_id].status == "unanswerable" and qs[2].query_id not in answers


def test_a_csv_without_the_answer_columns_gets_no_workspace_warning_first(ws, tmp_path, capsys):
    path = tmp_path / "a.csv"
    path.write_text("id,label\n1,cat\n")
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--answers", path)
    assert code == 2 and err.count("\n") == 1, err
    assert "needs the columns query_id and answer" in err and "workspace id" not in err


@pytest.mark.parametrize("word", ["can't tell", "Can’t tell", "cant tell", "CAN'T TELL"])
def test_cant_tell_in_a_csv_is_unanswerable_as_on_the_page_and_in_label_studio(ws, tmp_path, word):
    """The page's and the Label Studio config's "can't tell" (a spreadsheet may curl the apostrophe)."""
    from alc_data.answers import read_answers_csv

    path = _write(tmp_path / "a.csv", _filled_rows(ws, tmp_path, [word]))
    (answer,) = read_answers_csv(ws, path, round_no=1)
    assert answer.status == "unanswerable" and answer.answer_class is None


def test_image_ids_that_lost_their_leading_zeros_in_a_spreadsheet_still_match(tmp_path):
    """COCO's image ids are zero-padded numbers; a spreadsheet saves 000000000139 as 139."""
    from alc_data.answers import read_answers_csv
    from alc_data.errors import InvalidInput

    ws = tiny_ws(tmp_path / "ws", ["background", "cat"], image_ids=("000000000139", "000000000285"))
    make_round(ws, 3)
    rows = _filled_rows(ws, tmp_path, ["accept"] * 3)
    col = rows[0].index("image_id")
    for row in rows[1:]:
        row[col] = str(int(row[col]))
    assert len(read_answers_csv(ws, _write(tmp_path / "a.csv", rows), round_no=1)) == 3
    rows[1][col] = "285" if rows[1][col] == "139" else "139"  # another image is still refused
    with pytest.raises(InvalidInput, match="line 2: answer for image"):
        read_answers_csv(ws, _write(tmp_path / "b.csv", rows), round_no=1)


# ------------------------------------------------------------------ answers that contradict the ledger


def test_answers_contradicting_the_ledger_name_the_file_line_and_classes(ws, tmp_path, capsys):
    q0, q1 = ws.ledger.queries(1)[:2]
    first = _write(tmp_path / "first.csv", _filled_rows(ws, tmp_path, ["accept", "skip"]))
    assert run_cli(capsys, "correct", "-w", ws.root, "--answers", first)[0] == 0
    other = _other_class(ws, q0)
    second = _write(tmp_path / "second.csv", _filled_rows(ws, tmp_path, [other, "skip", "accept"]))
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--answers", second)
    assert code == 2 and err.count("\n") == 1, err
    shown = ws.catalogue.class_names[q0.shown_label]
    assert "second.csv" in err and "line 2" in err and repr(other) in err and repr(shown) in err, err
    assert "line 3" not in err  # the same answer again is no contradiction
    assert len(ws.ledger.answers(1)) == 2  # nothing recorded from the second file


# ------------------------------------------------------------------ Label Studio exports


def _ls_export(ws, choices_by_task, *, extra_result=None):
    """A Label Studio JSON export of the round's tasks: task i annotated with ``choices_by_task[i]``
    (None: no annotation), each result list led by ``extra_result`` when given."""
    from alc_data.queries.label_studio import label_studio_tasks

    tasks = []
    for n, (task, choice) in enumerate(zip(label_studio_tasks(ws, 1), choices_by_task)):
        result = [] if extra_result is None else [dict(extra_result)]
        result.append({"id": "r", "from_name": "answer", "to_name": "image", "type": "choices",
                       "value": {"choices": [choice]}})
        annotations = [] if choice is None else [{"id": n + 1, "result": result, "was_cancelled": False,
                                                  "created_at": "2024-05-01T10:00:00Z", "updated_at": "2024-05-01T10:00:00Z",
                                                  "completed_by": 1, "task": n + 1}]
        tasks.append({"id": n + 1, "data": task["data"], "annotations": annotations, "predictions": [n + 1]})
    return tasks


def test_only_the_answer_control_of_the_labeling_config_answers_the_query(ws, tmp_path):
    """A project whose config adds another Choices (image quality, say) before the class choice."""
    from alc_data.answers.label_studio import read_label_studio_export

    qs = ws.ledger.queries(1)
    quality = {"id": "qq", "from_name": "quality", "to_name": "image", "type": "choices",
               "value": {"choices": ["dog"]}}  # a value that is also a class name
    chosen = [ws.catalogue.class_names[qs[0].shown_label], "can't tell"]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(_ls_export(ws, chosen, extra_result=quality)))
    answers = {a.query_id: a for a in read_label_studio_export(ws, path, round_no=1)}
    assert answers[qs[0].query_id].status == "accepted" and answers[qs[0].query_id].answer_class == qs[0].shown_label
    assert answers[qs[1].query_id].status == "unanswerable"


def test_several_choices_none_of_them_the_answer_control_are_refused(ws, tmp_path):
    from alc_data.answers.label_studio import read_label_studio_export
    from alc_data.errors import InvalidInput

    tasks = _ls_export(ws, ["dog"], extra_result={"id": "qq", "from_name": "quality", "to_name": "image",
                                                  "type": "choices", "value": {"choices": ["cat"]}})
    tasks[0]["annotations"][0]["result"][1]["from_name"] = "label"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    with pytest.raises(InvalidInput, match="'quality'.*'label'|'label'.*'quality'"):
        read_label_studio_export(ws, path, round_no=1)


def test_a_json_min_export_is_refused_naming_the_format(ws, tmp_path, capsys):
    from alc_data.queries.label_studio import label_studio_tasks

    rows = [{**t["data"], "id": n, "answer": "dog", "annotator": "a@b.c", "annotation_id": n, "lead_time": 2.0,
             "created_at": "2024-05-01T10:00:00Z", "updated_at": "2024-05-01T10:00:00Z"}
            for n, t in enumerate(label_studio_tasks(ws, 1), start=1)]
    path = tmp_path / "project-1-JSON_MIN.json"
    path.write_text(json.dumps(rows))
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--answers", path)
    assert code == 2 and err.count("\n") == 1, err
    assert "JSON-MIN" in err and "workspace id" not in err and "4 bad task" not in err
    assert ws.ledger.answers(1) == {}


def test_the_tasks_file_instead_of_the_export_is_refused(ws, tmp_path, capsys):
    """`queries export` wrote tasks.json; passing it back (not Label Studio's export) answers nothing."""
    assert run_cli(capsys, "queries", "export", "-w", ws.root, "--format", "label-studio", "--out", tmp_path / "tasks.json")[0] == 0
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--answers", tmp_path / "tasks.json")
    assert code == 2 and err.count("\n") == 1, err
    assert "export" in err and "Label Studio" in err
    assert ws.labels.version().name == "v0"


def test_a_folder_named_like_a_json_export_is_one_line(ws, tmp_path, capsys):
    (tmp_path / "export.json").mkdir()
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--answers", tmp_path / "export.json")
    assert code == 2 and err.count("\n") == 1 and "internal error" not in err, err
    assert "folder" in err


# ------------------------------------------------------------------ the export commands' hints


def test_a_csv_export_named_json_is_refused_since_correct_would_read_it_as_label_studio(ws, tmp_path, capsys):
    code, _, err = run_cli(capsys, "queries", "export", "-w", ws.root, "--out", tmp_path / "q.json")
    assert code == 2 and err.count("\n") == 1, err
    assert "--format label-studio" in err and not (tmp_path / "q.json").exists()


def test_the_label_studio_export_prints_a_correct_command_for_this_workspace(ws, tmp_path, capsys):
    code, out, err = run_cli(capsys, "queries", "export", "-w", ws.root, "--format", "label-studio",
                             "--out", tmp_path / "tasks.json")
    assert code == 0, err
    assert f"correct -w {ws.root} --answers" in out, out


# ------------------------------------------------------------------ `alc-data run` waiting for people

RUN = ["--answers-from", "csv", "--json", *(a for s in (
    "data.n_train=6", "data.n_val=2", "data.size=32", "train.iterations=2", "train.batch_size=2", "train.crop_size=32",
    "train.checkpoint_every=0", "loop.rounds=2", "loop.budget=3", "loop.batch_size=2", "loop.final_train=false",
) for a in ("--set", s))]


def test_a_waiting_run_says_where_its_queries_are_and_refuses_an_old_rounds_file_without_a_foreign_option(tmp_path, capsys):
    ws_dir = tmp_path / "ws"
    code, out, err = run_cli(capsys, "run", "demo", "-w", ws_dir, *RUN)
    assert code == 0, err
    table = json.loads(out)
    first = ws_dir / "runs" / "demo" / "round-01" / "queries.csv"
    assert table["waiting_for_answers"] and table["queries_csv"] == str(first)  # a script needs the file ...
    assert "--answers FILE.csv" in table["waiting"]  # ... and the command that continues
    with open(first, newline="") as fh:
        rows = list(csv.reader(fh))
    for row in rows[1:]:
        row[-1] = "can't tell"
    answered = _write(tmp_path / "round1.csv", rows)
    code, out, err = run_cli(capsys, "run", "demo", "-w", ws_dir, *RUN, "--answers", answered)
    assert code == 0, err
    assert json.loads(out)["queries_csv"].endswith("round-02/queries.csv")
    # the round 1 file again, while the run waits for round 2: `run` has no --round to suggest
    code, _, err = run_cli(capsys, "run", "demo", "-w", ws_dir, *RUN, "--answers", answered)
    assert code == 2 and err.count("\n") == 1, err
    assert "--round" not in err and "waits for the answers of round 2" in err and "round-02" in err, err


def test_rows_of_empty_cells_a_spreadsheet_leaves_behind_are_skipped(ws, tmp_path, capsys):
    """Excel writes `,,,,` for rows that were cleared but once had content."""
    rows = _filled_rows(ws, tmp_path, ["accept"])
    rows += [[""] * len(rows[0]), [" ", "", "\t"]]
    code, out, err = run_cli(capsys, "correct", "-w", ws.root, "--answers", _write(tmp_path / "a.csv", rows), "--json")
    assert code == 0, err
    assert json.loads(out)["recorded"] == 1
