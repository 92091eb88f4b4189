"""The label-correction module (LCM) of A2LC (AAAI 2026): a small classifier, trained on the regions
people answered this round, that relabels regions nobody was asked about where it is very sure.

Everything here works on arrays, one row per region; :mod:`alc_data.correction.propagate` reads them
from a workspace. Notation: K classes; a region's feature f_m is the mean softmax of the round's model
over its pixels (K numbers, A2LC's), optionally followed by K more (:class:`RegionFeatures`); its
majority label y_m is the most frequent current label of its pixels (void included; ties: the smallest
value).

A candidate region m is relabelled to ĉ = argmax ψ(f_m) only when all hold (A2LC's rules):

1. ĉ ≠ y_m;
2. max ψ(f_m) ≥ the threshold (0.99 as A2LC, a list per round, or chosen by :func:`auto_threshold`);
3. ĉ is not among the ⌊K/2⌋ classes with the fewest answered regions this round (they are too rare
   for the module to have learned them);
4. y_m is not the single rarest class (its few pixels are never overwritten).

Ties (beyond A2LC, whose sort breaks them by class index): every class tied for the fewest answered
regions counts as the rarest, and a class with no answered region is also never proposed. A class no
answer of the round names is therefore never proposed and never overwritten: with 5 answers and none
of them a car, breaking the tie by index left cars open to relabelling, and a red-team run lost 11 data
mIoU to car → truck relabels. (Counting every class tied with the ⌊K/2⌋-th fewest as rare too cost
the demo 0.5 data mIoU at R5 and was dropped.)

Beyond A2LC, an optional fifth rule (``agreement`` > 0, ``--propagate-agreement``): the round's own
segmentation model agrees, i.e. ĉ is also the argmax of the feature f_m and f_m[ĉ] ≥ ``agreement``.
The module is trained on the regions the acquisition chose, most of them wrongly labelled, so it is
overconfident on the never-asked ones, most of them right; where the model it reads disagrees with it
(look-alike classes, regions the model calls background) its relabels broke more pixels than they
fixed on the demo (docs/a2lc-table.md).

Unlike A2LC, the module is trained with cross-entropy on its logits (A2LC applies cross-entropy to the
softmax output, i.e. softmax twice) and its confidence is the softmax of the logits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from alc_data.choices import TextChoice
from alc_data.constants import IGNORE_INDEX

HIDDEN = (256, 128, 64)
"""A2LC's MLP: K → 256 → 128 → 64 → K with ReLU."""

AUTO_GRID = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99, 0.995, 0.999)
"""Thresholds :func:`auto_threshold` tries, lowest first."""

AUTO_PRECISION = 0.9
"""``--propagate-threshold auto``: the lowest threshold whose held-out relabels are at least this right."""

AUTO_MIN_RELABELS = 3
"""A threshold's held-out precision counts only when it relabels at least this many regions."""


class RegionFeatures(TextChoice):
    """``--propagate-features``: what the module reads of a region, from the round's probabilities.

    ``mean`` (A2LC's): the mean softmax over the region's pixels (K numbers). ``mean-share``: that and
    the share of the region's pixels the model predicts as each class (2K: a region the model splits
    between two classes is told apart from one it is unsure of everywhere). ``mean-std``: that and the
    standard deviation of each class's probability over the region (2K).
    """

    MEAN = "mean"
    MEAN_SHARE = "mean-share"
    MEAN_STD = "mean-std"


@dataclass(frozen=True)
class LcmSettings:
    """Training settings of the module: A2LC's, except the learning rate (A2LC's 1e-4 is tuned for
    1,000 answered regions a round; on the demo's 58, no region reached confidence 0.9 with it), and the
    region features it reads."""

    epochs: int = 100
    batch_size: int = 8
    lr: float = 1e-3
    seed: int = 0
    features: RegionFeatures = RegionFeatures.MEAN


def region_features(probs: np.ndarray, labels: np.ndarray, superpixels: np.ndarray,
                    kind: RegionFeatures = RegionFeatures.MEAN) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per region of one image: ``(ids (R,) int64, features (R, K) or (R, 2K) float64, majority (R,)
    int64, area (R,) int64)``.

    ``probs`` (K, H, W) softmax; ``labels`` (H, W) uint8 current labels; ``superpixels`` (H, W) int
    (ids < 0: no region). The first K feature columns are the mean of ``probs`` over the region's
    pixels; ``kind`` adds K more (:class:`RegionFeatures`). The majority is :func:`region_majority`.
    """
    sp = np.asarray(superpixels).ravel()
    keep = sp >= 0
    ids, seg, area = np.unique(sp[keep], return_inverse=True, return_counts=True)
    K = probs.shape[0]
    flat = np.asarray(probs).reshape(K, -1)[:, keep]

    def region_mean(values: np.ndarray) -> np.ndarray:
        sums = np.stack([np.bincount(seg, weights=values[k], minlength=len(ids)) for k in range(K)], axis=1)
        return sums.astype(np.float64) / area[:, None]

    features = region_mean(flat)
    if kind == RegionFeatures.MEAN_SHARE:
        share = np.bincount(seg * K + flat.argmax(axis=0), minlength=len(ids) * K).reshape(len(ids), K)
        features = np.hstack([features, share / area[:, None]])
    elif kind == RegionFeatures.MEAN_STD:
        second = region_mean(flat.astype(np.float64) ** 2)
        features = np.hstack([features, np.sqrt(np.maximum(second - features ** 2, 0.0))])
    return ids.astype(np.int64), features, region_majority(labels, superpixels), area.astype(np.int64)


def region_majority(labels: np.ndarray, superpixels: np.ndarray) -> np.ndarray:
    """(R,) int64 most frequent label value of each region, in increasing id order (``IGNORE_INDEX``
    included; ties: the smallest value)."""
    sp = np.asarray(superpixels).ravel()
    keep = sp >= 0
    _, seg = np.unique(sp[keep], return_inverse=True)
    lab = np.asarray(labels).ravel()[keep].astype(np.int64)
    n = int(seg.max()) + 1 if seg.size else 0
    votes = np.bincount(seg * (IGNORE_INDEX + 1) + lab, minlength=n * (IGNORE_INDEX + 1))
    return votes.reshape(n, IGNORE_INDEX + 1).argmax(axis=1).astype(np.int64)


def class_weights(targets: np.ndarray, num_classes: int) -> np.ndarray:
    """(K,) float32 loss weights ∝ 1 / (answered regions per class), normalised to sum 1 (0 for a
    class with no answered region), as A2LC."""
    counts = np.bincount(targets, minlength=num_classes)[:num_classes].astype(np.float64)
    inv = np.where(counts > 0, counts.sum() / np.maximum(counts, 1), 0.0)
    return (inv / inv.sum()).astype(np.float32) if inv.sum() > 0 else inv.astype(np.float32)


def rare_classes(targets: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(the classes never proposed, the classes never overwritten): A2LC's ⌊K/2⌋ classes with the fewest
    answered regions and every class with none; every class tied for the fewest (module docstring)."""
    counts = np.bincount(targets, minlength=num_classes)[:num_classes]
    fewest = np.argsort(counts, kind="stable")[: num_classes // 2]  # A2LC's rarest half (ties: class index)
    rare = np.union1d(fewest, np.flatnonzero(counts == 0))
    return rare, np.flatnonzero(counts == counts.min())


class LabelCorrectionModule:
    """The trained MLP ψ: :meth:`predict` gives (confidence, class) per feature row."""

    def __init__(self, net: Any, num_classes: int) -> None:
        self.net = net
        self.num_classes = num_classes

    @classmethod
    def train(cls, features: np.ndarray, targets: np.ndarray, num_classes: int,
              settings: LcmSettings = LcmSettings()) -> "LabelCorrectionModule":
        """Fit ψ on (n, d) features (d = K or 2K) and (n,) target classes 0..K-1 (deterministic for
        ``settings.seed`` on CPU)."""
        import torch

        gen = torch.Generator().manual_seed(settings.seed)
        torch.manual_seed(settings.seed)
        sizes = (np.shape(features)[1], *HIDDEN)
        layers: list[Any] = []
        for a, b in zip(sizes, sizes[1:]):
            layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        net = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-1], num_classes)).double()
        x = torch.as_tensor(np.asarray(features, np.float64))
        y = torch.as_tensor(np.asarray(targets, np.int64))
        weight = torch.as_tensor(class_weights(np.asarray(targets), num_classes), dtype=torch.float64)
        loss_fn = torch.nn.CrossEntropyLoss(weight=weight)
        opt = torch.optim.Adam(net.parameters(), lr=settings.lr)
        net.train()
        for _ in range(settings.epochs):
            for batch in torch.randperm(len(y), generator=gen).split(settings.batch_size):
                opt.zero_grad()
                loss_fn(net(x[batch]), y[batch]).backward()
                opt.step()
        net.eval()
        return cls(net, num_classes)

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(confidence (n,) float64, class (n,) int64) for (n, d) features."""
        import torch

        if len(features) == 0:
            return np.zeros(0), np.zeros(0, np.int64)
        with torch.no_grad():
            p = torch.softmax(self.net(torch.as_tensor(np.asarray(features, np.float64))), dim=1)
            conf, cls = p.max(dim=1)
        return conf.numpy(), cls.numpy().astype(np.int64)


def relabel_mask(confidence: np.ndarray, proposed: np.ndarray, majority: np.ndarray, *, threshold: float,
                 rare: np.ndarray, rarest: np.ndarray, features: np.ndarray | None = None,
                 agreement: float = 0.0) -> np.ndarray:
    """(n,) bool: the candidates that pass A2LC's four rules and, with ``agreement`` > 0, the model's
    agreement on their (n, K) mean softmax ``features`` (module docstring)."""
    keep = ((proposed != majority) & (confidence >= threshold) & ~np.isin(proposed, rare)
            & ~np.isin(majority, rarest))
    return keep & agrees(features, proposed, agreement) if agreement > 0 else keep


def agrees(features: np.ndarray | None, proposed: np.ndarray, agreement: float) -> np.ndarray:
    """(n,) bool: the proposal is the argmax of the region's mean softmax (``features`` (n, K): the first
    K columns of the module's features) and holds at least ``agreement`` of it."""
    if features is None:
        raise ValueError("the agreement rule needs the candidates' features")
    f = np.asarray(features, np.float64)
    return (f.argmax(axis=1) == proposed) & (f[np.arange(len(proposed)), proposed] >= agreement)


def auto_threshold(features: np.ndarray, targets: np.ndarray, before: np.ndarray, num_classes: int,
                   settings: LcmSettings = LcmSettings(), *, folds: int = 3, precision: float = AUTO_PRECISION,
                   agreement: float = 0.0) -> tuple[float | None, dict[float, tuple[int, int]]]:
    """The lowest threshold of :data:`AUTO_GRID` whose relabels, on held-out folds of this round's
    answered regions, are at least ``precision`` right.

    ``features`` (n, K) and ``targets`` (n,): the answered regions and their answered majority class;
    ``before`` (n,): their majority label before the answers (what a relabel would have changed).
    Each fold's module is trained on the other folds; a held-out region is relabelled when it passes
    the rules of :func:`relabel_mask` with the fold's rare classes (and ``agreement``), and is right
    when the proposal is the answered class. Returns ``(threshold or None when no threshold reaches the precision,
    {threshold: (relabelled, right)})``.
    """
    n = len(targets)
    order = np.random.default_rng(settings.seed).permutation(n)
    conf = np.zeros(n)
    prop = np.zeros(n, np.int64)
    rare_of = np.zeros((n, num_classes), bool)  # per held-out region, its fold's rare / rarest classes
    rarest_of = np.zeros((n, num_classes), bool)
    for f in range(min(folds, n)):
        held = order[f::folds]
        train = np.setdiff1d(order, held)
        if len(train) == 0:
            continue
        module = LabelCorrectionModule.train(features[train], targets[train], num_classes, settings)
        conf[held], prop[held] = module.predict(features[held])
        rare, rarest = rare_classes(targets[train], num_classes)
        rare_of[np.ix_(held, rare)] = True
        rarest_of[np.ix_(held, rarest)] = True
    # the rules of relabel_mask, each held-out region with its own fold's rare classes
    rows = np.arange(n)
    overwritten = np.zeros(n, bool)
    known = before < num_classes  # a void majority is no class
    overwritten[known] = rarest_of[rows[known], before[known]]
    allowed = (prop != before) & ~rare_of[rows, prop] & ~overwritten
    if agreement > 0:
        allowed &= agrees(features[:, :num_classes], prop, agreement)
    table: dict[float, tuple[int, int]] = {}
    for t in AUTO_GRID:
        hit = allowed & (conf >= t)
        table[t] = (int(hit.sum()), int((hit & (prop == targets)).sum()))
    for t in AUTO_GRID:
        done, right = table[t]
        if done >= AUTO_MIN_RELABELS and right >= precision * done:
            return t, table
    return None, table
