"""Create a round: store the selected superpixels as correction queries in the ledger."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from alc_data.errors import AlcError
from alc_data.workspace import Workspace, now_iso


@dataclass(frozen=True)
class Query:
    """One correction query: "is the pixel (rep_row, rep_col) of image_id a <shown_label>?"."""

    query_id: int
    round: int
    rank: int
    image_id: str
    superpixel_set: str
    superpixel_id: int
    rep_row: int
    rep_col: int
    shown_label: int
    dominant: int | None
    area: int
    score: float
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 inclusive


def region_boxes(superpixels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Bounding boxes of regions ``ids`` in a (H, W) id map: (n, 4) int64 rows x0, y0, x1, y1 (inclusive).

    Vectorised: one sort of the pixels by region id, then min/max reductions per region.
    """
    superpixels = np.asarray(superpixels)
    ids = np.asarray(ids, dtype=np.int64)
    order = np.argsort(superpixels.ravel(), kind="stable")
    uniq, starts = np.unique(superpixels.ravel()[order], return_index=True)
    pos = np.clip(np.searchsorted(uniq, ids), 0, len(uniq) - 1)
    if np.any(uniq[pos] != ids):
        missing = ids[uniq[pos] != ids][0]
        raise AlcError(f"superpixel {missing} does not occur in its map; recompute the superpixel set")
    rows, cols = np.divmod(order, superpixels.shape[1])
    box = np.stack(
        [
            np.minimum.reduceat(cols, starts),
            np.minimum.reduceat(rows, starts),
            np.maximum.reduceat(cols, starts),
            np.maximum.reduceat(rows, starts),
        ],
        axis=1,
    )
    return box[pos].astype(np.int64)


def create_round(
    ws: Workspace,
    selected,
    *,
    label_version: str,
    superpixel_set: str,
    acquisition: str,
    budget: int,
    score_table: str | None = None,
    params: dict[str, Any] | None = None,
) -> int:
    """Register a new round with the selected rows of a ScoreTable as its queries; returns its number.

    ``selected`` must be in rank order (best first) with columns image_id, superpixel_id, rep_row,
    rep_col, label_at_rep, dominant, area, score.
    """
    n = len(selected)
    if n == 0:
        raise AlcError("no queries selected; nothing to ask (all candidates already asked?)")
    image_ids = np.asarray(selected["image_id"]).astype(str)
    sp_ids = np.asarray(selected["superpixel_id"]).astype(np.int64)
    boxes = np.zeros((n, 4), dtype=np.int64)
    for image_id in np.unique(image_ids):
        rows = np.flatnonzero(image_ids == image_id)
        boxes[rows] = region_boxes(ws.read_superpixels(superpixel_set, str(image_id)), sp_ids[rows])
    with ws.connect() as con:
        last = con.execute("SELECT COALESCE(MAX(round), 0) FROM rounds").fetchone()[0]
        round_no = int(last) + 1
        con.execute(
            "INSERT INTO rounds(round, label_version, superpixel_set, acquisition, budget, score_table, created_at, params)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (round_no, label_version, superpixel_set, acquisition, int(budget), score_table, now_iso(), json.dumps(params or {})),
        )
        con.executemany(
            "INSERT INTO queries(round, rank, image_id, superpixel_set, superpixel_id, rep_row, rep_col, shown_label,"
            " dominant, area, score, bbox_x0, bbox_y0, bbox_x1, bbox_y1) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    round_no, rank, str(image_ids[rank]), superpixel_set, int(sp_ids[rank]),
                    int(selected["rep_row"][rank]), int(selected["rep_col"][rank]), int(selected["label_at_rep"][rank]),
                    int(selected["dominant"][rank]), int(selected["area"][rank]), float(selected["score"][rank]),
                    *map(int, boxes[rank]),
                )
                for rank in range(n)
            ],
        )
    return round_no


def round_queries(ws: Workspace, round_no: int) -> list[Query]:
    """The queries of a round, in rank order."""
    rows = ws.query(
        "SELECT query_id, round, rank, image_id, superpixel_set, superpixel_id, rep_row, rep_col, shown_label,"
        " dominant, area, score, bbox_x0, bbox_y0, bbox_x1, bbox_y1 FROM queries WHERE round=? ORDER BY rank",
        (round_no,),
    )
    return [Query(*r[:12], bbox=tuple(r[12:16])) for r in rows]


def latest_round(ws: Workspace) -> int:
    row = ws.query("SELECT MAX(round) FROM rounds")[0][0]
    if row is None:
        raise AlcError("no rounds yet; run `alc-data score --budget B` first")
    return int(row)


def check_round(ws: Workspace, round_no: int | None) -> int:
    if round_no is None:
        return latest_round(ws)
    if not ws.query("SELECT 1 FROM rounds WHERE round=?", (round_no,)):
        raise AlcError(f"round {round_no} does not exist; the latest is {latest_round(ws)}")
    return int(round_no)
