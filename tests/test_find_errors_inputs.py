"""`alc-data errors` as a new user met it (red team, 2026-12-07): the image score's denominator, the query
point of a suspect, void pixels that outvote the labels, outputs that cannot be written, partial ground
truth, modes, and the help text."""

from __future__ import annotations

import os

import numpy as np
import pytest
from cli_helpers import run_cli
from planted_errors import PLANTED, make_planted_ws, oracle_probs, planted_ws, scene  # noqa: F401 (planted_ws: a fixture)

from alc_data.constants import IGNORE_INDEX
from alc_data.scoring.suspects import find_suspects


def test_the_image_score_counts_every_labelled_pixel_of_the_image_not_only_its_regions():
    gt, regions = scene(0)
    labels = gt.copy()
    labels[regions == PLANTED[1]] = 0
    probs = oracle_probs(gt, 0)
    t = [0.5, 0.5, 0.5]  # the dataset's class thresholds (this image alone labels no pixel class 1)
    whole = find_suspects(probs, labels, regions, gt=gt, thresholds=t)
    part = regions.copy()
    part[16:] = -1  # the bottom third is in no region (as where no SAM mask covers): its pixels still count
    partial = find_suspects(probs, labels, part, gt=gt, thresholds=t)
    assert whole.image_scores["image_issues"] > 0
    for name in ("image_margin", "image_issues", "image_share"):
        assert partial.image_scores[name] == pytest.approx(whole.image_scores[name])


def _object_probs(f_object: np.ndarray, size: int = 24) -> np.ndarray:
    """(3, size, size): background [0.9, 0.05, 0.05] everywhere, ``f_object`` (3, 10, 10) in rows 4-13,
    columns 6-15 (region 5 of :func:`scene`)."""
    p = np.empty((3, size, size), np.float32)
    p[:] = np.array([0.9, 0.05, 0.05], np.float32)[:, None, None]
    p[:, 4:14, 6:16] = f_object
    return p


def test_a_suspects_query_point_carries_its_current_class():
    gt, regions = scene(0)  # region 5: the object, truly class 1
    labels = gt.copy()
    obj = np.zeros((3, 10, 10), np.float32)
    obj[:] = np.array([0.0, 0.9, 0.1], np.float32)[:, None, None]
    obj[:, ::2] = np.array([0.2, 0.7, 0.1], np.float32)[:, None, None]
    obj[:, :, :3] = np.array([0.1, 0.8, 0.1], np.float32)[:, None, None]  # the region's mean: the pool's rep
    lab_obj = np.full((10, 10), 2, np.uint8)  # the object labelled 2 (a look-alike) ...
    lab_obj[:, :3] = 0  # ... but for its left columns, labelled background, where the pool's rep lies
    labels[4:14, 6:16] = lab_obj
    e = find_suspects(_object_probs(obj), labels, regions)
    row = int(np.flatnonzero(e.region == PLANTED[1])[0])
    assert e.suspect[row] and (e.current[row], e.proposed[row]) == (2, 1)
    r, c = int(e.rep_row[row]), int(e.rep_col[row])
    # "is this pixel class 2?" must be asked where the label is 2: an answer spread with `--expand label`
    # then fixes the pixels labelled 2; at the best such pixel (p[1] = 0.9: rows 5, 7, ... of the object)
    assert e.label_at_rep[row] == labels[r, c] == 2 and (r, c) == (5, 9)


def test_void_pixels_do_not_vote_for_the_proposal():
    gt, regions = scene(0)
    labels = gt.copy()
    obj = np.zeros((3, 10, 10), np.float32)
    obj[:] = np.array([0.05, 0.9, 0.05], np.float32)[:, None, None]
    obj[:, :6] = np.array([0.9, 0.05, 0.05], np.float32)[:, None, None]  # the model says background ...
    labels[4:10, 6:16] = IGNORE_INDEX  # ... only where the labels are void
    e = find_suspects(_object_probs(obj), labels, regions, gt=gt)
    row = int(np.flatnonzero(e.region == PLANTED[1])[0])
    assert e.current[row] == 1 and e.proposed[row] == 1 and not e.suspect.any()


@pytest.mark.parametrize("option, name", [("--out", "e.parquet"), ("--report", "r.html")])
def test_an_output_that_cannot_be_written_is_one_line_and_nothing_is_registered(planted_ws, tmp_path, capsys,
                                                                              option, name):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    code, _, err = run_cli(capsys, "errors", "-w", planted_ws.root, "--predictions", tmp_path / "preds",
                           "--queries", 1, option, blocker / name)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"{option} {blocker / name}" in err and "internal error" not in err
    assert planted_ws.ledger.rounds() == [] and not (planted_ws.root / "errors").exists()


@pytest.mark.parametrize("inside", ["labels/v0/x.parquet", "rounds/001/scores.parquet", "alc.parquet"])
def test_an_output_over_the_workspaces_own_files_is_refused(planted_ws, tmp_path, capsys, inside):
    code, _, err = run_cli(capsys, "errors", "-w", planted_ws.root, "--predictions", tmp_path / "preds",
                           "--out", planted_ws.root / inside)
    assert code == 2 and "inside the workspace" in err and len(err.strip().splitlines()) == 1, err
    assert not (planted_ws.root / inside).exists()


def test_the_diff_report_in_an_unwritable_place_is_one_line(planted_ws, tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    code, _, err = run_cli(capsys, "diff", "v0", "v0", "-w", planted_ws.root, "--report", blocker / "r.html")
    assert code == 2 and len(err.strip().splitlines()) == 1 and str(blocker / "r.html") in err, err


def test_fewer_suspects_than_queries_asked_are_said(planted_ws, tmp_path, capsys):
    code, stdout, err = run_cli(capsys, "errors", "-w", planted_ws.root, "--predictions", tmp_path / "preds",
                                "--queries", 5)
    assert code == 0, err
    assert len(planted_ws.ledger.queries(1)) == 1 and "1 of the 5 queries asked" in stdout


def test_partial_ground_truth_gives_a_wrong_column_with_nulls(tmp_path, capsys):
    import pyarrow.parquet as pq

    ws = make_planted_ws(tmp_path, gt_images=("img_a", "img_b"))
    code, _, err = run_cli(capsys, "errors", "-w", ws.root, "--predictions", tmp_path / "preds")
    assert code == 0, err
    images = pq.read_table(ws.root / "errors" / "errors.images.parquet").to_pydict()
    assert dict(zip(images["image_id"], images["wrong"])) == {"img_a": True, "img_b": False, "img_c": None,
                                                             "img_d": None}


def test_the_tables_and_the_report_follow_the_umask(planted_ws, tmp_path, capsys):
    old = os.umask(0o022)
    try:
        code, _, err = run_cli(capsys, "errors", "-w", planted_ws.root, "--predictions", tmp_path / "preds",
                               "--out", tmp_path / "t" / "e.parquet", "--report", tmp_path / "t" / "r.html")
    finally:
        os.umask(old)
    assert code == 0, err
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "t").iterdir()}
    assert modes == {"e.parquet": 0o644, "e.images.parquet": 0o644, "r.html": 0o644}


def test_no_help_text_holds_brackets_that_rich_would_swallow():
    """Rich markup takes "[ray]" for a style and prints `pip install "alc-data"`: every "[" in a help
    text or a command's docstring must be escaped ("\\[")."""
    import re

    import typer.main

    from alc_data_cli.main import app

    def walk(cmd, path):
        yield path, cmd.help or ""
        for param in cmd.params:
            yield f"{path} {param.name}", getattr(param, "help", None) or ""
        for name, sub in getattr(cmd, "commands", {}).items():  # a group
            yield from walk(sub, f"{path} {name}")

    texts = list(walk(typer.main.get_command(app), "alc-data"))
    assert any("[ray]" in text for _, text in texts)  # the case that was swallowed, escaped now
    assert [where for where, text in texts if re.search(r"(?<!\\)\[", text)] == []


def test_a_folder_given_as_the_model_is_named_a_folder(planted_ws, tmp_path, capsys):
    code, _, err = run_cli(capsys, "errors", "-w", planted_ws.root, "--model", tmp_path / "preds")
    assert code == 2 and "is a folder" in err and len(err.strip().splitlines()) == 1, err


def test_a_ray_address_without_the_ray_engine_is_refused(planted_ws, tmp_path, capsys):
    code, _, err = run_cli(capsys, "errors", "-w", planted_ws.root, "--predictions", tmp_path / "preds",
                           "--ray-address", "auto")
    assert code == 2 and "--engine ray" in err and len(err.strip().splitlines()) == 1, err


def test_the_writability_check_leaves_nothing_behind(tmp_path):
    from alc_data.io.outputs import writable_place

    assert writable_place(tmp_path / "a" / "b" / "r.html", "--report") == tmp_path / "a" / "b" / "r.html"
    assert list(tmp_path.iterdir()) == []  # no folder made, no probe left: the command makes them when it writes


def test_a_diff_report_inside_the_workspace_is_refused(planted_ws, capsys):
    for option, path in (("--report", planted_ws.root / "r.html"), ("--out", planted_ws.root / "pictures")):
        code, _, err = run_cli(capsys, "diff", "v0", "v0", "-w", planted_ws.root, option, path)
        assert code == 2 and "inside the workspace" in err and len(err.strip().splitlines()) == 1, err
        assert not path.exists()
