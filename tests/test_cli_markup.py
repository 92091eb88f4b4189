"""Names with square brackets (rich markup) print as they are: class names, image ids,
dataset names and workspace paths reach rich only as plain text."""

from __future__ import annotations

import numpy as np
import pytest

from cli_helpers import run_cli
from tiny_workspaces import make_round, tiny_source

CLASSES = ["[unlabeled]", "[/bold]", "[red]car", ":smile:"]
IDS = ("[b]", "[i]z", "plain")


@pytest.fixture
def bracket_ws(tmp_path):
    from alc_data.ingest.base import ingest

    return ingest(tmp_path / "ws [x]" / "[/bold]", tiny_source(CLASSES, IDS, name="set[/]"), superpixel_set="sam")


def _ok(capsys, *args) -> str:
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert "Traceback" not in out + err and "MarkupError" not in out + err
    return out


def test_info_prints_bracketed_names_literally(bracket_ws, capsys):
    out = _ok(capsys, "info", "-w", bracket_ws.root)
    for name in CLASSES:
        assert name in out, name
    assert "set[/]" in out and "[x]/[/bold]" in out  # the workspace path (rich may wrap at its space)


def test_queries_list_prints_bracketed_names_literally(bracket_ws, capsys):
    make_round(bracket_ws, 6)
    out = _ok(capsys, "queries", "list", "-w", bracket_ws.root)
    assert any(i in out for i in IDS[:2]) and any(c in out for c in CLASSES)


def test_eval_prints_bracketed_class_names_literally(bracket_ws, capsys):
    out = _ok(capsys, "eval", "-w", bracket_ws.root)
    for name in CLASSES:
        assert name in out, name
    assert "mIoU" in out


def test_diff_prints_bracketed_names_literally(bracket_ws, capsys, tmp_path):
    from alc_data.io.labels import write_label_png

    folder = tmp_path / "other"
    for image_id in bracket_ws.catalogue.image_ids():
        lab = bracket_ws.labels.read_label("v0", image_id)
        write_label_png(folder / f"{image_id}.png", np.where(lab == 0, 1, lab).astype(np.uint8))
    out = _ok(capsys, "diff", "v0", folder, "-w", bracket_ws.root)
    assert "[unlabeled]" in out and "[/bold]" in out and "[b]" in out


def test_progress_description_with_brackets(tmp_path, monkeypatch):
    """The progress bar takes the dataset name as plain text (rich would parse '[/]' as markup)."""
    from alc_data.ingest.base import ingest

    monkeypatch.setenv("ALC_PROGRESS", "1")
    ws = ingest(tmp_path / "ws", tiny_source(["a", "b"], name="[/]set[/bold]"))
    assert ws.catalogue.meta("dataset") == "[/]set[/bold]"
