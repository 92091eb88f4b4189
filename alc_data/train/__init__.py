"""Training a segmentation model on a label version (cross-entropy, ignore index), resumable.

``train_model(ws, config=TrainConfig(...), run_dir=...)`` → :class:`TrainResult`. See
:mod:`alc_data.train.loop` for the checkpoints and :mod:`alc_data.train.data` for the data pipeline.
"""

from alc_data.train.checkpoint import CHECKPOINT_FORMAT, read_checkpoint, save_checkpoint
from alc_data.train.config import DEFAULT_ITERATIONS, TrainConfig
from alc_data.train.loop import TrainResult, train_model
from alc_data.train.step import segmentation_loss

__all__ = [
    "CHECKPOINT_FORMAT",
    "DEFAULT_ITERATIONS",
    "TrainConfig",
    "TrainResult",
    "read_checkpoint",
    "save_checkpoint",
    "segmentation_loss",
    "train_model",
]
