"""Property tests (Hypothesis) for what people type: the answers CSV reader, image ids, class lists.

Each property allows exactly two outcomes: the intended result, or an InvalidInput (one line) —
never another exception. Kept fast: modest max_examples, no deadline (the machine is shared).
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from alc_data.errors import AlcError, InvalidInput
from tiny_workspaces import make_round, tiny_ws

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

CLASSES = ["Void", "skip", "yes", "=x", "'q", "[a]", "café", "0", "traffic light", "-"]
IDS = ("=1", "-2", "@3", "a b", "'4", "plain")
ACCEPT = {"accept", "accepted", "yes", "y", "ok", "correct", "true"}
UNANSWERABLE = {"unanswerable", "skip", "unsure", "?", "void"}
# text a person might type (NUL, line separators, quotes included), but no lone surrogates (not UTF-8)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@pytest.fixture(scope="module")
def answered_round(tmp_path_factory):
    from alc_data.queries import export_queries_csv, round_queries

    root = tmp_path_factory.mktemp("prop")
    ws = tiny_ws(root / "ws", CLASSES, image_ids=IDS)
    rnd = make_round(ws, 8)
    q_csv = export_queries_csv(ws, root / "q.csv")
    with open(q_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return ws, rnd, {q.query_id: q for q in round_queries(ws, rnd)}, rows


def _cell_choice():
    """One answer cell: a class name (maybe escaped or re-cased), a keyword in any case, an index,
    blank, or garbage."""
    name = st.sampled_from(CLASSES)
    return st.one_of(
        name,
        name.map(lambda n: "'" + n),
        name.map(str.swapcase),
        st.sampled_from(sorted(ACCEPT | UNANSWERABLE)).map(lambda w: w.upper() if len(w) % 2 else w),
        st.integers(0, 12).map(str),
        st.sampled_from(["", "  ", "²", "-1", " yes ", "'=x", "''q"]),
        TEXT,
    )


def _intended(cell: str, shown: int):
    """The answer the rules promise for one cell: ('ok', status, class) / ('skip',) / ('error',)."""
    from alc_data.constants import IGNORE_INDEX
    from alc_data.io.csv_cells import unescape_cell

    raw = unescape_cell(cell).strip()
    if not raw:
        return ("skip",)
    if raw in CLASSES:
        cls = CLASSES.index(raw)
        return ("ok", "accepted" if cls == shown else "corrected", cls)
    word = raw.casefold()
    if word in ACCEPT | UNANSWERABLE:
        if any(c.casefold() == word for c in CLASSES):
            return ("error",)
        if word in UNANSWERABLE:
            return ("ok", "unanswerable", None)
        return ("error",) if shown == IGNORE_INDEX else ("ok", "accepted", shown)
    if re.fullmatch(r"[0-9]+", raw, re.ASCII) and int(raw) < len(CLASSES):
        cls = int(raw)
        return ("ok", "accepted" if cls == shown else "corrected", cls)
    return ("error",)


@FAST
@given(cells=st.lists(_cell_choice(), min_size=8, max_size=8))
def test_answers_csv_applies_exactly_the_intended_answers_or_refuses(answered_round, tmp_path_factory, cells):
    from alc_data.answers import read_answers_csv

    ws, rnd, queries, rows = answered_round
    header = rows[0]
    body = [list(r) for r in rows[1:]]
    for r, cell in zip(body, cells):
        r[header.index("answer")] = cell
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, *body])
    path = tmp_path_factory.mktemp("a") / "a.csv"
    path.write_bytes(buf.getvalue().encode("utf-8"))

    intended = {int(r[0]): _intended(cell, queries[int(r[0])].shown_label) for r, cell in zip(body, cells)}
    try:
        got = read_answers_csv(ws, path, round_no=rnd)
    except InvalidInput as exc:
        assert "\n" not in str(exc)
        assert any(v[0] == "error" for v in intended.values()), (cells, str(exc))
        return
    assert not any(v[0] == "error" for v in intended.values()), (cells, got)
    expected = {q: (v[1], v[2]) for q, v in intended.items() if v[0] == "ok"}
    assert {a.query_id: (a.status, a.answer_class) for a in got} == expected


@FAST
@given(image_id=st.text(max_size=20))
def test_image_id_check_accepts_only_ids_that_survive_files_and_csv(tmp_path_factory, image_id):
    from alc_data.io.csv_cells import encode_csv, read_csv_rows
    from alc_data.names import check_image_id

    try:
        check_image_id(image_id)
    except InvalidInput as exc:
        assert "\n" not in str(exc)
        return
    assert image_id == image_id.strip() and "/" not in image_id and not image_id.startswith(".")
    folder = tmp_path_factory.mktemp("id")
    (folder / f"{image_id}.png").write_bytes(b"x")  # a valid file name
    assert [p.stem for p in folder.iterdir()] == [image_id]
    path = folder / "ids.csv"
    path.write_bytes(encode_csv(["image_id", "n"], [[image_id, 1]]))
    header, rows = read_csv_rows(path)
    assert [r["image_id"] for _, r in rows] == [image_id]


NAME = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=10)


@FAST
@given(names=st.lists(NAME, min_size=1, max_size=6))
def test_class_list_file_gives_the_names_or_one_line(tmp_path_factory, names):
    from alc_data.ingest.folder import read_classes_file
    from alc_data.names import check_class_names

    path = tmp_path_factory.mktemp("cls") / "classes.txt"
    path.write_text("\n".join(names) + "\n", encoding="utf-8")
    try:
        classes = read_classes_file(path)
    except AlcError as exc:
        assert "\n" not in str(exc)
        return
    got = [c.name for c in classes]
    check_class_names(got)  # whatever is accepted passes the ingest check
    canonical = [n for n in names if n.strip() and not n.strip().startswith("#")]
    assume(all(n == " ".join(n.split()) for n in canonical))
    assume(all(not re.fullmatch(r".*( #[0-9a-fA-F]{6}| [0-9]+ [0-9]+ [0-9]+)", n, re.ASCII) for n in canonical))
    assume(not (canonical and canonical[0] == "__ignore__"))
    assert got == canonical
