"""``correct --propagate``: the label-correction module relabels never-asked regions, records each
relabel in the ledger, rebuilds from it, and a re-run changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from alc_data.correction.rebuild import rebuild_version
from cli_helpers import run_cli


def test_propagation_is_recorded_rebuilt_and_idempotent(scored, capsys, assert_workspace_ok):
    ws, _ = scored
    code, out, err = run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt", "--propagate",
                             "--propagate-threshold", "0.05", "--json")
    assert code == 0, err
    import json

    result = json.loads(out)
    prop = result["propagated"]
    assert prop["trained_on"] > 0 and prop["relabelled"] > 0 and prop["version"] == "v2"
    version = ws.labels.version("v2")
    assert version.kind == "propagation" and version.parent == "v1" and version.round == 1
    rows = ws.ledger.propagations(["v2"])
    assert len(rows) == prop["relabelled"] and all(r.old_class != r.new_class for r in rows)
    assert sum(r.pixels for r in rows) == prop["changed_pixels"]
    asked = ws.ledger.asked("sam")
    assert not any((r.image_id, r.superpixel_id) in asked for r in rows)  # a relabel is not a query
    for image_id, labels in rebuild_version(ws, "v2"):
        np.testing.assert_array_equal(labels, ws.labels.read_label("v2", image_id))
    code, out, _ = run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt", "--propagate",
                           "--propagate-threshold", "0.05", "--json")
    again = json.loads(out)
    assert code == 0 and again["applied"] is None and again["propagated"] is None
    assert [v.name for v in ws.labels.label_versions()] == ["v0", "v1", "v2"]
    assert_workspace_ok(ws)


def test_label_expansion_changes_only_the_majority_label(scored, capsys):
    ws, _ = scored
    run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt", "--propagate", "--propagate-threshold", "0.05")
    for r in ws.ledger.propagations(["v2"]):
        sp = ws.superpixels.read_superpixels("sam", r.image_id) == r.superpixel_id
        before, after = ws.labels.read_label("v1", r.image_id), ws.labels.read_label("v2", r.image_id)
        changed = sp & (before != after)
        assert (before[changed] == r.old_class).all() and (after[changed] == r.new_class).all()
        assert (before[sp & (before != r.old_class)] == after[sp & (before != r.old_class)]).all()


@pytest.mark.parametrize("args, message", [
    (["--propagate-threshold", "1.5"], "must be a number in (0, 1] or 'auto'"),
    (["--propagate-threshold", "often"], "must be a number in (0, 1] or 'auto'"),
    (["--expand", "pixel"], "use it with --expand label or superpixel"),
    (["--propagate-agreement", "1"], "--propagate-agreement 1.0 must be a number in [0, 1)"),
    (["--propagate-agreement", "-0.1"], "--propagate-agreement -0.1 must be a number in [0, 1)"),
    (["--propagate-features", "embedding"], "--propagate-features 'embedding' is not one of mean, mean-share, mean-std"),
])
def test_bad_propagation_options_are_one_line(scored, capsys, args, message):
    ws, _ = scored
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt", "--propagate", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert ws.ledger.answers(1) == {}  # nothing recorded


def test_propagate_without_the_rounds_probabilities_is_refused(scored, capsys):
    ws, ckpt = scored
    ckpt.unlink()
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt", "--propagate")
    assert code == 2 and "--propagate needs round 1's probabilities" in err
    assert ws.ledger.answers(1) == {}


def test_diff_info_and_check_count_people_and_the_module_apart(scored, capsys):
    import json
    import sqlite3

    ws, _ = scored
    run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt", "--propagate", "--propagate-threshold", "0.05")
    rows = ws.ledger.propagations()
    code, out, _ = run_cli(capsys, "diff", "v0", "v2", "-w", ws.root, "--json")
    ledger = json.loads(out)["ledger"]
    human = ws.ledger.corrections(["v1"])
    assert ledger["automatic_relabels"] == len(rows) and ledger["automatic_pixels"] == sum(r.pixels for r in rows)
    assert ledger["human_corrections"] == len(human) > 0
    code, out, _ = run_cli(capsys, "info", "-w", ws.root, "--json")
    assert json.loads(out)["automatic"] == {"relabels": len(rows), "accepted": 0, "rejected": 0, "unreviewed": len(rows),
                                            "reviewed": 0, "pixels": sum(r.pixels for r in rows), "rejected_pixels": 0}
    with sqlite3.connect(ws.db_path) as con:  # a relabel row naming a version that does not exist
        con.execute("UPDATE propagations SET label_version='v9' WHERE propagation_id=?", (rows[0].propagation_id,))
    code, _, err = run_cli(capsys, "check", "-w", ws.root)
    assert code == 1 and "automatic relabels name label version 'v9', which is not in the catalogue" in err
    with sqlite3.connect(ws.db_path) as con:
        con.execute("UPDATE propagations SET label_version='v2'")


def test_a_rejection_in_the_page_restores_the_region_and_is_recorded(scored, capsys):
    from starlette.testclient import TestClient

    from alc_data.annotate import create_app
    from alc_data.correction.review import open_review_round

    ws, _ = scored
    run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt", "--propagate", "--propagate-threshold", "0.05")
    rows = {(r.image_id, r.superpixel_id): r for r in ws.ledger.propagations()}
    rnd = open_review_round(ws)
    assert rnd is not None and open_review_round(ws) == rnd  # an open review round is reused
    queries = ws.ledger.queries(rnd)
    assert len(queries) == len(rows) and all(q.shown_label == rows[(q.image_id, q.superpixel_id)].new_class for q in queries)
    origin = "http://127.0.0.1:8765"
    c = TestClient(create_app(ws, rnd, annotator="ann", allowed_hosts={"127.0.0.1:8765"}), base_url=origin)
    leased = c.post("/api/lease", json={"holder": "tab"}, headers={"Origin": origin}).json()["queries"]
    rejected, accepted = leased[0], leased[1]
    old = rows[(rejected["image_id"], rejected["superpixel_id"])]
    for body in ({"query_id": rejected["query_id"], "class_index": old.old_class},
                 {"query_id": accepted["query_id"], "verdict": "accept"}):
        r = c.post("/api/answer", json={"holder": "tab", "seconds": 2.0, **body}, headers={"Origin": origin})
        assert r.status_code == 200, r.text
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--round", rnd)
    assert code == 0, err
    latest = ws.labels.version().name
    region = ws.superpixels.read_superpixels(old.superpixel_set, old.image_id) == old.superpixel_id
    before = ws.labels.read_label("v1", old.image_id)  # the labels the propagation started from
    np.testing.assert_array_equal(ws.labels.read_label(latest, old.image_id)[region], before[region])
    verdicts = {(r.image_id, r.superpixel_id): r.review for r in ws.ledger.propagations()}
    assert verdicts[(old.image_id, old.superpixel_id)] == "rejected"
    assert verdicts[(accepted["image_id"], accepted["superpixel_id"])] == "accepted"


def test_the_agreement_rule_keeps_only_relabels_the_rounds_model_backs(scored, capsys):
    import shutil

    from alc_data.correction.lcm import region_features
    from alc_data.predict import iter_probabilities
    from alc_data.workspace import Workspace

    ws, ckpt = scored
    gated_root = ws.root.parent / "gated"
    shutil.copytree(ws.root, gated_root)
    args = ("correct", "--oracle", "gt", "--propagate", "--propagate-threshold", "0.05")
    assert run_cli(capsys, *args, "-w", ws.root)[0] == 0
    free = {(r.image_id, r.superpixel_id): r for r in ws.ledger.propagations()}
    probs = dict(iter_probabilities(ws, ckpt, sorted({k[0] for k in free}), batch_size=4, as_numpy=True))
    share = {}  # the round model's mean probability of the proposal, where it is also its argmax
    for key, r in free.items():
        ids, feats, _, _ = region_features(probs[key[0]], ws.labels.read_label("v1", key[0]),
                                           ws.superpixels.read_superpixels("sam", key[0]))
        f = feats[list(ids).index(key[1])]
        share[key] = float(f[r.new_class]) if f.argmax() == r.new_class else -1.0
    backed = sorted(v for v in share.values() if v > 0)
    assert backed and len(backed) < len(share)  # the planted mix: some relabels the model backs, some not
    agreement = backed[len(backed) // 2]  # half of the backed ones pass
    code, _, err = run_cli(capsys, *args, "-w", gated_root, "--propagate-agreement", str(agreement))
    assert code == 0, err
    gated = Workspace.open(gated_root)
    assert {(r.image_id, r.superpixel_id) for r in gated.ledger.propagations()} == {
        k for k, v in share.items() if v >= agreement}
    assert gated.labels.version("v2").params["agreement"] == agreement


def test_the_features_are_an_option_recorded_with_the_version(scored, capsys):
    import json
    import shutil

    from alc_data.workspace import Workspace

    ws, _ = scored
    roots = {kind: ws.root.parent / kind for kind in ("mean", "mean-share")}
    for kind, root in roots.items():
        shutil.copytree(ws.root, root)
        code, out, err = run_cli(capsys, "correct", "-w", root, "--oracle", "gt", "--propagate", "--propagate-threshold",
                                 "0.05", "--propagate-features", kind, "--propagate-agreement", "0.01", "--json")
        assert code == 0, err
        # agreement reads the mean softmax columns alone (an argmax over all 2K would never be the proposal)
        assert json.loads(out)["propagated"]["relabelled"] > 0
    versions = {kind: Workspace.open(root).labels.version("v2") for kind, root in roots.items()}
    assert {kind: v.params["features"] for kind, v in versions.items()} == {"mean": "mean", "mean-share": "mean-share"}
    relabels = {kind: {(r.image_id, r.superpixel_id, r.new_class, r.confidence) for r in Workspace.open(root).ledger.propagations()}
                for kind, root in roots.items()}
    assert relabels["mean"] != relabels["mean-share"]  # the module read other features


@pytest.mark.damages_workspace
def test_check_names_automatic_relabels_no_workspace_could_have_made(scored, capsys):
    """Relabel rows edited by hand: a class the workspace does not have, an image it does not hold, a
    confidence that is no probability. `check` names each row; the untouched rows pass."""
    import sqlite3

    from alc_data.workspace.check import check_workspace

    ws, _ = scored
    run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt", "--propagate", "--propagate-threshold", "0.05")
    rows = ws.ledger.propagations(["v2"])
    assert len(rows) >= 3 and check_workspace(ws.root).ok
    a, b, c = (r.propagation_id for r in rows[:3])
    with sqlite3.connect(ws.db_path) as db:
        db.execute("UPDATE propagations SET new_class=99 WHERE propagation_id=?", (a,))
        db.execute("UPDATE propagations SET image_id='nope' WHERE propagation_id=?", (b,))
        db.execute("UPDATE propagations SET confidence=1.5 WHERE propagation_id=?", (c,))
    report = check_workspace(ws.root)
    found = [p for p in report.problems if p.kind == "propagation-row"]
    assert len(found) == 3 and not report.ok
    text = "\n".join(p.message for p in found)
    assert f"automatic relabel {a}: new class 99" in text and f"automatic relabel {b}: image 'nope'" in text
    assert f"automatic relabel {c}: confidence 1.5" in text


def test_propagation_never_changes_pixels_people_were_asked_about_on_another_superpixel_set(scored, capsys,
                                                                                           assert_workspace_ok):
    """Round 1 asks on ``sam``, round 2 on ``gsam`` with propagation: the module's relabels (of gsam
    regions) leave every pixel of a region asked in round 1 as the people's answers left it, and a rebuild
    of the propagation version replays that."""
    from alc_data.stages.score import ScoreOptions, score

    ws, ckpt = scored
    assert run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt")[0] == 0
    score(ws, ScoreOptions(budget=4, checkpoint=ckpt, superpixel_set="gsam"))
    code, _, err = run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt", "--propagate",
                           "--propagate-threshold", "0.05", "--expand", "superpixel")
    assert code == 0, err
    prop = ws.labels.version()
    assert prop.kind == "propagation" and prop.round == 2
    asked_by_image: dict[str, list[int]] = {}
    for image_id, sp_id in ws.ledger.asked("sam"):
        asked_by_image.setdefault(image_id, []).append(sp_id)
    relabelled_images = {r.image_id for r in ws.ledger.propagations([prop.name])}
    overlapping = 0
    for image_id in relabelled_images & set(asked_by_image):
        protected = np.isin(ws.superpixels.read_superpixels("sam", image_id), asked_by_image[image_id])
        before = ws.labels.read_label(prop.parent, image_id)
        after = ws.labels.read_label(prop.name, image_id)
        np.testing.assert_array_equal(after[protected], before[protected])
        gsam = ws.superpixels.read_superpixels("gsam", image_id)
        ids = [r.superpixel_id for r in ws.ledger.propagations([prop.name]) if r.image_id == image_id]
        overlapping += int((np.isin(gsam, ids) & protected).sum())
    assert overlapping > 0  # the planted situation: relabelled gsam regions overlap asked sam regions
    for image_id, labels in rebuild_version(ws, prop.name):
        np.testing.assert_array_equal(labels, ws.labels.read_label(prop.name, image_id))
    assert_workspace_ok(ws)


@pytest.mark.damages_workspace
def test_check_says_repair_rebuilds_a_file_shared_with_its_damaged_parent(scored, capsys):
    """Red team, session 7: a label file of a version hard-linked to its parent's (an image the later
    round left alone) was reported as one "the ledger cannot rebuild", though `--repair` rebuilds the
    parent first and then it."""
    from alc_data.io.labels import encode_label_png
    from alc_data.stages.score import ScoreOptions, score

    ws, ckpt = scored
    assert run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt")[0] == 0
    score(ws, ScoreOptions(budget=2, checkpoint=ckpt, superpixel_set="sam"))
    assert run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt")[0] == 0
    assert ws.labels.version().name == "v2"
    shared = next(i for i in ws.catalogue.image_ids("train")
                  if ws.labels.label_path("v1", i).stat().st_ino == ws.labels.label_path("v2", i).stat().st_ino
                  and not np.array_equal(ws.labels.read_label("v0", i), ws.labels.read_label("v1", i)))
    parent, child = ws.labels.label_path("v1", shared), ws.labels.label_path("v2", shared)
    before = parent.read_bytes()
    parent.chmod(0o644)
    parent.write_bytes(encode_label_png(np.zeros_like(ws.labels.read_label("v0", shared))))
    code, _, err = run_cli(capsys, "check", "-w", ws.root)
    lines = [line for line in err.splitlines() if line.startswith("label-")]
    assert code == 1 and len(lines) == 2, err
    assert all("--repair` rebuilds it" in line and "cannot rebuild" not in line for line in lines), err
    code, out, err = run_cli(capsys, "check", "-w", ws.root, "--repair")
    assert code == 0 and out.count("rebuilt") == 2, (out, err)
    assert parent.read_bytes() == child.read_bytes() == before


def test_diff_attributes_each_changed_pixel_to_whoever_changed_it_last(scored, capsys):
    """Red team, session 7: after a later round asked regions the module had relabelled (a person's answer
    wins), `diff v0 v3` counted 4,775 people's pixels and 3,459 automatic ones for 2,682 changed pixels:
    both sides kept the ledger's counts of pixels that the person then changed back or over."""
    import json

    from alc_data.stages.score import ScoreOptions, score

    ws, ckpt = scored
    run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt", "--propagate", "--propagate-threshold", "0.05")
    score(ws, ScoreOptions(budget=200, checkpoint=ckpt, superpixel_set="sam"))  # asks most regions left
    assert run_cli(capsys, "correct", "-w", ws.root, "--oracle", "gt")[0] == 0
    assert [v.kind for v in ws.labels.label_versions()][1:] == ["correction", "propagation", "correction"]
    human = automatic = 0
    for image_id in ws.catalogue.image_ids():
        v = [ws.labels.read_label(f"v{i}", image_id) for i in range(4)]
        owner = np.zeros(v[0].shape, np.uint8)
        for i, who in ((1, 1), (2, 2), (3, 1)):  # 1: people, 2: the module; the last change wins
            owner[v[i] != v[i - 1]] = who
        changed = v[3] != v[0]
        human += int((changed & (owner == 1)).sum())
        automatic += int((changed & (owner == 2)).sum())
    assert automatic > 0
    code, out, err = run_cli(capsys, "diff", "v0", "v3", "-w", ws.root, "--json")
    assert code == 0, err
    result = json.loads(out)
    ledger = result["ledger"]
    assert (ledger["human_pixels"], ledger["automatic_pixels"]) == (human, automatic)
    assert human + automatic == result["changed_pixels"]
