"""Changed regions linked to the ledger: the corrections made between two label versions of one workspace.

A row links to every changed region that overlaps its corrected superpixel (read from the query's
superpixel set); without a readable superpixel map it links to the region holding the query's
representative pixel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from alc_data.errors import AlcError
from alc_data.queries.cost import relabel_counts, relabels_as_of
from alc_data.workspace.propagations import PROPAGATED

if TYPE_CHECKING:
    from alc_data.workspace import Workspace


def lineage(ws: Workspace, version: str) -> list[str]:
    """Version names from ``version`` up to its root (``version`` first)."""
    by_name = {v.name: v for v in ws.labels.label_versions()}
    out: list[str] = []
    name: str | None = version
    while name is not None and name not in out:
        out.append(name)
        name = by_name[name].parent if name in by_name else None
    return out


def version_chain(ws: Workspace, a_version: str, b_version: str) -> tuple[list[tuple[str, str]], bool] | None:
    """When one of A and B descends from the other: (name, kind) of the versions between them, oldest first
    (the older side excluded, the newer included), and whether A is the older; None for versions on
    separate branches."""
    la, lb = lineage(ws, a_version), lineage(ws, b_version)
    if a_version in lb:
        names, a_older = lb[:lb.index(a_version)], True
    elif b_version in la:
        names, a_older = la[:la.index(b_version)], False
    else:
        return None
    kinds = {v.name: v.kind for v in ws.labels.label_versions()}
    return [(name, kinds[name]) for name in reversed(names)], a_older


PEOPLE, MODULE = 1, 2
"""Who last changed a pixel (:func:`last_change`): a person (a ``correction`` version, reviews included)
or the label-correction module (a ``propagation`` version); 0: another kind of version, or nobody."""


def last_change(ws: Workspace, image_id: str, chain: list[tuple[str, str]], older: np.ndarray) -> np.ndarray:
    """(H, W) uint8: who made the last change of each pixel along ``chain`` (:func:`version_chain`) from the
    older side's labels ``older``: :data:`PEOPLE`, :data:`MODULE` or 0."""
    owner = np.zeros(older.shape, np.uint8)
    prev = older
    for name, kind in chain:
        cur = ws.labels.read_label(name, image_id)
        owner[cur != prev] = PEOPLE if kind == "correction" else MODULE if kind == "propagation" else 0
        prev = cur
    return owner


def ledger_rows(ws: Workspace, a_version: str, b_version: str) -> tuple[list[str], dict[str, list[dict[str, Any]]]]:
    """Ledger rows of the versions between A and B (either direction), grouped by image id: the
    corrections (the fields of :class:`alc_data.workspace.ledger.CorrectionRow`, with ``rejects``: the
    ``propagation_id`` of the automatic relabel a review answer rejected, else None) and the automatic
    relabels (source ``propagated``, no query: ``propagation_id``, ``confidence``, ``model`` and ``review``,
    the verdict of a review applied by a version between A and B, else None).

    Returns (versions, {image_id: [row, ...]}); :func:`row_key` tells rows apart.
    """
    la, lb = lineage(ws, a_version), lineage(ws, b_version)
    versions = sorted(set(la) ^ set(lb))
    if not versions:
        return [], {}
    grouped: dict[str, list[dict[str, Any]]] = {}
    relabels = relabels_as_of(ws, versions)
    review_versions = ws.ledger.review_versions()
    # a review answer in range rejects its relabel even when the relabel was made before A (a diff of the
    # review round alone): every rejection applied by a version in range, wherever its relabel was made
    scope = set(versions)
    rejected: dict[tuple[str, str | None, int, str | None], int] = {
        (p.image_id, p.superpixel_set, p.superpixel_id, review_versions.get(p.propagation_id)): p.propagation_id
        for p in ws.ledger.propagations() if p.review == "rejected" and review_versions.get(p.propagation_id) in scope}
    for row in ws.ledger.corrections(versions, order="image"):
        d = {**row.to_dict(), "propagation_id": None}
        d["rejects"] = rejected.get((row.image_id, row.superpixel_set, row.superpixel_id, row.label_version))
        grouped.setdefault(row.image_id, []).append(d)
    for prop, verdict in relabels:  # automatic relabels: no query, source "propagated"
        grouped.setdefault(prop.image_id, []).append({
            "correction_id": None, "propagation_id": prop.propagation_id, "query_id": None, "round": prop.round,
            "label_version": prop.label_version, "image_id": prop.image_id, "superpixel_id": prop.superpixel_id,
            "old_class": prop.old_class, "new_class": prop.new_class, "pixels": prop.pixels,
            "superpixel_set": prop.superpixel_set, "rep_row": None, "rep_col": None, "shown_label": None, "status": None,
            "answer_class": None, "source": PROPAGATED, "annotator": prop.model, "answered_at": prop.created_at,
            "confidence": prop.confidence, "model": prop.model, "review": verdict,
            "review_version": review_versions.get(prop.propagation_id) if verdict else None})
    return versions, grouped


def row_key(row: dict[str, Any]) -> tuple[str, int]:
    """What tells one ledger row of :func:`ledger_rows` from every other: a correction's id, or an
    automatic relabel's ``propagation_id`` (its ``correction_id`` is None)."""
    pid = row.get("propagation_id")
    return ("propagated", int(pid)) if pid is not None else ("correction", int(row["correction_id"]))


def human_and_automatic(rows: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Ledger rows of a diff counted apart: a person's (or the oracle's) corrections and the label-correction
    module's automatic relabels by review verdict. A rejected relabel's pixels carry the person's class
    (its rejection is one of the people's corrections, ``human_rejections``), so they are counted there
    and not in ``automatic_pixels`` (``automatic_rejected_pixels`` gives them). A rejection that gives back
    the class the relabel replaced, with that relabel also in range, undoes it: its pixels did not change
    between the two sides, so they are ``human_restored_pixels`` and not in ``human_pixels``."""
    flat = [r for image_rows in rows.values() for r in image_rows]
    auto = [r for r in flat if r["source"] == PROPAGATED]
    human = [r for r in flat if r["source"] != PROPAGATED]
    counts = relabel_counts((r["pixels"], r["review"]) for r in auto)
    replaced = {r["propagation_id"]: r for r in auto}
    # at most the relabel's own pixels: a rejection also gives the class to pixels the relabel did not touch
    restored = sum(min(r["pixels"], replaced[r["rejects"]]["pixels"]) for r in human
                   if r.get("rejects") in replaced and r["new_class"] == replaced[r["rejects"]]["old_class"])
    return {"human_corrections": len(human), "human_pixels": sum(r["pixels"] for r in human) - restored,
            "human_restored_pixels": restored, "human_rejections": sum(r.get("rejects") is not None for r in human),
            **{f"automatic_{k}": v for k, v in counts.items() if k != "reviewed"}}


def link_regions(
    ws: Workspace, image_id: str, lab: np.ndarray, changed: np.ndarray, rows: list[dict[str, Any]]
) -> tuple[dict[int, list[dict[str, Any]]], int]:
    """Match ledger rows of one image to its changed regions.

    ``lab``: (H, W) int32 region ids (0 = unchanged); ``changed``: (H, W) bool. A row links to every
    region that overlaps its superpixel (read from the query's superpixel set); without a readable
    superpixel map it links to the region holding the query's representative pixel (``overlap`` None).
    Returns ({region id: [row + overlap, ...]}, changed pixels explained: inside a corrected superpixel,
    or in a region linked through its representative pixel).
    """
    links: dict[int, list[dict[str, Any]]] = {}
    covered = np.zeros(changed.shape, dtype=bool)
    by_set: dict[str | None, list[dict[str, Any]]] = {}
    for r in rows:
        by_set.setdefault(r["superpixel_set"], []).append(r)
    for set_name, set_rows in by_set.items():
        sp = None
        if set_name is not None:
            try:
                sp = ws.superpixels.read_superpixels(set_name, image_id)
            except AlcError:
                sp = None
            if sp is not None and sp.shape != lab.shape:
                sp = None
        if sp is not None:
            ids = np.unique(np.array([r["superpixel_id"] for r in set_rows], dtype=np.int64))
            inside = np.isin(sp, ids)
            covered |= inside
            m = inside & changed
            key = (lab[m].astype(np.int64) << 32) | (sp[m].astype(np.int64) + (1 << 31))
            uk, cnt = np.unique(key, return_counts=True)
            regs = (uk >> 32).astype(np.int64)
            sps = (uk & ((1 << 32) - 1)) - (1 << 31)
            for r in set_rows:
                hit = sps == r["superpixel_id"]
                for reg, n in zip(regs[hit], cnt[hit]):
                    links.setdefault(int(reg), []).append({**_public(r), "overlap": int(n)})
        else:
            for r in set_rows:
                y, x = r["rep_row"], r["rep_col"]
                if y is None or x is None or not (0 <= y < lab.shape[0] and 0 <= x < lab.shape[1]):
                    continue
                reg = int(lab[y, x])
                if reg > 0:
                    region = lab == reg
                    covered |= region
                    links.setdefault(reg, []).append({**_public(r), "overlap": None})
    for reg in links:
        links[reg].sort(key=lambda d: (-(d["overlap"] or 0), d["round"], row_key(d)))
    return links, int((covered & changed).sum())


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "image_id"}
