"""A person reviews the automatic relabels: ``alc-data annotate --review propagated``.

The unreviewed relabels of the ledger (source ``propagated``) become a round of ordinary correction
queries ("is this pixel a <new class>?"), asked at the pixel farthest from the edge of those the relabel
changed that still carry the automatic label, so the page, the CSV and Label Studio serve them like any
round. A relabel answered "can't tell" stays unreviewed and is asked again by the next review. A relabel whose region a person has been asked about since is settled by that
answer and is not reviewed. When the round is applied (``alc-data correct``), an accepted query marks
its relabel ``accepted``; a corrected one marks it ``rejected`` and gives the person's class to the
pixels the relabel changed that still carry the automatic label (the old class restores the region;
pixels of the region that had the new class before the relabel keep it). Either way the verdict is a
ledger row: who reviewed, when, and the version it wrote.
"""

from __future__ import annotations

import numpy as np

from alc_data.correction.expand import Change
from alc_data.workspace import Workspace
from alc_data.workspace.ledger import AnswerStatus, Round
from alc_data.workspace.propagations import PropagationRow

REVIEW = "propagated"
"""``--review`` value: review the automatic relabels."""

REVIEW_ACQUISITION = "review-propagated"
"""The acquisition name stored with a review round."""


def relabelled_pixels(ws: Workspace, row: PropagationRow, region: np.ndarray | None = None) -> np.ndarray:
    """(H, W) bool: the pixels of the relabel's region (``region``, read when not given) that it changed
    (its version against that version's parent)."""
    if region is None:
        region = ws.superpixels.read_superpixels(row.superpixel_set, row.image_id) == row.superpixel_id
    parent = ws.labels.version(row.label_version).parent
    after = ws.labels.read_label(row.label_version, row.image_id)
    return region & (after != ws.labels.read_label(parent, row.image_id)) if parent is not None else region


def inner_pixel(mask: np.ndarray) -> tuple[int, int]:
    """(row, col) of the pixel of ``mask`` (non-empty, (H, W) bool) farthest from its edge (the image's
    border counts as edge; the first such pixel in row-major order): where a person can tell the class,
    not a pixel on an object's outline."""
    import cv2

    depth = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return int(y), int(x)


def _query_row(ws: Workspace, version: str, row: PropagationRow) -> tuple[object, ...] | None:
    """The query of one relabel: (image_id, superpixel_id, rep_row, rep_col, shown_label, dominant, area,
    score, x0, y0, x1, y1), or None when no pixel it changed carries the automatic label any more."""
    region = ws.superpixels.read_superpixels(row.superpixel_set, row.image_id) == row.superpixel_id
    carries = relabelled_pixels(ws, row, region) & (ws.labels.read_label(version, row.image_id) == row.new_class)
    if not carries.any():
        return None
    y, x = inner_pixel(carries)
    ry, rx = np.nonzero(region)
    return (row.image_id, row.superpixel_id, y, x, row.new_class, row.new_class, int(region.sum()),
            float(row.confidence), int(rx.min()), int(ry.min()), int(rx.max()), int(ry.max()))


def reviewed_relabels(ws: Workspace, round_no: int) -> dict[int, PropagationRow] | None:
    """query_id → the relabel it reviews, for a review round; None for any other round."""
    ids = ws.ledger.round(round_no).params.get("propagation_ids")
    if not ids:
        return None
    rows = {r.propagation_id: r for r in ws.ledger.propagations()}
    return {q.query_id: rows[ids[q.rank]] for q in ws.ledger.queries(round_no) if ids[q.rank] in rows}


def reject_relabels(ws: Workspace, labels: np.ndarray, rows: list[tuple], relabels: dict[int, PropagationRow]
                    ) -> tuple[np.ndarray, list[Change]]:
    """One image's rejected relabels applied: corrected answers as rows of (query_id, superpixel_set,
    superpixel_id, new_class, rep_row, rep_col) (:func:`alc_data.correction.apply.corrections_by_image`);
    the pixels each relabel changed that still carry its class take the person's class."""
    labels = labels.copy()
    changes = []
    for query_id, _, superpixel_id, cls, _, _ in rows:
        row = relabels[query_id]
        mask = relabelled_pixels(ws, row) & (labels == row.new_class)
        labels[mask] = cls
        changes.append(Change(query_id, superpixel_id, row.new_class, cls, int(mask.sum())))
    return labels, changes


def _settled(ws: Workspace) -> set[tuple[str, str, int]]:
    """(image_id, superpixel_set, superpixel_id) of every region a person was asked about in a round that
    is no review (every relabelled region was never asked when it was relabelled)."""
    return {(q.image_id, q.superpixel_set, q.superpixel_id) for r in ws.ledger.rounds()
            if r.acquisition != REVIEW_ACQUISITION for q in ws.ledger.queries(r.round)}


def _asked_in(ws: Workspace, rnd: Round) -> list[int]:
    """The relabels review round ``rnd`` asked about, less those answered "can't tell": they stay
    unreviewed, so the next review asks them again."""
    ids = rnd.params.get("propagation_ids", [])
    answers = ws.ledger.answers(rnd.round)
    unsure = {q.rank for q in ws.ledger.queries(rnd.round)
              if q.query_id in answers and answers[q.query_id].status is AnswerStatus.UNANSWERABLE}
    return [pid for rank, pid in enumerate(ids) if rank not in unsure]


def open_review_round(ws: Workspace) -> int | None:
    """The round that asks a person about every unreviewed automatic relabel: the latest review round while
    it still has unanswered queries, else a new one on the latest labels (one superpixel set per round:
    the oldest relabels' set first). None when nothing is left to review."""
    with ws.writing("annotate"):
        for rnd in reversed(ws.ledger.rounds()):
            if rnd.acquisition == REVIEW_ACQUISITION and len(ws.ledger.answers(rnd.round)) < len(ws.ledger.queries(rnd.round)):
                return rnd.round
        reviewing = {pid for r in ws.ledger.rounds() if r.acquisition == REVIEW_ACQUISITION
                     for pid in _asked_in(ws, r)}
        settled = _settled(ws)
        todo = [r for r in ws.ledger.propagations() if r.review is None and r.propagation_id not in reviewing
                and (r.image_id, r.superpixel_set, r.superpixel_id) not in settled]
        if not todo:
            return None
        sp_set = todo[0].superpixel_set
        version = ws.labels.version().name
        picked = [(r, q) for r in todo if r.superpixel_set == sp_set and (q := _query_row(ws, version, r)) is not None]
        if not picked:
            return None
        return ws.ledger.create_round(
            label_version=version, superpixel_set=sp_set, acquisition=REVIEW_ACQUISITION, budget=len(picked),
            queries=[q for _, q in picked],
            params={"review": REVIEW, "propagation_ids": [r.propagation_id for r, _ in picked]},
        )
