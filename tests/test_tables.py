"""Every table the CLI prints fits an 80-column terminal: no header or cell is cut ("…"), no line is
longer than 80 characters, and no column is dropped (rich crops the last columns of a table that is
too wide without a mark, so each test names the headers it must find)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cli_helpers import run_cli
from tiny_workspaces import make_round, tiny_ws

from alc_data.testing.annotate import open_round_workspace

WIDTH = 80


def fits(text: str, *headers: str) -> None:
    assert text.strip(), "nothing printed"
    assert "…" not in text, text
    long = [line for line in text.splitlines() if len(line) > WIDTH]
    assert not long, "\n".join(long)
    words = text.split()
    for header in headers:
        for word in header.split():
            assert word in words, f"header word {word!r} of {header!r} missing from:\n{text}"


def cli_output(capsys, *args: str) -> str:
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    return out


@pytest.fixture(autouse=True)
def eighty_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", str(WIDTH))


@pytest.fixture(scope="module")
def corrected_ws(tmp_path_factory):
    """A demo workspace whose round 1 is answered by the ground truth (v0 → v1)."""
    root = tmp_path_factory.mktemp("tables") / "ws"
    open_round_workspace(root, n_train=4, budget=6)
    cmd = [sys.executable, "-c", "from alc_data_cli.main import main; main()", "correct", "-w", str(root), "--oracle", "gt"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "ALC_PROGRESS": "0"}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return root


def test_info_tables_fit(corrected_ws, capsys):
    fits(cli_output(capsys, "info", "-w", corrected_ws), "index", "name", "share", "round", "queries", "accepted",
         "corrected", "unanswerable", "correction queries", "classification queries", "measured s / query")


def test_eval_table_fits(corrected_ws, capsys):
    fits(cli_output(capsys, "eval", "-w", corrected_ws), "index", "class", "IoU %", "mIoU", "coverage")


def test_diff_tables_fit(corrected_ws, capsys):
    fits(cli_output(capsys, "diff", "-w", corrected_ws, "v0", "v1"), "from", "to", "pixels", "image", "changed",
         "regions", "agreement")


def test_queries_table_fits_with_long_names(tmp_path, capsys):
    names = ["background", "traffic light", "potted plant", "dining table"]
    ws = tiny_ws(tmp_path / "ws", names, image_ids=("2007_000032", "2008_001234"), size=(16, 16))
    make_round(ws, 8)
    fits(cli_output(capsys, "queries", "list", "-w", tmp_path / "ws"), "id", "image", "superpixel", "pixel (row, col)",
         "shown", "score", "answer")


def test_superpixel_methods_table_fits(capsys):
    out = cli_output(capsys, "superpixels", "--list")
    fits(out, "method", "what", "parameters (default)")
    assert "felzenszwalb" in out.split()


@pytest.mark.parametrize("benchmark", [False, True], ids=["list", "benchmark"])
def test_models_table_fits(capsys, monkeypatch, benchmark):
    import alc_data.train.benchmark

    monkeypatch.setattr(alc_data.train.benchmark, "benchmark_training", lambda *a, **k: {"seconds_per_iteration": 12.345})
    args = ["models", "deeplabv3plus-mobilenet_v2", "demo-tiny"] + (["--benchmark"] if benchmark else [])
    out = cli_output(capsys, *args)
    fits(out, "name, description", "architecture, encoder", "parameters", *(["s/iter"] if benchmark else []))
    assert "deeplabv3plus-mobilenet_v2" in out and "CPU-friendly" in out


@pytest.mark.parametrize("measured", [None, 5.25], ids=["simulated", "measured"])
def test_round_table_fits(measured):
    from rich.console import Console

    from alc_data.loop.table import RoundRow, RunTable
    from alc_data_cli.run import round_table

    rounds = tuple(RoundRow(round=i, label_version=f"v{i}", clicks=12345, accepted=8000, corrected=4345,
                            minutes_correction_queries=979.9, minutes_classification_queries=1299.1,
                            measured_median_seconds=measured if i == 1 else None, data_miou=93.07, model_miou=81.23)
                   for i in (0, 1, 10))
    console = Console(width=WIDTH, markup=False, emoji=False)
    with console.capture() as captured:
        console.print(round_table(RunTable(run="sim", acquisition="sim", waiting_for_answers=False, run_dir="runs/sim",
                                           rounds=rounds)))
    headers = ["round", "labels", "clicks", "accepted", "corrected", "minutes", "data mIoU", "model mIoU"]
    fits(captured.get(), *headers, *(["s/query"] if measured else []))


def test_errors_table_fits(tmp_path, capsys):
    import numpy as np

    from alc_data.constants import IGNORE_INDEX
    from alc_data.predictions import save_prediction

    ws = open_round_workspace(tmp_path / "ws", n_train=4, budget=6)
    for image_id in ws.catalogue.image_ids("train"):
        gt = ws.catalogue.read_gt(image_id).astype(int)
        target = np.where(gt == IGNORE_INDEX, 0, gt)
        probs = np.eye(ws.catalogue.num_classes, dtype=np.float32)[target].transpose(2, 0, 1) * 0.9 + 0.1 / 7
        save_prediction(tmp_path / "preds", image_id, probs / probs.sum(0), dtype=np.float32)
    fits(cli_output(capsys, "errors", "-w", ws.root, "--predictions", tmp_path / "preds", "--superpixels", "sam",
                    "--top", "5"), "#", "image", "region", "current", "proposed", "conf", "area")


def test_a_plot_without_any_miou_warns_nothing(tmp_path):
    """Without ground truth every mIoU is None: the plot is drawn without a legend and matplotlib's
    "No artists with labels found" warning does not reach the user."""
    import warnings

    from alc_data.loop.table import RoundRow, RunTable, plot_runs

    rounds = tuple(RoundRow(round=i, label_version=f"v{i}", clicks=10 * i, accepted=i, corrected=i,
                            minutes_correction_queries=0.0, minutes_classification_queries=0.0,
                            measured_median_seconds=None, data_miou=None, model_miou=None) for i in (0, 1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = plot_runs([RunTable(run="r", acquisition="sim", waiting_for_answers=False, run_dir="runs/r",
                                   rounds=rounds)], tmp_path / "miou.png")
    assert path.is_file() and [str(w.message) for w in caught] == []
