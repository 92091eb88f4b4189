"""What a training refuses, in one line: labels with no labelled pixel, a loss or weights that are no
longer finite (a diverged training); and the run folder a failed start leaves behind."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import InvalidInput

if TYPE_CHECKING:  # pragma: no cover
    from alc_data.workspace import Workspace


def check_labelled(ws: Workspace, version: str, split: str | None, image_ids: list[str]) -> None:
    """InvalidInput unless some label map of ``version`` over ``image_ids`` has a pixel that is not
    IGNORE_INDEX (reads maps until the first such one: usually one)."""
    for image_id in image_ids:
        if bool((ws.labels.read_label(version, image_id) != IGNORE_INDEX).any()):
            return
    where = "all images" if split is None else split
    raise InvalidInput(
        f"no labelled pixels in {version} / {where}: all {len(image_ids)} label maps are void ({IGNORE_INDEX}), "
        "so there is nothing to learn; label some images first or train on another --version"
    )


def diverged(iteration: int, what: str, lr: float, resumable: bool) -> InvalidInput:
    """The one-line error of a training whose ``what`` (the loss, the weights) stopped being finite."""
    again = "train again with --no-resume (last.pt holds the earlier settings)" if resumable else "train again"
    return InvalidInput(
        f"training diverged at iteration {iteration}: {what} not finite (NaN or inf); nothing was saved from it; "
        f"lower the learning rate (lr {lr}: --lr or train.lr) and {again}"
    )


def check_loss(loss: float, iteration: int, lr: float, last_path: Path) -> None:
    if not math.isfinite(loss):
        raise diverged(iteration, f"the loss ({loss}) is", lr, last_path.is_file())


def check_weights(state: dict[str, Any], iteration: int, lr: float, last_path: Path) -> None:
    """InvalidInput when a floating-point tensor of ``state`` (weights, batch-norm statistics) holds
    NaN or inf: no checkpoint is written from a diverged model."""
    import torch

    for value in state.values():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise diverged(iteration, "the model weights are", lr, last_path.is_file())


def make_run_dir(run_dir: Path) -> list[Path]:
    """Create ``run_dir`` (and missing parents); returns the folders created, deepest first."""
    created = [p for p in (run_dir, *run_dir.parents) if not p.exists()]
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"{run_dir}: cannot create the run directory ({exc.strerror})") from None
    return created


def remove_unused_run_dir(created: Iterable[Path], keep: Iterable[str]) -> None:
    """After a failed training: remove the folders this call created (deepest first) when they hold
    nothing but its own ``train.json``, i.e. no file named in ``keep`` (a checkpoint to resume from)."""
    created = list(created)
    if not created or any((created[0] / name).exists() for name in keep):
        return
    try:
        (created[0] / "train.json").unlink(missing_ok=True)
        for folder in created:
            folder.rmdir()  # OSError when not empty: something else is in there, keep it
    except OSError:
        pass
