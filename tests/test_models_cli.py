"""`alc-data models`: parameter counts of every registered model (meta device) and --benchmark."""

from __future__ import annotations

import json

import pytest

from alc_data.models import MODELS, build_model
from cli_helpers import run_cli

torch = pytest.importorskip("torch")


def test_models_lists_parameter_counts(capsys):
    code, out, err = run_cli(capsys, "models", "--json")
    assert code == 0, err
    rows = {r["name"]: r for r in json.loads(out)}
    assert sorted(rows) == MODELS.names()
    assert {f"segformer-b{i}" for i in range(6)} <= set(rows)
    real = sum(p.numel() for p in build_model("demo-tiny", 21).parameters())
    assert rows["demo-tiny"]["parameters"] == real
    assert rows["deeplabv3plus-resnet101"]["parameters"] > 40_000_000 > rows["deeplabv3plus-resnet18"]["parameters"]
    assert rows["segformer-b0"]["parameters"] < rows["segformer-b5"]["parameters"]


def test_models_benchmark_measures_here(capsys, monkeypatch):
    from alc_data.train import benchmark

    ticks = iter([10.0, 13.0])  # the timed loop: 3 s for --iterations 2 → 1.5 s per iteration
    monkeypatch.setattr(benchmark.time, "perf_counter", lambda: next(ticks))
    code, out, err = run_cli(capsys, "models", "demo-tiny", "--benchmark", "--crop-size", "32", "--iterations", "2",
                             "--device", "cpu", "--json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["name"] == "demo-tiny" and row["seconds_per_iteration"] == 1.5
    code, _, err = run_cli(capsys, "models", "nope")
    assert code == 2 and "unknown model 'nope'" in err
