"""What changed between two sets of label maps: transitions, per-image shares, changed regions, ledger links.

Vocabulary: K classes; label maps (H, W) uint8 with ids 0..K-1 and ``IGNORE_INDEX`` (void). Side A is
"before", side B is "after". The transition matrix is (K+1, K+1) int64: row = class in A, column = class
in B, index K = void. It is accumulated per image with one ``np.bincount`` over ``a * 256 + b``.

A *changed region* is a connected component (8-connectivity) of the mask ``a != b`` of one image. When
both sides are label versions of one workspace, each region is linked to the ledger rows that explain it:
the ``corrections`` made by versions between A and B (matched by image id and the overlap of the
region with the corrected superpixel; the query's representative pixel when the superpixel map is gone),
with their query and answer (round, source, annotator, time).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from alc_data.audit.ledger_links import (MODULE, PEOPLE, human_and_automatic, last_change, ledger_rows, link_regions,
                                         row_key, version_chain)
from alc_data.audit.regions import Region, changed_regions, region_details
from alc_data.audit.sources import LabelSource, check_images_folder, open_source, read_class_file
from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlcError, InvalidInput
from alc_data.names import class_name
from alc_data.results import JsonResult

if TYPE_CHECKING:
    from alc_data.workspace import Workspace

@dataclass(frozen=True)
class ImageChange(JsonResult):
    """Counts for one image present on both sides."""

    image_id: str
    pixels: int
    changed: int
    became_void: int
    stopped_void: int
    regions: int
    agreement: float | None  # share of pixels non-void on both sides whose class agrees; None if none
    linked_pixels: int = 0  # changed pixels inside a ledger correction's superpixel

    @property
    def changed_share(self) -> float:
        return self.changed / self.pixels if self.pixels else 0.0

    @property
    def rounded_changed_share(self) -> float:
        return round(self.changed_share, 8)

    @property
    def rounded_agreement(self) -> float | None:
        return None if self.agreement is None else round(self.agreement, 8)

    def json_keys(self) -> tuple[str, ...]:
        return ("image_id", "pixels", "changed_pixels=changed", "changed_share=rounded_changed_share",
                "agreement=rounded_agreement", "regions", "became_void", "stopped_void")


#: the keys of :meth:`LabelDiff.totals`, as the JSON shows them (its ``regions`` count gives way to the
#: regions themselves)
_TOTALS = ("images_compared", "images_changed", "pixels", "changed_pixels", "changed_share", "agreement", "became_void",
           "stopped_void")


@dataclass(frozen=True)
class LabelDiff(JsonResult):
    """The result of :func:`diff_labels`."""

    a: LabelSource
    b: LabelSource
    class_names: list[str]
    palette: np.ndarray  # (256, 3) uint8
    hist: np.ndarray  # (256, 256) int64: pixels with value i in A and j in B
    images: list[ImageChange]
    only_in_a: list[str]
    only_in_b: list[str]
    size_mismatch: list[str]
    regions: dict[str, list[Region]]
    top: list[str]
    ledger: dict[str, Any] | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def mode(self) -> str:
        kinds = {self.a.kind, self.b.kind}
        return "versions" if kinds == {"version"} else "folders" if kinds == {"folder"} else "mixed"

    @property
    def transition_matrix(self) -> np.ndarray:
        """(K+1, K+1) int64: row = class in A, column = class in B; index K = void (``IGNORE_INDEX``)."""
        idx = np.r_[np.arange(self.num_classes), IGNORE_INDEX]
        return self.hist[np.ix_(idx, idx)]

    @property
    def labels_with_void(self) -> list[str]:
        return [*self.class_names, "void"]

    def image(self, image_id: str) -> ImageChange:
        for im in self.images:
            if im.image_id == image_id:
                return im
        raise KeyError(image_id)

    def totals(self) -> dict[str, Any]:
        h = self.hist
        pixels = int(h.sum())
        changed = pixels - int(np.trace(h))
        void = IGNORE_INDEX
        valid = h.copy()
        valid[void, :] = 0
        valid[:, void] = 0
        both = int(valid.sum())
        agree = int(np.trace(valid))
        return {
            "images_compared": len(self.images),
            "images_changed": sum(1 for im in self.images if im.changed),
            "pixels": pixels,
            "changed_pixels": changed,
            "changed_share": round(changed / pixels, 8) if pixels else 0.0,
            "agreement": round(agree / both, 8) if both else None,
            "became_void": int(h[:, void].sum() - h[void, void]),
            "stopped_void": int(h[void, :].sum() - h[void, void]),
            "regions": sum(im.regions for im in self.images),
        }

    def transitions(self) -> list[dict[str, Any]]:
        """Off-diagonal non-zero cells of the transition matrix, most pixels first."""
        m = self.transition_matrix
        names = self.labels_with_void
        off = m.copy()
        np.fill_diagonal(off, 0)
        rows, cols = np.nonzero(off)
        order = np.lexsort((cols, rows, -off[rows, cols]))
        return [
            {"from": names[r], "to": names[c], "from_index": _index(r, self.num_classes),
             "to_index": _index(c, self.num_classes), "pixels": int(off[r, c])}
            for r, c in zip(rows[order], cols[order])
        ]

    @property
    def sides(self) -> dict[str, dict[str, str]]:
        """{"a": {kind, name}, "b": {kind, name}}."""
        return {"a": {"kind": self.a.kind, "name": self.a.name}, "b": {"kind": self.b.kind, "name": self.b.name}}

    @property
    def ignore_index(self) -> int:
        return IGNORE_INDEX

    @cached_property
    def _totals(self) -> dict[str, Any]:
        return self.totals()

    @property
    def top_images(self) -> list[ImageChange]:
        return [self.image(i) for i in self.top]

    @property
    def region_rows(self) -> dict[str, list[dict[str, Any]]]:
        """The changed regions of each detailed image, with class names."""
        return {
            image_id: [
                {"region": r.region, "pixels": r.pixels, "bbox": list(r.bbox),
                 "old_class": class_name(r.old_class, self.class_names), "new_class": class_name(r.new_class, self.class_names),
                 "links": r.links}
                for r in regs
            ]
            for image_id, regs in self.regions.items()
        }

    @property
    def transition_rows(self) -> list[dict[str, Any]]:
        return self.transitions()

    def json_keys(self) -> tuple[str, ...]:
        return (
            "a=sides.a", "b=sides.b", "mode", "classes=class_names", "ignore_index", *(f"{k}=_totals.{k}" for k in _TOTALS),
            "regions=region_rows", "only_in_a", "only_in_b", "size_mismatch", "transition_labels=labels_with_void",
            "transition_matrix", "transitions=transition_rows", "top=top_images", "per_image=images", "ledger",
        )


def _index(i: int, k: int) -> int:
    return IGNORE_INDEX if i == k else int(i)


# ---------------------------------------------------------------------------------------------- core
def image_counts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(256, 256) int64 pixel counts of value pairs (a, b) for two (H, W) uint8 label maps."""
    key = a.astype(np.int32).ravel() * 256 + b.astype(np.int32).ravel()
    return np.bincount(key, minlength=256 * 256).reshape(256, 256).astype(np.int64)


def _check_values(counts: np.ndarray, k: int, src: LabelSource, other: LabelSource, image_id: str, axis: int) -> None:
    per_value = counts.sum(axis=1 - axis)  # axis 0: values of A, axis 1: values of B
    bad = [v for v in np.flatnonzero(per_value) if v >= k and v != IGNORE_INDEX]
    if bad:
        raise InvalidInput(
            f"{src.path(image_id)}: label value {bad[0]} ({int(per_value[bad[0]])} pixels) is not a class (K={k}) "
            f"nor {IGNORE_INDEX}; pass the right --classes file"
        )


def diff_labels(
    a: str | LabelSource,
    b: str | LabelSource,
    *,
    workspace: Any = None,
    classes_file: str | os.PathLike | None = None,
    images: str | os.PathLike | None = None,
    top: int = 10,
) -> LabelDiff:
    """Compare labels A (before) and B (after).

    ``a``/``b``: an existing folder of ``<image_id>.png`` label maps, or a label version name of
    ``workspace`` (a path or an open :class:`~alc_data.workspace.Workspace`). Classes and palette come
    from the workspace when a side is a version; otherwise from ``classes_file`` (one name per line) or
    are numeric (``"0"``, ``"1"``, ...) with the VOC palette. ``images``: folder of images for folder
    sides (``<image_id>.jpg|png``). ``top``: how many most-changed images get region details.
    Images on one side only and images whose sizes differ are listed, not compared.

    The library boundary: checks ``top``, then runs :func:`compare_labels` (which the ``diff`` stage
    calls with checked options).
    """
    if top < 0:
        raise InvalidInput(f"--top must be ≥ 0, got {top}")
    return compare_labels(a, b, workspace=workspace, classes_file=classes_file, images=images, top=top)


def compare_labels(
    a: str | LabelSource,
    b: str | LabelSource,
    *,
    workspace: Any,
    classes_file: str | os.PathLike | None,
    images: str | os.PathLike | None,
    top: int,
) -> LabelDiff:
    """:func:`diff_labels` with a trusted ``top`` (≥ 0)."""
    from alc_data.progress import track

    sa = a if isinstance(a, LabelSource) else open_source(a, workspace=workspace, images=images)
    sb = b if isinstance(b, LabelSource) else open_source(b, workspace=workspace, images=images)
    check_images_folder(images, sa, sb)
    ws = sa.ws if sa.kind == "version" else sb.ws if sb.kind == "version" else None
    names, palette = _classes(ws, classes_file)
    k = len(names) if names is not None else None
    ids_a, ids_b = sa.ids(), sb.ids()
    set_a, set_b = set(ids_a), set(ids_b)
    common = sorted(set_a & set_b)
    if not common:
        raise InvalidInput(
            f"{sa.name} and {sb.name} share no image ids ({len(ids_a)} and {len(ids_b)} label maps); "
            "compare labels of the same images"
        )
    ledger_versions: list[str] = []
    ledger: dict[str, list[dict[str, Any]]] = {}
    side_a, side_b = sa.workspace_version(), sb.workspace_version()
    chain = None
    if side_a is not None and side_b is not None and side_a[0].root == side_b[0].root:
        ledger_versions, ledger = ledger_rows(side_a[0], side_a[1], side_b[1])
        chain = version_chain(side_a[0], side_a[1], side_b[1])
    acc = _Accumulator(chain=chain)
    for image_id in track(common, f"diff {sa.name} → {sb.name}"):
        acc.add(sa, sb, image_id, k, ws, ledger)
    if names is None:  # numeric classes: K = largest non-void value seen + 1
        seen = np.flatnonzero(acc.hist.sum(0) + acc.hist.sum(1))
        seen = seen[seen != IGNORE_INDEX]
        names = [str(i) for i in range(int(seen.max()) + 1 if seen.size else 1)]
    ranked = sorted((c for c in acc.changes if c.changed), key=lambda c: (-c.changed_share, c.image_id))
    top_ids = [c.image_id for c in ranked[:top]]
    for image_id in top_ids:
        if image_id not in acc.regions:
            la, lb = sa.read(image_id), sb.read(image_id)
            lab, n = changed_regions(la != lb)
            acc.regions[image_id] = region_details(la, lb, lab, n)
    ledger_info = None
    if sa.kind == "version" and sb.kind == "version":
        ledger_info = {
            "versions": ledger_versions,
            "corrections": sum(len(v) for v in ledger.values()),
            **human_and_automatic(ledger),
            # each changed pixel counted once, for whoever changed it last (one side descends from the other)
            **({"human_pixels": acc.by_people, "automatic_pixels": acc.by_module} if chain is not None else {}),
            "corrections_linked": acc.links_total,
            "linked_changed_pixels": acc.linked_total,
            "unlinked_changed_pixels": sum(c.changed for c in acc.changes) - acc.linked_total,
        }
    return LabelDiff(
        a=sa, b=sb, class_names=list(names), palette=palette, hist=acc.hist, images=acc.changes,
        only_in_a=sorted(set_a - set_b), only_in_b=sorted(set_b - set_a), size_mismatch=acc.mismatch,
        regions=acc.regions, top=top_ids, ledger=ledger_info,
    )


def _classes(ws: Workspace | None, classes_file: str | os.PathLike | None) -> tuple[list[str] | None, np.ndarray]:
    """Class names (None: numeric, found from the values) and (256, 3) palette of the comparison."""
    from alc_data.io.labels import default_palette

    if ws is not None:
        if classes_file is not None:
            raise InvalidInput("--classes is only for two label folders; a label version uses its workspace's classes")
        return ws.catalogue.class_names, ws.catalogue.palette
    if classes_file is not None:
        names = read_class_file(classes_file)
        if len(names) >= IGNORE_INDEX:
            raise InvalidInput(f"{classes_file}: {len(names)} classes; at most {IGNORE_INDEX} fit beside the void index")
        return names, default_palette()
    return None, default_palette()


@dataclass
class _Accumulator:
    """What the comparison gathers image by image."""

    hist: np.ndarray = field(default_factory=lambda: np.zeros((256, 256), dtype=np.int64))
    changes: list[ImageChange] = field(default_factory=list)
    regions: dict[str, list[Region]] = field(default_factory=dict)
    mismatch: list[str] = field(default_factory=list)
    linked_total: int = 0
    links_total: int = 0
    chain: tuple[list[tuple[str, str]], bool] | None = None  # the versions between the sides, and whether A is older
    by_people: int = 0  # changed pixels a person changed last
    by_module: int = 0  # changed pixels the label-correction module changed last

    def add(self, sa: LabelSource, sb: LabelSource, image_id: str, k: int | None, ws: Workspace | None,
            ledger: dict[str, list[dict[str, Any]]]) -> None:
        """Compare one image; with ledger rows for it, detail and link its changed regions."""
        la, lb = sa.read(image_id), sb.read(image_id)
        if la.shape != lb.shape:
            self.mismatch.append(image_id)
            return
        counts = image_counts(la, lb)
        if k is not None:
            _check_values(counts, k, sa, sb, image_id, 0)
            _check_values(counts, k, sb, sa, image_id, 1)
        self.hist += counts
        changed = la != lb
        if self.chain is not None and ws is not None and changed.any():
            versions, a_older = self.chain
            owner = last_change(ws, image_id, versions, la if a_older else lb)
            self.by_people += int((changed & (owner == PEOPLE)).sum())
            self.by_module += int((changed & (owner == MODULE)).sum())
        lab, n = changed_regions(changed)
        valid = counts[:IGNORE_INDEX, :IGNORE_INDEX]
        both = int(valid.sum())
        v = IGNORE_INDEX
        linked = 0
        if n and ws is not None and image_id in ledger:  # ledger rows come from a workspace
            links, linked = link_regions(ws, image_id, lab, changed, ledger[image_id])
            regs = region_details(la, lb, lab, n)
            for r in regs:
                r.links = links.get(r.region, [])
            self.regions[image_id] = regs
            self.linked_total += linked
            self.links_total += len({row_key(d) for ls in links.values() for d in ls})  # every ledger row once
        self.changes.append(ImageChange(
            image_id=image_id,
            pixels=int(la.size),
            changed=int(la.size - np.trace(counts)),
            became_void=int(counts[:, v].sum() - counts[v, v]),
            stopped_void=int(counts[v, :].sum() - counts[v, v]),
            regions=n,
            agreement=(int(np.trace(valid)) / both) if both else None,
            linked_pixels=linked,
        ))
