"""Training-memory estimate before a training starts, and the one-line CPU warning.

The estimate allocates nothing: the model is built on PyTorch's ``meta`` device and one forward
pass at the real crop and batch runs there, counting the bytes autograd saves for the backward
pass (``torch.autograd.graph.saved_tensors_hooks``). Then

    bytes ≈ BASE + params · 4 · (weights + gradients + optimiser states) + ACTIVATION_FACTOR · saved

BASE (the PyTorch runtime) and ACTIVATION_FACTOR (gradients of activations and temporaries in the
backward pass beside the saved tensors) were calibrated against the peak resident memory of real
CPU trainings on the development machine (``benchmarks/bench_train_memory.py``; figures in
CHANGELOG.md).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alc_data.errors import InvalidInput
from alc_data.train.config import TrainConfig

if TYPE_CHECKING:
    import torch

#: resident memory of the Python process with torch and the model code imported (bytes)
BASE_BYTES = 600 * 2**20
#: peak / saved-for-backward activations, measured (see the module docstring)
ACTIVATION_FACTOR = 2.0
#: optimiser state tensors per parameter
OPTIMIZER_STATES = {"sgd": 1, "adamw": 2}

log = logging.getLogger("alc_data.train")


@dataclass(frozen=True)
class MemoryEstimate:
    """Estimated peak memory of one training configuration (bytes)."""

    parameters: int
    parameter_bytes: int
    activation_bytes: int
    total_bytes: int
    batch_size: int
    crop_size: int

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def saved_activation_bytes(model: torch.nn.Module, batch_size: int, size: int, num_classes: int) -> int:
    """Bytes autograd keeps for backward in one training forward + loss of ``model`` (on meta)."""
    import torch
    import torch.nn.functional as F

    from alc_data.train.step import check_model_output

    params = {id(p) for p in model.parameters()}
    seen: dict[int, Any] = {}
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        if id(t) not in params and id(t) not in seen:
            seen[id(t)] = t  # keep a reference: ids stay unique while counting
            total += t.numel() * t.element_size()
        return t

    model.train()
    x = torch.empty((batch_size, 3, size, size), device="meta")
    y = torch.empty((batch_size, size, size), dtype=torch.long, device="meta")
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        logits = model(x)
        check_model_output(logits, tuple(x.shape), num_classes, str(getattr(model, "alc_model_name", type(model).__name__)))
        F.cross_entropy(logits.float(), y, ignore_index=255)
    return total


def estimate_training_memory(
    model_name: str,
    num_classes: int,
    *,
    crop_size: int,
    batch_size: int,
    optimizer: str = "sgd",
) -> MemoryEstimate:
    """Estimate the peak CPU memory of training ``model_name`` (random init) at this crop and batch."""
    import torch

    from alc_data.models import MODELS, input_multiple
    from alc_data.train.data import round_up

    with torch.device("meta"):
        model = MODELS.get(model_name).build(int(num_classes))
    n_params = sum(p.numel() for p in model.parameters())
    size = round_up(int(crop_size), input_multiple(model))
    saved = saved_activation_bytes(model, int(batch_size), size, int(num_classes))
    param_bytes = 4 * n_params * (2 + OPTIMIZER_STATES.get(optimizer, 2))
    batch_bytes = int(batch_size) * size * size * (3 * 4 + 8)
    total = int(BASE_BYTES + param_bytes + ACTIVATION_FACTOR * saved + batch_bytes)
    return MemoryEstimate(n_params, param_bytes, saved, total, int(batch_size), int(crop_size))


def machine_memory_bytes() -> int | None:
    """Total RAM from ``/proc/meminfo`` (Linux) or ``sysconf``; None when unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def _gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB"


def memory_warning(config: TrainConfig, num_classes: int, *, available: int | None = None) -> str | None:
    """One line when training ``config`` would not fit in ``available`` bytes (default: this
    machine's RAM), with a smaller batch / crop that would; None when it fits or is unknown."""
    available = machine_memory_bytes() if available is None else int(available)
    if not available:
        return None
    kw = dict(optimizer=config.optimizer)
    est = estimate_training_memory(config.model, num_classes, crop_size=config.crop_size, batch_size=config.batch_size, **kw)
    if est.total_bytes <= available:
        return None
    fixed = BASE_BYTES + est.parameter_bytes
    per_sample = (est.total_bytes - fixed) / est.batch_size
    hints = []
    fit_batch = int((available * 0.9 - fixed) // per_sample) if per_sample > 0 else 0
    if fit_batch >= 2:
        hints.append(f"--batch-size {min(fit_batch, est.batch_size - 1)}")
    else:  # batch 2: shrink the crop (activations grow with its area)
        scale = ((available * 0.9 - fixed) / (2 * per_sample)) ** 0.5 if available * 0.9 > fixed else 0.0
        crop = int(config.crop_size * scale) // 32 * 32
        if crop >= 64:
            hints.append(f"--batch-size 2 --crop-size {crop}")
    hints.append("a smaller --model (see `alc-data models`)")
    return (
        f"training {config.model} at crop {config.crop_size}, batch {config.batch_size} needs about "
        f"{_gb(est.total_bytes)} of memory, this machine has {_gb(available)}; try {' or '.join(hints)}"
    )


def warn_if_too_big(config: TrainConfig, num_classes: int, device: torch.device | str, *, available: int | None = None) -> str | None:
    """On a CPU, log :func:`memory_warning` (one line, logger ``alc_data.train``) and return it."""
    if getattr(device, "type", str(device)) != "cpu":
        return None
    try:
        message = memory_warning(config, num_classes, available=available)
    except (RuntimeError, NotImplementedError, TypeError, ValueError):  # an op the meta device lacks: no estimate
        return None
    except InvalidInput:  # an output that does not fit: no estimate; the first training step refuses it
        return None
    if message:
        log.warning("warning: %s", message)
    return message


__all__ = [
    "MemoryEstimate",
    "estimate_training_memory",
    "machine_memory_bytes",
    "memory_warning",
    "warn_if_too_big",
]
