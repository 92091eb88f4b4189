"""Answers from a Label Studio JSON export of the tasks ``alc-data queries export --format label-studio``
wrote.

Each task is matched on ``data.query_id``; its ``image_id`` and ``superpixel_id`` must agree with the
ledger, its ``workspace`` (when present) must be this one, and it must belong to the round being
corrected. The answer is the chosen class in the
``choices`` result of the task's latest annotation that is not cancelled ("can't tell" is unanswerable;
the shown class is accepted). A task without such an annotation, or whose annotation has no choice, is
left open. The whole file is validated first: every bad task is reported by its position (task number
and line), and one bad task means nothing is applied, as with the CSV.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

from alc_data.answers.choice import answer_from_choice
from alc_data.answers.record import Answer, bad_rows
from alc_data.errors import InvalidInput, NotFound
from alc_data.io.json_text import raw_decode
from alc_data.names import parse_ascii_int
from alc_data.workspace import Workspace



def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def iter_tasks(text: str, path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, task) for each element of the top-level JSON list, parsed one element at a time."""
    decoder = json.JSONDecoder()
    i = _skip_space(text, 0)
    if not text[i:i + 1] == "[":
        raise InvalidInput(f"{path}: not a Label Studio JSON export (expected a list of tasks); export as JSON")
    i, line, counted = i + 1, 1, 0
    while True:
        i = _skip_space(text, i)
        if text[i:i + 1] == "]":
            return
        task, end = raw_decode(decoder, text, i, str(path))
        line += text.count("\n", counted, i)
        counted = i
        yield line, task
        i = _skip_space(text, end)
        if text[i:i + 1] == ",":
            i += 1
        elif text[i:i + 1] != "]":
            lineno = text.count("\n", 0, i) + 1
            raise InvalidInput(f"{path}: invalid JSON at line {lineno}: expected ',' or ']' between tasks")


def latest_choice(task: dict[str, Any]) -> str | None:
    """The chosen value of the latest annotation not cancelled (by updated_at, created_at, id, order);
    None when there is none or its result is empty (not answered). InvalidInput when the annotations
    are not what Label Studio writes (a list of objects, each ``result`` a list of objects, a choices
    result holding one text choice), so a damaged file is reported rather than read as "not answered"."""
    raw = task.get("annotations") or []
    if not isinstance(raw, list) or not all(isinstance(a, dict) for a in raw):
        raise InvalidInput("'annotations' is not a list of objects; export the project from Label Studio as JSON")
    annotations = [a for a in raw if not a.get("was_cancelled")]
    if not annotations:
        return None
    order = {id(a): n for n, a in enumerate(annotations)}
    latest = max(annotations, key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""),
                                            a.get("id") if isinstance(a.get("id"), int) else -1, order[id(a)]))
    results = latest.get("result") or []
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise InvalidInput("the latest annotation's 'result' is not a list of objects")
    for result in results:
        if result.get("type") != "choices":
            continue
        value = result.get("value")
        choices = value.get("choices") if isinstance(value, dict) else None
        if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], str):
            raise InvalidInput(f"the latest annotation's choice {repr(value)[:60]} is not one chosen class; "
                               "answer the task again in Label Studio")
        return choices[0]
    return None


def read_label_studio_export(ws: Workspace, path: str | os.PathLike, *, round_no: int) -> list[Answer]:
    """Parse and validate a Label Studio JSON export for ``round_no``; the answers of the answered tasks.

    Raises InvalidInput listing each bad task by position; NotFound when the file is missing.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise NotFound(f"{path}: answers file not found") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not a UTF-8 JSON file; export the project from Label Studio as JSON") from None
    queries = {
        qid: (q.round, q.image_id, q.superpixel_id, q.shown_label) for qid, q in ws.ledger.queries_by_id().items()
    }
    from alc_data.queries.label_studio import workspace_tag

    tag = workspace_tag(ws)
    errors: list[str] = []
    other_rounds: set[int] = set()
    seen: dict[int, str] = {}
    answers: list[Answer] = []
    from alc_data.answers.origin import check_task_origin

    tasks = list(iter_tasks(text, path))
    check_task_origin(ws, path, (task for _, task in tasks))
    for n, (line, task) in enumerate(tasks, start=1):
        where = f"task {n} (line {line})"
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict):
            data = {}
        qid = data.get("query_id")
        if isinstance(qid, str):
            qid = parse_ascii_int(qid)
        if not isinstance(qid, int) or isinstance(qid, bool):
            errors.append(f"{where}: no data.query_id; import the tasks `alc-data queries export --format label-studio` writes")
            continue
        if data.get("workspace", tag) != tag:
            errors.append(f"{where}: a task from workspace {data['workspace']!r}, not this one ({tag!r})")
            continue
        if qid not in queries:
            errors.append(f"{where}: query {qid} is not in this workspace (a task from another workspace?)")
            continue
        rnd, image_id, sp, shown = queries[qid]
        if rnd != round_no:
            errors.append(f"{where}: query {qid} belongs to round {rnd}, not round {round_no}")
            other_rounds.add(rnd)
            continue
        if str(data.get("round", rnd)) != str(rnd):
            errors.append(f"{where}: the task says round {data['round']!r} but query {qid} is of round {rnd}")
            continue
        if str(data.get("image_id", image_id)) != image_id or str(data.get("superpixel_id", sp)) != str(sp):
            errors.append(
                f"{where}: image {data.get('image_id')!r} / superpixel {data.get('superpixel_id')!r} do not match "
                f"query {qid} ({image_id!r} / {sp}); a task from another workspace?"
            )
            continue
        if qid in seen:
            errors.append(f"{where}: query {qid} appears twice (first in {seen[qid]})")
            continue
        seen[qid] = where
        try:
            choice = latest_choice(task)
            if choice is None:
                continue  # not answered (no annotation, all cancelled, or an empty result): left open
            answers.append(answer_from_choice(ws, qid, shown, choice))
        except InvalidInput as exc:
            errors.append(f"{where}: {exc}")
    if errors:
        raise bad_rows(path, errors, "task", other_rounds)
    return answers
