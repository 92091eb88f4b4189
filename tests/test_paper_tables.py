"""benchmarks/paper_tables.py in process with tiny settings: the report has every row, the paper's
numbers only where docs/method.md gives them, and it can be re-rendered from its JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_helpers import load_benchmark

def load_script():
    return load_benchmark("paper_tables")


def table_rows(report: str, heading: str) -> list[list[str]]:
    """The body rows of the first Markdown table after a heading that starts with ``heading``."""
    section = report.split(f"## {heading}", 1)[1]
    rows = [line for line in section.split("\n## ", 1)[0].splitlines() if line.startswith("| ")]
    return [[c.strip() for c in r.strip("|").split("|")] for r in rows[2:]]


@pytest.mark.slow
def test_report_has_every_row(tmp_path):
    pt = load_script()
    report = pt.main(["--seeds", "0", "--train", "4", "--val", "2", "--size", "32", "--iterations", "2",
                      "--budget", "3", "--rounds", "1", "--out", str(tmp_path), "--name", "t"], log=lambda m: None)
    text = report.read_text()
    assert (tmp_path / "t.png").stat().st_size > 0
    number = re.compile(r"^-?\d+\.\d+$")

    t2 = table_rows(text, "Table 2 analogue")
    assert [r[0] for r in t2] == list(pt.TABLE2)
    assert {r[0]: r[-1] for r in t2} == {"sim": "83.04", "lcil": "56.59", "cil": "—", "softmin": "59.28",
                                         "entropy": "—", "margin": "—", "random": "—"}
    assert all(number.match(r[1]) and number.match(r[2]) for r in t2)

    for heading, paper in (("Table 3 analogue", True), ("Table 3 on regions", False)):
        rows = table_rows(text, heading)
        assert [tuple(r[:3]) for r in rows] == [(p, a, e) for p in pt.REPRESENTATIVES for a in pt.LOOKAHEAD
                                                for e in pt.EXPANSIONS]
        papers = {tuple(r[:3]): r[-1] for r in rows}
        expected = {("random", "cil", "pixel"): "55.03 / 56.30 (none)",
                    ("pool", "sim", "superpixel"): "83.04 / 68.72 (all three)"} if paper else {}
        assert papers == {k: expected.get(k, "—") for k in papers}
        assert all(number.match(r[3]) for r in rows)
        assert all(re.match(r"^\d+ / \d+$", r[7]) for r in rows)  # pixels fixed / broken

    verdict = table_rows(text, "Expansion")
    assert len(verdict) == 8 and {r[-1] for r in verdict} == {"—"}  # one seed: no standard deviation
    assert "Verdict: **none: one seed has no standard deviation**" in text
    assert text.count("Pixels per round, mean over rows and seeds: superpixel fixed") == 2

    multi = table_rows(text, "1 rounds")
    assert [(r[0], r[1]) for r in multi] == [(a, str(t)) for a in pt.MULTI for t in range(2)]
    assert [r[-1] for r in multi if r[1] == "1"] == ["83.04 / 68.72", "56.59 / —", "—"]
    assert all(number.match(r[4]) for r in multi if r[1] == "1")  # model mIoU after the last round

    cost = table_rows(text, "Table 1 analogue")
    assert [r[0] for r in cost] == list(pt.MULTI)
    assert [r[5:7] for r in cost] == [[f"{3 * 4.76:.0f}", f"{3 * 6.31:.0f}"]] * 3

    # the report can be rewritten from its numbers alone
    (tmp_path / "t.md").unlink()
    pt.main(["--render", str(tmp_path / "t.json")])
    assert (tmp_path / "t.md").read_text() == text
    assert json.loads((tmp_path / "t.json").read_text())["settings"]["budget"] == 3
