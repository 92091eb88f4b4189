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
from alc_data.answers.record import ROUND_OPTION, Answer, bad_rows, check_against_ledger
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
    result = answer_result(results)
    if result is None:
        return None
    value = result.get("value")
    choices = value.get("choices") if isinstance(value, dict) else None
    if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], str):
        raise InvalidInput(f"the latest annotation's choice {repr(value)[:60]} is not one chosen class; "
                           "answer the task again in Label Studio")
    return choices[0]


def answer_result(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The ``choices`` result of the labeling config's answer control (``from_name`` ``answer``, as
    ``queries export`` writes it); the only ``choices`` result when a project renamed that control;
    None when there is none. InvalidInput when several Choices controls answered and none is ``answer``
    (which of them names the class cannot be told)."""
    from alc_data.queries.label_studio import CHOICES_FROM

    choices = [r for r in results if r.get("type") == "choices"]
    named = [r for r in choices if r.get("from_name") == CHOICES_FROM]
    if named or len(choices) <= 1:
        return next(iter(named or choices), None)
    names = ", ".join(repr(r.get("from_name")) for r in choices)
    raise InvalidInput(f"the latest annotation has several Choices ({names}) and none named {CHOICES_FROM!r}; use the "
                       "labeling config `queries export` wrote (tasks.config.xml)")


def read_export_text(path: Path) -> str:
    """The text of a Label Studio export; NotFound / InvalidInput (one line) when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise NotFound(f"{path}: answers file not found") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path}: is a folder; pass the Label Studio JSON export itself") from None
    except PermissionError:
        raise InvalidInput(f"{path}: not readable (permission denied); pass a Label Studio JSON export you can read") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not a UTF-8 JSON file; export the project from Label Studio as JSON") from None


def refuse_other_shapes(path: Path, tasks: list[Any]) -> None:
    """InvalidInput for JSON that is no Label Studio JSON export of annotated tasks: its JSON-MIN export
    (flat rows with the data's fields, no ``data``), or the tasks file ``queries export`` wrote (no task
    was ever in Label Studio: none has a task ``id`` or ``annotations``)."""
    dicts = [t for t in tasks if isinstance(t, dict)]
    if dicts and all("data" not in t and "query_id" in t for t in dicts):
        raise InvalidInput(f"{path}: a Label Studio JSON-MIN export (it lacks the annotations); export the project "
                           "as JSON (not JSON-MIN) and pass that file")
    if dicts and all("predictions" in t and "id" not in t and "annotations" not in t for t in dicts):
        raise InvalidInput(f"{path}: the tasks file `alc-data queries export` wrote, not Label Studio's export; import "
                           "it into Label Studio, answer, export the project as JSON and pass that file")


def read_label_studio_export(ws: Workspace, path: str | os.PathLike, *, round_no: int,
                             other_round: str = ROUND_OPTION) -> list[Answer]:
    """Parse and validate a Label Studio JSON export for ``round_no``; the answers of the answered tasks.

    Raises InvalidInput listing each bad task by position (``other_round``: what to do when they are of
    one other round, see :func:`~alc_data.answers.record.bad_rows`), Conflict when tasks contradict
    answers already in the ledger, NotFound when the file is missing.
    """
    from alc_data.answers.origin import check_task_origin

    path = Path(path)
    tasks = list(iter_tasks(read_export_text(path), path))
    refuse_other_shapes(path, [task for _, task in tasks])
    check_task_origin(ws, path, (task for _, task in tasks))
    errors: list[str] = []
    other_rounds: set[int] = set()
    elsewhere = 0  # tasks of another round
    given: list[tuple[str, Answer]] = []
    check = _TaskCheck(ws, round_no)
    for n, (line, task) in enumerate(tasks, start=1):
        where = f"task {n} (line {line})"
        try:
            answer = check.answer(task, where)
        except InvalidInput as exc:
            errors.append(f"{where}: {exc}")
            other_rounds.update(check.other_round)
            elsewhere += bool(check.other_round)
            continue
        if answer is not None:
            given.append((where, answer))
    if errors:
        raise bad_rows(path, errors, "task", other_rounds, other_round, all_elsewhere=elsewhere == len(tasks))
    check_against_ledger(ws, path, round_no, given, "task")
    return [answer for _, answer in given]


class _TaskCheck:
    """Checks one task after another against the ledger's queries of round ``round_no``."""

    def __init__(self, ws: Workspace, round_no: int) -> None:
        from alc_data.queries.label_studio import workspace_tag

        self.ws, self.round_no, self.tag = ws, round_no, workspace_tag(ws)
        self.queries = {qid: (q.round, q.image_id, q.superpixel_id, q.shown_label)
                        for qid, q in ws.ledger.queries_by_id().items()}
        self.seen: dict[int, str] = {}
        self.other_round: set[int] = set()

    def answer(self, task: Any, where: str) -> Answer | None:
        """The task's answer, None when it is not answered; InvalidInput (without the position) when it
        does not fit the round (then :attr:`other_round` holds the query's round when that is why)."""
        self.other_round = set()
        data = task.get("data") if isinstance(task, dict) else None
        data = data if isinstance(data, dict) else {}
        qid = data.get("query_id")
        if isinstance(qid, str):
            qid = parse_ascii_int(qid)
        if not isinstance(qid, int) or isinstance(qid, bool):
            raise InvalidInput("no data.query_id; import the tasks `alc-data queries export --format label-studio` writes")
        if data.get("workspace", self.tag) != self.tag:
            raise InvalidInput(f"a task from workspace {data['workspace']!r}, not this one ({self.tag!r})")
        if qid not in self.queries:
            raise InvalidInput(f"query {qid} is not in this workspace (a task from another workspace?)")
        rnd, image_id, sp, shown = self.queries[qid]
        if rnd != self.round_no:
            self.other_round = {rnd}
            raise InvalidInput(f"query {qid} belongs to round {rnd}, not round {self.round_no}")
        if str(data.get("round", rnd)) != str(rnd):
            raise InvalidInput(f"the task says round {data['round']!r} but query {qid} is of round {rnd}")
        if str(data.get("image_id", image_id)) != image_id or str(data.get("superpixel_id", sp)) != str(sp):
            raise InvalidInput(
                f"image {data.get('image_id')!r} / superpixel {data.get('superpixel_id')!r} do not match "
                f"query {qid} ({image_id!r} / {sp}); a task from another workspace?")
        if qid in self.seen:
            raise InvalidInput(f"query {qid} appears twice (first in {self.seen[qid]})")
        self.seen[qid] = where
        choice = latest_choice(task)
        return None if choice is None else answer_from_choice(self.ws, qid, shown, choice)
