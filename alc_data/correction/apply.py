"""Turn the ledger's answers into a new label version (v1, v2, … whose parent is the previous one)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from alc_data.correction.expand import DEFAULT_EXPANSION, Change, check_expansion, expand_answers
from alc_data.errors import AlcError
from alc_data.workspace import Workspace


def pending_answers(ws: Workspace, round_no: int) -> list[tuple]:
    """Answers of a round not yet applied to a label version, with their query's location.

    Rows: (answer_id, query_id, status, answer_class, image_id, superpixel_set, superpixel_id, rep_row, rep_col).
    """
    return ws.query(
        "SELECT a.answer_id, a.query_id, a.status, a.answer_class, q.image_id, q.superpixel_set, q.superpixel_id,"
        " q.rep_row, q.rep_col FROM answers a JOIN queries q ON q.query_id = a.query_id"
        " WHERE a.round = ? AND a.applied_version IS NULL ORDER BY q.rank",
        (round_no,),
    )


def expand_image(ws: Workspace, image_id: str, labels: np.ndarray, rows: list[tuple], *, tau: float = 0.0,
                 probs: np.ndarray | None = None, expand: str = DEFAULT_EXPANSION) -> tuple[np.ndarray, list[Change]]:
    """Apply one image's corrected answers, rows of (query_id, superpixel_set, superpixel_id,
    new_class, rep_row, rep_col), over the superpixel maps they were asked on (``expand``: the
    expansion mode, see :mod:`alc_data.correction.expand`)."""
    changes: list[Change] = []
    for sp_set in sorted({r[1] for r in rows}):
        corr = [(q, s, cls, r, c) for q, st, s, cls, r, c in rows if st == sp_set]
        labels, ch = expand_answers(labels, ws.read_superpixels(sp_set, image_id), corr, tau=tau, probs=probs,
                                     mode=expand)
        changes.extend(ch)
    return labels, changes


def _probabilities(ws: Workspace, checkpoint, image_ids: list[str]) -> dict[str, np.ndarray]:
    from alc_data.predict import iter_probabilities

    if checkpoint is None:
        raise AlcError("--tau > 0 needs the model's probabilities; pass --model CHECKPOINT (or use --tau 0)")
    out = {}
    for image_id, probs in iter_probabilities(ws, checkpoint, image_ids):
        out[image_id] = probs.cpu().numpy() if hasattr(probs, "cpu") else np.asarray(probs)
    return out


def apply_answers(
    ws: Workspace,
    round_no: int,
    *,
    tau: float = 0.0,
    expand: str = DEFAULT_EXPANSION,
    checkpoint=None,
    version_name: str | None = None,
) -> dict[str, Any] | None:
    """Apply the round's pending answers: spread corrections over their superpixels, mark accepted
    superpixels verified, and write a new label version whose parent is the latest one.

    ``expand`` (superpixel | label | pixel) and ``tau`` decide which pixels of an asked superpixel
    take the answer; both are stored in the version's params so :func:`rebuild_version` reproduces it.

    Returns a summary (version, changed images and pixels, counts) or None when nothing is pending.
    The version row, the corrections, the verified marks and the answers' ``applied_version`` are
    written in one transaction after the version's files are complete.
    """
    if not 0.0 <= tau <= 1.0:
        raise AlcError(f"--tau {tau} is outside 0..1; 0 spreads an answer over its whole superpixel")
    check_expansion(expand)
    pending = pending_answers(ws, round_no)
    if not pending:
        return None
    parent = ws.version().name
    name = version_name or ws.next_version_name()
    by_image: dict[str, list[tuple]] = defaultdict(list)
    for _aid, qid, status, cls, image_id, sp_set, sp_id, r, c in pending:
        if status == "corrected":
            by_image[image_id].append((qid, sp_set, sp_id, cls, r, c))
    probs = _probabilities(ws, checkpoint, sorted(by_image)) if tau > 0 and by_image else {}
    changes: list[tuple[str, Change]] = []

    def new_labels():
        from alc_data.progress import track

        for image_id in track(sorted(by_image), f"apply round {round_no}"):
            labels, ch = expand_image(ws, image_id, ws.read_label(parent, image_id), by_image[image_id],
                                      tau=tau, probs=probs.get(image_id), expand=expand)
            changes.extend((image_id, x) for x in ch)
            yield image_id, labels

    accepted = [(image_id, sp_set, sp_id) for _a, _q, status, _c, image_id, sp_set, sp_id, _r, _cc in pending if status == "accepted"]

    def on_commit(con):
        con.executemany(
            "INSERT INTO corrections(query_id, round, label_version, image_id, superpixel_id, old_class, new_class, pixels)"
            " VALUES (?,?,?,?,?,?,?,?)",
            [(ch.query_id, round_no, name, image_id, ch.superpixel_id, ch.old_class, ch.new_class, ch.pixels) for image_id, ch in changes],
        )
        con.executemany(
            "INSERT OR IGNORE INTO verified(image_id, superpixel_set, superpixel_id, round) VALUES (?,?,?,?)",
            [(i, s, p, round_no) for i, s, p in accepted],
        )
        con.executemany("UPDATE answers SET applied_version=? WHERE answer_id=?", [(name, row[0]) for row in pending])
        con.execute("UPDATE rounds SET output_version=? WHERE round=?", (name, round_no))

    ws.write_version(
        name,
        new_labels(),
        parent=parent,
        kind="correction",
        round=round_no,
        params={"tau": tau, "expand": expand, "answers": len(pending)},
        on_commit=on_commit,
    )
    statuses = [row[2] for row in pending]
    return {
        "version": name,
        "parent": parent,
        "round": round_no,
        "expand": expand,
        "tau": tau,
        "answers": len(pending),
        "accepted": statuses.count("accepted"),
        "corrected": statuses.count("corrected"),
        "unanswerable": statuses.count("unanswerable"),
        "changed_images": len({i for i, _ in changes}),
        "changed_pixels": int(sum(ch.pixels for _, ch in changes)),
    }
