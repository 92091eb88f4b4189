"""Answers from a CSV filled by people (the file ``alc-data queries export`` writes).

The whole file is validated before anything is applied: every bad row is reported with its line
number, and one bad row means nothing is applied.

An answer is read in this order: a class name, matched exactly (case-sensitive); an answer word
(``accept``/``yes``/``ok``..., ``skip``/``can't tell``/``void``/``?``..., any case) when no class has that exact name;
a class index (ASCII digits). A word that differs only by case from a class name (``void`` with a
class ``Void``) is refused as ambiguous rather than guessed. The file is read by
:func:`alc_data.io.csv_cells.read_csv_rows` (cells escaped against formulas are unescaped).
"""

from __future__ import annotations

import os
from pathlib import Path

from alc_data.answers.record import ROUND_OPTION, Answer, bad_rows, check_against_ledger
from alc_data.constants import IGNORE_INDEX, UNANSWERABLE_CHOICES
from alc_data.errors import AlcError, InvalidInput
from alc_data.names import parse_ascii_int
from alc_data.workspace import Workspace
from alc_data.workspace.ledger import AnswerStatus

ACCEPT_WORDS = {"accept", "accepted", "yes", "y", "ok", "correct", "true"}
UNANSWERABLE_WORDS = {"unanswerable", "skip", "unsure", "?", "void", *UNANSWERABLE_CHOICES}
"""Words of an unanswerable query, in any case: the page's and Label Studio's "can't tell" included."""


def other_word(word: str, names: list[str]) -> str:
    """A hint naming an answer word of the same meaning as ``word`` that is neither ``word`` nor a class
    name in any case (e.g. "another word (yes)" for "accept" when a class is called "Accept")."""
    taken = {n.casefold() for n in names} | {word}
    pool = ("yes", "ok", "accepted", "y", "true") if word in ACCEPT_WORDS else ("skip", "unsure", "?", "unanswerable")
    free = [w for w in pool if w not in taken]
    return f"another word ({free[0]})" if free else "leave the cell empty and answer in the browser"


def parse_answer(ws: Workspace, raw: str) -> str | int:
    """``"accept"``, ``"unanswerable"`` or a class index for one non-empty answer cell; InvalidInput
    (a message without file or line) when it names nothing or is ambiguous."""
    names = ws.catalogue.class_names
    if raw in names:
        return names.index(raw)
    word = raw.casefold().replace("\u2019", "'")  # a spreadsheet's curly apostrophe: can’t tell
    if word in ACCEPT_WORDS or word in UNANSWERABLE_WORDS:
        clash = [n for n in names if n.casefold() == word]
        if clash:
            raise InvalidInput(
                f"answer {raw!r} differs only by case from the class {clash[0]!r} and is also an answer word; "
                f"write {clash[0]!r} exactly for the class, or {other_word(word, names)}"
            )
        return "accept" if word in ACCEPT_WORDS else "unanswerable"
    try:
        return ws.catalogue.class_index(raw)
    except AlcError as exc:
        raise InvalidInput(str(exc)) from None


def same_image(cell: str, image_id: str) -> bool:
    """Whether an ``image_id`` cell names ``image_id``: the same text, or the same number when both are
    ASCII digits (a spreadsheet saves the zero-padded id 000000000139 as 139)."""
    text = cell.strip()
    if text in ("", image_id):
        return True
    number = parse_ascii_int(text)
    return number is not None and number == parse_ascii_int(image_id)


def _row_mismatch(row: dict[str, str], qid: int, query: tuple[int, str, int, int], round_no: int) -> str | None:
    """Why a row's ``round``, ``image_id`` or ``superpixel_id`` cells do not fit query ``qid`` of round
    ``round_no`` (None when they do, or are absent)."""
    rnd, image_id, sp, _ = query
    if rnd != round_no:
        return f"query {qid} belongs to round {rnd}, not round {round_no}"
    if (row.get("round") or "").strip() not in ("", str(rnd)):
        return f"round {row['round']!r} does not match query {qid}'s round {rnd}"
    if not same_image(row.get("image_id") or "", image_id):
        return f"answer for image {row['image_id']!r} but query {qid} is on image {image_id!r}"
    if (row.get("superpixel_id") or "").strip() not in ("", str(sp)):
        return f"superpixel {row['superpixel_id']!r} does not match query {qid}'s {sp}"
    return None


def _row_answer(ws: Workspace, qid: int, shown: int, raw: str) -> Answer:
    """The answer of one filled cell ``raw`` to query ``qid`` showing ``shown``; InvalidInput without file
    or line when it names nothing (or "accept" on a void pixel)."""
    parsed = parse_answer(ws, raw)
    if isinstance(parsed, int):
        return Answer(qid, AnswerStatus.ACCEPTED if parsed == shown else AnswerStatus.CORRECTED, parsed)
    if parsed == "unanswerable":
        return Answer(qid, AnswerStatus.UNANSWERABLE, None)
    if shown == IGNORE_INDEX:
        raise InvalidInput(f"query {qid} shows void; answer with a class name, not accept")
    return Answer(qid, AnswerStatus.ACCEPTED, shown)


def read_answers_csv(ws: Workspace, path: str | os.PathLike, *, round_no: int, other_round: str = ROUND_OPTION) -> list[Answer]:
    """Parse and validate an answers CSV for ``round_no``; returns the answers of the filled rows.

    Required columns: ``query_id`` and ``answer``. When present, ``round``, ``image_id`` and
    ``superpixel_id`` must agree with the ledger. ``answer`` is ``accept`` (or yes/ok), a class name
    or index (the shown class counts as accept), ``skip`` (or "can't tell") for unanswerable, or empty
    (not answered). Raises InvalidInput listing each bad row with its line number (``other_round``: what
    to do when the rows are of one other round, see :func:`~alc_data.answers.record.bad_rows`), and
    Conflict when rows contradict answers already in the ledger.
    """
    from alc_data.answers.origin import check_origin
    from alc_data.io.csv_cells import read_csv_rows

    path = Path(path)
    header, rows = read_csv_rows(path, "answers file")
    cols = set(header)
    if not {"query_id", "answer"} <= cols:
        raise InvalidInput(f"{path}: needs the columns query_id and answer (has: {', '.join(sorted(cols)) or 'none'})")
    check_origin(ws, path, (row.get("workspace_id") for _, row in rows))
    queries = {
        qid: (q.round, q.image_id, q.superpixel_id, q.shown_label) for qid, q in ws.ledger.queries_by_id().items()
    }
    errors: list[str] = []
    other_rounds: set[int] = set()
    elsewhere = 0  # rows of another round
    seen: dict[int, tuple[int, Answer]] = {}
    for line_no, row in rows:
        raw = (row.get("answer") or "").strip()
        qtext = (row.get("query_id") or "").strip()
        qid = parse_ascii_int(qtext)
        if qid is None or qid not in queries:
            errors.append(f"line {line_no}: " + (f"query_id {qtext!r} is not a number" if qid is None else f"unknown query {qid}"))
            continue
        mismatch = _row_mismatch(row, qid, queries[qid], round_no)
        if mismatch is not None:
            errors.append(f"line {line_no}: {mismatch}")
            other_rounds.update({queries[qid][0]} - {round_no})
            elsewhere += queries[qid][0] != round_no
            continue
        if not raw:
            continue
        try:
            ans = _row_answer(ws, qid, queries[qid][3], raw)
        except InvalidInput as exc:
            errors.append(f"line {line_no}: {exc}")
            continue
        if qid in seen:
            first_line, first = seen[qid]
            kind = "duplicate" if first == ans else "conflicting"
            errors.append(f"line {line_no}: {kind} answer for query {qid} (first on line {first_line})")
            continue
        seen[qid] = (line_no, ans)
    if errors:
        raise bad_rows(path, errors, "row", other_rounds, other_round, all_elsewhere=elsewhere == len(rows))
    given = [(f"line {line}", ans) for line, ans in seen.values()]
    check_against_ledger(ws, path, round_no, given, "row")
    return [ans for _, ans in given]
