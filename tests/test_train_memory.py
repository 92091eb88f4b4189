"""Training-memory estimate (meta device, nothing allocated) and the one-line CPU warning."""

from __future__ import annotations

import logging
import resource

import pytest

from alc_data.train import TrainConfig
from alc_data.train import memory

pytest.importorskip("torch")
GB = 2**30


def test_paper_defaults_warn_on_a_16_gb_laptop_without_allocating():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    cfg = TrainConfig()  # the paper's: DeepLabV3+ ResNet-101, crop 513, batch 16
    assert (cfg.model, cfg.crop_size, cfg.batch_size) == ("deeplabv3plus-resnet101", 513, 16)
    message = memory.memory_warning(cfg, 21, available=16 * GB)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    assert grown < 2 * GB  # a real forward pass at this size would take more than 10 GB
    assert message is not None and "\n" not in message
    assert message.startswith("training deeplabv3plus-resnet101 at crop 513, batch 16 needs about ")
    assert "this machine has 16.0 GB" in message
    assert "try --batch-size " in message and "a smaller --model" in message
    suggested = int(message.split("try --batch-size ")[1].split()[0])
    assert 2 <= suggested < 16
    est = memory.estimate_training_memory(cfg.model, 21, crop_size=513, batch_size=suggested)
    assert est.total_bytes <= 16 * GB  # the suggestion fits
    # the same settings fit a 256 GB machine: no warning
    assert memory.memory_warning(cfg, 21, available=256 * GB) is None


def test_estimate_scales_with_batch_and_crop():
    small = memory.estimate_training_memory("deeplabv3plus-resnet18", 21, crop_size=128, batch_size=2)
    double = memory.estimate_training_memory("deeplabv3plus-resnet18", 21, crop_size=128, batch_size=4)
    big = memory.estimate_training_memory("deeplabv3plus-resnet18", 21, crop_size=256, batch_size=2)
    assert double.activation_bytes == pytest.approx(2 * small.activation_bytes, rel=0.02)
    assert big.activation_bytes == pytest.approx(4 * small.activation_bytes, rel=0.05)
    assert small.parameters == double.parameters == 12_334_437 and small.parameter_bytes == 4 * small.parameters * 3
    adamw = memory.estimate_training_memory("deeplabv3plus-resnet18", 21, crop_size=128, batch_size=2, optimizer="adamw")
    assert adamw.parameter_bytes == 4 * small.parameters * 4


def test_tiny_batch_suggests_a_smaller_crop():
    cfg = TrainConfig(batch_size=2, crop_size=1025)
    message = memory.memory_warning(cfg, 21, available=4 * GB)
    assert message is not None and "--batch-size 2 --crop-size " in message
    crop = int(message.split("--crop-size ")[1].split()[0])
    assert 64 <= crop < 1025


def test_training_on_cpu_logs_the_warning(demo_ws, tmp_path, caplog, monkeypatch):
    from alc_data.train import train_model

    monkeypatch.setattr(memory, "machine_memory_bytes", lambda: 64 * 2**20)  # a 64 MB machine
    cfg = TrainConfig(model="demo-tiny", iterations=1, batch_size=2, crop_size=32, device="cpu")
    with caplog.at_level(logging.WARNING, logger="alc_data.train"):
        train_model(demo_ws, config=cfg, run_dir=tmp_path / "run")
    lines = [r.getMessage() for r in caplog.records if r.name == "alc_data.train"]
    assert len(lines) == 1 and lines[0].startswith("warning: training demo-tiny at crop 32, batch 2 needs about ")
    caplog.clear()
    monkeypatch.setattr(memory, "machine_memory_bytes", lambda: 1024 * GB)
    with caplog.at_level(logging.WARNING, logger="alc_data.train"):
        train_model(demo_ws, config=cfg, run_dir=tmp_path / "run2")
    assert not [r for r in caplog.records if r.name == "alc_data.train"]


def test_machine_memory_is_read():
    total = memory.machine_memory_bytes()
    assert total is None or total > 2**28
