"""Data mIoU (a label version against the reference ground truth) and model mIoU (predictions)."""

from __future__ import annotations

import os
from typing import Any

from alc_data.errors import AlcError, InvalidInput
from alc_data.evaluate.metrics import GroundTruthConfusion


def _gt_ids(ws, split: str | None, what: str) -> list[str]:
    ids = ws.image_ids(split)
    if not ids:
        raise AlcError(f"split {split!r} has no images to evaluate")
    with_gt = [i for i in ids if ws.has_gt(i)]
    if not with_gt:
        where = "this workspace" if split is None else f"split {split!r}"
        raise AlcError(
            f"{what} needs reference ground truth, and no image of {where} has any "
            "(ingest a dataset with its annotation, e.g. --labels-from FOLDER keeps it as ground truth)"
        )
    return with_gt


def _against_gt(ws, maps, ids: list[str], split: str | None, key: str, head: dict[str, Any]) -> dict[str, Any]:
    """Accumulate one confusion matrix over ``maps`` — (image_id, (H, W) uint8, what) — against the
    reference ground truth and report it with ``key`` (data_miou / model_miou) = mIoU."""
    confusion = GroundTruthConfusion(ws.num_classes)
    for image_id, labels, what in maps:
        confusion.add(labels, ws.read_gt(image_id), f"{what} of {image_id!r}")
    res = confusion.scores(class_names=ws.class_names)
    return {**head, key: res["miou"], **res, "images": len(ids), "images_without_gt": len(ws.image_ids(split)) - len(ids)}


def data_miou(ws, version: str | None = None, *, split: str | None = None) -> dict[str, Any]:
    """mIoU of label version ``version`` (default: latest) against the reference ground truth.

    Over the images of ``split`` (None: all) that have ground truth. Pixels that either side marks
    IGNORE_INDEX are skipped. Returns ``data_miou`` (= ``miou``, percent), ``per_class`` (percent,
    None for absent classes), ``class_names``, ``pixel_accuracy`` (percent), ``coverage`` (share of
    pixels counted, 0..1), ``skipped`` (1 − coverage), ``pixels``, ``evaluated_pixels``,
    ``images`` (evaluated), ``images_without_gt``, ``version``, ``split``.
    """
    from alc_data.progress import track

    name = ws.version(version).name
    ids = _gt_ids(ws, split, "data mIoU")
    maps = ((i, ws.read_label(name, i), f"labels in {name}") for i in track(ids, f"data mIoU of {name}"))
    return _against_gt(ws, maps, ids, split, "data_miou", {"kind": "data", "version": name, "split": split})


def model_miou(
    ws,
    checkpoint_or_model: Any,
    *,
    split: str | None = "val",
    batch_size: int = 4,
    device: Any = None,
) -> dict[str, Any]:
    """mIoU of a model's predictions on ``split`` against the reference ground truth.

    ``checkpoint_or_model``: an alc-data checkpoint path or a model. Same fields as
    :func:`data_miou`, with ``model_miou`` instead of ``data_miou`` and ``checkpoint`` (the path,
    when one was given) instead of ``version``.
    """
    from alc_data.predict import iter_predictions
    from alc_data.progress import track

    ids = _gt_ids(ws, split, "model mIoU")
    stream = iter_predictions(ws, checkpoint_or_model, ids, batch_size=batch_size, device=device)
    maps = ((i, pred, "prediction") for i, pred in track(stream, f"model mIoU on {split}", total=len(ids)))
    checkpoint = str(checkpoint_or_model) if isinstance(checkpoint_or_model, (str, os.PathLike)) else None
    return _against_gt(ws, maps, ids, split, "model_miou", {"kind": "model", "checkpoint": checkpoint, "split": split})


def evaluate_labels_or_model(
    ws,
    *,
    version: str | None = None,
    checkpoint: str | os.PathLike | None = None,
    split: str | None = None,
    batch_size: int = 4,
    device: Any = "auto",
) -> Any:
    """``alc-data eval``: :func:`model_miou` of ``checkpoint`` on ``split`` (default ``val``) when one
    is given, else :func:`data_miou` of label ``version`` (which a model evaluation does not take)."""
    if checkpoint is None:
        return data_miou(ws, version, split=split)
    if version is not None:
        raise InvalidInput("--version applies to data mIoU; drop it when evaluating a --model")
    return model_miou(ws, checkpoint, split=split or "val", batch_size=batch_size, device=device)
