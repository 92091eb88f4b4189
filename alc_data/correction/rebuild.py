"""Rebuild a label version from its parent plus the ledger (an audit of what the ledger says)."""

from __future__ import annotations

import os
from typing import Iterator, Sequence

import numpy as np

from alc_data.correction.apply import _probabilities, apply_image, corrections_by_image
from alc_data.correction.review import reviewed_relabels
from alc_data.correction.expand import Expansion
from alc_data.correction.propagate import Relabel, protected_pixels, relabel_image
from alc_data.errors import InvalidInput
from alc_data.workspace import Workspace


def rebuild_version(ws: Workspace, name: str, *, checkpoint: str | os.PathLike | None = None,
                    image_ids: Sequence[str] | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (image_id, labels) for every image of version ``name`` (or of ``image_ids``), recomputed from
    its parent and the corrected answers that produced it (a ``propagation`` version: its parent and its
    automatic relabels). Equal to the stored version when the ledger is intact."""
    version = ws.labels.version(name)
    ids = ws.catalogue.image_ids() if image_ids is None else list(image_ids)
    if version.kind == "propagation" and version.parent is not None:
        yield from _rebuild_propagation(ws, name, version.parent, Expansion(version.params.get("expand", "label")), ids)
        return
    if version.kind != "correction" or version.parent is None:
        raise InvalidInput(f"label version {name!r} was not made by corrections ({version.kind}); nothing to rebuild from")
    tau = float(version.params.get("tau", 0.0))
    expand = Expansion(version.params.get("expand", "superpixel"))  # versions made before the option: whole superpixel
    wanted = set(ids)
    by_image = {i: rows for i, rows in corrections_by_image(ws.ledger.corrected_answers_of_version(name)).items()
                if i in wanted}
    relabels = reviewed_relabels(ws, version.round) if version.round is not None else None
    probs: dict[str, np.ndarray] = {}
    if tau > 0 and by_image and relabels is None:
        probs = _probabilities(ws, checkpoint, sorted(by_image))
    for image_id in ids:
        labels = ws.labels.read_label(version.parent, image_id)
        if image_id in by_image:
            labels, _ = apply_image(ws, image_id, labels, by_image[image_id], relabels, tau=tau,
                                    probs=probs.get(image_id), expand=expand)
        yield image_id, labels


def _rebuild_propagation(ws: Workspace, name: str, parent: str, expand: Expansion,
                         ids: list[str]) -> Iterator[tuple[str, np.ndarray]]:
    """A ``propagation`` version replayed from its parent and its ledger rows (source ``propagated``)."""
    by_image: dict[str, list[Relabel]] = {}
    sets: dict[str, str] = {}
    for row in ws.ledger.propagations([name]):
        by_image.setdefault(row.image_id, []).append(
            Relabel(row.image_id, row.superpixel_id, row.old_class, row.new_class, row.confidence))
        sets[row.image_id] = row.superpixel_set
    round_no = ws.labels.version(name).round
    elsewhere = {set_name: ws.ledger.asked_regions(through_round=round_no, other_than=set_name) if round_no is not None else {}
                 for set_name in set(sets.values())}  # one set per round: one query
    for image_id in ids:
        labels = ws.labels.read_label(parent, image_id)
        if image_id in by_image:
            sp = ws.superpixels.read_superpixels(sets[image_id], image_id)
            labels, _ = relabel_image(labels, sp, by_image[image_id], expand=expand,
                                      protected=protected_pixels(ws, image_id, elsewhere[sets[image_id]].get(image_id)))
        yield image_id, labels
