"""The evaluate stage (``alc-data eval``): data mIoU of a label version, or model mIoU of a checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from alc_data.errors import InvalidInput
from alc_data.evaluate.evaluate import MiouResult, evaluate_labels_or_model

if TYPE_CHECKING:
    from alc_data.workspace import Workspace


@dataclass(frozen=True)
class EvaluateOptions:
    """``model``: a checkpoint whose model mIoU to report (on ``split``, default ``val``); without
    it, the data mIoU of label ``version`` (default: the latest) on ``split`` (default: all images).
    ``batch_size`` and ``device`` apply to the model's forward passes."""

    version: str | None = None
    model: Path | None = None
    split: str | None = None
    batch_size: int = 4
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.model is not None and self.version is not None:
            raise InvalidInput("--version applies to data mIoU; drop it when evaluating a --model")
        if self.batch_size < 1:
            raise InvalidInput(f"--batch-size {self.batch_size}: it must be at least 1")


def evaluate(ws: Workspace, options: EvaluateOptions) -> MiouResult:
    """Per-class IoU against the reference ground truth, as ``options`` choose."""
    return evaluate_labels_or_model(ws, version=options.version, checkpoint=options.model, split=options.split,
                                    batch_size=options.batch_size, device=options.device)
