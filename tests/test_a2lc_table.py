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


def test_runs_made_apart_merge_into_one_report(tmp_path):
    at = load_script()

    def seed_result(seed, sim, lcm):
        def row(curve):
            return {"start": curve[0], "start_per_class": [curve[0]] * 2, "seconds": 1.0,
                    "rounds": [{"round": r, "clicks": 10 * r, "data_miou": m, "per_class": [m] * 2}
                               for r, m in enumerate(curve[1:], 1)]}
        return {"seed": seed, "rows": {"sim": row(sim), "sim+lcm": row(lcm)}}

    parts = []
    for seed, sim, lcm in ((0, [50.0, 60.0, 70.0], [50.0, 65.0, 80.0]), (1, [40.0, 60.0, 80.0], [40.0, 60.0, 70.0])):
        path = tmp_path / f"part{seed}.json"
        path.write_text(json.dumps({"seeds": [seed_result(seed, sim, lcm)]}))
        parts.append(str(path))
    summary = at.main(["--rounds", "2", "--budget", "10", "--merge", *parts, "--out", str(tmp_path), "--name", "all"])
    assert summary["sim"]["mean"] == [45.0, 60.0, 75.0]
    assert summary["sim+lcm"]["clicks_to_sim_final"] == [pytest.approx(40 / 3), None]  # seed 1 never reaches 80
    data = json.loads((tmp_path / "all.json").read_text())
    assert [s["seed"] for s in data["seeds"]] == [0, 1] and "| sim+lcm |" in (tmp_path / "all.md").read_text()
