"""`alc-data errors`: planted label errors are found, ranked, tabled, drawn (escaped), measured and handed on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli
from planted_errors import NAMES, PLANTED, oracle_probs, planted_ws, scene  # noqa: F401 (planted_ws: a fixture)

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlcError
from alc_data.scoring.suspects import DEFAULT_ERROR_SCORE, find_suspects
from alc_data.suspects.metrics import auroc, average_precision, component_ap, precision_at


def test_a_planted_error_ranks_first_in_its_image_and_proposes_the_true_class():
    gt, regions = scene(0)
    labels = gt.copy()
    labels[regions == 5] = 0
    e = find_suspects(oracle_probs(gt, 0), labels, regions, image_id="x", gt=gt)
    score = e.scores[DEFAULT_ERROR_SCORE]
    top3 = e.region[np.argsort(-score)[:3]]
    assert top3[0] == 5 and 5 in top3
    row = int(np.flatnonzero(e.region == 5)[0])
    assert e.suspect[row] and (e.current[row], e.proposed[row]) == (0, 1) and e.confidence[row] > 0.8
    assert e.suspect.sum() == 1  # the model agrees with every other region
    assert e.truth.region_tp[row] and e.truth.image_wrong and np.isfinite(e.truth.found_at[DEFAULT_ERROR_SCORE]).all()
    clean = find_suspects(oracle_probs(gt, 0), gt, regions, image_id="y", gt=gt)
    assert clean.image_scores["image_max"] == 0.0 < e.image_scores["image_max"]
    assert not clean.truth.image_wrong and len(clean.truth.component_sizes) == 0


def test_void_pixels_are_never_wrong_and_a_void_region_is_no_suspect():
    gt, regions = scene(1)
    labels = gt.copy()
    labels[regions == 5] = IGNORE_INDEX
    e = find_suspects(oracle_probs(gt, 1), labels, regions, gt=gt)
    row = int(np.flatnonzero(e.region == 5)[0])
    assert e.current[row] == IGNORE_INDEX and not e.suspect[row] and e.truth.wrong_pixels == 0


def test_metrics_on_hand_made_rankings():
    assert average_precision([3, 2, 1, 0], [True, False, True, False]) == pytest.approx((1 + 2 / 3) / 2)
    assert auroc([3, 2, 1, 0], [True, False, True, False]) == pytest.approx(0.75)
    assert auroc([1, 1], [True, False]) == 0.5  # ties count half
    assert precision_at([5, 4, 3, 2, 1], [1, 0, 1, 1, 0], (1, 2, 5, 9)) == {1: 1.0, 2: 0.5, 5: 0.6}
    # two components: one found at 4 (by the first region, a true suspect), one never
    assert component_ap([4, 3, 2], [True, False, False], [4.0, -np.inf]) == pytest.approx(0.5)
    assert np.isnan(component_ap([1.0], [True], []))


def test_errors_from_a_prediction_folder_table_report_metrics(planted_ws, tmp_path, capsys):
    import pyarrow.parquet as pq

    report, out = tmp_path / "r" / "errors.html", tmp_path / "t" / "found.parquet"
    code, stdout, err = run_cli(capsys, "errors", "-w", planted_ws.root, "--predictions", tmp_path / "preds",
                                "--top", 3, "--report", report, "--out", out, "--json")
    assert code == 0, err
    res = json.loads(stdout)
    assert res["suspects"] == 1 and res["round"] is None and planted_ws.ledger.rounds() == []
    top = res["top"][0]
    assert (top["image_id"], top["region"], top["current_name"], top["proposed_name"]) == ("img_a", 5, NAMES[0], NAMES[1])
    m = res["metrics"]
    assert (m["images"], m["wrong_images"], m["components"]) == (4, 1, 1)
    assert m["image_auprc"] == 1.0 and m["image_auroc"] == 1.0 and m["component_ap"] == 1.0
    table = pq.read_table(out).to_pydict()
    assert table["image_id"] == ["img_a"] and table["rank"] == [0] and table["score"][0] > 50
    images = pq.read_table(tmp_path / "t" / "found.images.parquet").to_pydict()
    assert sorted(images["image_id"]) == ["img_a", "img_b", "img_c", "img_d"]
    image_score = dict(zip(images["image_id"], images["image_score"]))
    # the image score: the issue pixels are those of the planted object (100 of the image's 576) whose true
    # class is at least as probable as that class's mean (about half of them); each counts its margin (near
    # 1 here), twice as it lies in a suspect
    assert table["image_score"] == [image_score["img_a"]] and 0.6 * 100 / 576 < image_score["img_a"] <= 2 * 100 / 576
    assert image_score["img_b"] == image_score["img_c"] == image_score["img_d"] == 0.0
    assert dict(zip(images["image_id"], images["wrong"])) == {"img_a": True, "img_b": False, "img_c": False, "img_d": False}
    page = report.read_text()
    assert "&lt;b&gt;car&lt;/b&gt;" in page and "<b>car</b>" not in page and "&quot;&amp;&quot;" in page
    assert page.count("<figure>") == 1 and "<svg" in page and "data:image/png;base64," in page


def test_errors_queries_make_a_round_the_annotate_page_serves(planted_ws, tmp_path, capsys):
    from starlette.testclient import TestClient

    from alc_data.annotate import create_app

    code, stdout, err = run_cli(capsys, "errors", "-w", planted_ws.root, "--predictions", tmp_path / "preds",
                                "--queries", 3)
    assert code == 0, err
    assert "round 1" in stdout and "img_a" in stdout
    [q] = planted_ws.ledger.queries(1)  # one suspect: one query, at the planted region
    assert (q.image_id, q.superpixel_id) == PLANTED
    c = TestClient(create_app(planted_ws, 1, annotator="ann", allowed_hosts={"127.0.0.1:8765"}),
                   base_url="http://127.0.0.1:8765")
    leased = c.post("/api/lease", json={"holder": "tab"}, headers={"Origin": "http://127.0.0.1:8765"}).json()["queries"]
    assert [x["query_id"] for x in leased] == [q.query_id] and leased[0]["shown_label"] == 0
    # asked already: a second --queries passes over it and says so
    code, _, err = run_cli(capsys, "errors", "-w", planted_ws.root, "--predictions", tmp_path / "preds", "--queries", 3)
    assert code != 0 and "asked in an earlier round" in err


@pytest.mark.parametrize("args, message", [
    (["--top", "0"], "--top 0"),
    (["--queries", "0"], "--queries 0"),
    (["--out", "x.csv"], "--out x.csv: name a .parquet file"),
    (["--report", "r.txt"], "--report r.txt: name a .html file"),
])
def test_bad_options_are_one_line(planted_ws, tmp_path, capsys, args, message):
    code, _, err = run_cli(capsys, "errors", "-w", planted_ws.root, "--predictions", tmp_path / "preds", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_model_and_predictions_together_are_refused():
    from alc_data.stages.find_errors import ErrorsOptions

    with pytest.raises(AlcError, match="one of the two"):
        ErrorsOptions(checkpoint=Path("a.pt"), predictions=Path("p"))


def test_errors_from_a_model_checkpoint(planted_ws, tmp_path, capsys):
    import torch

    from alc_data.models import build_model
    from alc_data.train import save_checkpoint

    torch.manual_seed(0)
    k = planted_ws.catalogue.num_classes
    ckpt = save_checkpoint(tmp_path / "model.pt", {"model_name": "demo-tiny", "num_classes": k,
                                                   "class_names": planted_ws.catalogue.class_names,
                                                   "model": build_model("demo-tiny", k).state_dict(), "iteration": 0})
    code, stdout, err = run_cli(capsys, "errors", "-w", planted_ws.root, "--model", ckpt, "--json")
    assert code == 0, err
    res = json.loads(stdout)
    assert res["images"] == 4 and res["regions"] == sum(len(np.unique(scene(i)[1])) for i in range(4)) and res["metrics"]["wrong_images"] == 1
    assert Path(res["table"]) == planted_ws.root / "errors" / "errors.parquet" and Path(res["table"]).is_file()


def test_class_thresholds_and_issue_pixels_follow_confident_learning():
    from alc_data.scoring.suspects import class_thresholds

    p = np.zeros((2, 1, 4), np.float32)
    p[1] = [[0.9, 0.7, 0.6, 0.8]]
    p[0] = 1 - p[1]
    lab = np.array([[1, 1, 0, IGNORE_INDEX]], np.uint8)
    t = class_thresholds([(p, lab)], 2)
    assert t == pytest.approx([0.4, 0.8])  # class 0: p0 = 0.4 at its one pixel; class 1: (0.9 + 0.7) / 2
    assert class_thresholds([(p, np.ones_like(lab))], 2)[0] == 1.0  # a class nobody labels is never proposed
    regions = np.array([[0, 0, 1, 1]], np.int32)
    e = find_suspects(p, lab, regions, thresholds=t)
    # region 1 (labelled 0 where the model says 1) is a suspect; its pixel 2 has p0 = 0.4, not below t0
    # (the score adds half the suspect's prob, 1 - 0.4, to order suspects with as many issue pixels)
    assert list(e.suspect) == [False, True] and e.scores["issues"] == pytest.approx([0.0, 0.3])
    e = find_suspects(p, lab, regions, thresholds=[0.5, 0.5])
    assert e.scores["issues"] == pytest.approx([0.0, 1.3]) and e.image_scores["image_issues"] == pytest.approx(1 / 3)
    # the default image score: pixel 2's margin p1 - p0 = 0.2, counted twice inside the suspect, over 3 labelled
    assert e.image_scores["image_margin"] == pytest.approx(2 * 0.2 / 3)
    # the same issue pixel in a region whose majority label the model agrees with: counted once
    e = find_suspects(p, lab, np.zeros((1, 4), np.int32), thresholds=[0.5, 0.5])
    assert not e.suspect.any() and e.image_scores["image_margin"] == pytest.approx(0.2 / 3)


def test_an_issue_pixel_whose_label_is_still_the_most_probable_adds_nothing_to_the_image_score():
    # class 0's threshold is high (0.9): a pixel labelled 0 at p0 = 0.8 is below it, and class 1 (p1 = 0.2)
    # clears its threshold 0.1, so the rule calls it an issue, though the model still prefers the label.
    # Its margin p1 - p0 = -0.6 once made an image with such pixels score below an image with none.
    p = np.zeros((2, 1, 4), np.float32)
    p[1] = [[0.2, 0.2, 0.6, 0.05]]
    p[0] = 1 - p[1]
    lab = np.zeros((1, 4), np.uint8)
    regions = np.zeros((1, 4), np.int32)
    e = find_suspects(p, lab, regions, thresholds=[0.9, 0.1])
    # pixel 2 (p1 = 0.6 > p0 = 0.4) is the only positive evidence: 0.2 over 4 labelled pixels
    assert e.image_scores["image_margin"] == pytest.approx(0.2 / 4)
    clean = p.copy()
    clean[1, 0, :2], clean[0, 0, :2] = 0.0, 1.0  # the same image without the two label-preferred issue pixels
    assert find_suspects(clean, lab, regions, thresholds=[0.9, 0.1]).image_scores["image_margin"] == pytest.approx(0.2 / 4)


@pytest.mark.parametrize("void", [0.1, 0.8])  # the whole image's rows, or the labelled pixels gathered
def test_issue_pixels_follow_the_confident_learning_rule_pixel_by_pixel(void):
    from alc_data.scoring.suspects import _issue_pixels

    rng = np.random.default_rng(3)
    K, N = 6, 900
    P = rng.dirichlet(np.full(K, 0.4), size=N).T.astype(np.float32)
    P[:, :200] = np.round(P[:, :200], 1)  # ties between classes
    lab = rng.integers(0, K, N).astype(np.uint8)
    lab[rng.random(N) < void] = IGNORE_INDEX  # mostly void: the labelled pixels are gathered first
    t = rng.random(K) * 0.5
    issue, margin = np.zeros(N, bool), np.zeros(N)
    for x in range(N):  # the rule, one pixel at a time
        y = int(lab[x])
        if y == IGNORE_INDEX or not P[y, x] < t[y]:
            continue
        above = [k for k in range(K) if P[k, x] >= t[k]]
        found = max(above, key=lambda k: (P[k, x], -k)) if above else y
        if found != y:
            issue[x], margin[x] = True, max(0.0, float(P[found, x]) - float(P[y, x]))
    got_issue, got_margin = _issue_pixels(P, lab, t)
    assert issue.sum() > 20 and (issue & (margin == 0)).any()  # some issue pixels still prefer their label
    np.testing.assert_array_equal(got_issue, issue)
    np.testing.assert_array_equal(got_margin, margin)


def test_a_failed_errors_run_leaves_the_tables_of_the_last_one_and_queries_need_the_latest_labels(planted_ws, tmp_path,
                                                                                                 capsys):
    """Red team, session 7: a run whose --queries is refused rewrote both tables all the same, and
    `--version OLD --queries N` made a round on stale labels whose corrections then changed nothing."""
    preds = tmp_path / "preds"
    code, _, err = run_cli(capsys, "errors", "-w", planted_ws.root, "--predictions", preds, "--queries", 3)
    assert code == 0, err
    tables = [planted_ws.root / "errors" / "errors.parquet", planted_ws.root / "errors" / "errors.images.parquet"]
    before = [(p.stat().st_ino, p.read_bytes()) for p in tables]
    code, _, err = run_cli(capsys, "errors", "-w", planted_ws.root, "--predictions", preds, "--queries", 3)
    assert code != 0 and "asked in an earlier round" in err
    assert [(p.stat().st_ino, p.read_bytes()) for p in tables] == before  # not replaced
    assert not list((planted_ws.root / "errors").glob(".*"))  # nothing staged is left behind
    assert run_cli(capsys, "correct", "-w", planted_ws.root, "--oracle", "gt")[0] == 0
    assert planted_ws.labels.version().name == "v1"
    code, _, err = run_cli(capsys, "errors", "-w", planted_ws.root, "--predictions", preds, "--version", "v0",
                           "--queries", 3, "--no-skip-asked")
    assert code == 2 and "v0" in err and "latest" in err and len(err.strip().splitlines()) == 1, err
    assert len(planted_ws.ledger.rounds()) == 1
    code, _, err = run_cli(capsys, "errors", "-w", planted_ws.root, "--predictions", preds, "--version", "v0")
    assert code == 0, err  # without --queries an older version is only looked at


def test_precision_at_k_counts_only_flagged_regions(planted_ws, tmp_path, capsys):
    """Red team, session 7: P@k and the report's curve ran past the suspects into unflagged regions, whose
    tied scores put them in image order (P@10 0.10 with no suspect at all)."""
    from alc_data.suspects.metrics import precision_at, precision_curve

    code, stdout, err = run_cli(capsys, "errors", "-w", planted_ws.root, "--predictions", tmp_path / "preds", "--json")
    assert code == 0, err
    res = json.loads(stdout)
    assert res["metrics"]["regions"] >= 10 and res["suspects"] == 1
    assert res["metrics"]["precision_at_k"] == {}  # no k of 10, 50, ... fits in one suspect
    scores, tp = np.array([3.0, 2.0, 0.0, 0.0]), np.array([True, False, True, False])
    assert precision_at(scores, tp, (1, 2, 3), flagged=2) == {1: 1.0, 2: 0.5}
    assert precision_curve(scores, tp, flagged=2) == [(1, 1.0), (2, 0.5)]
