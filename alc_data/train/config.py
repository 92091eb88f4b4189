"""Training settings: a dataclass built from a recipe's ``[train]`` section."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from alc_data.errors import InvalidInput
from alc_data.overrides import finite_number, whole_number

class Optimizer(str, Enum):
    """``train.optimizer``: SGD with momentum (the paper's) or AdamW."""

    SGD = "sgd"
    ADAMW = "adamw"


#: iterations when neither ``iterations`` nor ``epochs`` is given (the paper's VOC schedule)
DEFAULT_ITERATIONS = 30_000

#: settings that must be ≥ 0 (each checked on its own, the error names it and its value)
NON_NEGATIVE = ("seed", "backbone_lr_mult", "momentum", "weight_decay", "poly_power", "num_workers", "checkpoint_every",
                "cache_megapixels")

#: settings that do not change the trained weights (may differ when a training resumes)
RUNTIME_KEYS = ("num_workers", "checkpoint_every", "device", "cache_megapixels")


@dataclass(frozen=True)
class TrainConfig:
    """How to train one model. Defaults follow the ALC paper's PASCAL VOC setting. Frozen and checked
    once, on construction: the ``train`` stage's model settings (:mod:`alc_data.stages.train`).

    - ``model``: a name in :data:`alc_data.models.MODELS`.
    - ``iterations`` or ``epochs`` (not both; neither → 30,000 iterations). One iteration is one
      batch of ``batch_size`` crops; ``epochs`` converts to ceil(epochs · images / batch_size).
    - ``crop_size``: side of the square training crop (padded with IGNORE_INDEX when the scaled
      image is smaller, and up to the model's input multiple).
    - ``scale_range``: random rescale factor range; ``flip``: random horizontal flip.
    - ``lr``, ``backbone_lr_mult`` (encoder lr = lr × mult), ``momentum``, ``weight_decay``,
      ``optimizer`` (``sgd`` | ``adamw``), ``poly_power`` (lr × (1 − it / total) ** power).
    - ``seed``: weights, data order and augmentation are a function of it (identical on CPU).
    - ``num_workers``: DataLoader processes (0 = load in the training process).
    - ``checkpoint_every``: save ``last.pt`` every N iterations (0 = only at the end).
    - ``encoder_weights`` (smp models): a name smp knows for the encoder (``imagenet``, fetched
      into the Hugging Face cache when online, read from it offline) or a local encoder checkpoint.
    - ``pretrained`` (SegFormer): a hub id (``nvidia/mit-b0``) or a local folder of a whole model.
      Neither → random weights; both → error.
    - ``device``: ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N``; ``amp``: mixed precision on CUDA.
    - ``cache_megapixels``: keep decoded images and labels in memory when the split has at most
      this many megapixels (0 = never).
    """

    model: str = "deeplabv3plus-resnet101"
    iterations: int | None = None
    epochs: float | None = None
    batch_size: int = 16
    crop_size: int = 513
    scale_range: tuple[float, float] = (0.5, 2.0)
    flip: bool = True
    lr: float = 0.01
    backbone_lr_mult: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    optimizer: str = "sgd"
    poly_power: float = 0.9
    seed: int = 0
    num_workers: int = 0
    checkpoint_every: int = 1000
    encoder_weights: str | None = None
    pretrained: str | None = None
    device: str = "auto"
    amp: bool = True
    cache_megapixels: float = 32.0

    def __post_init__(self) -> None:
        if isinstance(self.encoder_weights, Path):  # a path object is always a local file
            weights = str(self.encoder_weights)
            object.__setattr__(self, "encoder_weights", weights if "/" in weights else f"./{weights}")
        for key in ("encoder_weights", "pretrained"):
            if getattr(self, key) is not None:
                object.__setattr__(self, key, str(getattr(self, key)))
        for key in self.keys():  # every value to its field's type, or one line naming the setting and value
            object.__setattr__(self, key, _convert(key, getattr(self, key)))
        self.validate()

    # ---------------------------------------------------------------- construction
    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None = None, **overrides: Any) -> "TrainConfig":
        """Build from a recipe section; unknown keys → AlcError listing the valid ones.

        Values may be strings (``--set train.lr=0.02``); they are converted to the field's type.
        """
        merged = {**(data or {}), **overrides}
        valid = cls.keys()
        unknown = sorted(k for k in merged if k not in valid)
        if unknown:
            raise InvalidInput(f"unknown train setting(s) {', '.join(unknown)}; valid keys: {', '.join(valid)}")
        return cls(**{k: _convert(k, v) for k, v in merged.items()})

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (paths as strings, tuples as lists)."""
        out = dataclasses.asdict(self)
        out["scale_range"] = list(self.scale_range)
        return out

    def fingerprint(self) -> dict[str, Any]:
        """The settings that determine the trained weights (used to check a resume)."""
        return {k: v for k, v in self.as_dict().items() if k not in RUNTIME_KEYS}

    # ---------------------------------------------------------------- checks
    def validate(self) -> None:
        from alc_data.models import model_spec

        spec = model_spec(self.model)
        if self.encoder_weights is not None and self.pretrained is not None:
            raise InvalidInput(
                "give --pretrained (train.pretrained: a whole-model checkpoint) or --encoder-weights "
                "(train.encoder_weights: an smp encoder's weights), not both"
            )
        if self.encoder_weights is not None:
            spec.check_encoder_weights(self.encoder_weights)
        if self.pretrained is not None and spec.family != "transformers":
            raise InvalidInput(
                f"pretrained={self.pretrained}: {self.model} is a segmentation-models-pytorch model; use "
                "encoder_weights (imagenet or a local .pth), or pick a segformer-* model"
            )
        if self.iterations is not None and self.epochs is not None:
            raise InvalidInput("give iterations (--iterations) or epochs (--epochs), not both")
        if self.iterations is not None and int(self.iterations) < 1:
            raise InvalidInput(f"iterations must be ≥ 1, got {self.iterations}")
        if self.epochs is not None and not float(self.epochs) > 0:
            raise InvalidInput(f"epochs must be > 0, got {self.epochs}")
        if int(self.batch_size) < 2:
            raise InvalidInput(f"batch_size must be ≥ 2 (batch norm needs two crops per batch), got {self.batch_size}")
        if int(self.crop_size) < 8:
            raise InvalidInput(f"crop_size must be ≥ 8 pixels, got {self.crop_size}")
        lo, hi = self.scale_range
        if not (0 < lo <= hi):
            raise InvalidInput(f"scale_range must be two numbers 0 < low ≤ high, got {tuple(self.scale_range)}")
        if not self.lr > 0:
            raise InvalidInput(f"lr must be > 0, got {self.lr}")
        for key in NON_NEGATIVE:
            if getattr(self, key) < 0:
                raise InvalidInput(f"{key} must be ≥ 0, got {getattr(self, key)}")
        if self.optimizer not in {o.value for o in Optimizer}:
            raise InvalidInput(f"optimizer must be {' or '.join(o.value for o in Optimizer)}, got {self.optimizer!r}")

    def total_iterations(self, num_images: int) -> int:
        """Iterations to run for a split of ``num_images`` images."""
        if self.iterations is not None:
            return int(self.iterations)
        if self.epochs is not None:
            return max(1, math.ceil(float(self.epochs) * num_images / int(self.batch_size)))
        return DEFAULT_ITERATIONS


_TYPES: dict[str, Any] = {
    "model": str,
    "iterations": int,
    "epochs": float,
    "batch_size": int,
    "crop_size": int,
    "lr": float,
    "backbone_lr_mult": float,
    "momentum": float,
    "weight_decay": float,
    "optimizer": str,
    "poly_power": float,
    "seed": int,
    "num_workers": int,
    "checkpoint_every": int,
    "device": str,
    "cache_megapixels": float,
}


def _scale_range(value: Any) -> tuple[float, float]:
    """``[low, high]``, ``(low, high)`` or the text ``"low, high"`` as two floats; ValueError otherwise."""
    items = value.strip("[]() ").replace(",", " ").split() if isinstance(value, str) else value
    try:
        items = list(items)
    except TypeError:
        items = []
    if len(items) != 2:
        raise ValueError("expected two numbers [low, high], e.g. [0.5, 2.0]")
    lo, hi = (finite_number(v) for v in items)
    return (lo, hi)


def _convert(key: str, value: Any) -> Any:
    try:
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            if key in ("iterations", "epochs", "encoder_weights", "pretrained"):
                return None
            raise ValueError("a value is required")
        if key in ("flip", "amp"):
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError("expected true or false")
            return bool(value)
        if key == "scale_range":
            return _scale_range(value)
        if key in ("encoder_weights", "pretrained"):
            return value if isinstance(value, Path) else str(value)
        typ = _TYPES[key]
        if typ is int:
            return whole_number(value)
        if typ is float:
            return finite_number(value)
        return typ(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"train setting {key}={value!r} is not valid ({exc})") from None


__all__ = ["DEFAULT_ITERATIONS", "Optimizer", "TrainConfig"]
