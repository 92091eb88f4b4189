"""The rows of the published ``corrections`` config: every ledger row along the published lineage,
a person's (or the oracle's) correction or an automatic relabel (columns: :data:`~alc_data.publish.features.CORRECTION_COLUMNS`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Collection

from alc_data.names import class_name
from alc_data.queries.cost import relabels_as_of
from alc_data.workspace.propagations import PROPAGATED

if TYPE_CHECKING:
    from alc_data.workspace import Workspace


def published_ledger_rows(
    ws: Workspace, versions: list[str], names: list[str], image_ids: Collection[str] | None = None
) -> list[dict[str, Any]]:
    """Every ledger row of ``versions`` on ``image_ids`` (None: every image; a row of an image that is not
    published is left out): the corrections people (or the oracle) made and the automatic relabels (source
    ``propagated``) with their confidence, model file name and review verdict as of ``versions`` (None: not
    reviewed), by round, a round's corrections before its relabels."""
    if not versions:
        return []
    ids = None if image_ids is None else set(image_ids)

    def nm(v: int | None) -> str | None:
        if v is None:
            return None
        return class_name(v, names)

    none: dict[str, Any] = {"propagation_id": None, "confidence": None, "model": None, "review": None}
    rows: list[dict[str, Any]] = [
        {
            "correction_id": r.correction_id, "query_id": r.query_id, "round": r.round, "label_version": r.label_version,
            "image_id": r.image_id, "superpixel_set": r.superpixel_set, "superpixel_id": r.superpixel_id,
            "old_class": r.old_class, "old_class_name": nm(r.old_class), "new_class": r.new_class,
            "new_class_name": nm(r.new_class), "pixels": r.pixels, "status": r.status, "source": r.source,
            "annotator": r.annotator, "answered_at": r.answered_at, **none,
        }
        for r in ws.ledger.corrections(versions, order="round") if ids is None or r.image_id in ids
    ]
    rows += [
        {
            "correction_id": None, "query_id": None, "round": p.round, "label_version": p.label_version,
            "image_id": p.image_id, "superpixel_set": p.superpixel_set, "superpixel_id": p.superpixel_id,
            "old_class": p.old_class, "old_class_name": nm(p.old_class), "new_class": p.new_class,
            "new_class_name": nm(p.new_class), "pixels": p.pixels, "status": None, "source": PROPAGATED,
            "annotator": None, "answered_at": p.created_at, "propagation_id": p.propagation_id,
            "confidence": float(p.confidence), "model": Path(p.model).name, "review": verdict,
        }
        for p, verdict in relabels_as_of(ws, versions) if ids is None or p.image_id in ids
    ]
    return sorted(rows, key=lambda r: (r["round"], r["correction_id"] is None, r["correction_id"] or 0,
                                       r["propagation_id"] or 0))
