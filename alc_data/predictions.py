"""Probabilities from any model: one file per image, or an iterable, checked and streamed into scoring.

A prediction folder holds one file per image of the scored split, ``<image_id>.npy`` or
``<image_id>.npz`` (one array, or the member ``probs`` / ``probabilities`` / ``logits``): a (K, H, W)
float16 or float32 array at the image's own size, softmax probabilities (or logits, with
``logits=True``: softmax over K is applied here). :func:`open_prediction_folder` reads every file's
header first (shape and dtype, no data) so a missing or wrong file is a one-line error before any work
is registered; then the arrays are read one image at a time. :func:`save_prediction` writes such a file
from any framework's output.

Python callers with their own model skip the files: :func:`alc_data.score_round.score_probabilities` takes an iterable of
``(image_id, probs)`` ((K, H, W) numpy arrays or torch tensors) and scores a round from it.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import numpy as np

from alc_data.errors import InvalidInput, NotFound
from alc_data.io.atomic import atomic_write_bytes

if TYPE_CHECKING:
    from alc_data.workspace import Workspace

SUFFIXES = (".npy", ".npz")
#: npz members read when a file holds several arrays (first match)
NPZ_KEYS = ("probs", "probabilities", "logits")
DTYPES = (np.dtype(np.float16), np.dtype(np.float32))
#: largest |Σ_k p_k − 1| accepted at a pixel for probabilities (float16 files round to ~1e-3)
SUM_TOLERANCE = 1e-2


@dataclass(frozen=True)
class PredictionFile:
    """One checked prediction file: its image, path, npz member (None for .npy), shape and dtype."""

    image_id: str
    path: Path
    member: str | None
    shape: tuple[int, ...]
    dtype: np.dtype


def _npz_member(path: Path, names: list[str]) -> str:
    arrays = [n[:-4] if n.endswith(".npy") else n for n in names]
    if len(arrays) == 1:
        return names[0]
    for key in NPZ_KEYS:
        if key in arrays:
            return names[arrays.index(key)]
    raise InvalidInput(f"{path}: holds {len(arrays)} arrays ({', '.join(arrays[:5])}); keep one, or name it 'probs'")


def read_header(path: Path) -> tuple[str | None, tuple[int, ...], np.dtype]:
    """(npz member or None, shape, dtype) of a .npy / .npz file, reading only its header."""
    try:
        if path.suffix == ".npy":
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
            return None, tuple(arr.shape), arr.dtype
        with zipfile.ZipFile(path) as zf:
            member = _npz_member(path, zf.namelist())
            with zf.open(member) as fh:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
            return member, tuple(shape), np.dtype(dtype)
    except InvalidInput:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InvalidInput(f"{path}: not a readable numpy {path.suffix} file ({type(exc).__name__}); rewrite it with numpy") from None


def find_prediction_file(folder: Path, image_id: str) -> Path:
    """``folder/<image_id>.npy`` or ``.npz`` (exactly one of them)."""
    found = [folder / f"{image_id}{s}" for s in SUFFIXES if (folder / f"{image_id}{s}").is_file()]
    if not found:
        raise NotFound(f"{folder / image_id}.npy (or .npz): no predictions for image {image_id!r}; "
                       "write one file per image of the scored split")
    if len(found) > 1:
        raise InvalidInput(f"{found[0]} and {found[1].name} both exist; keep one prediction file per image")
    return found[0]


def check_every_image_has_a_file(folder: Path, image_ids: Sequence[str]) -> None:
    """NotFound naming the first image without ``<image_id>.npy`` / ``.npz``, how many lack one, and a
    file of that image in another format (``.png``, ``.pt``: not read)."""
    import glob

    missing = [i for i in image_ids if not any((folder / f"{i}{s}").is_file() for s in SUFFIXES)]
    if not missing:
        return
    first = missing[0]
    others = sorted(p.name for p in folder.glob(f"{glob.escape(first)}.*") if p.is_file())
    found = f"; found {', '.join(others[:3])}, but only .npy and .npz are read" if others else ""
    raise NotFound(f"{folder / first}.npy (or .npz): no predictions for image {first!r} ({len(missing)} of the "
                   f"{len(image_ids)} images scored have none){found}; write one (K, H, W) file per image")


def scan_prediction_folder(ws: Workspace, folder: str | os.PathLike, image_ids: Sequence[str]) -> list[PredictionFile]:
    """Check every image's file header (presence, dtype, (K, H, W) against the workspace); no data read."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NotFound(f"{folder}: prediction folder not found; pass a folder of <image_id>.npy / .npz files")
    check_every_image_has_a_file(folder, image_ids)
    k = ws.catalogue.num_classes
    out = []
    for image_id in image_ids:
        path = find_prediction_file(folder, image_id)
        member, shape, dtype = read_header(path)
        rec = ws.catalogue.image_record(image_id)
        want = (k, int(rec.height), int(rec.width))
        if dtype not in DTYPES:
            raise InvalidInput(f"{path}: dtype {dtype}; write float16 or float32")
        if shape != want:
            raise InvalidInput(f"{path}: expected shape (K, H, W) = {want} (K classes, the image's size), got {shape}")
        out.append(PredictionFile(image_id, path, member, shape, dtype))
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over axis 0 of (K, H, W) logits, float32, numerically stable."""
    x = np.asarray(logits, dtype=np.float32)
    x = x - x.max(axis=0, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=0, keepdims=True)
    return x


def probabilities_from_logits(logits: Any, what: str, *, flag: str = "--logits") -> np.ndarray:
    """Softmax over K of (K, H, W) logits (numpy array or torch tensor), float32; one-line InvalidInput
    naming ``what`` when they hold NaN or inf, or when they already are probabilities (every value in
    [0, 1], every pixel summing to 1: softmax would flatten them, a silent wrong score), telling to drop
    ``flag``."""
    arr = np.asarray(logits.detach().float().cpu().numpy() if hasattr(logits, "detach") else logits)
    if arr.dtype.kind != "f":
        raise InvalidInput(f"{what}: dtype {arr.dtype}; give float logits")
    if not np.isfinite(arr).all():
        raise InvalidInput(f"{what}: contains NaN or inf; fix the model output")
    if arr.size and float(arr.min()) >= 0 and float(arr.max()) <= 1 and \
            float(np.abs(arr.sum(0, dtype=np.float32) - 1).max()) <= SUM_TOLERANCE:
        raise InvalidInput(f"{what}: holds probabilities (every pixel sums to 1), not logits; drop {flag}")
    return softmax(arr)


def check_probabilities(probs: Any, what: str, *, shape: tuple[int, ...] | None = None) -> None:
    """(K, H, W) of the expected ``shape``, finite, non-negative, summing to 1 over K (± SUM_TOLERANCE).

    ``probs``: numpy array or torch tensor; ``what`` names the source in the error.
    """
    got = tuple(probs.shape)
    if shape is not None and got != tuple(shape):
        raise InvalidInput(f"{what}: expected shape (K, H, W) = {tuple(shape)}, got {got}")
    if hasattr(probs, "detach"):  # torch: check where it lives
        import torch

        p = probs.detach()
        if not p.is_floating_point():
            raise InvalidInput(f"{what}: dtype {p.dtype}; give float probabilities")
        finite = bool(torch.isfinite(p).all())
        low = float(p.min()) if finite else 0.0
        dev = float((p.float().sum(0) - 1).abs().max()) if finite else 0.0
    else:
        p = np.asarray(probs)
        if p.dtype.kind != "f":
            raise InvalidInput(f"{what}: dtype {p.dtype}; give float probabilities")
        finite = bool(np.isfinite(p).all())
        low = float(p.min()) if finite else 0.0
        dev = float(np.abs(p.sum(0, dtype=np.float32) - 1).max()) if finite else 0.0
    if not finite:
        raise InvalidInput(f"{what}: contains NaN or inf; fix the model output")
    if low < -1e-3 or dev > SUM_TOLERANCE:
        raise InvalidInput(
            f"{what}: not probabilities (min {low:.3g}, per-pixel sum off by up to {dev:.3g}); "
            "give softmax probabilities, or pass --logits / logits=True for raw scores"
        )


def _load(pf: PredictionFile) -> np.ndarray:
    try:
        if pf.member is None:
            return np.load(pf.path, allow_pickle=False)
        with np.load(pf.path, allow_pickle=False) as npz:
            return npz[pf.member[:-4] if pf.member.endswith(".npy") else pf.member]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InvalidInput(f"{pf.path}: cannot read the array ({type(exc).__name__}); rewrite the file") from None


def open_prediction_folder(
    ws: Workspace, folder: str | os.PathLike, image_ids: Sequence[str], *, logits: bool = False
) -> Iterator[tuple[str, np.ndarray]]:
    """Check all headers now (one-line error naming the file), then yield (image_id, (K, H, W) float32
    probabilities) one image at a time; NaN/inf or non-probabilities → error naming the file."""
    files = scan_prediction_folder(ws, folder, image_ids)

    def stream() -> Iterator[tuple[str, np.ndarray]]:
        for pf in files:
            arr = _load(pf)
            probs = probabilities_from_logits(arr, str(pf.path)) if logits else np.asarray(arr, dtype=np.float32)
            check_probabilities(probs, str(pf.path))
            yield pf.image_id, probs

    return stream()


def checked_probabilities(ws: Workspace, pairs: Iterable[tuple[str, Any]], image_ids: Sequence[str]) -> Iterator[tuple[str, Any]]:
    """Pass (image_id, probs) through, checking each against the workspace (image of the split, once,
    (K, H, W) at the image's size, finite probabilities); at the end, every image must have come."""
    wanted = set(image_ids)
    seen: set[str] = set()
    k = ws.catalogue.num_classes
    for image_id, probs in pairs:
        image_id = str(image_id)
        if image_id not in wanted:
            raise InvalidInput(f"probabilities for {image_id!r}: not an image of the scored split")
        if image_id in seen:
            raise InvalidInput(f"probabilities for {image_id!r} given twice")
        seen.add(image_id)
        rec = ws.catalogue.image_record(image_id)
        check_probabilities(probs, f"probabilities for {image_id!r}", shape=(k, int(rec.height), int(rec.width)))
        yield image_id, _at_least_float32(probs)
    missing = [i for i in image_ids if i not in seen]
    if missing:
        raise InvalidInput(f"no probabilities for {len(missing)} image(s) of the scored split (first: {missing[0]!r}); "
                           "give one per image")


def _at_least_float32(probs: Any) -> Any:
    """float16 → float32 (the scorer's precision); other arrays and tensors unchanged."""
    if hasattr(probs, "detach"):
        import torch

        return probs.float() if probs.dtype in (torch.float16, torch.bfloat16) else probs
    arr = np.asarray(probs)
    return arr.astype(np.float32) if arr.dtype == np.float16 else arr


def save_prediction(
    folder: str | os.PathLike, image_id: str, probs: Any, *, dtype: Any = np.float16, compressed: bool = False
) -> Path:
    """Write ``folder/<image_id>.npz`` (member ``probs``) from a (K, H, W) numpy array or torch tensor
    (any device), as ``dtype`` (float16 halves the disk; float32 keeps every bit). Atomic."""
    import io

    if hasattr(probs, "detach"):
        probs = probs.detach().float().cpu().numpy()
    arr = np.asarray(probs).astype(dtype, copy=False)
    if arr.ndim != 3:
        raise InvalidInput(f"prediction for {image_id!r}: expected (K, H, W), got shape {arr.shape}")
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, probs=arr)
    path = Path(folder) / f"{image_id}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())
    return path


__all__ = [
    "PredictionFile",
    "check_probabilities",
    "checked_probabilities",
    "open_prediction_folder",
    "probabilities_from_logits",
    "save_prediction",
    "scan_prediction_folder",
    "softmax",
]
