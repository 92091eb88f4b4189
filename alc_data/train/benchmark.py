"""Seconds per training iteration of a registered model on this machine (``alc-data models --benchmark``).

Random images and labels, the real training step (SGD, cross-entropy with the ignore index, AMP and
channels-last on CUDA), one warm-up iteration, then the mean wall time of ``iterations`` more.
Nothing is stored or hard-coded: the figure is measured where the command runs.
"""

from __future__ import annotations

import time
from typing import Any

from alc_data.errors import InvalidInput
from alc_data.models import build_model, input_multiple, select_device
from alc_data.train.config import TrainConfig
from alc_data.train.data import round_up
from alc_data.train.step import TrainStep, make_optimizer, make_scheduler


def benchmark_training(
    name: str,
    *,
    num_classes: int = 21,
    crop_size: int = 256,
    batch_size: int = 2,
    iterations: int = 3,
    device: str = "auto",
) -> dict[str, Any]:
    """Measure one model; returns {name, device, crop_size, batch_size, iterations, seconds_per_iteration}."""
    import torch

    if int(iterations) < 1:
        raise InvalidInput(f"--iterations must be ≥ 1, got {iterations}")
    cfg = TrainConfig(model=name, crop_size=crop_size, batch_size=batch_size, iterations=int(iterations) + 1,
                      device=device)
    dev = select_device(device)
    torch.manual_seed(0)
    model = build_model(name, num_classes).to(dev)
    if dev.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    size = round_up(int(crop_size), input_multiple(model))
    optimizer = make_optimizer(model, cfg)
    step = TrainStep(model, optimizer, make_scheduler(optimizer, cfg, int(iterations) + 1), dev, amp=cfg.amp,
                     num_classes=num_classes)
    x = torch.randn(int(batch_size), 3, size, size)
    y = torch.randint(0, num_classes, (int(batch_size), size, size))
    model.train()
    step(x, y)  # warm-up (allocator, cudnn autotuning)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    t0 = time.perf_counter()
    for _ in range(int(iterations)):
        step(x, y)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    seconds = (time.perf_counter() - t0) / int(iterations)
    return {
        "name": name, "device": str(dev), "crop_size": int(crop_size), "batch_size": int(batch_size),
        "iterations": int(iterations), "seconds_per_iteration": round(seconds, 4),
    }


__all__ = ["benchmark_training"]
