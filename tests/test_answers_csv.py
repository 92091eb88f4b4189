"""Answers CSV files (untrusted input): class names win over answer words and match exactly, ids are ASCII
digits, oversized cells and odd characters are one line, exported cells cannot start a formula, and
the project's own export reads back losslessly."""

from __future__ import annotations

import csv

import pytest

from alc_data.errors import AlcError, InvalidInput
from cli_helpers import run_cli
from tiny_workspaces import make_round, tiny_ws


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


def _answer_all(ws, tmp_path, answer_for, name="a.csv"):
    """Export the latest round and fill the answer column with ``answer_for(query row dict)``."""
    from alc_data.queries import export_queries_csv

    q = export_queries_csv(ws, tmp_path / "q.csv", overwrite=True)
    rows = _rows(q)
    header = rows[0]
    for r in rows[1:]:
        r[header.index("answer")] = answer_for(dict(zip(header, r)))
    _write(tmp_path / name, rows)
    return tmp_path / name


# ---------------------------------------------------------------- answer words vs class names


def test_class_names_win_over_answer_words(tmp_path):
    from alc_data.answers import read_answers_csv
    from alc_data.queries import round_queries

    ws = tiny_ws(tmp_path / "ws", ["Void", "skip", "yes", "cat"])
    rnd = make_round(ws, 4)
    queries = round_queries(ws, rnd)
    words = ["Void", "skip", "yes", "cat"]
    by_qid = {q.query_id: words[i] for i, q in enumerate(queries)}
    path = _answer_all(ws, tmp_path, lambda r: by_qid[int(r["query_id"])])
    answers = {a.query_id: a for a in read_answers_csv(ws, path, round_no=rnd)}
    for q in queries:
        a = answers[q.query_id]
        cls = ws.catalogue.class_names.index(by_qid[q.query_id])
        assert a.answer_class == cls, (by_qid[q.query_id], a)
        assert a.status == ("accepted" if cls == q.shown_label else "corrected")


def test_keywords_apply_only_without_a_class_of_that_name(tmp_path):
    from alc_data.answers import read_answers_csv
    from alc_data.queries import round_queries

    ws = tiny_ws(tmp_path / "ws", ["sky", "road"])
    rnd = make_round(ws, 3)
    qs = round_queries(ws, rnd)
    words = {qs[0].query_id: "SKIP", qs[1].query_id: "Yes", qs[2].query_id: "road"}
    answers = {a.query_id: a for a in read_answers_csv(ws, _answer_all(ws, tmp_path, lambda r: words[int(r["query_id"])]),
                                                       round_no=rnd)}
    assert answers[qs[0].query_id].status == "unanswerable"
    assert answers[qs[1].query_id].status == "accepted" and answers[qs[1].query_id].answer_class == qs[1].shown_label


def test_class_names_match_exactly_and_a_case_clash_with_a_keyword_is_refused(tmp_path):
    from alc_data.answers import read_answers_csv

    ws = tiny_ws(tmp_path / "ws", ["Void", "Car"])
    rnd = make_round(ws, 2)
    path = _answer_all(ws, tmp_path, lambda r: "car")
    with pytest.raises(InvalidInput) as err:
        read_answers_csv(ws, path, round_no=rnd)
    assert "unknown class 'car'" in str(err.value) and "'Car'" in str(err.value)
    path = _answer_all(ws, tmp_path, lambda r: "void")
    with pytest.raises(InvalidInput) as err:
        read_answers_csv(ws, path, round_no=rnd)
    assert "'void'" in str(err.value) and "'Void'" in str(err.value)
    assert ws.catalogue.class_index("Car") == 1 and ws.catalogue.class_index("1") == 1
    with pytest.raises(AlcError):
        ws.catalogue.class_index("car")


def test_class_index_takes_ascii_digits_only(tmp_path):
    ws = tiny_ws(tmp_path / "ws", ["a", "b", "c"])
    assert ws.catalogue.class_index("2") == 2 and ws.catalogue.class_index(2) == 2
    for bad in ("²", "٢", "-1", "+1", "1.0", "3"):
        with pytest.raises(InvalidInput):
            ws.catalogue.class_index(bad)


def test_a_class_named_like_an_index_wins(tmp_path):
    ws = tiny_ws(tmp_path / "ws", ["x", "0", "y"])
    assert ws.catalogue.class_index("0") == 1 and ws.catalogue.class_index("2") == 2


# ---------------------------------------------------------------- ids and numbers


@pytest.mark.parametrize("qid", ["²", "١", "1²", " ", "-1", "0x1"])
def test_query_id_that_is_not_ascii_digits_is_a_bad_row(tmp_path, capsys, qid):
    ws = tiny_ws(tmp_path / "ws", ["x", "y"])
    make_round(ws, 2)
    path = _answer_all(ws, tmp_path, lambda r: "x")
    rows = _rows(path)
    rows[1][0] = qid
    _write(path, rows)
    code, out, err = run_cli(capsys, "correct", "-w", ws.root, "--answers", path)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "line 2: query_id" in err and "is not a number" in err
    assert all(ws.ledger.answers(r.round) == {} for r in ws.ledger.rounds())


def test_answer_given_as_a_unicode_digit_is_an_unknown_class(tmp_path):
    from alc_data.answers import read_answers_csv

    ws = tiny_ws(tmp_path / "ws", ["x", "y"])
    rnd = make_round(ws, 1)
    with pytest.raises(InvalidInput, match="unknown class '²'"):
        read_answers_csv(ws, _answer_all(ws, tmp_path, lambda r: "²"), round_no=rnd)


# ---------------------------------------------------------------- the CSV file itself


def test_cell_over_the_csv_field_limit_is_one_line_naming_file_and_line(tmp_path, capsys):
    ws = tiny_ws(tmp_path / "ws", ["x", "y"])
    make_round(ws, 3)
    path = _answer_all(ws, tmp_path, lambda r: "x")
    rows = _rows(path)
    rows[2][-1] = "z" * 140_000
    _write(path, rows)
    code, out, err = run_cli(capsys, "correct", "-w", ws.root, "--answers", path)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert str(path) in err and "line 3" in err and "131,072" in err


@pytest.mark.parametrize("content", [b'query_id,answer\n1,"a"b\n', b"\xff\xfe\x00",
                                     b"", b"query_id,answer,answer\n1,x,y\n"],
                         ids=["stray-quote", "not-utf8", "empty", "duplicate-column"])
def test_broken_csv_files_are_one_line(tmp_path, capsys, content):
    ws = tiny_ws(tmp_path / "ws", ["x", "y"])
    make_round(ws, 1)
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    code, out, err = run_cli(capsys, "correct", "-w", ws.root, "--answers", path)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err and str(path) in err


def test_line_separator_in_a_cell_does_not_split_the_row(tmp_path):
    """U+2028 in the workspace path (hence in image_path) and a class name read back losslessly."""
    from alc_data.answers import read_answers_csv
    from alc_data.queries import round_queries

    ws = tiny_ws(tmp_path / "ws\u2028x\x85y", ["x", "y"])
    rnd = make_round(ws, 3)
    path = _answer_all(ws, tmp_path, lambda r: "y")
    assert "\u2028" in path.read_text(encoding="utf-8")
    answers = read_answers_csv(ws, path, round_no=rnd)
    assert sorted(a.query_id for a in answers) == sorted(q.query_id for q in round_queries(ws, rnd))
    assert {a.answer_class for a in answers} == {1}


# ---------------------------------------------------------------- CSV injection


FORMULA_CLASSES = ["=1+2", "+x", "-y", "@z", "'q", "ok"]
FORMULA_IDS = ("=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "plain", "'=x")


def test_exported_cells_never_start_a_formula_and_read_back_losslessly(tmp_path):
    from alc_data.answers import read_answers_csv
    from alc_data.queries import round_queries

    ws = tiny_ws(tmp_path / "ws", FORMULA_CLASSES, image_ids=FORMULA_IDS)
    rnd = make_round(ws, 12)
    qs = {q.query_id: q for q in round_queries(ws, rnd)}
    target = {qid: FORMULA_CLASSES[i % len(FORMULA_CLASSES)] for i, qid in enumerate(sorted(qs))}

    from alc_data.queries import export_queries_csv

    q_csv = export_queries_csv(ws, tmp_path / "q.csv")
    rows = _rows(q_csv)
    for row in rows:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), cell
    header = rows[0]
    shown_ids = {r[header.index("image_id")] for r in rows[1:]}
    assert "'=HYPERLINK(\"x\")" in shown_ids or "'@SUM(A1)" in shown_ids
    # fill the answers as a person would: the class name as shown in the file (escaped), or typed raw
    for n, r in enumerate(rows[1:]):
        name = target[int(r[0])]
        r[header.index("answer")] = ("'" + name if name[:1] in "=+-@'" else name) if n % 2 else name
    _write(tmp_path / "a.csv", rows)
    answers = {a.query_id: a for a in read_answers_csv(ws, tmp_path / "a.csv", round_no=rnd)}
    for qid, name in target.items():
        assert answers[qid].answer_class == FORMULA_CLASSES.index(name)


def test_escape_and_unescape_are_inverse():
    from alc_data.io.csv_cells import escape_cell, unescape_cell

    for value in ["", "=", "'", "''", "'=", "-1", "a", "'a", "@@", "\tx", "\rx", "x=1"]:
        assert unescape_cell(escape_cell(value)) == value
        assert escape_cell(value)[:1] not in ("=", "+", "-", "@", "\t", "\r")


# ---------------------------------------------------------------- who answered


def _no_login_name(monkeypatch):
    """A container run under a bare uid: no login variable and no passwd entry."""
    import pwd

    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(var, raising=False)

    def missing(uid):
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", missing)


def test_answers_are_recorded_where_no_login_name_exists(tmp_path, capsys, monkeypatch):
    ws = tiny_ws(tmp_path / "ws", ["bg", "cat"])
    make_round(ws, 2)
    path = _answer_all(ws, tmp_path, lambda r: "yes")
    _no_login_name(monkeypatch)
    code, out, err = run_cli(capsys, "correct", "-w", ws.root, "--answers", path)
    assert code == 0, err
    assert {a.annotator for a in ws.ledger.answers(ws.ledger.latest_round()).values()} == {"annotator"}


def test_every_command_records_the_same_login_name(monkeypatch):
    # correct, annotate and run all name the person the way getpass does (LOGNAME before USER)
    from alc_data.names import current_user

    monkeypatch.delenv("USER", raising=False)
    monkeypatch.setenv("LOGNAME", "ana")
    assert current_user() == "ana"
    monkeypatch.setenv("LOGNAME", "bad\x1bname")  # a name the ledger refuses falls back too
    assert current_user() == "annotator"


def test_a_class_index_reads_the_same_everywhere():
    # one helper for the CSV export, Label Studio, diff, its report and the published ledger: the report's
    # own copy read a negative index as the last class's name
    from alc_data.names import class_name

    names = ["bg", "cat"]
    assert [class_name(v, names) for v in (0, 1, 255, 7, -1)] == ["bg", "cat", "void", "7", "-1"]
