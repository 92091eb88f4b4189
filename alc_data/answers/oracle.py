"""Simulated answers from the reference ground truth (to measure the method).

Modes (docs/method.md, Answers):

- ``pixel`` (default, the paper's query): look at the ground truth at the representative pixel;
  accept when the current label there equals it, otherwise answer with the ground-truth class.
- ``region-majority`` (what the authors' research code does): correct the superpixel to the
  ground truth at the representative pixel when at most half of its pixels agree with the ground
  truth; accept otherwise.

A ground-truth IGNORE_INDEX at the representative pixel makes the query unanswerable.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from alc_data.answers.record import Answer, AnswerStatus
from alc_data.choices import TextChoice
from alc_data.constants import IGNORE_INDEX
from alc_data.errors import InvalidInput, NotFound
from alc_data.queries.create import Query
from alc_data.workspace import Workspace



class OracleMode(TextChoice):
    """How the ground-truth oracle answers (see the module docstring)."""

    PIXEL = "pixel"
    REGION_MAJORITY = "region-majority"


ORACLE_MODES = OracleMode.values()


def check_oracle_mode(mode: str) -> OracleMode:
    """``mode`` as an :class:`OracleMode`; a one-line InvalidInput naming the modes otherwise."""
    return OracleMode.parse(mode, f"unknown oracle mode {{value!r}}; choose one of: {', '.join(ORACLE_MODES)}")


def _check_gt_values(ws: Workspace, image_id: str, values: np.ndarray, queries: list[Query]) -> None:
    """InvalidInput naming the ground-truth file when a representative pixel holds no class (before any
    answer is recorded: an answer of class 200 could never be applied)."""
    k = ws.catalogue.num_classes
    bad = np.flatnonzero((values >= k) & (values != IGNORE_INDEX))
    if bad.size:
        q = queries[int(bad[0])]
        raise InvalidInput(
            f"{ws.catalogue.gt_path(image_id)}: value {int(values[bad[0]])} at row {q.rep_row}, col {q.rep_col} "
            f"(query {q.query_id}) is no class of this workspace (0..{k - 1}, or {IGNORE_INDEX} for void); fix the "
            "reference ground truth (`alc-data check` lists every bad file); nothing recorded"
        )


def oracle_answers(ws: Workspace, queries: list[Query], *, label_version: str,
                   mode: OracleMode = OracleMode.PIXEL) -> list[Answer]:
    """Answers to ``queries`` from the ground truth, against the labels of ``label_version``."""
    by_image: dict[str, list[Query]] = defaultdict(list)
    for q in queries:
        by_image[q.image_id].append(q)
    missing = [i for i in by_image if not ws.catalogue.has_gt(i)]
    if missing:
        raise NotFound(f"image {missing[0]!r} has no reference ground truth; answer with --answers FILE.csv instead")
    answers: dict[int, Answer] = {}
    for image_id, qs in by_image.items():
        gt = ws.catalogue.read_gt(image_id)
        labels = ws.labels.read_label(label_version, image_id)
        rows = np.array([q.rep_row for q in qs])
        cols = np.array([q.rep_col for q in qs])
        g = gt[rows, cols]
        _check_gt_values(ws, image_id, g, qs)
        cur = labels[rows, cols]
        if mode == OracleMode.REGION_MAJORITY:
            sp = ws.superpixels.read_superpixels(qs[0].superpixel_set, image_id).ravel()
            ids = np.array([q.superpixel_id for q in qs])
            agree = np.bincount(np.where(sp >= 0, sp, 0), weights=(labels.ravel() == gt.ravel()) & (sp >= 0),
                                minlength=int(ids.max()) + 1)
            area = np.bincount(np.where(sp >= 0, sp, 0), weights=sp >= 0, minlength=int(ids.max()) + 1)
            wrong = agree[ids] <= 0.5 * area[ids]
        else:
            wrong = cur != g
        for q, gi, ci, wi in zip(qs, g, cur, wrong):
            if gi == IGNORE_INDEX:
                answers[q.query_id] = Answer(q.query_id, AnswerStatus.UNANSWERABLE, None)
            elif wi:
                answers[q.query_id] = Answer(q.query_id, AnswerStatus.CORRECTED, int(gi))
            else:
                answers[q.query_id] = Answer(q.query_id, AnswerStatus.ACCEPTED, int(ci))
    return [answers[q.query_id] for q in queries]
