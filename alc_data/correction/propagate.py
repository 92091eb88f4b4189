"""Propagation: after a round's answers are applied, the label-correction module relabels the regions
nobody was asked about where it is very sure (A2LC's LCM, :mod:`alc_data.correction.lcm`).

Each relabel is a ledger row of its own (``propagations``: region, old and new class, confidence, the
round and the model whose probabilities gave the features), written in the same transaction as the
label version it produces (kind ``propagation``, parent: the round's answers). A propagated region is not
a query: it still counts as never asked, so a person can be asked about it later, and that person's
answer, applied in a later version, wins.

Which pixels of a relabelled region change follows the expansion: ``label`` (only the pixels that carry
the region's majority label y_m) or ``superpixel`` (every pixel, as A2LC).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any, Iterable, Iterator

import numpy as np

from alc_data.hints import command
from alc_data.overrides import finite_number
from alc_data.constants import IGNORE_INDEX
from alc_data.correction.lcm import (AUTO_PRECISION, LabelCorrectionModule, LcmSettings, RegionFeatures, auto_threshold, rare_classes,
                                    region_features, region_majority, relabel_mask)
from alc_data.errors import Conflict, InvalidInput
from alc_data.results import JsonResult
from alc_data.workspace import Workspace
from alc_data.workspace.ledger import AnswerStatus

AUTO = "auto"
DEFAULT_THRESHOLD = 0.99
"""A2LC's confidence threshold on PASCAL."""


@dataclass(frozen=True)
class Relabel:
    """One region the module relabels: its majority label before (``old_class``) and the proposal."""

    image_id: str
    superpixel_id: int
    old_class: int
    new_class: int
    confidence: float


@dataclass(frozen=True)
class PropagationResult(JsonResult):
    """What :func:`propagate_round` did: the version it wrote (None when nothing passed the rules), the
    threshold it used (None: ``auto`` found none precise enough), and counts."""

    round: int
    version: str | None
    parent: str
    threshold: float | None
    threshold_mode: str
    trained_on: int
    candidates: int
    relabelled: int
    changed_images: int
    changed_pixels: int

    def threshold_text(self) -> str:
        """The threshold as the command line says it ("threshold 0.99", or why ``auto`` found none)."""
        if self.threshold is not None:
            return f"threshold {self.threshold}" + (f" ({AUTO})" if self.threshold_mode == AUTO else "")
        return (f"threshold {AUTO}: no threshold made the module's relabels at least {AUTO_PRECISION:.0%} right "
                "on held-out folds of this round's answers, so none was made")


@dataclass
class RegionRows:
    """The regions of a round, as arrays: the answered ones (training) and the never-asked ones."""

    train_features: list[np.ndarray]
    train_targets: list[int]
    train_before: list[int]
    cand_keys: list[tuple[str, int]]
    cand_features: list[np.ndarray]
    cand_majority: list[int]


def collect_regions(ws: Workspace, round_no: int, stream: Iterable[tuple[str, Any]], *, labels_version: str,
                    features: RegionFeatures = RegionFeatures.MEAN) -> RegionRows:
    """Features (``features``: which) and majority labels of every region of the round's superpixel set,
    from (image_id, (K, H, W) probs) pairs: the regions answered this round (accepted or corrected) with
    their majority label after the answers (``labels_version``) and before them (the round's scored
    labels), and the regions never asked in any round."""
    rnd = ws.ledger.round(round_no)
    answers = ws.ledger.answers(round_no)
    answered = {(q.image_id, q.superpixel_id) for q in ws.ledger.queries(round_no)
                if q.query_id in answers and answers[q.query_id].status is not AnswerStatus.UNANSWERABLE}
    asked = ws.ledger.asked(rnd.superpixel_set)
    elsewhere = ws.ledger.asked_regions(through_round=round_no, other_than=rnd.superpixel_set)
    rows = RegionRows([], [], [], [], [], [])
    for image_id, probs in stream:
        p = probs.cpu().numpy() if hasattr(probs, "cpu") else np.asarray(probs)
        sp = ws.superpixels.read_superpixels(rnd.superpixel_set, image_id)
        # regions lying wholly inside regions people were asked about on other sets are no candidates
        protected = protected_pixels(ws, image_id, elsewhere.get(image_id))
        free = None if protected is None else set(np.unique(sp[~protected]).tolist())
        ids, feats, major, _ = region_features(p, ws.labels.read_label(labels_version, image_id), sp, features)
        before = region_majority(ws.labels.read_label(rnd.label_version, image_id), sp)
        for i, sp_id in enumerate(ids.tolist()):
            key = (image_id, sp_id)
            if key in answered and major[i] != IGNORE_INDEX:
                rows.train_features.append(feats[i])
                rows.train_targets.append(int(major[i]))
                rows.train_before.append(int(before[i]))
            elif key not in asked and (free is None or sp_id in free):
                rows.cand_keys.append(key)
                rows.cand_features.append(feats[i])
                rows.cand_majority.append(int(major[i]))
    return rows


def choose_relabels(rows: RegionRows, num_classes: int, *, threshold: float | str, settings: LcmSettings,
                    agreement: float = 0.0) -> tuple[list[Relabel], float | None]:
    """Train the module on the answered regions and return the candidates that pass A2LC's rules (and,
    with ``agreement`` > 0, the model's agreement), with the threshold used (``"auto"``: chosen on
    held-out folds; None when none is precise enough)."""
    if not rows.train_targets or not rows.cand_keys:
        return [], None if threshold == AUTO else float(threshold)
    x = np.stack(rows.train_features)
    y = np.asarray(rows.train_targets, np.int64)
    if threshold == AUTO:
        chosen, _ = auto_threshold(x, y, np.asarray(rows.train_before, np.int64), num_classes, settings,
                                   agreement=agreement)
        if chosen is None:
            return [], None
    else:
        chosen = float(threshold)
    module = LabelCorrectionModule.train(x, y, num_classes, settings)
    features = np.stack(rows.cand_features)
    conf, proposed = module.predict(features)
    major = np.asarray(rows.cand_majority, np.int64)
    rare, rarest = rare_classes(y, num_classes)
    keep = relabel_mask(conf, proposed, major, threshold=chosen, rare=rare, rarest=rarest,
                        features=features[:, :num_classes], agreement=agreement)
    return [Relabel(rows.cand_keys[i][0], rows.cand_keys[i][1], int(major[i]), int(proposed[i]), float(conf[i]))
            for i in np.flatnonzero(keep)], chosen


def protected_pixels(ws: Workspace, image_id: str, asked: dict[str, list[int]] | None) -> np.ndarray | None:
    """(H, W) bool: the pixels of ``image_id`` inside a region people were asked about on another superpixel
    set than the round's (``asked``: {superpixel_set: [superpixel_id, ...]} of the image, from
    :meth:`Ledger.asked_regions`; None when there is none). The module never changes them: a person's
    answer wins over a propagated label. (On the round's own set the relabelled regions are never-asked
    ones, so they hold no such pixel.)"""
    mask = None
    for set_name, ids in (asked or {}).items():
        inside = np.isin(ws.superpixels.read_superpixels(set_name, image_id), ids)
        mask = inside if mask is None else mask | inside
    return mask


def relabel_image(labels: np.ndarray, superpixels: np.ndarray, relabels: list[Relabel], *, expand: str,
                  protected: np.ndarray | None = None) -> tuple[np.ndarray, list[int]]:
    """``labels`` with each relabel applied (``expand``: ``label`` changes the region's pixels that carry
    its old majority label, ``superpixel`` every pixel of it; never a ``protected`` pixel); returns the
    labels and the pixels changed per relabel. ``rebuild_version`` replays a propagation version with it
    from the ledger rows."""
    out = labels.copy()
    changed = []
    for r in relabels:
        region = superpixels == r.superpixel_id
        if protected is not None:
            region &= ~protected
        if expand == "label":
            region &= labels == r.old_class
        changed.append(int((region & (out != r.new_class)).sum()))
        out[region] = r.new_class
    return out, changed


def check_propagation(threshold: float | str | None, expand: str, *, where: tuple[str, str] = ("--propagate-threshold", "--expand")
                      ) -> float | str:
    """The threshold as a float (or ``"auto"``; None: the default); one-line errors for one outside (0, 1] and for
    ``--expand pixel`` (``where``: the names of the threshold and the expansion, flags or recipe keys)."""
    if expand not in ("label", "superpixel"):
        raise InvalidInput(f"propagation relabels whole regions; use it with {where[1]} label or superpixel, not {expand}")
    return check_threshold(threshold, where[0])


def _number(value: Any) -> float:
    """``value`` as a float; NaN (outside every range) for anything :func:`finite_number` refuses."""
    try:
        return finite_number(value)
    except ValueError:
        return float("nan")


def check_agreement(agreement: Any, where: str = "--propagate-agreement") -> float:
    """``--propagate-agreement`` (named ``where`` in the error) as a float in [0, 1) (0: A2LC's rules
    alone, also for None: not given); a one-line error otherwise."""
    value = 0.0 if agreement is None else _number(agreement)
    if not 0.0 <= value < 1.0:
        raise InvalidInput(f"{where} {agreement!r} must be a number in [0, 1): the least mean "
                           "probability the round's model gives the proposed class over the region (0: off)")
    return value


def check_features(features: Any, where: str = "--propagate-features") -> RegionFeatures:
    """``--propagate-features`` (named ``where`` in the error) as a :class:`RegionFeatures` (None: not given,
    ``mean``); a one-line error naming the choices otherwise."""
    if features is None:
        return RegionFeatures.MEAN
    return RegionFeatures.parse(str(features), where + " {value!r} is not one of {choices}: what the label-correction "
                                "module reads of a region (mean: A2LC's mean softmax)")


def check_threshold(threshold: float | str | None, where: str = "--propagate-threshold") -> float | str:
    """``--propagate-threshold`` (named ``where`` in the error) as a float in (0, 1] or ``"auto"`` (None: not
    given, A2LC's 0.99); a one-line error otherwise."""
    if threshold is None:
        return DEFAULT_THRESHOLD
    if threshold == AUTO:
        return AUTO
    value = _number(threshold)
    if not 0.0 < value <= 1.0:
        raise InvalidInput(f"{where} {threshold!r} must be a number in (0, 1] or 'auto'")
    return value


def set_without_propagate(threshold: Any, agreement: Any, features: Any) -> list[str]:
    """Which of the propagation options were given (not None: ``threshold``, ``agreement``, ``features``),
    for a round that does not propagate: each would be ignored, even at its default value."""
    given = (("threshold", threshold), ("agreement", agreement), ("features", features))
    return [name for name, value in given if value is not None]


def round_output(ws: Workspace, round_no: int) -> str | None:
    """The last label version round ``round_no`` wrote: its propagation version when there is one, else
    the version of its answers (None when nothing was applied)."""
    versions = [v.name for v in ws.labels.label_versions() if v.round == round_no and v.kind in ("correction", "propagation")]
    return versions[-1] if versions else ws.ledger.round(round_no).output_version


def propagated_already(ws: Workspace, round_no: int) -> str | None:
    """The propagation version of round ``round_no`` when there is one (a re-run of ``correct --propagate``
    then does nothing more), else None."""
    return next((v.name for v in ws.labels.label_versions() if v.kind == "propagation" and v.round == round_no), None)


def propagate_round(ws: Workspace, round_no: int, stream: Iterable[tuple[str, Any]], *, model: str,
                    threshold: float | str | None = DEFAULT_THRESHOLD, expand: str = "label",
                    settings: LcmSettings = LcmSettings(), agreement: float | None = 0.0) -> PropagationResult:
    """Relabel the never-asked regions of round ``round_no``'s superpixel set that the module is sure
    of, into a new label version whose parent is the round's answers (see the module docstring).

    ``stream``: (image_id, (K, H, W) probs) of the round's model for every image of the split;
    ``model``: what it came from (a checkpoint or prediction folder), recorded with each relabel;
    ``agreement``: the optional fifth rule (:mod:`alc_data.correction.lcm`).
    """
    threshold = check_propagation(threshold, expand)
    agreement = check_agreement(agreement)
    with ws.writing("correct"):
        rnd = ws.ledger.round(round_no)
        if rnd.output_version is None:
            raise Conflict(f"round {round_no} has no applied answers yet; run `{command('correct', '-w', ws.root, '--round', round_no)}` first")
        parent = ws.labels.version().name
        rows = collect_regions(ws, round_no, stream, labels_version=parent, features=settings.features)
        relabels, used = choose_relabels(rows, ws.catalogue.num_classes, threshold=threshold, settings=settings,
                                         agreement=agreement)
        mode = AUTO if threshold == AUTO else "fixed"
        result = PropagationResult(round=round_no, version=None, parent=parent, threshold=used, threshold_mode=mode,
                                   trained_on=len(rows.train_targets), candidates=len(rows.cand_keys),
                                   relabelled=len(relabels), changed_images=0, changed_pixels=0)
        if not relabels:
            return result
        name = ws.labels.next_version_name()
        by_image: dict[str, list[Relabel]] = defaultdict(list)
        for r in relabels:
            by_image[r.image_id].append(r)
        pixels: dict[tuple[str, int], int] = {}
        elsewhere = ws.ledger.asked_regions(through_round=round_no, other_than=rnd.superpixel_set)

        def new_labels() -> Iterator[tuple[str, np.ndarray]]:
            for image_id in sorted(by_image):
                labels, changed = relabel_image(ws.labels.read_label(parent, image_id),
                                                ws.superpixels.read_superpixels(rnd.superpixel_set, image_id),
                                                by_image[image_id], expand=expand,
                                                protected=protected_pixels(ws, image_id, elsewhere.get(image_id)))
                pixels.update({(image_id, r.superpixel_id): n for r, n in zip(by_image[image_id], changed)})
                yield image_id, labels

        def on_commit(con: Any) -> None:
            # a relabel whose every pixel people were asked about changed nothing: no ledger row
            relabels[:] = [r for r in relabels if pixels[(r.image_id, r.superpixel_id)] > 0]
            ws.ledger.record_propagations(con, round_no=round_no, version=name, superpixel_set=rnd.superpixel_set,
                                          relabels=relabels, pixels=pixels, model=model)

        ws.labels.write_version(name, new_labels(), parent=parent, kind="propagation", round=round_no,
                         params={"expand": expand, "threshold": used, "threshold_mode": mode, "model": model,
                                 "seed": settings.seed, "agreement": agreement, "features": str(settings.features)},
                         on_commit=on_commit, stage="propagate")
    return replace(result, version=name, relabelled=len(relabels), changed_images=len({r.image_id for r in relabels}),
                   changed_pixels=int(sum(pixels.values())))

