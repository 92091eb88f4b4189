"""A person reviews the automatic relabels: ``alc-data annotate --review propagated``.

The unreviewed relabels of the ledger (source ``propagated``) become a round of ordinary correction
queries ("is this pixel a <new class>?"), asked at the first pixel (row-major) of the region that still
carries the automatic label, so the page, the CSV and Label Studio serve them like any round. When the
round is applied (``alc-data correct``), an accepted query marks its relabel ``accepted``; a corrected one
marks it ``rejected`` and gives the pixels that carry the automatic label the person's class (the old
class restores the region). Either way the verdict is a ledger row: who reviewed, when, and the version
it wrote.
"""

from __future__ import annotations

import numpy as np

from alc_data.workspace import Workspace
from alc_data.workspace.propagations import PropagationRow

REVIEW = "propagated"
"""``--review`` value: review the automatic relabels."""

REVIEW_ACQUISITION = "review-propagated"
"""The acquisition name stored with a review round."""


def _query_row(ws: Workspace, version: str, row: PropagationRow) -> tuple[object, ...] | None:
    """The query of one relabel: (image_id, superpixel_id, rep_row, rep_col, shown_label, dominant, area,
    score, x0, y0, x1, y1), or None when no pixel of the region carries the automatic label any more."""
    region = ws.superpixels.read_superpixels(row.superpixel_set, row.image_id) == row.superpixel_id
    carries = region & (ws.labels.read_label(version, row.image_id) == row.new_class)
    ys, xs = np.nonzero(carries)
    if ys.size == 0:
        return None
    ry, rx = np.nonzero(region)
    return (row.image_id, row.superpixel_id, int(ys[0]), int(xs[0]), row.new_class, row.new_class, int(region.sum()),
            float(row.confidence), int(rx.min()), int(ry.min()), int(rx.max()), int(ry.max()))


def open_review_round(ws: Workspace) -> int | None:
    """The round that asks a person about every unreviewed automatic relabel: the latest review round while
    it still has unanswered queries, else a new one on the latest labels (one superpixel set per round:
    the oldest relabels' set first). None when nothing is left to review."""
    with ws.writing("annotate"):
        for rnd in reversed(ws.ledger.rounds()):
            if rnd.acquisition == REVIEW_ACQUISITION and len(ws.ledger.answers(rnd.round)) < len(ws.ledger.queries(rnd.round)):
                return rnd.round
        reviewing = {pid for r in ws.ledger.rounds() if r.acquisition == REVIEW_ACQUISITION
                     for pid in r.params.get("propagation_ids", [])}
        todo = [r for r in ws.ledger.propagations() if r.review is None and r.propagation_id not in reviewing]
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
