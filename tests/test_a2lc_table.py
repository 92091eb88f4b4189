"""benchmarks/a2lc_table.py in process with tiny settings: one row per variant, one column per round,
the propagation's figures only on the rows that propagate, and clicks-to-target interpolated."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_helpers import load_benchmark

def load_script():
    return load_benchmark("a2lc_table")


def test_clicks_to_reach_interpolates_between_rounds():
    at = load_script()
    assert at.clicks_to_reach([0, 60, 120], [50.0, 70.0, 80.0], 75.0) == pytest.approx(90.0)
    assert at.clicks_to_reach([0, 60, 120], [50.0, 70.0, 80.0], 50.0) == pytest.approx(0.0)
    assert at.clicks_to_reach([0, 60], [50.0, 70.0], 71.0) is None


@pytest.mark.slow
def test_report_has_every_row(tmp_path):
    at = load_script()
    summary = at.main(["--quick", "--train", "6", "--rounds", "2", "--budget", "4", "--iterations", "2",
                       "--rows", "sim", "sim+abc", "sim+lcm", "--threshold", "0.05", "--out", str(tmp_path), "--name", "t"])
    assert set(summary) == {"sim", "sim+abc", "sim+lcm"}
    assert all(len(s["mean"]) == 3 for s in summary.values())  # start + 2 rounds
    assert summary["sim"]["clicks_to_sim_final"][0] is not None  # SIM reaches its own final
    assert summary["sim"]["propagated_regions"] == 0 and summary["sim+lcm"]["propagated_regions"] > 0
    text = (tmp_path / "t.md").read_text()
    rows = [line for line in text.splitlines() if re.match(r"\| (sim|a2lc)", line)]
    assert [r.split("|")[1].strip() for r in rows] == ["sim", "sim+abc", "sim+lcm"]
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["summary"] == json.loads(json.dumps(summary))
