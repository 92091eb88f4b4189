"""Workspace summary (``alc-data info``); the label export lives in :mod:`alc_data.export`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.progress import track
from alc_data.queries.cost import CostSummary, cost_summary, relabel_counts, relabels_as_of
from alc_data.results import JsonResult
from alc_data.workspace import ClassInfo, Workspace


def class_pixel_counts(ws: Workspace, version: str | None = None) -> np.ndarray:
    """(256,) int64 pixel counts per label value over all images of a version."""
    name = ws.labels.version(version).name
    counts = np.zeros(256, dtype=np.int64)
    for image_id in track(ws.catalogue.image_ids(), f"count pixels of {name}"):
        counts += np.bincount(ws.labels.read_label(name, image_id).ravel(), minlength=256)
    return counts


@dataclass(frozen=True)
class VersionEntry:
    """A label version as ``info`` lists it."""

    name: str
    parent: str | None
    kind: str
    round: int | None
    created_at: str


@dataclass(frozen=True)
class SetEntry:
    """A superpixel set as ``info`` lists it."""

    name: str
    method: str


@dataclass(frozen=True)
class AutomaticRelabels(JsonResult):
    """The label-correction module's relabels (``correct --propagate``, source ``propagated``), counted
    apart from the corrections people made: regions, by review verdict, and pixels. ``pixels`` are those
    of the relabels not rejected (the pixels they changed; a person's later answer may have changed some
    again); a rejected relabel's pixels carry a person's class, so they are the person's change
    (``rejected_pixels``)."""

    relabels: int
    accepted: int
    rejected: int
    unreviewed: int
    reviewed: int  #: accepted + rejected
    pixels: int
    rejected_pixels: int


@dataclass(frozen=True)
class WorkspaceSummary(JsonResult):
    """What ``alc-data info`` shows: classes, splits, label versions, superpixel sets, the rounds'
    cost and, unless left out (None, not in the JSON), each class's share of a version's pixels."""

    workspace: str
    dataset: str | None
    ignore_index: int
    images: int
    with_ground_truth: int
    splits: dict[str, int]
    classes: tuple[ClassInfo, ...]
    label_versions: tuple[VersionEntry, ...]
    superpixel_sets: tuple[SetEntry, ...]
    cost: CostSummary
    automatic: AutomaticRelabels
    pixel_shares_version: str | None = None
    pixel_shares: dict[str, float] | None = None  # class name -> share of the version's pixels
    void_share: float | None = None  # the share of void (IGNORE_INDEX) pixels: apart, so no class name can clash

    def json_keys(self) -> tuple[str, ...]:
        keys = super().json_keys()
        return keys if self.pixel_shares is not None else keys[:-3]


def automatic_relabels(ws: Workspace) -> AutomaticRelabels:
    """Every automatic relabel in the ledger, counted."""
    return AutomaticRelabels(**relabel_counts((r.pixels, verdict) for r, verdict in relabels_as_of(ws)))


def summary(ws: Workspace, *, version: str | None = None, pixel_shares: bool = True) -> WorkspaceSummary:
    """A description of the workspace: classes, splits, versions, superpixel sets, rounds."""
    shares_version, shares, void = None, None, None
    if pixel_shares:
        shares_version = ws.labels.version(version).name
        counts = class_pixel_counts(ws, shares_version)
        total = max(int(counts.sum()), 1)
        shares = {c.name: round(float(counts[c.index]) / total, 6) for c in ws.catalogue.classes}
        void = round(float(counts[IGNORE_INDEX]) / total, 6)
    return WorkspaceSummary(
        workspace=str(ws.root), dataset=ws.catalogue.meta("dataset"), ignore_index=IGNORE_INDEX, images=len(ws.catalogue.image_ids()),
        with_ground_truth=ws.catalogue.count_with_gt(), splits=ws.catalogue.splits(), classes=tuple(ws.catalogue.classes),
        label_versions=tuple(VersionEntry(v.name, v.parent, v.kind, v.round, v.created_at) for v in ws.labels.label_versions()),
        superpixel_sets=tuple(SetEntry(s.name, s.method) for s in ws.superpixels.superpixel_sets()),
        cost=cost_summary(ws), automatic=automatic_relabels(ws), pixel_shares_version=shares_version,
        pixel_shares=shares, void_share=void,
    )
