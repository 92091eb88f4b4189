"""Answers from a CSV filled by people (the file ``alc-data queries export`` writes).

The whole file is validated before anything is applied: every bad row is reported with its line
number, and one bad row means nothing is applied.

An answer is read in this order: a class name, matched exactly (case-sensitive); an answer word
(``accept``/``yes``/``ok``..., ``skip``/``void``/``?``..., any case) when no class has that exact name;
a class index (ASCII digits). A word that differs only by case from a class name (``void`` with a
class ``Void``) is refused as ambiguous rather than guessed. The file is read by
:func:`alc_data.io.csv_cells.read_csv_rows` (cells escaped against formulas are unescaped).
"""

from __future__ import annotations

import os
from pathlib import Path

from alc_data.answers.record import Answer, bad_rows
from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlcError, InvalidInput
from alc_data.names import parse_ascii_int
from alc_data.workspace import Workspace
from alc_data.workspace.ledger import AnswerStatus

ACCEPT_WORDS = {"accept", "accepted", "yes", "y", "ok", "correct", "true"}
UNANSWERABLE_WORDS = {"unanswerable", "skip", "unsure", "?", "void"}


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
    word = raw.casefold()
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


def read_answers_csv(ws: Workspace, path: str | os.PathLike, *, round_no: int) -> list[Answer]:
    """Parse and validate an answers CSV for ``round_no``; returns the answers of the filled rows.

    Required columns: ``query_id`` and ``answer``. When present, ``round``, ``image_id`` and
    ``superpixel_id`` must agree with the ledger. ``answer`` is ``accept`` (or yes/ok), a class name
    or index (the shown class counts as accept), ``skip`` for unanswerable, or empty (not answered).
    Raises InvalidInput listing each bad row with its line number.
    """
    from alc_data.answers.origin import check_origin
    from alc_data.io.csv_cells import read_csv_rows

    path = Path(path)
    header, rows = read_csv_rows(path, "answers file")
    check_origin(ws, path, (row.get("workspace_id") for _, row in rows))
    cols = set(header)
    if not {"query_id", "answer"} <= cols:
        raise InvalidInput(f"{path}: needs the columns query_id and answer (has: {', '.join(sorted(cols)) or 'none'})")
    queries = {
        qid: (q.round, q.image_id, q.superpixel_id, q.shown_label) for qid, q in ws.ledger.queries_by_id().items()
    }
    errors: list[str] = []
    other_rounds: set[int] = set()
    seen: dict[int, tuple[int, Answer]] = {}
    answers: list[Answer] = []
    for line_no, row in rows:
        raw = (row.get("answer") or "").strip()
        qtext = (row.get("query_id") or "").strip()
        qid = parse_ascii_int(qtext)
        if qid is None:
            errors.append(f"line {line_no}: query_id {qtext!r} is not a number")
            continue
        if qid not in queries:
            errors.append(f"line {line_no}: unknown query {qid}")
            continue
        rnd, image_id, sp, shown = queries[qid]
        if rnd != round_no:
            errors.append(f"line {line_no}: query {qid} belongs to round {rnd}, not round {round_no}")
            other_rounds.add(rnd)
            continue
        if (row.get("round") or "").strip() not in ("", str(rnd)):
            errors.append(f"line {line_no}: round {row['round']!r} does not match query {qid}'s round {rnd}")
            continue
        cell_image = row.get("image_id") or ""
        if cell_image.strip() and image_id not in (cell_image, cell_image.strip()):
            errors.append(f"line {line_no}: answer for image {cell_image!r} but query {qid} is on image {image_id!r}")
            continue
        if (row.get("superpixel_id") or "").strip() not in ("", str(sp)):
            errors.append(f"line {line_no}: superpixel {row['superpixel_id']!r} does not match query {qid}'s {sp}")
            continue
        if not raw:
            continue
        try:
            parsed = parse_answer(ws, raw)
        except InvalidInput as exc:
            errors.append(f"line {line_no}: {exc}")
            continue
        if isinstance(parsed, int):
            ans = Answer(qid, AnswerStatus.ACCEPTED if parsed == shown else AnswerStatus.CORRECTED, parsed)
        elif parsed == "accept":
            if shown == IGNORE_INDEX:
                errors.append(f"line {line_no}: query {qid} shows void; answer with a class name, not accept")
                continue
            ans = Answer(qid, AnswerStatus.ACCEPTED, shown)
        else:
            ans = Answer(qid, AnswerStatus.UNANSWERABLE, None)
        if qid in seen:
            first_line, first = seen[qid]
            kind = "duplicate" if first == ans else "conflicting"
            errors.append(f"line {line_no}: {kind} answer for query {qid} (first on line {first_line})")
            continue
        seen[qid] = (line_no, ans)
        answers.append(ans)
    if errors:
        raise bad_rows(path, errors, "row", other_rounds)
    return answers
