"""alc-data publish: the card and the ``corrections`` config say only what is true and only what was written.

What the original labels are (``labels_from``) and whether data mIoU can be measured; a round answered in
several steps; ``--split`` keeping only the published images' ledger rows; the card of an uncorrected
version; where ``--to-dir`` may point."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from test_publish import SPLITS, _gt, _load, _run_cli, grid_superpixels, make_workspace

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ALC_PROGRESS", "0")

NO_GT = "no independent ground truth"


@pytest.fixture
def two_steps(tmp_path):
    """:func:`make_workspace` (round 1 made v1 from queries 1-3) with a second step of round 1: query 4
    (img1, answered later) corrected into v2; every answer marked applied by the version that applied it."""
    ws = make_workspace(tmp_path / "ws")
    sp = grid_superpixels()
    l1 = ws.labels.read_label("v1", "img1").copy()
    l1[sp == 1] = 2

    def ledger(con):
        con.execute("UPDATE answers SET applied_version='v1' WHERE query_id IN (1, 2, 3)")
        con.execute("INSERT INTO queries(query_id, round, rank, image_id, superpixel_set, superpixel_id, rep_row, rep_col, "
                    "shown_label, dominant, area, score, bbox_x0, bbox_y0, bbox_x1, bbox_y1) "
                    "VALUES (4, 1, 4, 'img1', 'grid', 1, 1, 5, 0, NULL, 16, 0.5, 4, 0, 7, 3)")
        con.execute("INSERT INTO answers(query_id, round, status, answer_class, source, annotator, answered_at, applied_version) "
                    "VALUES (4, 1, 'corrected', 2, 'csv:later.csv', 'carol', '2024-05-02T10:00:00+00:00', 'v2')")
        con.execute("INSERT INTO corrections(query_id, round, label_version, image_id, superpixel_id, old_class, new_class, pixels) "
                    "VALUES (4, 1, 'v2', 'img1', 1, 0, 2, 8)")
        con.execute("UPDATE rounds SET output_version='v2' WHERE round=1")

    ws.labels.write_version("v2", [("img1", l1)], parent="v1", kind="correction", round=1, on_commit=ledger)
    return ws


def _card(folder: Path) -> str:
    return " ".join((folder / "README.md").read_text().split())


# ---------------------------------------------------------------------------------------------- 1: labels_from
def test_demo_records_its_own_labels_and_the_card_reports_data_miou(tmp_path):
    from alc_data.demo import build_demo_workspace
    from alc_data.evaluate import data_miou
    from alc_data.publish import publish

    ws = build_demo_workspace(tmp_path / "ws", n_train=3, n_val=1, size=(32, 32))
    assert ws.catalogue.meta("labels_from") != "gt" and ws.labels.version("v0").params["labels_from"] != "gt"
    res = publish(ws, to_dir=tmp_path / "pub")
    before = data_miou(ws, "v0", split="train")
    assert res.build.miou is not None and res.build.miou["train"]["before"] == pytest.approx(before.miou)
    assert before.miou < 100.0
    card = _card(tmp_path / "pub")
    assert NO_GT not in card and "Data mIoU" in card and f"| train | 3 | {before.miou:.2f} |" in card
    assert "the dataset's own annotation" not in card


def test_an_older_demo_workspace_that_recorded_gt_still_reports_data_miou(tmp_path):
    from alc_data.demo import build_demo_workspace
    from alc_data.publish import publish
    from alc_data.workspace import Workspace

    ws = build_demo_workspace(tmp_path / "ws", n_train=3, n_val=1, size=(32, 32))
    with sqlite3.connect(ws.root / "alc.sqlite") as con:  # what alc-data 0.x wrote for the demo
        con.execute("UPDATE meta SET value='gt' WHERE key='labels_from'")
        con.execute("UPDATE label_versions SET params=? WHERE name='v0'", ('{"labels_from": "gt"}',))
    ws = Workspace.open(ws.root)
    res = publish(ws, to_dir=tmp_path / "pub")
    assert res.build.miou is not None and res.build.miou["train"]["before"] < 100.0
    assert NO_GT not in _card(tmp_path / "pub")


def test_labels_taken_from_the_dataset_annotation_have_no_independent_ground_truth(tmp_path):
    from alc_data.publish import publish

    ws = make_workspace(tmp_path / "ws")  # v0 = gt, as VOC's PASCAL+ recipe
    res = publish(ws, to_dir=tmp_path / "pub")
    assert res.build.miou is None and NO_GT in _card(tmp_path / "pub")


def test_without_ground_truth_the_card_does_not_call_the_labels_the_dataset_annotation(tmp_path):
    from alc_data.io.labels import write_label_png
    from alc_data.publish import publish
    from alc_data.workspace import Workspace

    (tmp_path / "pseudo").mkdir()
    for i, image_id in enumerate(SPLITS):
        write_label_png(tmp_path / "pseudo" / f"{image_id}.png", _gt(i))
    ws = make_workspace(tmp_path / "ws", labels_from=str(tmp_path / "pseudo"))
    with sqlite3.connect(ws.root / "alc.sqlite") as con:  # a folder dataset given labels and no --gt
        con.execute("UPDATE images SET has_gt=0")
    publish(Workspace.open(ws.root), to_dir=tmp_path / "pub")
    card = _card(tmp_path / "pub")
    assert NO_GT in card and "holds no reference ground truth" in card and "dataset's own annotation" not in card


def test_a_folder_dataset_with_labels_records_the_labels_folder(tmp_path):
    from alc_data.ingest import ingest
    from alc_data.ingest.folder import read_folder
    from alc_data.io.labels import write_label_png
    from PIL import Image

    for sub in ("images", "labels", "gt"):
        (tmp_path / sub).mkdir()
    (tmp_path / "classes.txt").write_text("background\ncat\ndog\n")
    for i, image_id in enumerate(SPLITS):
        Image.fromarray(np.full((12, 16, 3), 40 * i, np.uint8)).save(tmp_path / "images" / f"{image_id}.png")
        gt = _gt(i)
        write_label_png(tmp_path / "gt" / f"{image_id}.png", gt)
        gt[2:4] = 0
        write_label_png(tmp_path / "labels" / f"{image_id}.png", gt)
    source = read_folder(tmp_path / "images", classes=tmp_path / "classes.txt", labels=tmp_path / "labels", gt=tmp_path / "gt")
    ws = ingest(tmp_path / "ws", source)  # the library default labels_from="gt" must not hide the labels folder
    assert ws.catalogue.meta("labels_from") == str(tmp_path / "labels")


# ---------------------------------------------------------------------------------------------- 2: rounds
def test_an_intermediate_version_shows_the_round_that_made_it(two_steps, tmp_path):
    from alc_data.publish import publish

    publish(two_steps, version="v1", to_dir=tmp_path / "v1")
    card = _card(tmp_path / "v1")
    assert "records no correction round" not in card
    assert "| 1 | sim | 3 | 4 | 1 | 2 | 0 | v1 |" in card  # the answers v1 applied, not query 4's
    assert "3 answered (2 corrected, 1 accepted, 0 unanswerable)" in card
    publish(two_steps, version="v2", to_dir=tmp_path / "v2")
    card = _card(tmp_path / "v2")
    assert "| 1 | sim | 3 | 4 | 1 | 3 | 0 | v2 |" in card and "4 answered" in card


# ---------------------------------------------------------------------------------------------- 3: --split
def test_a_split_publishes_only_its_images_ledger_rows(two_steps, tmp_path):
    from alc_data.publish import publish

    res = publish(two_steps, to_dir=tmp_path / "val", splits=["val"])
    rows = _load(tmp_path / "val", "corrections", tmp_path / "cache")["train"]
    assert list(rows["image_id"]) == ["img3"] and res.build.corrections == 1
    card = _card(tmp_path / "val")
    assert "(split `train`, 1 rows)" in card and "in 1 of 1 images" in card
    assert "| 1 | sim | 3 | 1 | 0 | 1 | 0 | v2 |" in card  # the round's queries on img3 only
    assert "1 of the rounds' 4 queries" in card

    res = publish(two_steps, to_dir=tmp_path / "train", splits=["train"])
    assert sorted(_load(tmp_path / "train", "corrections", tmp_path / "cache2")["train"]["image_id"]) == ["img0", "img1"]
    assert res.build.corrections == 2


def test_a_split_without_ledger_rows_writes_no_corrections_config(tmp_path):
    from alc_data.publish import publish

    ws = make_workspace(tmp_path / "ws")
    with sqlite3.connect(ws.root / "alc.sqlite") as con:
        con.execute("DELETE FROM corrections WHERE image_id='img3'")
    res = publish(ws, to_dir=tmp_path / "val", splits=["val"])
    assert res.build.corrections == 0 and not (tmp_path / "val" / "corrections").exists()
    card = _card(tmp_path / "val")
    assert '"corrections")' not in card and "config_name: corrections" not in (tmp_path / "val" / "README.md").read_text()


# ---------------------------------------------------------------------------------------------- 4: uncorrected version
def test_the_card_of_an_uncorrected_version_documents_only_what_was_written(tmp_path):
    import datasets

    from alc_data.publish import publish

    ws = make_workspace(tmp_path / "ws")
    res = publish(ws, version="v0", to_dir=tmp_path / "v0")
    assert res.build.corrections == 0 and "corrections" not in res.build.data_files
    card = _card(tmp_path / "v0")
    assert '"corrections")' not in card and "corrected in rounds" not in card and "corrected by Active" not in card
    assert "corrected with ALC" not in card and "applies to the corrections" not in card
    assert "no correction" in card
    with pytest.raises(ValueError):  # the card documents no such config: it is indeed not there
        datasets.load_dataset(str(tmp_path / "v0"), "corrections", cache_dir=str(tmp_path / "cache"))
    publish(ws, to_dir=tmp_path / "v1")
    card = _card(tmp_path / "v1")
    assert '"corrections")' in card and "corrected in rounds" in card


# ---------------------------------------------------------------------------------------------- 5: --to-dir
def test_to_dir_inside_the_workspace_is_refused(tmp_path, monkeypatch, capsys):
    from alc_data.errors import AlcError
    from alc_data.publish import build_dataset_folder, publish

    ws = make_workspace(tmp_path / "ws")
    before = sorted(p.name for p in ws.root.iterdir())
    with pytest.raises(AlcError, match="inside the workspace"):
        publish(ws, to_dir=ws.root / "pubx")
    with pytest.raises(AlcError, match="inside the workspace"):
        build_dataset_folder(ws, ws.root / "labels" / "pubx")
    code, _, err = _run_cli(["publish", "-w", str(ws.root), "--to-dir", str(ws.root / "pubx")], monkeypatch, capsys)
    assert code == 2 and "inside the workspace" in err and err.count("\n") == 1
    assert sorted(p.name for p in ws.root.iterdir()) == before


def test_to_dir_naming_a_file_says_it_is_a_file(tmp_path):
    from alc_data.errors import AlcError
    from alc_data.publish import publish

    ws = make_workspace(tmp_path / "ws")
    (tmp_path / "f.txt").write_text("keep")
    with pytest.raises(AlcError, match="is a file") as exc:
        publish(ws, to_dir=tmp_path / "f.txt")
    assert "not an empty folder" not in str(exc.value) and (tmp_path / "f.txt").read_text() == "keep"


def test_the_card_says_how_each_rounds_answers_spread_and_its_class_balance(scored, capsys, tmp_path):
    """Red team, session 7: the card said "each answer is expanded to its superpixel" whatever the rounds'
    `--expand` was, and named a round scored with `--balance abc` plain `sim`."""
    from cli_helpers import run_cli

    from alc_data.publish import publish
    from alc_data.stages.score import ScoreOptions, score

    ws, ckpt = scored
    assert run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt")[0] == 0  # --expand label, the default
    publish(ws, to_dir=tmp_path / "one")
    card = _card(tmp_path / "one")
    assert "expanded to its superpixel" not in card
    assert "each answer changes the pixels of its superpixel that carry the label it corrected" in card
    score(ws, ScoreOptions(budget=3, checkpoint=ckpt, superpixel_set="sam", balance="abc"))
    assert run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt", "--expand", "superpixel")[0] == 0
    publish(ws, to_dir=tmp_path / "two")
    card = _card(tmp_path / "two")
    assert "| 1 | sim | 24 |" in card and "| 2 | sim + abc | 3 |" in card
    assert "round 1: each answer changes the pixels of its superpixel that carry the label it corrected" in card
    assert "round 2: each answer gives its class to its whole superpixel" in card
