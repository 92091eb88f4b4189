"""Automatic relabels (``correct --propagate``, source ``propagated``) after a review round with one
relabel accepted, one rejected (the person gives a third class) and the rest not yet reviewed: every
ledger row is counted, linked, published and reported, and a rejected relabel's pixels count as the
person's change."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from alc_data.stages.score import ScoreOptions, score
from alc_data.train import TrainConfig, train_model
from cli_helpers import run_cli

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _answer_review(ws, rnd, rows, give="third"):
    """In the page: reject the first leased relabel with a class neither old nor new (``give="old"``: with
    the class it had before the relabel), accept the second."""
    from starlette.testclient import TestClient

    from alc_data.annotate import create_app

    origin = "http://127.0.0.1:8765"
    c = TestClient(create_app(ws, rnd, annotator="ann", allowed_hosts={"127.0.0.1:8765"}), base_url=origin)
    leased = c.post("/api/lease", json={"holder": "tab"}, headers={"Origin": origin}).json()["queries"]
    rejected, accepted = leased[0], leased[1]
    old = rows[(rejected["image_id"], rejected["superpixel_id"])]
    third = next(k for k in range(len(ws.catalogue.class_names)) if k not in (old.old_class, old.new_class))
    for body in ({"query_id": rejected["query_id"], "class_index": old.old_class if give == "old" else third},
                 {"query_id": accepted["query_id"], "verdict": "accept"}):
        r = c.post("/api/answer", json={"holder": "tab", "seconds": 2.0, **body}, headers={"Origin": origin})
        assert r.status_code == 200, r.text


@pytest.fixture
def reviewed(demo_ws, tmp_path, capsys):
    """v1 (people), v2 (automatic relabels), v3 (a review: 1 accepted, 1 rejected, the rest unreviewed)."""
    return _reviewed(demo_ws, tmp_path, capsys, "third")


def _reviewed(ws, tmp_path, capsys, give):
    from alc_data.correction.review import open_review_round

    cfg = TrainConfig.from_dict({"model": "demo-tiny", "iterations": 30, "batch_size": 4, "crop_size": 48},
                                seed=0, device="cpu", num_workers=0, checkpoint_every=0)
    ckpt = train_model(ws, config=cfg, run_dir=tmp_path / "m").checkpoint
    score(ws, ScoreOptions(budget=24, checkpoint=ckpt, superpixel_set="sam"))
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt", "--propagate", "--propagate-threshold", "0.05")
    assert code == 0, err
    rows = {(r.image_id, r.superpixel_id): r for r in ws.ledger.propagations()}
    assert len(rows) >= 3
    rnd = open_review_round(ws)
    _answer_review(ws, rnd, rows, give)
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--round", rnd)
    assert code == 0, err
    assert ws.labels.version().name == "v3"
    verdicts = [r.review for r in ws.ledger.propagations()]
    assert verdicts.count("accepted") == 1 and verdicts.count("rejected") == 1
    return ws


def _diff_json(capsys, ws, a, b):
    code, out, err = run_cli(capsys, "diff", a, b, "-w", ws.root, "--json")
    assert code == 0, err
    return json.loads(out)


def test_every_ledger_row_is_linked_and_counted(reviewed, capsys):
    ws = reviewed
    props = ws.ledger.propagations(["v2"])
    human = ws.ledger.corrections(["v1"])
    assert max(sum(r.image_id == p.image_id for r in props) for p in props) >= 2  # an image with several relabels
    d = _diff_json(capsys, ws, "v0", "v2")
    lg = d["ledger"]
    assert lg["corrections"] == len(props) + len(human)
    assert lg["corrections_linked"] == lg["corrections"]  # every row changed pixels between v0 and v2
    linked = {(x["source"], x["correction_id"], x.get("propagation_id"))
              for regs in d["regions"].values() for reg in regs for x in reg["links"]}
    assert len(linked) == lg["corrections"]


def test_counts_split_the_automatic_relabels_by_verdict(reviewed, capsys):
    ws = reviewed
    props = ws.ledger.propagations()
    rejected = [r for r in props if r.review == "rejected"]
    kept = [r for r in props if r.review != "rejected"]
    d = _diff_json(capsys, ws, "v0", "v3")
    lg = d["ledger"]
    assert lg["automatic_relabels"] == len(props)
    assert (lg["automatic_accepted"], lg["automatic_rejected"], lg["automatic_unreviewed"]) == (1, 1, len(props) - 2)
    assert lg["automatic_pixels"] == sum(r.pixels for r in kept)
    assert lg["automatic_rejected_pixels"] == sum(r.pixels for r in rejected)
    assert lg["human_rejections"] == 1
    # the rejection gave the pixels a third class: every changed pixel is counted once, by people or automatic
    assert lg["human_pixels"] + lg["automatic_pixels"] == d["changed_pixels"]
    code, out, _ = run_cli(capsys, "diff", "v0", "v3", "-w", ws.root)
    assert "1 accepted, 1 rejected, " f"{len(props) - 2} not yet reviewed" in " ".join(out.split())
    code, out, _ = run_cli(capsys, "info", "-w", ws.root, "--json")
    assert json.loads(out)["automatic"] == {
        "relabels": len(props), "accepted": 1, "rejected": 1, "unreviewed": len(props) - 2, "reviewed": 2,
        "pixels": sum(r.pixels for r in kept), "rejected_pixels": sum(r.pixels for r in rejected)}
    code, out, _ = run_cli(capsys, "info", "-w", ws.root)
    assert "1 accepted, 1 rejected, " f"{len(props) - 2} not yet reviewed" in " ".join(out.split())


def test_a_rejection_that_gives_back_the_old_class_cancels_its_relabel_in_the_counts(demo_ws, tmp_path, capsys):
    # the relabel (v2) and its rejection (v3) both lie between v0 and v3 and undo each other: those pixels
    # did not change, so neither the people's nor the automatic pixels count them
    ws = _reviewed(demo_ws, tmp_path, capsys, "old")
    rejected = next(r for r in ws.ledger.propagations() if r.review == "rejected")
    d = _diff_json(capsys, ws, "v0", "v3")
    lg = d["ledger"]
    assert lg["human_rejections"] == 1 and lg["human_restored_pixels"] == rejected.pixels > 0
    assert lg["human_pixels"] + lg["automatic_pixels"] == d["changed_pixels"]
    code, out, _ = run_cli(capsys, "diff", "v0", "v3", "-w", ws.root)
    assert f"{rejected.pixels:,} pixels given back their class before the relabel" in " ".join(out.split())
    # the review round alone: the rejection did change those pixels back, and counts them
    d = _diff_json(capsys, ws, "v2", "v3")
    assert d["ledger"]["human_restored_pixels"] == 0
    assert d["ledger"]["human_pixels"] == d["changed_pixels"] == rejected.pixels


def test_a_diff_before_the_review_counts_no_verdict(reviewed, capsys):
    ws = reviewed
    props = ws.ledger.propagations()
    lg = _diff_json(capsys, ws, "v0", "v2")["ledger"]
    assert (lg["automatic_accepted"], lg["automatic_rejected"], lg["automatic_unreviewed"]) == (0, 0, len(props))
    assert lg["automatic_pixels"] == sum(r.pixels for r in props)


def test_the_report_describes_an_automatic_relabel(reviewed, tmp_path, capsys):
    import html as html_lib

    ws = reviewed
    names = ws.catalogue.class_names
    code, _, err = run_cli(capsys, "diff", "v0", "v3", "-w", ws.root, "--report", tmp_path / "r.html", "--top", "50")
    assert code == 0, err
    page = html_lib.unescape((tmp_path / "r.html").read_text())
    assert "query None" not in page and "via propagated" not in page
    accepted = next(r for r in ws.ledger.propagations() if r.review == "accepted")
    line = (f"automatic relabel, round {accepted.round} (superpixel {accepted.superpixel_id}): "
            f"{names[accepted.old_class]} → {names[accepted.new_class]}, confidence {accepted.confidence:.3f}, "
            f"by model {Path(accepted.model).name}; reviewed: accepted")
    assert line in page
    assert "reviewed: not yet" in page
    assert "1 accepted, 1 rejected" in page


def test_publish_has_the_automatic_relabels_in_the_corrections_config(reviewed, tmp_path):
    import datasets

    from alc_data.publish.build import build_dataset_folder

    ws = reviewed
    result = build_dataset_folder(ws, tmp_path / "pub")
    props = ws.ledger.propagations()
    human = ws.ledger.corrections(["v1", "v2", "v3"])
    ds = datasets.load_dataset(str(tmp_path / "pub"), "corrections", cache_dir=str(tmp_path / "cache"))["train"]
    assert result.corrections == len(ds) == len(props) + len(human)
    auto = [r for r in ds if r["source"] == "propagated"]
    assert len(auto) == len(props)
    by_id = {r["propagation_id"]: r for r in auto}
    for p in props:
        row = by_id[p.propagation_id]
        assert row["correction_id"] is None and row["query_id"] is None
        assert (row["image_id"], row["superpixel_id"], row["old_class"], row["new_class"], row["pixels"]) == (
            p.image_id, p.superpixel_id, p.old_class, p.new_class, p.pixels)
        assert row["confidence"] == pytest.approx(p.confidence) and row["model"] == Path(p.model).name
        assert row["review"] == p.review and row["label_version"] == "v2"
    assert sorted(str(r["review"]) for r in auto).count("None") == len(props) - 2
    assert all(r["confidence"] is None and r["review"] is None for r in ds if r["source"] != "propagated")
    card = (tmp_path / "pub" / "README.md").read_text()
    assert f"{len(ds)} rows" in card and "1 accepted, 1 rejected, " f"{len(props) - 2} not yet reviewed" in card
    assert "propagation_id" in card and "confidence" in card
    assert np.isfinite([r["confidence"] for r in auto]).all()


def test_a_diff_of_the_review_alone_still_names_the_relabel_it_rejected(reviewed, capsys):
    """v2 → v3 holds the review round only: the relabel it rejected was made before the diff's range, but
    the person's correction still rejects it (counted and linked as it is from v0)."""
    ws = reviewed
    rejected = next(r for r in ws.ledger.propagations() if r.review == "rejected")
    d = _diff_json(capsys, ws, "v2", "v3")
    assert d["ledger"]["human_corrections"] == 1 and d["ledger"]["human_rejections"] == 1
    links = [x for regs in d["regions"].values() for reg in regs for x in reg["links"]]
    assert links and {x["rejects"] for x in links} == {rejected.propagation_id}
    assert d["ledger"]["automatic_relabels"] == 0  # the relabel itself is not a change of v2 → v3
