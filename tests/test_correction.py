"""Queries, answers (oracle and CSV), expansion and label versions from the ledger."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from cli_helpers import invoke

from alc_data.answers import oracle_answers, record_answers
from alc_data.answers.record import Answer
from alc_data.constants import IGNORE_INDEX
from alc_data.correction import apply_answers, expand_answers, rebuild_version
from alc_data.stages.correct import correct_round
from alc_data.errors import AlcError
from alc_data.queries import create_round, export_queries_csv, region_boxes, round_queries
from alc_data.scoring import ScoreTable, score_superpixels, select_top



def data_miou(ws, version):
    k = ws.catalogue.num_classes
    conf = np.zeros((k, k), np.int64)
    for i in ws.catalogue.image_ids("train"):
        g, lab = ws.catalogue.read_gt(i), ws.labels.read_label(version, i)
        m = (g != IGNORE_INDEX) & (lab != IGNORE_INDEX)
        conf += np.bincount(g[m].astype(int) * k + lab[m], minlength=k * k).reshape(k, k)
    inter = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - inter
    return float(np.mean(inter[union > 0] / union[union > 0]))


def truthful_probs(ws, image_id):
    """Probabilities of a model that knows the ground truth (void pixels: the noisy label)."""
    g = ws.catalogue.read_gt(image_id).astype(int)
    noisy = ws.labels.read_label("v0", image_id).astype(int)
    target = np.where(g == IGNORE_INDEX, noisy, g)
    logits = np.eye(ws.catalogue.num_classes)[target].transpose(2, 0, 1) * 4.0
    e = np.exp(logits)
    return (e / e.sum(0)).astype(np.float32)


def make_round(ws, budget, acquisition="sim", version="v0"):
    tables = [
        score_superpixels(truthful_probs(ws, i), ws.labels.read_label(version, i), ws.superpixels.read_superpixels("sam", i),
                          acquisition=acquisition, image_id=i)
        for i in ws.catalogue.image_ids("train")
    ]
    asked = ws.ledger.asked("sam")
    scores = ScoreTable.concat(tables)
    selected = select_top(scores, budget, exclude=asked)

    def place_table(round_no: int) -> str:  # as `alc-data score` does, so `alc-data check` finds the round whole
        table = ws.rounds_dir(round_no) / "scores.parquet"
        scores.to_parquet(table)
        return str(table.relative_to(ws.root))

    return create_round(ws, selected, label_version=version, superpixel_set="sam", acquisition=acquisition, budget=budget,
                        score_table=place_table)


def test_region_boxes_are_inclusive_pixel_boxes():
    sp = np.array([[0, 0, 1], [2, 1, 1], [2, 2, -1]])
    assert region_boxes(sp, np.array([1, 2, 0])).tolist() == [[1, 0, 2, 1], [0, 1, 1, 2], [0, 0, 1, 0]]
    with pytest.raises(AlcError, match="superpixel 7"):
        region_boxes(sp, np.array([7]))


def test_expand_whole_superpixel_and_tau():
    labels = np.array([[0, 0, 1], [2, 1, 1], [2, 2, IGNORE_INDEX]], np.uint8)
    sp = np.array([[0, 0, 1], [2, 1, 1], [2, 2, -1]])
    out, changes = expand_answers(labels, sp, [(7, 1, 3, 0, 2), (8, 0, 0, 0, 0)], mode="superpixel")
    assert out.tolist() == [[0, 0, 3], [2, 3, 3], [2, 2, IGNORE_INDEX]]
    assert [(c.query_id, c.old_class, c.new_class, c.pixels) for c in changes] == [(7, 1, 3, 3)]
    # tau: only pixels whose probabilities point the same way as the representative's
    probs = np.zeros((2, 3, 3), np.float32)
    probs[0] = 1.0
    probs[:, 1, 1] = (0.0, 1.0)  # dissimilar to the rep at (0, 2)
    out, changes = expand_answers(labels, sp, [(7, 1, 3, 0, 2)], tau=0.5, probs=probs, mode="superpixel")
    assert out[1, 1] == 1 and out[0, 2] == 3 and out[1, 2] == 3
    assert changes[0].pixels == 2


def test_oracle_round_raises_data_miou_and_is_idempotent(demo_ws, capsys, assert_workspace_ok):
    ws = demo_ws
    before = data_miou(ws, "v0")
    rnd = make_round(ws, 15)
    result = correct_round(ws, round_no=rnd, oracle="gt")
    assert result.recorded == 15 and result.applied is not None and result.applied.version == "v1"
    v1 = ws.labels.version("v1")
    assert v1.parent == "v0" and v1.kind == "correction" and v1.round == rnd
    after = data_miou(ws, "v1")
    assert after > before + 0.02
    # every answer is in the ledger with its source and the version that applied it
    answers = ws.ledger.answers(rnd).values()
    assert len(answers) == 15 and {(a.source, a.applied_version) for a in answers} == {("oracle:gt:pixel", "v1")}
    corrected = sum(a.status == "corrected" for a in answers)
    assert len(ws.ledger.corrections(["v1"])) == corrected > 0
    # applying again records nothing and writes no version
    again = correct_round(ws, round_no=rnd, oracle="gt")
    assert again.recorded == 0 and again.applied is None
    assert [v.name for v in ws.labels.label_versions()] == ["v0", "v1"]
    # the version can be rebuilt from its parent plus the ledger
    for image_id, labels in rebuild_version(ws, "v1"):
        np.testing.assert_array_equal(labels, ws.labels.read_label("v1", image_id))
    # a second round on v1 skips asked superpixels and keeps improving
    rnd2 = make_round(ws, 15, version="v1")
    asked1 = {(q.image_id, q.superpixel_id) for q in round_queries(ws, rnd)}
    asked2 = {(q.image_id, q.superpixel_id) for q in round_queries(ws, rnd2)}
    assert not asked1 & asked2
    correct_round(ws, round_no=rnd2, oracle="gt")
    assert ws.labels.version("v2").parent == "v1"
    assert data_miou(ws, "v2") >= after
    cost = json.loads(invoke(capsys, ["info", "-w", str(ws.root), "--json"]).stdout)["cost"]
    assert cost["total"]["queries"] == 30 and cost["total"]["answered"] == 30
    assert cost["total"]["correction_query_seconds"] == pytest.approx(30 * 4.76)
    assert_workspace_ok(ws)


def test_oracle_modes_and_unanswerable(demo_ws):
    ws = demo_ws
    rnd = make_round(ws, 40)
    queries = round_queries(ws, rnd)
    pixel = {a.query_id: a for a in oracle_answers(ws, queries, label_version="v0", mode="pixel")}
    major = {a.query_id: a for a in oracle_answers(ws, queries, label_version="v0", mode="region-majority")}
    for q in queries:
        g = ws.catalogue.read_gt(q.image_id)
        lab = ws.labels.read_label("v0", q.image_id)
        sp = ws.superpixels.read_superpixels("sam", q.image_id) == q.superpixel_id
        gt_rep = g[q.rep_row, q.rep_col]
        if gt_rep == IGNORE_INDEX:
            assert pixel[q.query_id].status == major[q.query_id].status == "unanswerable"
            continue
        expect = "accepted" if lab[q.rep_row, q.rep_col] == gt_rep else "corrected"
        assert pixel[q.query_id].status == expect
        agree = (lab[sp] == g[sp]).mean()
        assert major[q.query_id].status == ("corrected" if agree <= 0.5 else "accepted")
    # an unanswerable query is recorded and changes nothing
    q = queries[0]
    record_answers(ws, rnd, [Answer(q.query_id, "unanswerable", None)], source="test", annotator="t")
    summary = apply_answers(ws, rnd)
    assert summary is not None and summary.unanswerable == 1 and summary.changed_pixels == 0
    for i in ws.catalogue.image_ids():
        np.testing.assert_array_equal(ws.labels.read_label(summary.version, i), ws.labels.read_label("v0", i))


def _fill(path, out, answer_for):
    rows = list(csv.DictReader(path.open()))
    for r in rows:
        r["answer"] = answer_for(r)
    with out.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows


def test_csv_answers_through_the_cli(demo_ws, tmp_path, capsys, assert_workspace_ok):
    ws = demo_ws
    rnd = make_round(ws, 8)
    q_csv = export_queries_csv(ws, tmp_path / "q.csv")
    header = q_csv.read_text().splitlines()[0].split(",")
    assert header[0] == "query_id" and header[-1] == "answer" and "label_shown" in header
    names = ws.catalogue.class_names

    def truth(r):
        g = ws.catalogue.read_gt(r["image_id"])[int(r["rep_row"]), int(r["rep_col"])]
        return "skip" if g == IGNORE_INDEX else ("accept" if names[g] == r["label_shown"] else names[g])

    _fill(q_csv, tmp_path / "a.csv", truth)
    res = invoke(capsys, ["correct", "-w", str(ws.root), "--answers", str(tmp_path / "a.csv"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["recorded"] == 8 and out["applied"]["version"] == "v1"
    assert {a.source for a in ws.ledger.answers(1).values()} == {"csv:a.csv"}
    # the same file twice changes nothing
    res = invoke(capsys, ["correct", "-w", str(ws.root), "--answers", str(tmp_path / "a.csv"), "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["applied"] is None
    assert [v.name for v in ws.labels.label_versions()] == ["v0", "v1"]
    assert rnd == 1
    assert_workspace_ok(ws)


def test_bad_answers_file_lists_every_bad_row_and_applies_nothing(demo_ws, tmp_path, capsys, assert_workspace_ok):
    ws = demo_ws
    make_round(ws, 6)
    q_csv = export_queries_csv(ws, tmp_path / "q.csv")
    rows = list(csv.DictReader(q_csv.open()))
    bad = [dict(r, answer="accept") for r in rows[:2]]
    bad.append(dict(rows[0], answer="car" if rows[0]["label_shown"] != "car" else "dog"))  # conflicting (line 4)
    bad.append(dict(rows[2], answer="zebra"))  # unknown class (line 5)
    bad.append(dict(rows[3], query_id="9999", answer="accept"))  # unknown query (line 6)
    bad.append(dict(rows[4], image_id="demo_99999", answer="accept"))  # another image (line 7)
    bad.append(dict(rows[1], answer="accept"))  # duplicate (line 8)
    bad.append(dict(rows[5], round="7", answer="accept"))  # wrong round (line 9)
    path = tmp_path / "bad.csv"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(bad)
    res = invoke(capsys, ["correct", "-w", str(ws.root), "--answers", str(path)])
    assert res.exit_code == 2
    msg = res.output.strip()
    assert "\n" not in msg and "6 bad row(s)" in msg
    for needle in ("line 4: conflicting", "line 5: unknown class 'zebra'", "line 6: unknown query 9999",
                   "line 7: answer for image", "line 8: duplicate", "line 9: round"):
        assert needle in msg
    assert ws.ledger.answers(1) == {}
    assert [v.name for v in ws.labels.label_versions()] == ["v0"]
    assert_workspace_ok(ws)


def test_answers_from_another_round_are_rejected(demo_ws, tmp_path, capsys):
    ws = demo_ws
    make_round(ws, 4)
    old = export_queries_csv(ws, tmp_path / "round1.csv")
    correct_round(ws, oracle="gt")
    make_round(ws, 4, version="v1")
    _fill(old, tmp_path / "a.csv", lambda r: "accept")
    res = invoke(capsys, ["correct", "-w", str(ws.root), "--answers", str(tmp_path / "a.csv")])
    assert res.exit_code == 2 and "belongs to round 1, not round 2" in res.output and "--round 1" in res.output
    assert ws.ledger.answers(2) == {}


def test_conflicting_answer_with_the_ledger_is_refused(demo_ws):
    ws = demo_ws
    rnd = make_round(ws, 3)
    q = round_queries(ws, rnd)[0]
    record_answers(ws, rnd, [Answer(q.query_id, "corrected", 1)], source="a", annotator="a")
    with pytest.raises(AlcError, match=rf"1 answer\(s\) contradict answers already in the ledger \(query {q.query_id}: "
                                       r"ledger corrected 1, given corrected 2\); nothing applied"):
        record_answers(ws, rnd, [Answer(q.query_id, "corrected", 2)], source="b", annotator="b")


def test_the_other_round_hint_comes_only_when_every_row_is_of_that_round(demo_ws, tmp_path, capsys):
    """Red team, session 7: a file of round 2's rows with one row of round 1 ended with "its answers are
    for round 1: pass --round 1", which would make every other row wrong."""
    import csv

    ws = demo_ws
    make_round(ws, 4)
    old = export_queries_csv(ws, tmp_path / "round1.csv")
    correct_round(ws, oracle="gt")
    make_round(ws, 4, version="v1")
    new = export_queries_csv(ws, tmp_path / "round2.csv")
    with open(new, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(old, newline="") as f:
        stray = next(csv.DictReader(f))
    mixed = tmp_path / "mixed.csv"
    with open(mixed, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in [*rows, stray]:
            writer.writerow({**row, "answer": "accept"})
    res = invoke(capsys, ["correct", "-w", str(ws.root), "--answers", str(mixed)])
    assert res.exit_code == 2 and "belongs to round 1, not round 2" in res.output, res.output
    assert "--round 1" not in res.output
    assert ws.ledger.answers(2) == {}
