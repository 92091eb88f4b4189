"""Helpers shared by the detector and SAM loaders: devices, mixed precision, checkpoint checks."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Sequence

from alc_data.errors import InvalidInput, NotFound
from alc_data.io.registered import sha256_file

SAM_HINT = (
    "a SAM ViT-H/L/B .pth from segment-anything's model checkpoints (sam_vit_h_4b8939.pth, sam_vit_l_0b3195.pth, "
    "sam_vit_b_01ec64.pth), a Hugging Face SAM folder, or a hub id such as facebook/sam-vit-huge (resolved "
    "through the Hugging Face cache)"
)
"""What a SAM checkpoint may be, for error messages."""


def resolve_device(device: str | None = "auto") -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``cpu``; AlcError for cuda without a GPU."""
    import torch

    device = (device or "auto").lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidInput(f"--device {device}: no CUDA GPU is visible; use --device cpu or auto")
    if device != "cpu" and not device.startswith("cuda"):
        raise InvalidInput(f"--device {device!r}: use auto, cpu or cuda")
    return device


def autocast(device: str, enabled: bool = True) -> contextlib.AbstractContextManager[object]:
    """Mixed precision (bfloat16) on CUDA; a no-op context on CPU or when disabled."""
    import torch

    if enabled and str(device).startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def quiet_transformers() -> None:
    """Hide transformers' weight-loading progress bars (ours is the one that counts images)."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except Exception:  # noqa: BLE001 - cosmetic only
        pass


def fingerprint_path(path: str | os.PathLike) -> dict[str, Any]:
    """{"path", "sha256"} of a checkpoint file, or of a folder (config.json + weight files)."""
    import hashlib

    p = Path(path).resolve()
    if p.is_file():
        return {"path": str(p), "sha256": sha256_file(p)}
    h = hashlib.sha256()
    files = sorted(
        f for f in p.iterdir() if f.is_file() and (f.name == "config.json" or f.suffix in (".safetensors", ".bin", ".pth"))
    )
    for f in files:
        h.update(f.name.encode() + b"\0" + sha256_file(f).encode() + b"\n")
    return {"path": str(p), "sha256": h.hexdigest(), "files": [f.name for f in files]}


def check_hf_folder(path: Path, model_types: Sequence[str], what: str, hint: str) -> dict[str, Any]:
    """The parsed config.json of a Hugging Face model folder, or AlcError naming what is expected."""
    if not path.exists():
        raise NotFound(f"{path}: {what} not found; expected {hint}")
    if not path.is_dir():
        raise InvalidInput(f"{path}: is a file; expected {hint}")
    cfg_path = path / "config.json"
    if not cfg_path.is_file():
        raise InvalidInput(f"{path}: no config.json in this folder; expected {hint}")
    try:
        cfg = json.loads(cfg_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{cfg_path}: unreadable config ({exc}); re-download {what}") from None
    mtype = cfg.get("model_type") if isinstance(cfg, dict) else None
    if mtype not in model_types:
        raise InvalidInput(f"{cfg_path}: model_type {mtype!r} is not {what} ({', '.join(model_types)}); expected {hint}")
    return cfg


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
