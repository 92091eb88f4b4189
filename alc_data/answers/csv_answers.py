"""Answers from a CSV filled by people (the file ``alc-data queries export`` writes).

The whole file is validated before anything is applied: every bad row is reported with its line
number, and one bad row means nothing is applied.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from alc_data.answers.record import Answer
from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlcError
from alc_data.workspace import Workspace

ACCEPT_WORDS = {"accept", "accepted", "yes", "y", "ok", "correct", "true"}
UNANSWERABLE_WORDS = {"unanswerable", "skip", "unsure", "?", "void"}
MAX_LISTED = 20


def read_answers_csv(ws: Workspace, path: str | os.PathLike, *, round_no: int) -> list[Answer]:
    """Parse and validate an answers CSV for ``round_no``; returns the answers of the filled rows.

    Required columns: ``query_id`` and ``answer``. When present, ``round``, ``image_id`` and
    ``superpixel_id`` must agree with the ledger. ``answer`` is ``accept`` (or yes/ok), a class name
    or index (the shown class counts as accept), ``skip`` for unanswerable, or empty (not answered).
    Raises AlcError listing each bad row with its line number.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise AlcError(f"{path}: answers file not found") from None
    except UnicodeDecodeError:
        raise AlcError(f"{path}: not a UTF-8 CSV file; save it as CSV (UTF-8)") from None
    reader = csv.DictReader(text.splitlines())
    cols = set(reader.fieldnames or ())
    if not {"query_id", "answer"} <= cols:
        raise AlcError(f"{path}: needs the columns query_id and answer (has: {', '.join(sorted(cols)) or 'none'})")
    queries = {
        qid: (q.round, q.image_id, q.superpixel_id, q.shown_label) for qid, q in ws.ledger.queries_by_id().items()
    }
    errors: list[str] = []
    seen: dict[int, tuple[int, Answer]] = {}
    answers: list[Answer] = []
    for line_no, row in enumerate(reader, start=2):
        raw = (row.get("answer") or "").strip()
        qtext = (row.get("query_id") or "").strip()
        if not qtext.isdigit():
            errors.append(f"line {line_no}: query_id {qtext!r} is not a number")
            continue
        qid = int(qtext)
        if qid not in queries:
            errors.append(f"line {line_no}: unknown query {qid}")
            continue
        rnd, image_id, sp, shown = queries[qid]
        if rnd != round_no:
            errors.append(f"line {line_no}: query {qid} belongs to round {rnd}, not round {round_no}")
            continue
        if (row.get("round") or "").strip() not in ("", str(rnd)):
            errors.append(f"line {line_no}: round {row['round']!r} does not match query {qid}'s round {rnd}")
            continue
        if (row.get("image_id") or "").strip() not in ("", image_id):
            errors.append(f"line {line_no}: answer for image {row['image_id']!r} but query {qid} is on image {image_id!r}")
            continue
        if (row.get("superpixel_id") or "").strip() not in ("", str(sp)):
            errors.append(f"line {line_no}: superpixel {row['superpixel_id']!r} does not match query {qid}'s {sp}")
            continue
        if not raw:
            continue
        word = raw.lower()
        if word in ACCEPT_WORDS:
            ans = Answer(qid, "accepted", shown if shown != IGNORE_INDEX else None)
            if shown == IGNORE_INDEX:
                errors.append(f"line {line_no}: query {qid} shows void; answer with a class name, not accept")
                continue
        elif word in UNANSWERABLE_WORDS:
            ans = Answer(qid, "unanswerable", None)
        else:
            try:
                cls = ws.class_index(raw)
            except AlcError:
                errors.append(f"line {line_no}: unknown class {raw!r}")
                continue
            ans = Answer(qid, "accepted", cls) if cls == shown else Answer(qid, "corrected", cls)
        if qid in seen:
            first_line, first = seen[qid]
            kind = "duplicate" if first == ans else "conflicting"
            errors.append(f"line {line_no}: {kind} answer for query {qid} (first on line {first_line})")
            continue
        seen[qid] = (line_no, ans)
        answers.append(ans)
    if errors:
        listed = "; ".join(errors[:MAX_LISTED]) + (f"; … {len(errors) - MAX_LISTED} more" if len(errors) > MAX_LISTED else "")
        raise AlcError(f"{path}: {len(errors)} bad row(s), nothing applied: {listed}")
    return answers
