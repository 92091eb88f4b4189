"""Red-team of `alc-data score` and its inputs (prediction folders, budgets, seeds), of `alc-data
superpixels` and of the SAM checkpoint reader: every bad input is one line naming it, and a failed
run registers nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from alc_data.errors import AlcError
from tests.cli_helpers import run_cli


def _predictions(ws, folder, *, seed: int = 0):
    """One (K, H, W) float32 .npy of softmax probabilities per training image."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    k = ws.catalogue.num_classes
    for image_id in ws.catalogue.image_ids("train"):
        rec = ws.catalogue.image_record(image_id)
        x = (rng.normal(size=(k, rec.height, rec.width)) * 3).astype(np.float32)
        p = np.exp(x - x.max(0))
        np.save(folder / f"{image_id}.npy", (p / p.sum(0)).astype(np.float32))
    return folder


@pytest.mark.parametrize("content", [b"hello\n", b"\x80\x02}q\x00."[:5], b"PK\x03\x04garbage"])
def test_a_sam_checkpoint_that_is_no_pickle_is_one_line(tmp_path, content):
    from alc_data.foundation.sam import load_sam

    path = tmp_path / "bad.pth"
    path.write_bytes(content)
    with pytest.raises(AlcError) as info:
        load_sam(path, device="cpu")
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg and "corrupt file or not a PyTorch state dict" in msg


def test_probabilities_passed_as_logits_are_refused_and_no_round_is_registered(demo_ws, tmp_path, capsys):
    preds = _predictions(demo_ws, tmp_path / "probs")
    code, out, err = run_cli(capsys, "score", "-w", demo_ws.root, "--predictions", preds, "--logits", "-b", "3",
                             "-s", "sam")
    assert code != 0 and out == ""
    line = err.strip()
    assert "\n" not in line and str(preds) in line and "drop --logits" in line, line
    assert demo_ws.ledger.rounds() == []


def test_probabilities_given_as_logits_in_python_are_refused(demo_ws, tmp_path):
    from alc_data.score_round import score_probabilities

    preds = _predictions(demo_ws, tmp_path / "probs")
    pairs = ((i, np.load(preds / f"{i}.npy")) for i in demo_ws.catalogue.image_ids("train"))
    with pytest.raises(AlcError, match="drop logits=True"):
        score_probabilities(demo_ws, pairs, logits=True, budget=3, superpixel_set="sam")
    assert demo_ws.ledger.rounds() == []


def test_a_round_with_every_region_asked_already_says_so(demo_ws, tmp_path, capsys):
    preds = _predictions(demo_ws, tmp_path / "probs")
    code, out, _ = run_cli(capsys, "score", "-w", demo_ws.root, "--predictions", preds, "-b", "1", "-s", "sam", "--json")
    total = json.loads(out)["candidates"]
    code, _, err = run_cli(capsys, "score", "-w", demo_ws.root, "--predictions", preds, "-b", total - 1, "-s", "sam")
    assert code == 0, err
    code, out, err = run_cli(capsys, "score", "-w", demo_ws.root, "--predictions", preds, "-b", "5", "-s", "sam")
    line = err.strip()
    assert code == 2 and "\n" not in line
    assert f"every one of the {total} candidate superpixels of set 'sam' was asked" in line, line
    assert "--no-skip-asked" in line and "lower --budget" not in line
    assert [r.round for r in demo_ws.ledger.rounds()] == [1, 2]


def test_a_budget_over_the_candidates_left_names_how_many_are_left(demo_ws, tmp_path, capsys):
    preds = _predictions(demo_ws, tmp_path / "probs")
    code, out, err = run_cli(capsys, "score", "-w", demo_ws.root, "--predictions", preds, "-b", "4", "-s", "sam",
                             "--json")
    total = json.loads(out)["candidates"]
    code, out, err = run_cli(capsys, "score", "-w", demo_ws.root, "--predictions", preds, "-b", 100000, "-s", "sam")
    line = err.strip()
    assert code == 2 and "\n" not in line
    assert f"--budget 100000 is more than the {total - 4} candidate superpixels left to ask" in line, line
    assert f"4 of the {total} on set 'sam' were asked in earlier rounds" in line and f"--budget {total - 4}" in line
    assert len(demo_ws.ledger.rounds()) == 1


def test_a_superpixel_set_without_candidates_says_so(tmp_path, capsys):
    from tests.tiny_workspaces import tiny_ws

    ws = tiny_ws(tmp_path / "ws", ["background", "car"])
    ws.superpixels.write_superpixel_set("none", [(i, np.full((8, 8), -1, np.int32)) for i in ws.catalogue.image_ids()],
                                        method="imported")
    preds = _predictions(ws, tmp_path / "probs")
    code, _, err = run_cli(capsys, "score", "-w", ws.root, "--predictions", preds, "-b", "2", "-s", "none")
    line = err.strip()
    assert code == 2 and "\n" not in line and "superpixel set 'none' has no candidate region" in line, line
    assert ws.ledger.rounds() == []


@pytest.mark.parametrize("option, value", [("--batch-size", "0"), ("--batch-size", "-2"), ("--seed", "-1")])
def test_score_numbers_out_of_range_name_the_option_before_any_work(demo_ws, tmp_path, capsys, option, value):
    preds = _predictions(demo_ws, tmp_path / "probs")
    code, out, err = run_cli(capsys, "score", "-w", demo_ws.root, "--predictions", preds, "-b", "2", "-s", "sam",
                             "-a", "random", "--representative", "random", option, value)
    line = err.strip()
    assert code == 2 and "\n" not in line and line.startswith(f"error: {option} {value} "), line
    assert demo_ws.ledger.rounds() == []


def test_seeds_with_many_levels_runs_instead_of_crashing_opencv(tmp_path):
    """OpenCV's SEEDS computes 1 << (levels - 1) in a C int: 33 levels or more crashed the process
    (a segmentation fault); the levels it would keep are passed instead, with the same regions."""
    import subprocess
    import sys

    code = ("import numpy as np; from alc_data.superpixels.classic import seeds; "
            "img = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8); "
            "a, b = seeds(img, num_levels=32), seeds(img, num_levels=40); "
            "c, d = seeds(img, num_levels=32, adapt_levels=False), seeds(img, num_levels=64, adapt_levels=False); "
            "print(np.array_equal(a, b), np.array_equal(c, d), int(a.max()) > 10)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.split() == ["True", "True", "True"], (run.returncode, run.stderr[-500:])


@pytest.mark.parametrize("args, says", [
    (["-m", "slic", "--param", "compactness=0"], "compactness=0: must be a finite number > 0.0"),  # ZeroDivisionError
    (["-m", "seeds", "--param", "num_levels=65"], "num_levels=65: must be at most 64"),
    (["-m", "sam", "--sam", "sam.pth", "--name", "s2", "--param", "points_per_side=100000"],  # MemoryError (75 GiB)
     "points_per_side=100000: must be at most 1024"),
    (["-m", "slic", "--name", "   "], "--name '   ' is empty"),
])
def test_superpixel_values_that_broke_a_run_are_one_line(tmp_path, capsys, args, says):
    from tests.tiny_workspaces import tiny_ws

    ws = tiny_ws(tmp_path / "ws", ["background", "car"], size=(16, 16))
    code, out, err = run_cli(capsys, "superpixels", "-w", ws.root, *args)
    line = err.strip()
    assert code == 2 and "\n" not in line and says in line, line
    assert [s.name for s in ws.superpixels.superpixel_sets()] == ["sam"]
    assert not (ws.root / "staging" / "superpixels").exists() or not any((ws.root / "staging" / "superpixels").iterdir())


def test_missing_prediction_files_are_counted_and_other_formats_named(demo_ws, tmp_path, capsys):
    preds = _predictions(demo_ws, tmp_path / "probs")
    ids = demo_ws.catalogue.image_ids("train")
    for image_id in ids[:2]:
        (preds / f"{image_id}.npy").unlink()
    code, _, err = run_cli(capsys, "score", "-w", demo_ws.root, "--predictions", preds, "-b", "2", "-s", "sam")
    line = err.strip()
    assert code == 2 and "\n" not in line and f"2 of the {len(ids)} images scored" in line, line
    (preds / f"{ids[0]}.png").write_bytes(b"")
    (preds / f"{ids[1]}.pt").write_bytes(b"")
    code, _, err = run_cli(capsys, "score", "-w", demo_ws.root, "--predictions", preds, "-b", "2", "-s", "sam")
    line = err.strip()
    assert code == 2 and "\n" not in line and f"{ids[0]}.png" in line and "only .npy and .npz are read" in line, line
    assert demo_ws.ledger.rounds() == []
