"""`correct --propagate` and its review as a new user met them (red team, 2026-12-07): a review asks where
the module changed pixels and a rejection restores only those, a person's later answer settles a relabel,
the round's probabilities are checked before anything is recorded, and options that would be ignored
are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_helpers import run_cli

from alc_data.correction.review import open_review_round


def _propagated(capsys, ws) -> None:
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt", "--propagate", "--propagate-threshold", "0.05")
    assert code == 0, err


def _relabelled(ws, row) -> np.ndarray:
    region = ws.superpixels.read_superpixels(row.superpixel_set, row.image_id) == row.superpixel_id
    parent = ws.labels.version(row.label_version).parent
    return region & (ws.labels.read_label(row.label_version, row.image_id) != ws.labels.read_label(parent, row.image_id))


def test_a_review_asks_where_the_module_changed_pixels_and_a_rejection_restores_only_those(scored, capsys):
    ws, _ = scored
    _propagated(capsys, ws)
    rows = ws.ledger.propagations()
    rnd = open_review_round(ws)
    queries = {(q.image_id, q.superpixel_id): q for q in ws.ledger.queries(rnd)}
    for row in rows:  # every review query points at a pixel the relabel changed
        q = queries[(row.image_id, row.superpixel_id)]
        assert _relabelled(ws, row)[q.rep_row, q.rep_col], (row, q)
    # a relabel whose region held pixels of the new class before it (label expansion left them alone)
    mixed = [r for r in rows if ((ws.superpixels.read_superpixels(r.superpixel_set, r.image_id) == r.superpixel_id)
                                 & (ws.labels.read_label("v1", r.image_id) == r.new_class)).any()]
    assert mixed
    row = mixed[0]
    q = queries[(row.image_id, row.superpixel_id)]
    path = ws.root.parent / "review.csv"
    path.write_text("query_id,answer\n" + "".join(
        f"{x.query_id},{row.old_class if x is q else 'accept'}\n" for x in queries.values()))
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--round", rnd, "--answers", path)
    assert code == 0, err
    region = ws.superpixels.read_superpixels(row.superpixel_set, row.image_id) == row.superpixel_id
    before = ws.labels.read_label("v1", row.image_id)
    np.testing.assert_array_equal(ws.labels.read_label(ws.labels.version().name, row.image_id)[region], before[region])


def test_a_region_a_person_answered_after_its_relabel_is_not_reviewed(scored, capsys):
    from alc_data.stages.score import ScoreOptions, score

    ws, ckpt = scored
    _propagated(capsys, ws)
    score(ws, ScoreOptions(budget=200, checkpoint=ckpt, superpixel_set="sam"))  # round 2 asks most regions left
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt")
    assert code == 0, err
    asked_later = {(q.image_id, q.superpixel_id) for q in ws.ledger.queries(2)}
    assert asked_later & {(r.image_id, r.superpixel_id) for r in ws.ledger.propagations()}
    rnd = open_review_round(ws)
    reviewed = set() if rnd is None else {(q.image_id, q.superpixel_id) for q in ws.ledger.queries(rnd)}
    assert not reviewed & asked_later


@pytest.mark.parametrize("source", [["--model", "nothere.pt"], ["--predictions", "no-such-folder"]])
def test_a_missing_probability_source_is_refused_before_anything_is_recorded(scored, capsys, source):
    ws, _ = scored
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt", "--propagate", *source)
    assert code == 2 and source[1] in err and len(err.strip().splitlines()) == 1, err
    assert ws.ledger.answers(1) == {} and [v.name for v in ws.labels.label_versions()] == ["v0"]


def test_propagate_on_a_review_round_is_refused(scored, capsys):
    ws, ckpt = scored
    _propagated(capsys, ws)
    rnd = open_review_round(ws)
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--round", rnd, "--propagate", "--model", ckpt)
    assert code == 2 and "review" in err and len(err.strip().splitlines()) == 1, err
    assert ws.ledger.answers(rnd) == {}


@pytest.mark.parametrize("args", [["--propagate-threshold", "0.5"], ["--propagate-agreement", "0.5"],
                                  ["--propagate-features", "mean-std"], ["--predictions", "preds"],
                                  # given at their defaults they would be ignored all the same (red team, session 7)
                                  ["--propagate-threshold", "0.99"], ["--propagate-agreement", "0"],
                                  ["--propagate-features", "mean"]])
def test_propagation_options_without_propagate_are_refused(scored, capsys, args):
    ws, _ = scored
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt", *args)
    assert code == 2 and args[0] in err and "--propagate" in err and len(err.strip().splitlines()) == 1, err
    assert ws.ledger.answers(1) == {}


def test_propagating_a_round_again_says_it_was_done(scored, capsys):
    ws, _ = scored
    _propagated(capsys, ws)
    code, out, err = run_cli(capsys, "correct", "-w", ws.root, "--propagate", "--json")
    assert code == 0, err
    assert json.loads(out)["propagated_before"] == "v2"
    code, out, err = run_cli(capsys, "correct", "-w", ws.root, "--propagate")
    assert code == 0 and "round 1 was propagated already (labels v2)" in out, out


def test_classes_without_answers_are_never_overwritten_nor_proposed():
    from alc_data.correction.lcm import rare_classes, relabel_mask

    # 7 classes; answered regions: 3 of class 0, 2 of class 4, none of the others
    rare, rarest = rare_classes(np.array([0, 0, 0, 4, 4]), 7)
    assert set(rare.tolist()) == {1, 2, 3, 5, 6} and set(rarest.tolist()) == {1, 2, 3, 5, 6}
    keep = relabel_mask(np.full(3, 0.999), np.array([4, 0, 4]), np.array([1, 4, 0]), threshold=0.99, rare=rare,
                        rarest=rarest)
    # class 1 (car, no answers) is never overwritten; 4 → 0 and 0 → 4 pass
    assert keep.tolist() == [False, True, True]
    # A2LC's rules where nothing ties at zero: the rarest half (ties by class index), the single rarest class
    rare, rarest = rare_classes(np.array([0] * 5 + [1] * 4 + [2] * 3 + [3] * 2 + [4]), 5)
    assert rare.tolist() == [3, 4] and rarest.tolist() == [4]
    rare, _ = rare_classes(np.array([0] * 5 + [1] * 2 + [2] * 2 + [3] * 2 + [4]), 5)
    assert rare.tolist() == [1, 4]  # classes 1, 2, 3 tie at 2 answers: A2LC's index order picks 1


def test_score_says_its_class_balance(scored, capsys):
    ws, ckpt = scored
    code, out, err = run_cli(capsys, "score", "-w", ws.root, "--model", ckpt, "--budget", 3, "--superpixels", "sam",
                             "--balance", "abc")
    assert code == 0 and "; sim with --balance abc on labels v0)" in out, err
    code, out, err = run_cli(capsys, "score", "-w", ws.root, "--model", ckpt, "--budget", 3, "--superpixels", "sam",
                             "--json")
    assert code == 0 and json.loads(out)["balance"] == "none", err


def test_the_demos_baselines_run_without_a_balance_they_cannot_take():
    from alc_data.loop.config import Recipe
    from alc_data.loop.demo import _compared
    from alc_data.loop.recipes import apply_overrides, load_recipe

    base = Recipe.from_dict(apply_overrides(load_recipe("demo"), ["loop.balance=abc"]))
    said: list[str] = []
    random_run = _compared(base, "random", said.append)
    assert random_run.loop.acquisition == "random" and random_run.loop.balance == "none"
    assert said == ["[random] runs without loop.balance = abc (it weighs sim's per-pixel terms only)"]
    assert _compared(base, "sim", said.append).loop.balance == "abc" and len(said) == 1


def test_score_counts_the_candidates_left_to_ask(scored, capsys):
    ws, ckpt = scored  # round 1 asked 24 regions
    code, out, err = run_cli(capsys, "score", "-w", ws.root, "--model", ckpt, "--budget", 3, "--superpixels", "sam",
                             "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["left"] == res["candidates"] - 24 > 0
    code, out, err = run_cli(capsys, "score", "-w", ws.root, "--model", ckpt, "--budget", 3, "--superpixels", "sam")
    assert code == 0 and f"of the {res['left'] - 3} candidate superpixels left to ask ({res['candidates']} scored;" in out


def test_a_review_is_asked_inside_the_changed_pixels_not_on_their_edge(scored, capsys):
    """The review point of a relabel is its changed pixel farthest from their edge (red team, session 7:
    the first changed pixel in row-major order sat on the region's top-left edge, where about half the
    ground truth is void, so half the reviews could only be answered "can't tell")."""
    import cv2

    ws, _ = scored
    _propagated(capsys, ws)
    rows = {(r.image_id, r.superpixel_id): r for r in ws.ledger.propagations()}
    rnd = open_review_round(ws)
    inside = 0
    for q in ws.ledger.queries(rnd):
        changed = _relabelled(ws, rows[(q.image_id, q.superpixel_id)]).astype(np.uint8)
        depth = cv2.distanceTransform(np.pad(changed, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
        assert depth[q.rep_row, q.rep_col] == depth.max(), q
        inside += depth.max() > 1
    assert inside > 0  # relabels with an inside at all: there the point is off the edge


def test_a_relabel_answered_cant_tell_stays_unreviewed_and_is_asked_again(scored, capsys):
    """A "can't tell" on a review leaves the relabel unreviewed (as info counts it), and the next
    `annotate --review propagated` asks it again instead of saying nothing is left to review."""
    ws, _ = scored
    _propagated(capsys, ws)
    rnd = open_review_round(ws)
    queries = ws.ledger.queries(rnd)
    unsure = queries[0]
    path = ws.root.parent / "review.csv"
    path.write_text("query_id,answer\n" + "".join(
        f"{q.query_id},{'unanswerable' if q is unsure else 'accept'}\n" for q in queries))
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--round", rnd, "--answers", path)
    assert code == 0, err
    code, out, _ = run_cli(capsys, "info", "-w", ws.root, "--json")
    assert json.loads(out)["automatic"]["unreviewed"] == 1
    again = open_review_round(ws)
    assert again is not None and again != rnd
    assert [(q.image_id, q.superpixel_id) for q in ws.ledger.queries(again)] == [(unsure.image_id, unsure.superpixel_id)]


def test_auto_that_finds_no_threshold_says_why_instead_of_none():
    from alc_data.correction.propagate import PropagationResult

    found = dict(round=1, version=None, parent="v1", trained_on=20, candidates=50, relabelled=0, changed_images=0,
                 changed_pixels=0)
    text = PropagationResult(threshold=None, threshold_mode="auto", **found).threshold_text()
    assert "None" not in text and "no threshold made the module's relabels at least 90% right" in text
    assert PropagationResult(threshold=0.99, threshold_mode="fixed", **found).threshold_text() == "threshold 0.99"


def test_score_clears_what_a_killed_score_left_in_rounds(scored, capsys, assert_workspace_ok):
    """Red team, session 7: after a SIGKILL during scoring, the resumed run finished but `check` kept
    reporting the dead process's staging folder. A new score (it holds the workspace's write lock, so no
    other one is running) now removes it."""
    from alc_data.stages.score import ScoreOptions, score

    ws, ckpt = scored
    assert run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt")[0] == 0
    shards = ws.root / "rounds" / ".scores.999999.shards.tmp"
    (shards / "part").mkdir(parents=True)
    (ws.root / "rounds" / ".scores.999999.parquet.tmp").write_bytes(b"PAR1")
    score(ws, ScoreOptions(budget=2, checkpoint=ckpt, superpixel_set="sam"))
    assert not list((ws.root / "rounds").glob(".scores.*"))
    assert_workspace_ok(ws)


@pytest.mark.parametrize("command", [["correct", "--oracle", "gt", "--propagate", "--seed", "-1"],
                                     ["train", "-m", "demo-tiny", "--iterations", "1", "--seed", "-1"]])
def test_a_negative_seed_is_one_line_before_anything_is_written(scored, capsys, command):
    """Red team, session 7: `train --seed -1` was an internal error (numpy's SeedSequence) and `correct
    --seed -1` was taken as it was."""
    ws, _ = scored
    versions = [v.name for v in ws.labels.label_versions()]
    code, _, err = run_cli(capsys, command[0], "-w", ws.root, *command[1:])
    assert code == 2 and "-1" in err and len(err.strip().splitlines()) == 1, err
    assert ws.ledger.answers(1) == {} and [v.name for v in ws.labels.label_versions()] == versions


@pytest.mark.parametrize("name", ["myset", "sam"])
def test_check_names_the_whole_command_that_finishes_a_stopped_superpixels_run(demo_ws, capsys, monkeypatch, name):
    """Red team, session 7: after a stopped `superpixels --method felzenszwalb -p scale=50 --overwrite`,
    `check` suggested `superpixels --name felzenszwalb`, which fails (no method); the hint now holds the
    method, its parameters and --overwrite where the set exists, and running it finishes the set."""
    import shlex

    import alc_data.superpixels.base as base
    from alc_data.workspace.check import check_workspace

    real, calls = base.write_superpixels, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(base, "write_superpixels", interrupted)
    args = ["superpixels", "-w", demo_ws.root, "--method", "felzenszwalb", "-p", "scale=50", "--name", name,
            *(["--overwrite"] if name == "sam" else [])]
    assert run_cli(capsys, *args)[0] == 130
    monkeypatch.undo()
    [notice] = [n for n in check_workspace(demo_ws.root).notices if n.kind == "unfinished-run"]
    hint = notice.message.split("`")[1]
    assert "--method felzenszwalb" in hint and "-p scale=50" in hint and ("--overwrite" in hint) == (name == "sam")
    code, _, err = run_cli(capsys, *shlex.split(hint)[1:])
    assert code == 0, err
    assert not [n for n in check_workspace(demo_ws.root).notices if n.kind == "unfinished-run"]
