"""Data mIoU (a label version against the reference ground truth) and model mIoU (predictions)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import numpy as np

from alc_data.errors import InvalidInput, NotFound
from alc_data.evaluate.metrics import GroundTruthConfusion
from alc_data.predict import iter_logits
from alc_data.progress import track
from alc_data.results import JsonResult

if TYPE_CHECKING:
    from alc_data.workspace import Workspace


@dataclass(frozen=True)
class MiouResult(JsonResult):
    """A data mIoU (``kind="data"``, of label ``version``) or model mIoU (``kind="model"``, of
    ``checkpoint`` when a path was given) against the reference ground truth.

    ``miou``, ``per_class`` (None for absent classes) and ``pixel_accuracy`` are in percent;
    ``coverage`` (share of pixels counted) and ``skipped`` (1 − coverage) are fractions 0..1;
    ``images`` counts the evaluated images, ``images_without_gt`` those of the split left out.
    :meth:`to_dict` names the mIoU ``data_miou`` or ``model_miou`` as well as ``miou``, and shows
    ``version`` (data) or ``checkpoint`` (model), not both.
    """

    kind: str
    split: str | None
    miou: float | None
    pixel_accuracy: float | None
    coverage: float
    skipped: float
    pixels: int
    evaluated_pixels: int
    per_class: tuple[float | None, ...]
    class_names: tuple[str, ...]
    images: int
    images_without_gt: int
    version: str | None = None
    checkpoint: str | None = None

    def json_keys(self) -> tuple[str, ...]:
        head = ("kind", "checkpoint" if self.kind == "model" else "version", "split", f"{self.kind}_miou=miou")
        shown = {h.partition("=")[0] for h in head} | {"version", "checkpoint"}
        return (*head, *(f.name for f in fields(self) if f.name not in shown))


def _gt_ids(ws: Workspace, split: str | None, what: str) -> list[str]:
    ids = ws.catalogue.image_ids(split)
    if not ids:
        raise InvalidInput(f"split {split!r} has no images to evaluate")
    with_gt = [i for i in ids if ws.catalogue.has_gt(i)]
    if not with_gt:
        where = "this workspace" if split is None else f"split {split!r}"
        raise NotFound(
            f"{what} needs reference ground truth, and no image of {where} has any "
            "(ingest a dataset with its annotation, e.g. --labels-from FOLDER keeps it as ground truth)"
        )
    return with_gt


def _against_gt(
    ws: Workspace, maps: Iterable[tuple[str, np.ndarray, str]], ids: list[str], split: str | None, head: dict[str, Any]
) -> MiouResult:
    """Accumulate one confusion matrix over ``maps`` — (image_id, (H, W) uint8, what) — against the
    reference ground truth and report it with ``head`` (kind, version or checkpoint)."""
    confusion = GroundTruthConfusion(ws.catalogue.num_classes)
    for image_id, labels, what in maps:
        confusion.add(labels, ws.catalogue.read_gt(image_id), f"{what} of {image_id!r}")
    res = confusion.scores(class_names=ws.catalogue.class_names)
    res["per_class"], res["class_names"] = tuple(res["per_class"]), tuple(res["class_names"])
    return MiouResult(**head, split=split, **res, images=len(ids), images_without_gt=len(ws.catalogue.image_ids(split)) - len(ids))


def data_miou(ws: Workspace, version: str | None = None, *, split: str | None = None) -> MiouResult:
    """mIoU of label version ``version`` (default: latest) against the reference ground truth.

    Over the images of ``split`` (None: all) that have ground truth. Pixels that either side marks
    IGNORE_INDEX are skipped. Returns a :class:`MiouResult` of kind ``"data"``: ``miou`` (percent),
    ``per_class`` (percent, None for absent classes), ``class_names``, ``pixel_accuracy`` (percent),
    ``coverage`` (share of pixels counted, 0..1), ``skipped`` (1 − coverage), ``pixels``,
    ``evaluated_pixels``, ``images`` (evaluated), ``images_without_gt``, ``version``, ``split``.
    """
    name = ws.labels.version(version).name
    ids = _gt_ids(ws, split, "data mIoU")
    maps = ((i, ws.labels.read_label(name, i), f"labels in {name}") for i in track(ids, f"data mIoU of {name}"))
    return _against_gt(ws, maps, ids, split, {"kind": "data", "version": name})


def model_miou(
    ws: Workspace,
    checkpoint_or_model: Any,
    *,
    split: str | None = "val",
    batch_size: int = 4,
    device: Any = None,
) -> MiouResult:
    """mIoU of a model's predictions on ``split`` against the reference ground truth.

    ``checkpoint_or_model``: an alc-data checkpoint path or a model. A :class:`MiouResult` of kind
    ``"model"``, with ``checkpoint`` (the path, when one was given) instead of ``version``.
    """
    ids = _gt_ids(ws, split, "model mIoU")
    checkpoint = str(checkpoint_or_model) if isinstance(checkpoint_or_model, (str, os.PathLike)) else None
    name = checkpoint or str(getattr(checkpoint_or_model, "alc_model_name", type(checkpoint_or_model).__name__))
    stream = finite_predictions(iter_logits(ws, checkpoint_or_model, ids, batch_size=batch_size, device=device), name)
    maps = ((i, pred, "prediction") for i, pred in track(stream, f"model mIoU on {split}", total=len(ids)))
    return _against_gt(ws, maps, ids, split, {"kind": "model", "checkpoint": checkpoint})


def finite_predictions(logits: Iterable[tuple[str, Any]], model: str) -> Iterator[tuple[str, np.ndarray]]:
    """(image_id, (H, W) uint8 argmax class map) of each (image_id, (K, H, W) logits); InvalidInput
    naming ``model`` and the image when the logits hold NaN or inf (a broken model has no mIoU)."""
    import torch

    for image_id, scores in logits:
        with torch.no_grad():
            bad = int((~torch.isfinite(scores)).sum())
            if bad:
                raise InvalidInput(
                    f"{model}: model outputs hold NaN or inf at {bad} value{'s' if bad != 1 else ''} of {image_id!r}; "
                    "the model is broken (a diverged training?): retrain it, e.g. with a lower --lr"
                )
            pred = scores.argmax(dim=0)
        yield image_id, pred.to(torch.uint8).cpu().numpy()


def evaluate_labels_or_model(
    ws: Workspace,
    *,
    version: str | None = None,
    checkpoint: str | os.PathLike | None = None,
    split: str | None = None,
    batch_size: int = 4,
    device: Any = "auto",
) -> MiouResult:
    """``alc-data eval``: :func:`model_miou` of ``checkpoint`` on ``split`` (default ``val``) when one
    is given, else :func:`data_miou` of label ``version`` (which a model evaluation does not take:
    :class:`alc_data.stages.evaluate.EvaluateOptions` refuses both)."""
    if checkpoint is None:
        return data_miou(ws, version, split=split)
    return model_miou(ws, checkpoint, split=split or "val", batch_size=batch_size, device=device)
