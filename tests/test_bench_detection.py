"""benchmarks/bench_detection.py --quick: the report has a row per method, for both kinds of labels."""

from __future__ import annotations

import json

import pytest
from cli_helpers import load_benchmark

pytest.importorskip("cleanlab", reason="cleanlab is in the test extra: pip install -e '.[test]'")

METHODS = ("cleanlab softmin", "cleanlab num_pixel_issues", "cleanlab find_label_issues", "alc issues (default)",
           "alc mass", "alc prob", "alc sim", "alc lcil", "alc softmin", "alc image_margin (default image score)",
           "alc image_issues", "alc image_share", "alc image_softmin")


def test_quick_run_reports_every_method_beside_cleanlab(tmp_path):
    bench = load_benchmark("bench_detection")
    out = tmp_path / "detection.md"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    text = out.read_text()
    sections = text.split("\n## ")
    for title in ("Planted errors", "Grounded-SAM-like noise"):
        [section] = [s for s in sections if title in s.splitlines()[0]]
        rows = {line.split(" | ")[0].lstrip("| ") for line in section.splitlines() if line.startswith("| ")}
        assert set(METHODS) <= rows, rows
        assert "image-level AUPRC: alc-data's default" in section and "component-level AP" in section
        assert "within reach: an oracle" in section
    assert "| alc errors (thresholds + find_suspects) |" in text and "| cleanlab find_label_issues |" in text


def test_an_error_the_out_of_fold_model_predicts_counts_as_learned():
    from types import SimpleNamespace

    import numpy as np

    bench = load_benchmark("bench_detection")
    gt = np.zeros((8, 8), np.uint8)
    gt[1:4, 1:4] = 1
    gt[5:8, 5:8] = 2
    labels = {"a": gt.copy(), "b": gt.copy()}
    labels["a"][1:4, 1:4] = 2  # wrong, and the model says 2 there: learned
    labels["b"][5:8, 5:8] = 1  # wrong, the model says 2 (the truth): visible
    probs = {}
    for image_id in labels:
        pred = np.where(labels["a"] == 2, 2, gt) if image_id == "a" else gt
        probs[image_id] = np.eye(3, dtype=np.float32)[pred].transpose(2, 0, 1)
    ws = SimpleNamespace(labels=SimpleNamespace(read_label=lambda version, i: labels[i]),
                         catalogue=SimpleNamespace(read_gt=lambda i: gt))
    out = json.loads(json.dumps(bench.learned_errors(ws, probs)))  # --json writes it
    assert out == {"images": [True, False], "components": 2, "learned_components": 1, "learned_images": 1}


def test_the_ceiling_ranks_every_visible_wrong_image_first_and_the_learned_ones_by_chance():
    import numpy as np

    bench = load_benchmark("bench_detection")
    wrong = np.array([True] * 10 + [False] * 30)
    none, some, every = np.zeros(40, bool), np.zeros(40, bool), wrong.copy()
    some[:3] = True
    rng = np.random.default_rng(0)
    assert bench.ceiling_auprc(wrong, none, rng) == 1.0
    by_chance = bench.ceiling_auprc(wrong, every, rng, draws=2000)
    assert abs(by_chance - 0.25) < 0.08  # nothing visible: about the share of wrong images
    assert by_chance < bench.ceiling_auprc(wrong, some, rng) < 1.0
