"""Checkpoints: one file per state, written atomically, read with a one-line error when broken.

A checkpoint is a dict saved with ``torch.save``:

- ``format`` (:data:`CHECKPOINT_FORMAT`), ``model_name``, ``num_classes``, ``class_names``,
  ``model`` (state dict), ``iteration``, ``total_iterations``, ``label_version``, ``split``,
  ``config`` (the TrainConfig as a dict), ``losses`` (per-iteration training loss), ``seconds``,
  ``model_config`` (the architecture as JSON for transformers models, else None);
- full checkpoints (``last.pt``) add ``optimizer``, ``scheduler``, ``scaler`` and ``rng`` (torch
  CPU and CUDA generator states) so a training resumes exactly.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from alc_data.errors import AlcError

CHECKPOINT_FORMAT = "alc-data/segmentation-checkpoint/1"
LAST = "last.pt"
FINAL = "final.pt"


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """``torch.save`` to a temp file beside ``path``, then rename: never a half-written file."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save({"format": CHECKPOINT_FORMAT, **payload}, fh)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint written by alc-data (tensors on CPU); AlcError naming the file otherwise."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise AlcError(f"{path}: model checkpoint not found; train one with `alc-data train`")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch.load raises many types on a corrupt file
        raise AlcError(f"{path}: cannot read the model checkpoint ({type(exc).__name__}); it is corrupt or not an alc-data checkpoint") from None
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise AlcError(f"{path}: not an alc-data model checkpoint (train one with `alc-data train`)")
    return data
