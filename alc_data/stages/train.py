"""The train stage: train a segmentation model on a label version.

Its options reuse :class:`~alc_data.train.TrainConfig` (frozen, checked on construction, the model
name against :data:`~alc_data.models.MODELS`) for how to train, and add what to train on and where
the checkpoints go.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from alc_data.train.config import TrainConfig
from alc_data.train.loop import TrainResult, train_model

if TYPE_CHECKING:
    from alc_data.workspace import Workspace


@dataclass(frozen=True)
class TrainOptions:
    """``config``: how to train; ``version``/``split``: the labels and images to train on (default:
    the latest version, ``train``); ``run_dir``: where checkpoints go (default
    ``WORKSPACE/runs/train-<timestamp>``); ``resume``: continue an interrupted training there;
    ``init_checkpoint``: warm start from an earlier checkpoint's weights."""

    config: TrainConfig = field(default_factory=TrainConfig)
    version: str | None = None
    split: str = "train"
    run_dir: Path | None = None
    resume: bool = True
    init_checkpoint: Path | None = None

    def run_folder(self, ws: Workspace) -> Path:
        """``run_dir``, or a new ``runs/train-<timestamp>`` of ``ws``."""
        if self.run_dir is not None:
            return self.run_dir
        return ws.runs_dir() / f"train-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def train(ws: Workspace, options: TrainOptions) -> TrainResult:
    """Train as ``options`` say, into :meth:`TrainOptions.run_folder`."""
    return train_model(ws, version=options.version, split=options.split, config=options.config,
                       run_dir=options.run_folder(ws), resume=options.resume,
                       init_checkpoint=options.init_checkpoint)
