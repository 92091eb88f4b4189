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

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alc_data.errors import Conflict, InvalidInput, NotFound
from alc_data.faults import kill_point

if TYPE_CHECKING:  # pragma: no cover
    import torch

CHECKPOINT_FORMAT = "alc-data/segmentation-checkpoint/1"
LAST = "last.pt"
FINAL = "final.pt"


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """``torch.save`` to a temp file beside ``path``, then rename: never a half-written file."""
    import torch

    from alc_data.io.atomic import atomic_file
    from alc_data.io.failures import on_write_failure, probe_errno

    path = Path(path)
    with on_write_failure(f"writing the checkpoint {path.name}", kept="the checkpoints written before are kept",
                          then=f"resume with --run-dir {shlex.quote(str(path.parent))}"):
        try:
            with atomic_file(path, shared=True, before_rename="train:staged") as fh:  # shared: others load it too
                torch.save({"format": CHECKPOINT_FORMAT, **payload}, fh)
        except RuntimeError:  # torch's writer turns a failed write into RuntimeError("... unexpected pos ...")
            code = probe_errno(path.parent)
            if code is None:
                raise
            raise OSError(code, os.strerror(code), str(path)) from None
    kill_point("train:renamed")
    return path


def check_checkpoint_classes(ckpt: dict[str, Any], path: str | os.PathLike, class_names: list[str]) -> None:
    """InvalidInput unless the checkpoint was trained on ``class_names`` (same names, same order).

    A checkpoint without ``class_names`` (older alc-data) is accepted when its class count matches,
    with a warning: nothing can tell its classes apart from the workspace's then.
    """
    import warnings

    names = ckpt.get("class_names")
    count = int(ckpt.get("num_classes", len(names) if names is not None else -1))
    if count != len(class_names) or (names is not None and len(names) != len(class_names)):
        raise InvalidInput(
            f"{path}: model has {count} classes, the workspace {len(class_names)}; use a model trained on this workspace"
        )
    if names is None:
        warnings.warn(
            f"{path}: checkpoint has no class names (older alc-data); assuming its {count} classes are the "
            "workspace's, in the same order",
            UserWarning,
            stacklevel=2,
        )
        return
    for i, (got, want) in enumerate(zip(names, class_names)):
        if str(got) != want:
            raise InvalidInput(
                f"{path}: model was trained on another class list: class {i} is {str(got)!r} in the model, "
                f"{want!r} in the workspace; use a model trained on this workspace"
            )


def check_same_training(ckpt: dict[str, Any], path: Path, expected: dict[str, Any]) -> None:
    """Conflict unless checkpoint ``ckpt`` (at ``path``) has the ``expected`` identity (model, classes,
    labels, split, iterations, the settings that shape the weights)."""
    got: dict[str, Any] = {k: ckpt.get(k) for k in expected}
    got["config"] = {k: v for k, v in (ckpt.get("config") or {}).items() if k in expected["config"]}
    if got != expected:
        diff = [k for k in expected if got.get(k) != expected[k]]
        if "config" in diff:
            cdiff = sorted(k for k in expected["config"] if got["config"].get(k) != expected["config"][k])
            diff = [d for d in diff if d != "config"] + [f"config.{k}" for k in cdiff]
        raise Conflict(
            f"{path} belongs to a different training ({', '.join(diff)} differ); "
            "use another run directory or --no-resume to start over"
        )


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint written by alc-data (tensors on CPU); AlcError naming the file otherwise."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise NotFound(f"{path}: model checkpoint not found; train one with `alc-data train`")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch.load raises many types on a corrupt file
        raise InvalidInput(f"{path}: cannot read the model checkpoint ({type(exc).__name__}); it is corrupt or not an alc-data checkpoint") from None
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise InvalidInput(f"{path}: not an alc-data model checkpoint (train one with `alc-data train`)")
    return data


def load_warm_start(
    model: "torch.nn.Module", path: str | os.PathLike, model_name: str, num_classes: int,
    class_names: list[str] | None = None,
) -> None:
    """Load the model weights of an alc-data checkpoint (not its optimizer) into ``model``; with
    ``class_names``, the checkpoint must have been trained on them."""
    ckpt = read_checkpoint(path)
    if ckpt.get("model_name") != model_name or int(ckpt.get("num_classes", -1)) != int(num_classes):
        raise InvalidInput(
            f"{path}: warm start needs a {model_name} checkpoint with {num_classes} classes, "
            f"got {ckpt.get('model_name')} with {ckpt.get('num_classes')}; retrain from scratch instead"
        )
    if class_names is not None:
        check_checkpoint_classes(ckpt, path, class_names)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as exc:
        raise InvalidInput(f"{path}: weights do not fit this {model_name} ({str(exc).splitlines()[0][:160]}); "
                       "retrain from scratch instead") from None
