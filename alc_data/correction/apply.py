"""Turn the ledger's answers into a new label version (v1, v2, … whose parent is the previous one)."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from alc_data.hints import command
from alc_data.io.failures import on_write_failure
from alc_data.correction.expand import DEFAULT_EXPANSION, Change, Expansion, expand_answers
from alc_data.correction.review import reject_relabels, reviewed_relabels
from alc_data.errors import InvalidInput
from alc_data.results import JsonResult
from alc_data.workspace import Workspace
from alc_data.workspace.ledger import AnswerStatus, PendingAnswer


@dataclass(frozen=True)
class AppliedVersion(JsonResult):
    """The label version :func:`apply_answers` wrote: its parent, the round, the expansion, the answers
    applied by status, and how many images and pixels changed."""

    version: str
    parent: str
    round: int
    expand: str
    tau: float
    answers: int
    accepted: int
    corrected: int
    unanswerable: int
    changed_images: int
    changed_pixels: int


def review_verdicts(pending: list[PendingAnswer]) -> list[tuple[int, int, str]]:
    """(query rank, answer id, ``accepted`` | ``rejected``) of a review round's answers (unanswerable ones
    leave their relabel unreviewed)."""
    verdicts = {AnswerStatus.ACCEPTED: "accepted", AnswerStatus.CORRECTED: "rejected"}
    return [(p.query.rank, p.answer_id, verdicts[p.status]) for p in pending if p.status in verdicts]


def pending_answers(ws: Workspace, round_no: int) -> list[PendingAnswer]:
    """Answers of a round not yet applied to a label version, with their query, in rank order."""
    return ws.ledger.pending_answers(round_no)


def corrections_by_image(answers: list[PendingAnswer]) -> dict[str, list[tuple]]:
    """Corrected answers grouped by image, as rows of (query_id, superpixel_set, superpixel_id,
    new_class, rep_row, rep_col) for :func:`expand_image`."""
    by_image: dict[str, list[tuple]] = defaultdict(list)
    for p in answers:
        if p.status is AnswerStatus.CORRECTED:
            q = p.query
            by_image[q.image_id].append((q.query_id, q.superpixel_set, q.superpixel_id, p.answer_class, q.rep_row, q.rep_col))
    return by_image


def expand_image(ws: Workspace, image_id: str, labels: np.ndarray, rows: list[tuple], *, tau: float = 0.0,
                 probs: np.ndarray | None = None, expand: Expansion = DEFAULT_EXPANSION) -> tuple[np.ndarray, list[Change]]:
    """Apply one image's corrected answers, rows of (query_id, superpixel_set, superpixel_id,
    new_class, rep_row, rep_col), over the superpixel maps they were asked on (``expand``: the
    expansion mode, see :mod:`alc_data.correction.expand`)."""
    changes: list[Change] = []
    for sp_set in sorted({r[1] for r in rows}):
        corr = [(q, s, cls, r, c) for q, st, s, cls, r, c in rows if st == sp_set]
        labels, ch = expand_answers(labels, ws.superpixels.read_superpixels(sp_set, image_id), corr, tau=tau, probs=probs,
                                     mode=expand)
        changes.extend(ch)
    return labels, changes


def apply_image(ws: Workspace, image_id: str, labels: np.ndarray, rows: list[tuple],
                relabels: dict[int, Any] | None, *, tau: float = 0.0, probs: np.ndarray | None = None,
                expand: Expansion = DEFAULT_EXPANSION) -> tuple[np.ndarray, list[Change]]:
    """One image's corrected answers applied: :func:`expand_image`, or for a review round (``relabels``:
    query_id → the relabel it reviews) the rejections (:func:`alc_data.correction.review.reject_relabels`)."""
    if relabels is not None:
        return reject_relabels(ws, labels, rows, relabels)
    return expand_image(ws, image_id, labels, rows, tau=tau, probs=probs, expand=expand)


def _probabilities(ws: Workspace, checkpoint: str | os.PathLike | None, image_ids: list[str]) -> dict[str, np.ndarray]:
    from alc_data.predict import iter_probabilities

    if checkpoint is None:
        raise InvalidInput("--tau > 0 needs the model's probabilities; pass --model CHECKPOINT (or use --tau 0)")
    out = {}
    for image_id, probs in iter_probabilities(ws, checkpoint, image_ids):
        out[image_id] = probs.cpu().numpy() if hasattr(probs, "cpu") else np.asarray(probs)
    return out


def apply_answers(
    ws: Workspace,
    round_no: int,
    *,
    tau: float = 0.0,
    expand: Expansion = DEFAULT_EXPANSION,
    checkpoint: str | os.PathLike | None = None,
    version_name: str | None = None,
) -> AppliedVersion | None:
    """Apply the round's pending answers: spread corrections over their superpixels, mark accepted
    superpixels verified, and write a new label version whose parent is the latest one.

    ``expand`` (superpixel | label | pixel) and ``tau`` decide which pixels of an asked superpixel
    take the answer; both are stored in the version's params so :func:`rebuild_version` reproduces it.

    Returns an :class:`AppliedVersion` (version, changed images and pixels, counts) or None when
    nothing is pending.
    The version row, the corrections, the verified marks and the answers' ``applied_version`` are
    written in one transaction after the version's files are complete. ``tau`` and ``expand`` were
    checked by :class:`alc_data.stages.correct.CorrectOptions`.
    """
    with ws.writing("correct"):
        pending = pending_answers(ws, round_no)
        if not pending:
            return None
        parent = ws.labels.version().name
        name = version_name or ws.labels.next_version_name()
        by_image = corrections_by_image(pending)
        relabels = reviewed_relabels(ws, round_no)
        probs = _probabilities(ws, checkpoint, sorted(by_image)) if tau > 0 and by_image and relabels is None else {}
        changes: list[tuple[str, Change]] = []

        def new_labels() -> Iterator[tuple[str, np.ndarray]]:
            from alc_data.progress import track

            for image_id in track(sorted(by_image), f"apply round {round_no}"):
                labels, ch = apply_image(ws, image_id, ws.labels.read_label(parent, image_id), by_image[image_id],
                                         relabels, tau=tau, probs=probs.get(image_id), expand=expand)
                changes.extend((image_id, x) for x in ch)
                yield image_id, labels

        review_ids = ws.ledger.round(round_no).params.get("propagation_ids")

        def on_commit(con: Any) -> None:  # the sqlite3 connection of the version's transaction
            ws.ledger.commit_applied(con, round_no=round_no, version=name, pending=pending, changes=changes)
            if review_ids:  # a review of automatic relabels (alc_data.correction.review)
                ws.ledger.record_reviews(con, propagation_ids=review_ids, version=name, verdicts=review_verdicts(pending))

        with on_write_failure(f"writing {name}", kept=f"the answers of round {round_no} are recorded, {name} was not written",
                              then=f"`{command('correct', '-w', ws.root, '--round', round_no)}`"):
            ws.labels.write_version(
                name,
                new_labels(),
                parent=parent,
                kind="correction",
                round=round_no,
                params={"tau": tau, "expand": expand.value, "answers": len(pending)},
                on_commit=on_commit,
                stage="correct",
            )
    statuses = [p.status for p in pending]
    return AppliedVersion(
        version=name,
        parent=parent,
        round=round_no,
        expand=expand.value,
        tau=tau,
        answers=len(pending),
        accepted=statuses.count(AnswerStatus.ACCEPTED),
        corrected=statuses.count(AnswerStatus.CORRECTED),
        unanswerable=statuses.count(AnswerStatus.UNANSWERABLE),
        changed_images=len({i for i, _ in changes}),
        changed_pixels=int(sum(ch.pixels for _, ch in changes)),
    )

