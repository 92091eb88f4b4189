"""Prediction: softmax probabilities at full image resolution, streamed one image at a time.

``iter_probabilities(ws, checkpoint, image_ids)`` yields ``(image_id, probs)`` with ``probs`` a
(K, H, W) float32 ``torch.Tensor`` on the model's device (``as_numpy=True`` gives numpy arrays),
summing to 1 over K at every pixel. Images are batched by padding to the largest size in the batch
(rounded up to the model's input multiple; the padding is the mean colour) and the logits are
cropped back, so every image gets probabilities at its own size. Nothing dataset-wide is kept: the
memory is one batch of logits.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence, cast

import numpy as np

from alc_data.errors import InvalidInput
from alc_data.models import build_model, input_multiple, select_device
from alc_data.train.checkpoint import check_checkpoint_classes, read_checkpoint
from alc_data.train.data import normalize_image

if TYPE_CHECKING:  # pragma: no cover
    from alc_data.workspace import Workspace
    import torch


def load_model(checkpoint: str | os.PathLike, *, device: "str | torch.device | None" = None) -> tuple["torch.nn.Module", dict[str, Any]]:
    """Build the model saved in an alc-data checkpoint, load its weights, move it to ``device``
    (default: CUDA when available) in eval mode. Returns (model, meta): meta holds ``model_name``,
    ``num_classes``, ``class_names``, ``iteration``, ``label_version``, ``split``, ``config`` and
    ``path``."""
    path = Path(checkpoint)
    ckpt = read_checkpoint(path)
    try:
        model = build_model(str(ckpt["model_name"]), int(ckpt["num_classes"]), model_config=ckpt.get("model_config"))
        model.load_state_dict(ckpt["model"])
    except KeyError as exc:
        raise InvalidInput(f"{path}: checkpoint lacks {exc}; it is incomplete, retrain the model") from None
    except RuntimeError as exc:
        raise InvalidInput(f"{path}: weights do not fit model {ckpt['model_name']} ({str(exc).splitlines()[0]})") from None
    model.to(select_device(device)).eval()
    meta = {k: v for k, v in ckpt.items() if k not in ("model", "optimizer", "scheduler", "scaler", "rng", "losses")}
    meta["path"] = str(path)
    return model, meta


def _collate(items: list[tuple[int, np.ndarray, int]]) -> tuple[list[int], torch.Tensor, list[tuple[int, int]]]:
    """Pad (3, H, W) float32 images to one size (bottom/right, zeros = mean colour)."""
    import torch

    multiple = items[0][2]
    hs = [a.shape[1] for _, a, _ in items]
    ws = [a.shape[2] for _, a, _ in items]
    H = -(-max(hs) // multiple) * multiple
    W = -(-max(ws) // multiple) * multiple
    batch = torch.zeros((len(items), 3, H, W), dtype=torch.float32)
    for j, (_, a, _) in enumerate(items):
        batch[j, :, : a.shape[1], : a.shape[2]] = torch.from_numpy(a)
    return [i for i, _, _ in items], batch, list(zip(hs, ws))


class _Images:
    def __init__(self, ws: Workspace, image_ids: Sequence[str], multiple: int) -> None:
        self.ws = ws
        self.image_ids = list(image_ids)
        self.multiple = multiple

    def __len__(self) -> int:
        return len(self.image_ids)

    def __getitem__(self, index: int) -> tuple[int, np.ndarray, int]:
        return index, normalize_image(self.ws.catalogue.load_image(self.image_ids[index])), self.multiple


def _resolve_model(
    ws: Workspace, model_or_checkpoint: torch.nn.Module | str | os.PathLike, device: str | torch.device | None
) -> tuple[torch.nn.Module, str]:
    import torch

    if isinstance(model_or_checkpoint, torch.nn.Module):
        model = model_or_checkpoint
        if device is not None:
            model.to(select_device(device))
        name = getattr(model, "alc_model_name", type(model).__name__)
    else:
        model, meta = load_model(model_or_checkpoint, device=device)
        name = f"{meta['model_name']} ({meta['path']})"
        check_checkpoint_classes(meta, meta["path"], ws.catalogue.class_names)
    return model, name


def iter_logits(
    ws: Workspace,
    model_or_checkpoint: Any,
    image_ids: Sequence[str],
    *,
    batch_size: int = 4,
    device: "str | torch.device | None" = None,
    num_workers: int = 0,
) -> Iterator[tuple[str, "torch.Tensor"]]:
    """Yield (image_id, (K, H, W) float32 logits at full resolution) on the model's device."""
    import torch
    import torch.nn.functional as F

    if int(batch_size) < 1:
        raise InvalidInput(f"batch_size must be ≥ 1, got {batch_size}")
    image_ids = list(image_ids)
    if not image_ids:
        return
    model, name = _resolve_model(ws, model_or_checkpoint, device)
    dev = next(model.parameters()).device
    amp = dev.type == "cuda"
    images = cast("torch.utils.data.Dataset[Any]", _Images(ws, image_ids, input_multiple(model)))  # map-style by duck typing
    loader = torch.utils.data.DataLoader(
        images,
        batch_size=int(batch_size),
        shuffle=False,
        num_workers=int(num_workers),
        collate_fn=_collate,
        pin_memory=amp,
    )
    was_training = model.training
    model.eval()
    try:
        for indices, batch, sizes in loader:
            with torch.no_grad():
                x = batch.to(dev, non_blocking=amp)
                with torch.autocast(device_type=dev.type, dtype=torch.float16, enabled=amp):
                    logits = model(x)
                logits = logits.float()
                if logits.shape[-2:] != x.shape[-2:]:
                    logits = F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)
                if logits.shape[1] != ws.catalogue.num_classes:
                    raise InvalidInput(f"model {name} outputs {logits.shape[1]} classes, the workspace has {ws.catalogue.num_classes}")
            for j, (index, (h, w)) in enumerate(zip(indices, sizes)):
                yield image_ids[index], logits[j, :, :h, :w]
            del logits, x
    finally:
        model.train(was_training)


def iter_probabilities(
    ws: Workspace,
    model_or_checkpoint: Any,
    image_ids: Sequence[str],
    *,
    batch_size: int = 4,
    device: "str | torch.device | None" = None,
    num_workers: int = 0,
    as_numpy: bool = False,
) -> Iterator[tuple[str, Any]]:
    """Yield (image_id, probs) for ``image_ids`` in order, one image at a time.

    ``probs``: (K, H, W) float32 softmax probabilities at the image's full resolution, a
    ``torch.Tensor`` on the model's device (numpy with ``as_numpy=True``). ``model_or_checkpoint``:
    an alc-data checkpoint path (loaded on ``device``, default CUDA when available) or a model
    (used on its own device, or moved to ``device`` when given). Mixed precision on CUDA.
    """
    import torch

    for image_id, logits in iter_logits(ws, model_or_checkpoint, image_ids, batch_size=batch_size,
                                        device=device, num_workers=num_workers):
        with torch.no_grad():
            probs = torch.softmax(logits, dim=0).contiguous()
        yield image_id, probs.cpu().numpy() if as_numpy else probs


def iter_predictions(
    ws: Workspace,
    model_or_checkpoint: Any,
    image_ids: Sequence[str],
    *,
    batch_size: int = 4,
    device: "str | torch.device | None" = None,
    num_workers: int = 0,
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (image_id, (H, W) uint8 argmax class map) at full resolution (ties: smallest index)."""
    import torch

    for image_id, logits in iter_logits(ws, model_or_checkpoint, image_ids, batch_size=batch_size,
                                        device=device, num_workers=num_workers):
        with torch.no_grad():
            pred = logits.argmax(dim=0)
        yield image_id, pred.to(torch.uint8).cpu().numpy()
